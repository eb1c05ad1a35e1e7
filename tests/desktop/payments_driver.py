"""Child process for test_central_payments' twin: the real ``yikatong app`` driven the way central staff use it.

``python tests/desktop/payments_driver.py STORE REGISTRY_URL SHOTS_DIR ROSTER.csv``

Nothing is preloaded (the in-process tests build ``CentralWindow`` directly and pick files by calling the
file dialog's methods); here the app starts through ``cli.main.main(["app", ...])``, central1 logs in on the
login window, opens 代发, presses 导入发放名单…, types 民政局, picks the roster by typing its path into the
real file dialog's name box, presses 导入, then opens 支付拦截 and waits for the stopped lines. Prints
STEP <name> per step and RESULT {ready, intercepted, refused, interceptions}; a step that does not finish in
time prints TIMEOUT <name> and exits 3.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from PySide6.QtCore import Qt, QTimer  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit  # noqa: E402

STORE, URL, SHOTS, ROSTER = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4]
USER, PASSWORD, DEPARTMENT = "central1", "central-pass-1", "民政局"
STEP_TIMEOUT_S = 120

app = QApplication(sys.argv[:1])
state: dict = {"t0": time.monotonic()}


def window(name: str):
    for w in QApplication.topLevelWidgets():
        if w.objectName() == name and w.isVisible():
            return w
    return None


def click(widget) -> None:
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton)


def shot(widget, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(SHOTS / f"{name}.png"))


def login() -> bool:
    w = window("loginWindow")
    if w is None:
        return False
    w.username_edit.setText(USER)
    w.password_edit.setText(PASSWORD)
    click(w.login_button)
    return True


def workspace() -> bool:
    win = window("centralWindow")
    if win is None or win.net.pending() or win.long_net.pending():
        return False
    state["win"] = win
    bar = win.tabs.tabBar()
    tab = next(i for i in range(win.tabs.count()) if win.tabs.tabText(i) == "代发")
    QTest.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(tab).center())
    if win.tabs.currentWidget() is not win.payments:
        return False
    win.payments.roster_imported.connect(lambda answer: state.setdefault("imported", answer))
    click(win.payments.import_button)
    return True


def roster_dialog() -> bool:
    dialog = window("rosterImportDialog")
    if dialog is None:
        return False
    state["dialog"] = dialog
    dialog.department_combo.lineEdit().insert(DEPARTMENT)   # typed through the input method: no key codes
    QTimer.singleShot(0, lambda: click(dialog.choose_button))
    return True


def choose_file() -> bool:
    """Type the roster's path into the file dialog's name box and press Enter, as a person can."""
    dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, QFileDialog) and w.isVisible()]
    if not dialogs:
        return "typed" in state and state["dialog"].path_edit.text() == ROSTER
    name_box = dialogs[0].findChild(QLineEdit, "fileNameEdit")
    if name_box is not None and name_box.text() != ROSTER:
        name_box.setFocus()
        name_box.setText(ROSTER)
        QTest.keyClick(name_box, Qt.Key.Key_Return)
        state["typed"] = True
    return False


def press_import() -> bool:
    dialog = state["dialog"]
    if not dialog.ok_button.isEnabled():
        return False
    click(dialog.ok_button)
    return True


def imported() -> bool:
    if "imported" not in state:
        return False
    dialog = state["dialog"]
    shot(dialog, "payments_twin_roster_imported")
    click(dialog.close_button)
    win = state["win"]
    bar = win.tabs.tabBar()
    tab = next(i for i in range(win.tabs.count()) if win.tabs.tabText(i) == "支付拦截")
    QTest.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(tab).center())
    return win.tabs.currentWidget() is win.interceptions


def interceptions() -> bool:
    win = state["win"]
    if win.net.pending() or not win.interceptions.model.rowCount():
        return False
    shot(win, "payments_twin_interceptions")
    answer = state["imported"]
    print("RESULT " + json.dumps({"ready": answer.get("ready"), "intercepted": answer.get("intercepted"),
                                  "refused": answer.get("refused"),
                                  "interceptions": win.interceptions.model.rowCount()}), flush=True)
    win.close()          # the last window: the app leaves its event loop, main() returns
    return True


STEPS = [login, workspace, roster_dialog, choose_file, press_import, imported, interceptions]


def tick() -> None:
    if not STEPS:
        return
    step = STEPS[0]
    if step():
        print(f"STEP {step.__name__} {time.monotonic() - state['t0']:.1f}s", flush=True)
        STEPS.pop(0)
        state["since"] = time.monotonic()
    elif time.monotonic() - state.setdefault("since", time.monotonic()) > STEP_TIMEOUT_S:
        print(f"TIMEOUT {step.__name__}", flush=True)
        for i, w in enumerate(QApplication.topLevelWidgets()):
            if w.isVisible():
                shot(w, f"payments_twin_timeout_{step.__name__}_{i}")
        app.exit(3)


timer = QTimer()
timer.timeout.connect(tick)
timer.start(100)

from cli.main import main  # noqa: E402 - the ``yikatong`` command's own function

sys.exit(main(["app", "--store", STORE, "--registry", URL]))
