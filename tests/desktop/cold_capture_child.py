"""Child process for the crash reproduction (issue 8): CaptureDialog() in a fresh process, nothing preloaded.

``python tests/desktop/cold_capture_child.py`` with YIKATONG_CAMERA set to a video file: makes a
QApplication, opens the capture dialog with its defaults (the app's shared face engine, the
camera from YIKATONG_CAMERA), and waits for the analyser's first guidance. Prints PRELOADED (which
native face modules were imported before the dialog: must be none), then GUIDANCE <code> and exits
0; exits 3 when no guidance comes within a minute. Before the fix it died of SIGSEGV instead.
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

app = QApplication([])
from desktop.capture_dialog import CaptureDialog  # noqa: E402

print("PRELOADED " + (" ".join(m for m in ("dlib", "_dlib_pybind11") if m in sys.modules) or "none"), flush=True)
dialog = CaptureDialog()
dialog.show()
started = time.monotonic()


def check() -> None:
    if dialog.frames_shown and dialog.guidance_label.text() not in ("", "正在准备人脸识别…"):
        print(f"GUIDANCE {dialog.guidance_code or 'ok'} frames={dialog.frames_shown}", flush=True)
        app.exit(0)
    elif time.monotonic() - started > 60:
        print("GUIDANCE none", flush=True)
        app.exit(3)


timer = QTimer()
timer.timeout.connect(check)
timer.start(100)
code = app.exec()
dialog.stop()
sys.exit(code)
