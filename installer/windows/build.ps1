# Build the Windows installer: dist\yikatong-<version>-setup.exe
#
# On a 64-bit Windows 10/11 machine with
#   - Python 3.11 or 3.12, 64-bit, from python.org ("py" launcher installed; tick "Add python.exe to PATH"),
#   - Inno Setup 6 (https://jrsoftware.org/isdl.php; the default install puts ISCC.exe in
#     "C:\Program Files (x86)\Inno Setup 6"),
#   - a copy of this repository (git clone, or the source zip unpacked),
# open PowerShell in the repository folder and run:
#   powershell -ExecutionPolicy Bypass -File installer\windows\build.ps1
# It makes a build venv (build\win-venv: the app's dependencies and the pinned PyInstaller from
# pyproject.toml's "build" extra), runs PyInstaller on installer\yikatong.spec (the spec the Debian
# package shares: same data files, same hidden imports), checks the frozen command, then runs ISCC.
# The folder build is dist\yikatong\ (yikatong.exe: the command line; yikatong-app.exe: the app).
# Options: -Python <python.exe> (default: py -3.11), -Iscc <ISCC.exe> (default: found on PATH or in
# Program Files).
param(
    [string]$Python = "",
    [string]$Iscc = ""
)
$ErrorActionPreference = "Stop"
$Root = Resolve-Path (Join-Path $PSScriptRoot "..\..")
Set-Location $Root

function Step($text) { Write-Host "== $text" }
function Check($what) { if ($LASTEXITCODE -ne 0) { throw "$what failed (exit $LASTEXITCODE)" } }

$Venv = Join-Path $Root "build\win-venv"
if (-not (Test-Path "$Venv\Scripts\python.exe")) {
    Step "build venv ($Venv)"
    if ($Python) { & $Python -m venv $Venv } else { & py -3.11 -m venv $Venv }
    Check "python -m venv"
}
$Py = "$Venv\Scripts\python.exe"
Step "dependencies and PyInstaller"
& $Py -m pip install -q --upgrade pip; Check "pip upgrade"
& $Py -m pip install -q -e ".[build]"; Check "pip install"

Step "user guide screenshots (desktop\guide\shots.py; needs the shared test faces: set YK_FACES_DIR)"
# The same step as scripts/build-deb: the real app against the demo registry, offscreen.
if (Test-Path resources\guide\images) { Remove-Item -Recurse -Force resources\guide\images }
$env:QT_QPA_PLATFORM = "offscreen"
& $Py -m desktop.guide.shots --out resources\guide\images | Out-Null; Check "guide screenshots"
Remove-Item Env:QT_QPA_PLATFORM

Step "PyInstaller (installer\yikatong.spec)"
& "$Venv\Scripts\pyinstaller.exe" --noconfirm --log-level WARN --distpath dist --workpath build\pyinstaller `
    installer\yikatong.spec
Check "pyinstaller"

Step "smoke check of the frozen command"
$Version = (& $Py -c "from importlib.metadata import version; print(version('yikatong'))").Trim()
$Said = (& dist\yikatong\yikatong.exe --version).Trim()
Check "yikatong.exe --version"
if ($Said -ne "yikatong $Version") { throw "yikatong.exe --version said '$Said', expected 'yikatong $Version'" }
$env:QT_QPA_PLATFORM = "offscreen"
$Smoke = & dist\yikatong\yikatong.exe app --smoke --store (Join-Path $env:TEMP "yikatong-smoke\laptop.sqlite3")
Check "yikatong.exe app --smoke"
Remove-Item Env:\QT_QPA_PLATFORM
if (-not ($Smoke -match "YIKATONG_LOGIN_SHOWN")) { throw "the app did not reach its login window: $Smoke" }

Step "Inno Setup"
if (-not $Iscc) {
    $OnPath = Get-Command ISCC.exe -ErrorAction SilentlyContinue
    $Iscc = if ($OnPath) { $OnPath.Source } else { "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" }
}
if (-not (Test-Path $Iscc)) { throw "ISCC.exe not found; install Inno Setup 6 or pass -Iscc <path to ISCC.exe>" }
& $Iscc /Q "/DAppVersion=$Version" installer\windows\yikatong.iss
Check "ISCC"
$Setup = Get-Item "dist\yikatong-$Version-setup.exe"
Write-Host ("{0} ({1:N0} MB)" -f $Setup.FullName, ($Setup.Length / 1MB))
