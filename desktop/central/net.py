"""The central workspace's network thread: one worker owning a ``CentralClient``.

The same Op pattern as the store (``desktop.store_worker``)::

    net.op(lambda client: client.queue(f)).success(show).failure(err).run()

``fn(client)`` runs on the network thread, one call at a time in submission order (one HTTP
session, never shared between threads); callbacks run on the UI thread. ``busy_changed(n)``
says how many calls are in flight, for the busy indicator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from desktop.store_worker import Op, StoreOwner


def _connect(registry_url: str, token: str | None) -> Callable[[], Any]:
    def opener():
        from sync.central import CentralClient

        return CentralClient.connect(registry_url, token)
    return opener


class CentralOwner(StoreOwner):
    """A StoreOwner whose "store" is a CentralClient: its thread is the one that talks to the registry."""

    busy_changed = Signal(int)

    def __init__(self, registry_url: str, token: str | None, parent: QObject | None = None,
                 opener: Callable[[], Any] | None = None) -> None:
        super().__init__(opener or _connect(registry_url, token), parent)
        self._thread.setObjectName("central-net")
        self.registry_url = registry_url
        # Explicitly queued: this runs on the UI thread, after StoreOwner's own handler (connected
        # first) has popped the finished op. (Overriding ``_on_done`` instead made PySide6 call it
        # directly on the network thread.)
        self._worker.done.connect(self._count_done, Qt.ConnectionType.QueuedConnection)

    def _run(self, op: Op) -> int:
        rid = super()._run(op)
        self.busy_changed.emit(self.pending())
        return rid

    @Slot(int, int, object)
    def _count_done(self, _rid: int, _ok: int, _result: object) -> None:
        self.busy_changed.emit(self.pending())
