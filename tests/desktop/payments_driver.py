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

import app_driver_kit as kit  # noqa: E402 - beside this file
from app_driver_kit import click, window  # noqa: E402
from PySide6.QtCore import Qt, QTimer  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

STORE, URL, SHOTS, ROSTER = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4]
USER, PASSWORD, DEPARTMENT = "central1", "central-pass-1", "民政局"

app = QApplication(sys.argv[:1])
state: dict = {"t0": time.monotonic()}


def shot(widget, name: str) -> None:
    kit.shot(SHOTS, widget, name)


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
    return kit.type_into_file_dialog(ROSTER, state) and "typed" in state \
        and state["dialog"].path_edit.text() == ROSTER


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


timer = kit.run_steps(app, STEPS, state, SHOTS, "payments_twin_timeout")

from cli.main import main  # noqa: E402 - the ``yikatong`` command's own function

sys.exit(main(["app", "--store", STORE, "--registry", URL]))
