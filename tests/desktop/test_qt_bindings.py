"""The installed Qt bindings keep Python's reference counts straight (PySide6 6.12 on 3.11 did not)."""

from __future__ import annotations

import sys


def test_void_qt_calls_do_not_leak_references_to_none(qtbot):
    """Ten thousand void Qt calls and signal emits leave the counts of None and True unchanged."""
    from PySide6.QtWidgets import QPushButton

    button = QPushButton()
    qtbot.addWidget(button)
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(10_000):
        button.setEnabled(True)
        button.toggled.emit(True)
    # A little slack for objects the interpreter itself creates meanwhile; the 6.12 bug drops 20,000.
    assert abs(sys.getrefcount(None) - none_before) < 100
    assert abs(sys.getrefcount(True) - true_before) < 100
