; Inno Setup 6 script: packages dist\yikatong (the PyInstaller one-folder build of installer\yikatong.spec)
; as dist\yikatong-<version>-setup.exe. Built by installer\windows\build.ps1 (read it first); by hand:
;   iscc /DAppVersion=0.1.0 installer\windows\yikatong.iss
; Saved as UTF-8 with a byte-order mark and CRLF line ends: without the mark the compiler reads the Chinese as ANSI.
;
; Chinese wizard with a stock Inno Setup: Inno Setup does not ship ChineseSimplified.isl (it is among the
; unofficial translations), so the wizard uses the shipped Default.isl and the [Messages] below replace
; the text of every page this installer shows (welcome, folder, Start menu, tasks, ready, installing,
; finished, uninstall) with Chinese. A message not listed (a rare error) stays in English.
#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif

[Setup]
AppId={{6F1C2A4E-3B7D-4C59-9E2A-59A1D3C0B7E1}
AppName=一卡通 登记
AppVersion={#AppVersion}
AppPublisher=一卡通
DefaultDirName={autopf}\Yikatong
DefaultGroupName=一卡通
; 64-bit Python and Qt: install into "Program Files", not "Program Files (x86)".
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
; Qt 6 needs Windows 10 or later.
MinVersion=10.0
PrivilegesRequiredOverridesAllowed=dialog
OutputDir=..\..\dist
OutputBaseFilename=yikatong-{#AppVersion}-setup
SetupIconFile=..\yikatong.ico
UninstallDisplayIcon={app}\yikatong-app.exe
Compression=lzma2
SolidCompression=yes
WizardStyle=modern

[Languages]
Name: "zh"; MessagesFile: "compiler:Default.isl"

[Messages]
SetupAppTitle=安装
SetupWindowTitle=安装 - %1
UninstallAppTitle=卸载
UninstallAppFullTitle=%1 卸载
InformationTitle=提示
ConfirmTitle=确认
ErrorTitle=错误
ExitSetupTitle=退出安装
ExitSetupMessage=安装尚未完成。现在退出，程序将不会被安装。%n%n以后可以再次运行安装程序完成安装。%n%n退出安装吗？
ButtonBack=< 上一步(&B)
ButtonNext=下一步(&N) >
ButtonInstall=安装(&I)
ButtonOK=确定
ButtonCancel=取消
ButtonYes=是(&Y)
ButtonYesToAll=全部是(&A)
ButtonNo=否(&N)
ButtonNoToAll=全部否(&O)
ButtonFinish=完成(&F)
ButtonBrowse=浏览(&B)...
ButtonWizardBrowse=浏览(&R)...
ButtonNewFolder=新建文件夹(&M)
ClickNext=点击“下一步”继续，或点击“取消”退出安装。
BrowseDialogTitle=选择文件夹
BrowseDialogLabel=在下面的列表中选择一个文件夹，然后点击“确定”。
NewFolderName=新建文件夹
WelcomeLabel1=欢迎使用 [name] 安装向导
WelcomeLabel2=将在这台电脑上安装 [name/ver]。%n%n建议先关闭其他程序再继续。
WizardSelectDir=选择安装位置
SelectDirDesc=[name] 装在哪里？
SelectDirLabel3=安装程序将把 [name] 装到下面的文件夹。
SelectDirBrowseLabel=点击“下一步”继续。如要换一个文件夹，点击“浏览”。
DiskSpaceMBLabel=至少需要 [mb] MB 可用磁盘空间。
DirExistsTitle=文件夹已存在
DirExists=文件夹：%n%n%1%n%n已经存在。仍然装到这个文件夹吗？
DirDoesntExistTitle=文件夹不存在
DirDoesntExist=文件夹：%n%n%1%n%n不存在。要新建这个文件夹吗？
WizardSelectTasks=选择附加任务
SelectTasksDesc=还要做哪些事？
SelectTasksLabel2=选择安装 [name] 时要做的附加任务，然后点击“下一步”。
WizardSelectProgramGroup=选择开始菜单文件夹
SelectStartMenuFolderDesc=把程序的快捷方式放在哪里？
SelectStartMenuFolderLabel3=安装程序将在下面的开始菜单文件夹中创建快捷方式。
SelectStartMenuFolderBrowseLabel=点击“下一步”继续。如要换一个文件夹，点击“浏览”。
NoProgramGroupCheck2=不创建开始菜单文件夹(&D)
WizardReady=准备安装
ReadyLabel1=安装程序已准备好在这台电脑上安装 [name]。
ReadyLabel2a=点击“安装”开始；如要查看或修改设置，点击“上一步”。
ReadyLabel2b=点击“安装”开始。
ReadyMemoDir=安装位置：
ReadyMemoGroup=开始菜单文件夹：
ReadyMemoTasks=附加任务：
WizardPreparing=正在准备安装
PreparingDesc=安装程序正在准备在这台电脑上安装 [name]。
CannotContinue=安装无法继续。请点击“取消”退出。
ApplicationsFound=下列程序正在使用需要更新的文件。建议让安装程序自动关闭这些程序。
ApplicationsFound2=下列程序正在使用需要更新的文件。建议让安装程序自动关闭这些程序；安装完成后会尝试重新启动它们。
CloseApplications=自动关闭这些程序(&A)
DontCloseApplications=不关闭这些程序(&D)
WizardInstalling=正在安装
InstallingLabel=正在这台电脑上安装 [name]，请稍候。
FinishedHeadingLabel=[name] 安装完成
FinishedLabelNoIcons=[name] 已经安装到这台电脑上。
FinishedLabel=[name] 已经安装到这台电脑上。可以从开始菜单或桌面的快捷方式启动。
ClickFinish=点击“完成”退出安装。
RunEntryExec=运行 %1
SetupAborted=安装没有完成。%n%n请排除问题后重新运行安装程序。
StatusClosingApplications=正在关闭程序...
StatusCreateDirs=正在创建文件夹...
StatusExtractFiles=正在解压文件...
StatusCreateIcons=正在创建快捷方式...
StatusSavingUninstall=正在保存卸载信息...
StatusRunProgram=正在完成安装...
StatusRollback=正在撤销更改...
ConfirmUninstall=确实要完全删除 %1 及其所有组件吗？（本机登记数据在用户数据文件夹中，不会被删除。）
UninstallStatusLabel=正在从这台电脑上删除 %1，请稍候。
UninstalledAll=%1 已从这台电脑上删除。

[CustomMessages]
zh.AdditionalIcons=附加快捷方式：
zh.CreateDesktopIcon=创建桌面快捷方式(&D)
zh.LaunchProgram=运行 一卡通 登记
zh.UninstallProgram=卸载 一卡通 登记

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"

[Files]
Source: "..\..\dist\yikatong\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
; yikatong-app.exe: the app without a console window; yikatong.exe is the command line (and the demo's
; children), not a menu entry.
Name: "{group}\一卡通 登记"; Filename: "{app}\yikatong-app.exe"
Name: "{group}\{cm:UninstallProgram}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\一卡通 登记"; Filename: "{app}\yikatong-app.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\yikatong-app.exe"; Description: "{cm:LaunchProgram}"; Flags: nowait postinstall skipifsilent
