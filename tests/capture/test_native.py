"""dlib's first use is safe on any thread (capture/native.py); each case runs in a fresh process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT

QTHREAD_SLOTS = """
    import numpy as np
    from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer, Signal, Slot

    from capture import native

    app = QCoreApplication([])

    class Worker(QObject):
        done = Signal()

        @Slot()
        def first(self):                      # one slot imports dlib ...
            self.detector = native.dlib().get_frontal_face_detector()

        @Slot(object)
        def later(self, image):               # ... a later one converts the first array
            print("faces", len(self.detector(image, 0)), flush=True)
            self.done.emit()

    class Sender(QObject):
        go = Signal(object)

    thread, worker, sender = QThread(), Worker(), Sender()
    worker.moveToThread(thread)
    thread.started.connect(worker.first)
    sender.go.connect(worker.later)
    worker.done.connect(app.quit)
    thread.start()
    QTimer.singleShot(300, lambda: sender.go.emit(np.zeros((64, 64), np.uint8)))
    app.exec()
    thread.quit()
    thread.wait()
    print("ready", native.native_ready(), flush=True)
"""

PYTHON_THREADS = """
    import threading

    import numpy as np

    from capture.faces import FaceEngine

    engine = FaceEngine(use_68=False)
    t = threading.Thread(target=engine.load)     # the registry's check worker loads the models
    t.start(); t.join()
    out = []
    t = threading.Thread(target=lambda: out.append(engine.detect(np.zeros((64, 64, 3), np.uint8))))
    t.start(); t.join()                           # a request thread uses them
    print("faces", len(out[0]), flush=True)
"""


@pytest.mark.parametrize("script", [QTHREAD_SLOTS, PYTHON_THREADS], ids=["qthread-slots", "python-threads"])
def test_first_dlib_use_off_the_main_thread_does_not_crash(script):
    """dlib imported in one QThread slot and first given an array in a later one (the capture dialog's
    pattern, SIGSEGV before the fix), or loaded and used on Python threads (the registry's), works."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr[-2000:]}"
    assert "faces 0" in done.stdout


def test_dlib_is_one_module_ready_for_any_thread():
    """native.dlib() gives the same initialised module on every call and from a helper thread."""
    import threading

    from capture import native

    first = native.dlib()
    seen = []
    t = threading.Thread(target=lambda: seen.append(native.dlib()))
    t.start()
    t.join()
    assert seen == [first] and native.native_ready()
    assert first.get_frontal_face_detector() is not None
