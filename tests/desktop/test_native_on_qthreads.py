"""dlib's first use inside QThread slots, in a fresh process (capture/native.py; issue 8's crash)."""

from __future__ import annotations

from tests.capture.test_native import run_fresh

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



def test_first_dlib_use_across_qthread_slots_does_not_crash():
    """dlib imported in one QThread slot and first given an array in a later one (the capture dialog's
    pattern, SIGSEGV before the fix) works through capture.native."""
    done = run_fresh(QTHREAD_SLOTS)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr[-2000:]}"
    assert "faces 0" in done.stdout
