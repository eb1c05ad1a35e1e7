"""The Debian package: scripts/build-deb builds it once (module fixture, several minutes), apt-get installs it
into this machine as root, the installed program is exercised as a person would use it, then dpkg removes it.

No container or chroot can be had on the CI machine (no privileges for namespaces, no debootstrap
mirror), so the package goes into the CI machine itself: its dependencies are already there (scripts/test
installs the same Debian libraries), so this checks the package's contents and that the frozen program
finds all it needs, not that apt resolves the Depends line on a bare system.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.facekit import FACES

pytestmark = [
    pytest.mark.slow,
    # One build, then short checks: the first test carries the build (setup counts toward its timeout).
    pytest.mark.timeout(3600),
    pytest.mark.skipif(shutil.which("dpkg-deb") is None or shutil.which("apt-get") is None,
                       reason="not a Debian system: the .deb cannot be built or installed here"),
    pytest.mark.skipif(os.geteuid() != 0 and shutil.which("sudo") is None,
                       reason="installing a package needs root or sudo"),
]

INSTALLED = Path("/opt/yikatong")
COMMAND = "/usr/bin/yikatong"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def _as_root(*cmd: str) -> list[str]:
    return list(cmd) if os.geteuid() == 0 else ["sudo", "-n", *cmd]


def _installed_env(tmp_path: Path) -> dict[str, str]:
    """A user's environment: no PYTHONPATH or venv (the frozen program must need neither), own data folder."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    return {**env, "XDG_DATA_HOME": str(tmp_path / "data"), "HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}


@pytest.fixture(scope="module")
def deb() -> Path:
    done = subprocess.run(["bash", str(ROOT / "scripts" / "build-deb")], cwd=ROOT, capture_output=True,
                          text=True, timeout=3000)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    path = Path(done.stdout.strip().splitlines()[-1])
    assert path.is_file() and path.name == f"yikatong_{VERSION}_{_arch()}.deb", done.stdout[-2000:]
    return path


def _arch() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def installed(deb):
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(_as_root("apt-get", "install", "-y", "-q", "--no-install-recommends", str(deb)),
                          capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    try:
        yield deb
    finally:
        removed = subprocess.run(_as_root("dpkg", "-r", "yikatong"), capture_output=True, text=True, timeout=300)
        assert removed.returncode == 0, removed.stderr
        assert not INSTALLED.exists() and not Path(COMMAND).exists(), "dpkg -r left the program behind"


def test_package_puts_the_command_menu_entry_and_icon_in_place(installed):
    """The package installs /usr/bin/yikatong, the program under /opt/yikatong, a menu entry that starts
    the app and names an icon the package ships."""
    listed = subprocess.run(["dpkg", "-L", "yikatong"], capture_output=True, text=True).stdout.splitlines()
    for path in (COMMAND, "/opt/yikatong/yikatong", "/usr/share/applications/yikatong.desktop",
                 "/usr/share/icons/hicolor/scalable/apps/yikatong.svg",
                 "/usr/share/icons/hicolor/256x256/apps/yikatong.png"):
        assert path in listed, path
    entry = Path("/usr/share/applications/yikatong.desktop").read_text(encoding="utf-8").splitlines()
    assert "Exec=yikatong app" in entry and "Icon=yikatong" in entry
    depends = subprocess.run(["dpkg-query", "-W", "-f=${Depends}", "yikatong"], capture_output=True,
                             text=True).stdout
    assert "libxcb-cursor0" in depends and "libpulse0" in depends and "fonts-wqy-zenhei" in depends
    # dlib's 68-point model (non-commercial training data) is an optional extra, never shipped
    assert not [p for p in listed if p.endswith("shape_predictor_68_face_landmarks.dat")]


def test_installed_command_says_its_version(installed, tmp_path):
    """`yikatong --version` of the installed program names the project's version (its metadata is frozen in)."""
    done = subprocess.run([COMMAND, "--version"], capture_output=True, text=True, env=_installed_env(tmp_path),
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"yikatong {VERSION}"


def test_installed_capture_check_finds_the_face_models(installed, tmp_path):
    """`yikatong capture check` on a shared photo gives the installed program exactly the development
    venv's answer: every model file (dlib's, the face mesh, the JSON limits) is found in the package."""
    photo = str(FACES / "obama.jpg")
    frozen = subprocess.run([COMMAND, "capture", "check", photo], capture_output=True, text=True,
                            env=_installed_env(tmp_path), cwd=tmp_path, timeout=300)
    source = subprocess.run([sys.executable, "-m", "cli.main", "capture", "check", photo], capture_output=True,
                            text=True, cwd=ROOT, timeout=300)
    assert "model.unavailable" not in frozen.stdout + frozen.stderr, frozen.stdout + frozen.stderr
    assert frozen.returncode == source.returncode, frozen.stderr
    frozen_checks, source_checks = json.loads(frozen.stdout), json.loads(source.stdout)
    assert frozen_checks == source_checks
    assert frozen_checks[0]["checks"], "no check ran"


def test_installed_app_reaches_the_login_window_and_exits_cleanly(installed, tmp_path):
    """The installed app, started offscreen, shows its login window and ends with exit code 0 and no error."""
    done = subprocess.run([COMMAND, "app", "--smoke", "--store", str(tmp_path / "store" / "laptop.sqlite3")],
                          capture_output=True, text=True, env=_installed_env(tmp_path), cwd=tmp_path, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "YIKATONG_LOGIN_SHOWN 一卡通 登记" in done.stdout
    assert "Traceback" not in done.stderr and "Could not load the Qt platform plugin" not in done.stderr


def test_installed_package_carries_qt_plugins_and_translations(installed):
    """The Qt plugins the app loads (xcb and offscreen platforms, the multimedia backend for 视频核验) and
    Qt's own Chinese translations are in the installed folder."""
    qt = next(INSTALLED.glob("_internal/PySide6/Qt"))
    for plugin in ("platforms/libqxcb.so", "platforms/libqoffscreen.so"):
        assert (qt / "plugins" / plugin).is_file(), plugin
    assert any((qt / "plugins" / "multimedia").glob("*.so")), "no QtMultimedia backend"
    assert (qt / "translations" / "qtbase_zh_CN.qm").is_file()


def test_installed_package_carries_the_user_guide_and_the_quick_card(installed):
    """The guides the 帮助 menu opens (cadre.md, central.md), every screenshot they show and the quick card
    PDF are in the installed folder, where resources.path("guide") finds them in the frozen program."""
    guide = INSTALLED / "_internal" / "resources" / "guide"
    for name in ("cadre.md", "central.md", "quick-card.pdf"):
        assert (guide / name).is_file(), name
    assert (guide / "quick-card.pdf").read_bytes().startswith(b"%PDF")
    for name in ("cadre.md", "central.md"):
        for image in re.findall(r"!\[[^\]]*\]\(([^)\s]+)", (guide / name).read_text(encoding="utf-8")):
            assert (guide / image).is_file(), f"{name} shows {image}, not in the package"


def test_installed_demo_starts_its_registry_through_the_frozen_program(installed, tmp_path):
    """`yikatong demo --no-app` of the installed program seeds and starts its registry and the public
    verification process (children are the frozen program with a subcommand, never `python -m`)."""
    proc = subprocess.Popen([COMMAND, "demo", "--no-app", "--data-dir", str(tmp_path / "demo")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_installed_env(tmp_path), cwd=tmp_path)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("login:"):
                break
        assert lines and lines[-1].startswith("login:"), "".join(lines) + proc.stderr.read()
        registry_url = lines[0].split()[1]
        verify_url = next(line for line in lines if line.startswith("verify:")).split()[1]
        import httpx

        assert httpx.get(registry_url + "/api/health", timeout=30).status_code == 200
        page = httpx.get(verify_url + "/verify", timeout=30)
        assert page.status_code == 200 and "<html" in page.text.lower()
    finally:
        proc.terminate()
        proc.wait(60)
