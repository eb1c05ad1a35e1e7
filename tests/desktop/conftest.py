"""pytest-qt fixtures for the desktop app: offscreen Qt, a real store, a real registry.

QT_QPA_PLATFORM=offscreen is set before Qt is imported, so the tests run without a screen;
fonts-noto-cjk must be installed for the Chinese in the screenshots to render.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from desktop_helpers import PASSWORD, VILLAGE, VILLAGE_NAME, write_roster_csv  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _style(qapp):
    from desktop.ui import apply_style

    qapp.setApplicationName("一卡通 登记")
    apply_style(qapp)
    return qapp


@pytest.fixture
def screens(artifacts_dir):
    """Save a widget's screenshot as artifacts/screens/NAME.png."""
    def save(widget, name: str):
        path = artifacts_dir / "screens" / f"{name}.png"
        assert widget.grab().save(str(path)), path
        return path
    return save


@pytest.fixture
def field_registry(registry, tmp_path):
    """The real registry process with a cadre for the village and its roster imported by the CLI."""
    csv_path = tmp_path / "roster.csv"
    write_roster_csv(csv_path)
    done = registry.cli("import-roster", str(csv_path), "--village", VILLAGE, "--village-name", VILLAGE_NAME)
    assert done.returncode == 0, done.stderr
    done = registry.cli("add-operator", "--username", "cadre1", "--role", "cadre", "--village", VILLAGE,
                        "--display-name", "王干部", input=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    return registry


@pytest.fixture
def owner(qtbot, tmp_path):
    """A StoreOwner on a fresh real store file, open and ready."""
    from desktop.store_worker import StoreOwner
    from sync.store import Store

    path = tmp_path / "laptop.sqlite3"
    o = StoreOwner(lambda: Store.open(path))
    with qtbot.waitSignal(o.opened, timeout=10_000):
        o.start()
    yield o
    o.shutdown()


@pytest.fixture
def start_app(qtbot):
    """Start DesktopApp instances (field or central, by who logs in); every one is shut down (threads
    joined, a central workspace closed) at the end of the test."""
    from desktop.app import DesktopApp

    apps: list = []

    def start(store_path, url, online_interval_ms: int = 200):  # noqa: ANN202
        app = DesktopApp(store_path, url, online_interval_ms=online_interval_ms)
        apps.append(app)
        qtbot.addWidget(app.login_window)
        app.show()
        qtbot.waitUntil(lambda: app.owner.is_open, timeout=10_000)
        return app

    yield start
    for app in apps:
        app.shutdown()
        if app.central_window is not None:
            app.central_window.close()
