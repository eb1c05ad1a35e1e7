"""The child process ``bench/bench_startup.py`` times (it lives in desktop/ because it drives Qt):
start the app exactly as ``yikatong app`` does, log in offline, print READY when the roster shows.

Run as ``python -m desktop.startup_probe STORE`` (``bare`` as STORE: only an empty Qt window, the
baseline). The login is submitted the moment the window appears: the benchmark measures the
app, not typing.
"""

from __future__ import annotations

import sys


def bare() -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QWidget

    app = QApplication([])
    w = QWidget()
    w.show()

    def done():
        print("READY", flush=True)
        app.quit()

    QTimer.singleShot(0, done)
    app.exec()


def full(store_path: str) -> None:
    """The real start (``desktop.app.start``: crash guard, dlib on the main thread, signal handling),
    then the login a cadre would type."""
    from desktop.app import start

    run = start(store_path=store_path, registry_url="http://127.0.0.1:9")  # nothing listens there: offline
    desktop = run.desktop

    def logged_in(_result):
        def loaded(n):
            if n:
                print(f"READY {n}", flush=True)
                run.app.quit()
        desktop.main_window.roster.loaded.connect(loaded)

    desktop.login_window.logged_in.connect(logged_in)
    desktop.login_window.username_edit.setText("bench")
    desktop.login_window.password_edit.setText("bench-password-1")
    desktop.login_window.submit()
    run.exec()


if __name__ == "__main__":
    bare() if sys.argv[1] == "bare" else full(sys.argv[1])
