"""dlib's first use is safe on any thread (capture/native.py); each case runs in a fresh process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.conftest import ROOT

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


def run_fresh(script: str) -> subprocess.CompletedProcess:
    """``script`` in a fresh interpreter: nothing of dlib imported before it runs."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen"})


def test_first_dlib_use_on_python_threads_does_not_crash():
    """The models loaded on one Python thread and used on another (the registry's check worker and
    request threads) work; the QThread case is in tests/desktop/test_native_on_qthreads.py."""
    done = run_fresh(PYTHON_THREADS)
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
