"""What the child-process drivers of the real ``yikatong app`` share (``entry_driver.py``, ``payments_driver.py``):
find a window, click, save a screenshot, type a path into Qt's own file dialog, and run the steps on a timer
until each is done or one takes too long."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit

STEP_TIMEOUT_S = 120


def window(name: str) -> Any:
    for w in QApplication.topLevelWidgets():
        if w.objectName() == name and w.isVisible():
            return w
    return None


def click(widget: Any) -> None:
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton)


def shot(shots: Path, widget: Any, name: str) -> None:
    shots.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(shots / f"{name}.png"))


def type_into_file_dialog(path: str, state: dict) -> bool:
    """Type ``path`` into the open file dialog's name box and press Enter, as a person can (``state["typed"]``
    is set then); False while a dialog is open, True once none is (the caller checks what came of it)."""
    dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, QFileDialog) and w.isVisible()]
    if not dialogs:
        return True
    name_box = dialogs[0].findChild(QLineEdit, "fileNameEdit")
    if name_box is not None and name_box.text() != path:
        name_box.setFocus()
        name_box.setText(path)
        QTest.keyClick(name_box, Qt.Key.Key_Return)
        state["typed"] = True
    return False


def run_steps(app: Any, steps: list[Callable[[], bool]], state: dict, shots: Path, timeout_prefix: str) -> QTimer:
    """Call the first step every 100 ms until it returns True (printing ``STEP <name> <seconds>``), then the next;
    a step that takes more than STEP_TIMEOUT_S prints ``TIMEOUT <name>``, saves every visible window and exits 3."""
    def tick() -> None:
        if not steps:
            return
        step = steps[0]
        if step():
            print(f"STEP {step.__name__} {time.monotonic() - state['t0']:.1f}s", flush=True)
            steps.pop(0)
            state["since"] = time.monotonic()
        elif time.monotonic() - state.setdefault("since", time.monotonic()) > STEP_TIMEOUT_S:
            print(f"TIMEOUT {step.__name__}", flush=True)
            for i, w in enumerate(QApplication.topLevelWidgets()):
                if w.isVisible():
                    shot(shots, w, f"{timeout_prefix}_{step.__name__}_{i}")
            app.exit(3)

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(100)
    return timer
