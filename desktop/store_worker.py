"""The one owner of the laptop store: the store's lane (``desktop.lane``).

Every read and write of the SQLite file happens on this lane's thread, one operation at a
time, in the order the UI submitted them::

    owner.op(lambda store: store.search_residents(q)).success(show).failure(err).run()

The UI thread never touches the store, the disk or the network; the lane never touches a
widget. Results and errors come back by signal, and the callbacks run on the UI thread.

Long work (a sync) is submitted as *steps* (``owner.steps(factory)``): a generator advanced
one unit at a time, so autosaves and searches queued meanwhile run between two units
instead of waiting for the whole sync. ``progress`` callbacks receive each yielded value;
``success`` receives the generator's return value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject

from .lane import Lane, Op

__all__ = ["Op", "StoreOwner"]


def _warm_up() -> None:
    """Load the ID-number region table on the store thread, so the UI thread's live validation never reads disk."""
    try:
        from enrollment import id_number

        id_number.parse("11010519491231002X")
    except Exception:  # noqa: BLE001 - only a cache warm-up
        pass


class StoreOwner(Lane):
    """The lane whose resource is the opened laptop store; ``opened`` says whether it opened."""

    def __init__(self, opener: Callable[[], Any], parent: QObject | None = None) -> None:
        def open_store() -> Any:
            store = opener()
            _warm_up()
            return store

        super().__init__("store-owner", open_store, parent, closed_code="store.closed")
