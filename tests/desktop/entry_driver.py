"""Child process for test_entry_points: the real ``yikatong app`` driven the way a cadre uses it.

``python tests/desktop/entry_driver.py MODE STORE REGISTRY_URL SHOTS_DIR [PHOTO]``

Nothing is preloaded: no face engine, no warmed cache, no environment beyond what a person's
shell has (plus QT_QPA_PLATFORM=offscreen and YIKATONG_CAMERA, both set by the test, as a person
without a webcam would set the camera). The app starts through ``cli.main.main(["app", ...])``, the
function behind the ``yikatong`` command. The driver creates the QApplication first only so it can
schedule its steps; the app's ``main`` takes that instance as it would its own.

Modes:
  camera    log in, pick 陈芳 in the roster, tick consent, 拍照 (the video-file camera), wait for the
            automatic capture, 使用此照片, save, sync; prints RESULT {...}
  file      the same, but the camera is missing: 从文件导入… picks PHOTO in the file dialog
  segv      log in, then die of a segmentation fault (faulthandler._sigsegv): a fatal native error
  login     show the login window, print LOGIN_NOTICE <text of the crash notice>, quit

Each step prints STEP <name>; a step that does not finish in time prints TIMEOUT <name> and exits 3.
A segmentation fault anywhere ends the process with -11, which the test reports as such.
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
from PySide6.QtCore import QPoint, Qt, QTimer  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QTreeWidgetItemIterator  # noqa: E402

MODE, STORE, URL, SHOTS = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])
PHOTO = sys.argv[5] if len(sys.argv) > 5 else ""
USER, PASSWORD, RESIDENT = "cadre1", "cadre-pass-1", "陈芳"

app = QApplication(sys.argv[:1])
state: dict = {"t0": time.monotonic()}


def shot(widget, name: str) -> None:
    kit.shot(SHOTS, widget, name)


# ---- steps: each returns True when done (called every 100 ms until then) ------------------------
def login() -> bool:
    w = window("loginWindow")
    if w is None:
        return False
    state["login"] = w
    if MODE == "login":
        shot(w, "entry_login_after_crash")
        print("LOGIN_NOTICE " + (w.crash_label.text().replace("\n", " ") if w.crash_label.isVisible() else ""),
              flush=True)
        app.exit(0)
        return True
    w.username_edit.setText(USER)
    w.password_edit.setText(PASSWORD)
    click(w.login_button)
    return True


def roster_loaded() -> bool:
    win = window("mainWindow")
    if win is None or win.sync_panel.running or not win.roster.shown_residents():
        return False
    state["win"] = win
    if MODE == "segv":
        import faulthandler

        print("DYING", flush=True)
        faulthandler._sigsegv()
    shot(win, "entry_main_roster")
    return True


def pick_resident() -> bool:
    win = state["win"]
    tree = win.roster.tree
    it = QTreeWidgetItemIterator(tree)
    while it.value() is not None:
        item = it.value()
        if item.text(0) == RESIDENT:
            tree.scrollToItem(item)
            QTest.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualItemRect(item).center())
            return win.form.name_edit.text() == RESIDENT
        it += 1
    return False


def open_camera() -> bool:
    form = state["win"].form
    if not form.consent_check.isChecked():
        box = form.consent_check       # a person clicks the box itself, at the left of the wide row
        QTest.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
        if not box.isChecked():
            return False
    form.queued.connect(lambda record: state.setdefault("queued", record))
    click(form.photo_button)
    return True


def live_preview() -> bool:
    dlg = window("captureDialog")
    if dlg is None:
        return False
    state["dlg"] = dlg
    if MODE == "file":
        if dlg.camera_error is None:
            return False
        shot(dlg, "entry_capture_no_camera")
        # a person clicks 从文件导入… and picks the photo in the file dialog (next step)
        QTimer.singleShot(0, lambda: click(dlg.import_button))
        return True
    # the live preview once the face analysis speaks (guidance on screen, the box drawn)
    if dlg.frames_shown and dlg.guidance_code and dlg.guidance_label.text():
        shot(dlg, "entry_capture_live")
        print(f"GUIDANCE {dlg.guidance_code or 'ok'} {dlg.guidance_label.text()}", flush=True)
        return True
    return False


def choose_file() -> bool:
    """Type the photo's path into the file dialog's name box and press Enter, as a person can."""
    if MODE != "file":
        return True
    return kit.type_into_file_dialog(PHOTO, state) and "typed" in state   # done once the dialog has gone


def review_page() -> bool:
    dlg = state["dlg"]
    if dlg.pages.currentIndex() != 1:
        return False
    shot(dlg, f"entry_capture_review_{MODE}")
    print(f"CAPTURED {dlg.captured_how}", flush=True)
    click(dlg.accept_button)
    return True


def photo_saved() -> bool:
    form = state["win"].form
    if not form.photo_status.text().startswith("已拍摄证件照"):
        return False
    shot(state["win"], f"entry_form_with_photo_{MODE}")
    click(form.save_button)
    return True


def queued() -> bool:
    if "queued" not in state:
        return False
    win = state["win"]
    win.sync_panel.finished.connect(lambda report: state.setdefault("report", report))
    click(win.sync_panel.sync_button)
    return True


def synced() -> bool:
    if "report" not in state:
        return False
    report = state["report"]
    win = state["win"]
    shot(win, f"entry_synced_{MODE}")
    print("RESULT " + json.dumps({
        "record_id": state["queued"]["record_id"],
        "accepted": getattr(report, "accepted", None),
        "digest_match": getattr(report, "digest_match", None),
        "captured_how": state["dlg"].captured_how,
    }), flush=True)
    win.close()          # the last window: the app leaves its event loop, main() returns
    return True


STEPS = [login, roster_loaded, pick_resident, open_camera, live_preview, choose_file, review_page,
         photo_saved, queued, synced]


timer = kit.run_steps(app, STEPS, state, SHOTS, f"entry_timeout_{MODE}")

from cli.main import main  # noqa: E402 - the ``yikatong`` command's own function

sys.exit(main(["app", "--store", STORE, "--registry", URL]))
