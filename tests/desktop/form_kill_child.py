"""Child process for test_form_survives_kill: an app whose cadre is typing when the power goes.

``python tests/desktop/form_kill_child.py STORE``: logs in offline, opens a new enrollment,
types an ID number and a name (moving on from each, as a person does), starts typing the
address, prints TYPING once the earlier fields' autosave is committed, and waits to be killed.
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtGui import QInputMethodEvent  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop.app import DesktopApp  # noqa: E402

ID_NUMBER, NAME = sys.argv[2], sys.argv[3]


def type_like_a_person(widget, text: str) -> None:
    """Digits as key presses; Chinese committed by the input method, as an IME does."""
    widget.setFocus()
    for ch in text:
        if ch.isascii():
            QTest.keyClicks(widget, ch)
        else:
            event = QInputMethodEvent("", [])
            event.setCommitString(ch)
            QApplication.sendEvent(widget, event)
    widget.editingFinished.emit()  # moving on to the next field


def main() -> None:
    app = QApplication([])
    desktop = DesktopApp(sys.argv[1], "http://127.0.0.1:9")  # nothing listens: offline login
    saved = []

    def logged_in(_result):
        form = desktop.main_window.form
        form.draft_saved.connect(saved.append)
        desktop.main_window.show()
        type_like_a_person(form.id_edit, ID_NUMBER)
        type_like_a_person(form.name_edit, NAME)
        form.address_edit.setFocus()

        started = time.monotonic()

        def wait_for_save():
            if time.monotonic() - started > 15:
                print("NO-AUTOSAVE", flush=True)  # fail fast instead of hanging the test
                app.quit()
            elif saved and not form.saving():  # every field left so far is committed
                QTest.keyClicks(form.address_edit, "No.3")  # mid-typing: not finished, maybe not saved
                print("TYPING", saved[-1], flush=True)
            else:
                QTimer.singleShot(20, wait_for_save)

        QTimer.singleShot(20, wait_for_save)

    desktop.login_window.logged_in.connect(logged_in)
    desktop.show()
    desktop.login_window.username_edit.setText("cadre1")
    desktop.login_window.password_edit.setText("cadre-pass-1")
    desktop.login_window.submit()
    app.exec()


if __name__ == "__main__":
    main()
