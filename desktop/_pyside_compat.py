"""Work around PySide6 6.12 on Python 3.11: immortalise None, True and False.

Measured here (PySide6-Essentials 6.12.0, abi3 wheels, CPython 3.11): every call of a
void Qt method (``setEnabled``, ``setText``, ``click`` …) drops one reference to ``None``
and ``Signal.emit`` drops one to ``True`` — the bindings assume the immortal singletons of
Python ≥ 3.12 (PEP 683), where a missing ``Py_INCREF`` is harmless. On 3.11 the counts
run down and the process aborts with "none_dealloc" / "bool_dealloc" (at the latest when
the interpreter finalises). Giving the three singletons a reference count no session can
exhaust restores what 3.12 does natively; on 3.12+ nothing is done.
"""

from __future__ import annotations

import ctypes
import platform
import sys

_MARGIN = 1 << 40
_applied = False


def apply() -> None:
    global _applied
    if _applied or sys.version_info >= (3, 12) or platform.python_implementation() != "CPython":
        return
    for obj in (None, True, False):
        # ob_refcnt is the first field of every PyObject (Py_ssize_t) in a release build
        ctypes.c_ssize_t.from_address(id(obj)).value += _MARGIN
    _applied = True


apply()
