"""Entry point of the desktop app: ``main(argv=None, *, store_path=None, registry_url=None) -> int``.

Creates the QApplication (一卡通 登记), starts the store-owner thread (the one thread that
opens and writes the laptop store), shows the login window and, after login, the main
window with the online/offline monitor running.

Before any window: the crash guard (a fatal error leaves a report that the next start points the
cadre to) and SIGTERM/SIGINT handling that works while the event loop is idle. dlib is first
used on the UI thread when the capture dialog opens (``capture.native``: a first use on a QThread
crashed the app), not here: the start stays fast.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QLocale, QObject, QTimer, QTranslator, Signal
from PySide6.QtWidgets import QApplication

from enrollment.private_files import private_dir
from resources import user_data_dir

from .crash_report import CrashGuard, install_excepthook
from .login import LoginWindow
from .main_window import MainWindow
from .online import OnlineMonitor
from .store_worker import StoreOwner
from .termination import SignalQuitter
from .ui import apply_style, install_qt_chinese

log = logging.getLogger(__name__)

APP_NAME = "一卡通 登记"
CENTRAL_ROLES = ("central", "admin")   # they open the central workspace (online only), not the field one


def describe_error(error: BaseException) -> str:
    from .errors import describe

    return describe(error)


def default_store_path() -> Path:
    """Same folder as ``yikatong app`` uses: the user's data folder."""
    return user_data_dir() / "laptop.sqlite3"


def _open_store(path: Path):
    from sync.store import Store

    private_dir(path.parent)
    return Store.open(path)


class DesktopApp(QObject):
    """The windows and threads of one running app (tests drive it without ``exec``)."""

    logged_out = Signal()   # 退出登录 finished: the login window is showing again

    def __init__(self, store_path: str | Path, registry_url: str | None = None, *,
                 online_interval_ms: int = 5000, crash_report: Path | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        path = Path(store_path)
        self.owner = StoreOwner(lambda: _open_store(path))
        self.owner.start()
        self.monitor = OnlineMonitor(online_interval_ms)
        self.login_window = LoginWindow(self.owner, registry_url)
        self.login_window.logged_in.connect(self._logged_in)
        if crash_report is not None:
            self.login_window.show_crash_report(crash_report)
        self.main_window: MainWindow | None = None
        self.central_window: Any = None   # desktop.central.CentralWindow for central/admin operators
        self.owner.opened.connect(self._store_opened)

    def show(self) -> None:
        self.login_window.show()

    def _store_opened(self, ok: int, error: Any) -> None:
        if not ok:
            from .errors import describe

            self.login_window.error_label.setText(
                self.tr("无法打开本机数据文件：{reason}").format(reason=describe(error)))
            self.login_window.login_button.setEnabled(False)

    def _logged_in(self, result: dict[str, Any]) -> None:
        role = (result.get("operator") or {}).get("role")
        if role in CENTRAL_ROLES:
            self._open_central(result)
            return
        self.main_window = MainWindow(self.owner, result, self.monitor)
        self.main_window.logout_requested.connect(lambda: self.logout(result.get("registry_url")))
        self.monitor.start(result.get("registry_url") or "")
        self.main_window.show()
        self.login_window.hide()

    def _open_central(self, result: dict[str, Any]) -> None:
        """Central staff review on the registry itself: only online, never from the laptop's cache."""
        if not result.get("online"):
            from .errors import describe

            self.login_window.status_label.clear()
            self.login_window.error_label.setText(describe("central.offline"))
            return
        url = result.get("registry_url") or ""
        # The token was stored by the login; read it on the store thread like every store access.
        (self.owner.op(lambda store: store.token())
         .success(lambda token: self._show_central(url, token, result))
         .failure(lambda e: self.login_window.error_label.setText(describe_error(e))).run())

    def _show_central(self, url: str, token: str | None, result: dict[str, Any]) -> None:
        from .central import CentralWindow

        self.central_window = CentralWindow(url, token, result.get("operator") or {})
        self.central_window.logout_requested.connect(lambda: self.logout(url))
        self.central_window.show()
        self.login_window.hide()

    def logout(self, registry_url: str | None) -> None:
        """退出登录: revoke the token at the registry when online, forget it here, back to the login window."""
        from sync.client import logout_online

        if self.main_window is not None:
            self.main_window.form.flush()
        (self.owner.op(lambda store: logout_online(store, registry_url))
         .success(lambda _revoked: self._logged_out())
         .failure(lambda e: self._logged_out(describe_error(e))).run())

    def _logged_out(self, error: str = "") -> None:
        if self.central_window is not None:
            self.central_window.shutdown()
            self.central_window.close()
            self.central_window.deleteLater()
            self.central_window = None
        if self.main_window is not None:
            self.main_window.close()
            self.main_window.deleteLater()
            self.main_window = None
        self.login_window.status_label.clear()
        self.login_window.error_label.setText(error)
        self.login_window.password_edit.clear()
        self.login_window.show()
        self.logged_out.emit()

    def shutdown(self) -> None:
        if self.central_window is not None:
            self.central_window.shutdown()
        if self.main_window is not None:
            if self.main_window.form.capture_dialog is not None:
                # its camera and analyser threads must end before Qt tears the dialog down
                self.main_window.form.capture_dialog.stop()
            self.main_window.form.flush()
        self.monitor.stop()
        self.owner.shutdown()


def _install_translations(app: QApplication) -> None:
    """Source strings are Simplified Chinese, and so are Qt's own (file dialogs, buttons) whatever the
    machine's locale; a .qm of ours for another locale, when shipped, goes here."""
    install_qt_chinese(app)
    translator = QTranslator(app)
    qm_dir = Path(__file__).resolve().parent.parent / "resources" / "translations"
    if translator.load(QLocale(), "yikatong", "_", str(qm_dir)):
        app.installTranslator(translator)


class AppRun:
    """One start of the app as ``yikatong app`` makes it: ``start()`` builds it, ``exec()`` runs it to the end."""

    def __init__(self, app: QApplication, desktop: DesktopApp, guard: CrashGuard, quitter: SignalQuitter) -> None:
        self.app, self.desktop, self.guard, self.quitter = app, desktop, guard, quitter

    def exec(self) -> int:
        clean = False
        try:
            code = int(self.app.exec())
            clean = True
        finally:
            try:
                self.desktop.shutdown()
            finally:
                self.quitter.uninstall()
                if clean:
                    self.guard.end()
                else:            # the marker stays: the next start writes a report with this log
                    log.error("the app stopped on an unexpected error", exc_info=True)
        return code


def start(argv: list[str] | None = None, *, store_path: str | Path | None = None,
          registry_url: str | None = None) -> AppRun:
    """Everything a start does before the event loop runs; the login window is shown."""
    store = Path(store_path or default_store_path())
    private_dir(store.parent)  # owner only: the store, its token and the crash folder
    guard = CrashGuard(store.parent / "crash")
    previous_crash = guard.begin()
    install_excepthook()
    app = QApplication.instance() or QApplication(list(argv) if argv is not None else sys.argv[:1])
    app.setApplicationName(APP_NAME)
    # No application display name: Linux window managers append it to every window title
    # (一卡通 登记 — 登录 — 一卡通 登记); each window's own title names the app already.
    app.setOrganizationName("yikatong")
    _install_translations(app)
    apply_style(app)
    desktop = DesktopApp(store, registry_url, crash_report=previous_crash)
    quitter = SignalQuitter(app)
    desktop.show()
    return AppRun(app, desktop, guard, quitter)


SMOKE_LINE = "YIKATONG_LOGIN_SHOWN"


def _end_smoke_start(run: AppRun) -> None:
    """``yikatong app --smoke``: once the event loop runs, say whether the login window shows, then quit
    the ordinary way (shutdown, crash marker cleared), so an installer test sees a whole start and end."""
    login = run.desktop.login_window
    shown = login.isVisible()
    print(f"{SMOKE_LINE} {login.windowTitle()}" if shown else "error: smoke.no_login_window", flush=True)
    run.app.exit(0 if shown else 1)


def main(argv: list[str] | None = None, *, store_path: str | Path | None = None,
         registry_url: str | None = None, smoke: bool = False) -> int:
    run = start(argv, store_path=store_path, registry_url=registry_url)
    if smoke:
        QTimer.singleShot(0, lambda: _end_smoke_start(run))
    return run.exec()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
