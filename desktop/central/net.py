"""The central workspace's lanes (``desktop.lane``): each one owns its own ``CentralClient``.

The same op pattern as the store::

    net.op(lambda client: client.queue(f)).success(show).failure(err).run()

``fn(client)`` runs on the lane's thread, one call at a time in submission order (one HTTP
session per lane, never shared between threads); callbacks run on the UI thread.
``busy_changed(n)`` says how many calls are in flight, for the busy indicator.

The workspace has two: ``short`` calls a person waits on (queue, record, photos, dashboard,
warnings, decisions), and ``long`` runs (run the checks now, the escalation report) that may
take minutes and must not hold up the queue behind them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject

from desktop.lane import Lane


def _connect(registry_url: str, token: str | None) -> Callable[[], Any]:
    def opener():
        from sync.central import CentralClient

        return CentralClient.connect(registry_url, token)
    return opener


class CentralOwner(Lane):
    """A lane whose resource is a CentralClient: its thread is the one that talks to the registry."""

    def __init__(self, registry_url: str, token: str | None, parent: QObject | None = None,
                 opener: Callable[[], Any] | None = None, name: str = "central-net") -> None:
        super().__init__(name, opener or _connect(registry_url, token), parent)
        self.registry_url = registry_url
