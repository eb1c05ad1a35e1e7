"""dlib, imported and its NumPy bridge initialised safely, whatever thread asks first.

Why this module exists (issue 8: the app died with SIGSEGV the moment 拍照 opened):

dlib's Python module is a pybind11 extension. When pybind11 creates its internals (on the first
``import dlib``) it stores the importing thread's Python thread state in a thread-local slot and,
on that thread, later trusts the slot over the thread's real state. The first time dlib converts a
NumPy array, pybind11 initialises its NumPy API once (``gil_safe_call_once_and_store<npy_api>``):
it releases the GIL, then re-acquires it with the thread state from that slot, and deletes it on
the way out.

On a thread Python created (the main thread, a ``threading.Thread``) the thread state lives as
long as the thread, so this is harmless. A QThread is not such a thread: PySide6 gives every slot
invocation a fresh thread state (``PyGILState_Ensure``) and frees it when the slot returns. If
``import dlib`` ran in one slot (the capture dialog's analyser loading the models) and the first
array conversion in a later one (analysing the first frame), pybind11 re-acquired a thread state
that had already been freed: ``_PyThreadState_DeleteCurrent`` on freed memory, SIGSEGV. Tests never
saw it because their fixtures loaded the engine on the main thread first.

The fix: ``dlib()`` imports dlib and converts one array on a thread whose state outlives the
call: the caller itself when Python created its thread, otherwise a short-lived
``threading.Thread`` that does it and is joined. After that, pybind11's internals exist, the
NumPy bridge is initialised process-wide and no thread-local slot points at a dead thread
state, so dlib may be used from any thread, QThreads included. Entry points also call
``init_native()`` on the main thread at start-up, so the import cost is paid there, once.

Only dlib among our dependencies is a pybind11 extension (OpenCV initialises NumPy's C API at
import, with no such cache); a new native dependency with this pattern belongs here too.
"""

from __future__ import annotations

import threading
from types import ModuleType
from typing import Any

_lock = threading.Lock()
_dlib: ModuleType | None = None


def _import_and_touch() -> ModuleType:
    import dlib
    import numpy as np

    # One array through dlib: the once-only NumPy API initialisation happens here and now. get_rect
    # is the cheapest call that converts an array (building the HOG detector would cost ~0.5 s).
    dlib.get_rect(np.zeros((8, 8), dtype=np.uint8))
    return dlib


def _on_python_thread() -> bool:
    """True on a thread Python created (its thread state lives as long as the thread)."""
    return not isinstance(threading.current_thread(), threading._DummyThread)


def dlib() -> ModuleType:
    """The dlib module, ready for use from any thread (see the module docstring)."""
    global _dlib
    if _dlib is not None:
        return _dlib
    with _lock:
        if _dlib is None:
            if _on_python_thread():
                _dlib = _import_and_touch()
            else:
                box: dict[str, Any] = {}

                def run() -> None:
                    try:
                        box["module"] = _import_and_touch()
                    except BaseException as e:  # noqa: BLE001 - re-raised on the caller's thread
                        box["error"] = e

                helper = threading.Thread(target=run, name="dlib-init")
                helper.start()
                helper.join()
                if "error" in box:
                    raise box["error"]
                _dlib = box["module"]
    return _dlib


def init_native() -> None:
    """Call on the main thread at start-up: pays dlib's import there (~20 ms), never on a worker."""
    dlib()


def native_ready() -> bool:
    return _dlib is not None
