"""Online/offline state: a periodic ``check_online`` on its own lane (``desktop.lane``).

Not on the store's lane: a sync may keep that one busy, and the indicator must still move
when the link drops. The UI thread only starts checks and receives the answer by signal.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from .lane import Lane


def _default_check(url: str) -> bool:
    from sync.client import check_online

    return bool(check_online(url, timeout=2))


class OnlineMonitor(QObject):
    """Emits ``changed(online)`` when the registry becomes reachable or unreachable."""

    changed = Signal(int)   # 1 online, 0 offline
    checked = Signal(int)

    def __init__(self, interval_ms: int = 5000, check: Callable[[str], bool] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.url = ""
        self.online: bool | None = None
        self._in_flight = False
        self._check = check or _default_check
        # A lane of its own, holding nothing: the checks only need to be off the UI thread and
        # never stuck behind a sync or a long central run.
        self._lane = Lane("online-check", parent=self)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check_now)

    def start(self, url: str) -> None:
        self.url = url or ""
        if not self._lane.running():
            self._lane.start()
        self._timer.start()
        self.check_now()

    def set_url(self, url: str) -> None:
        self.url = url or ""
        self.check_now()

    @Slot()
    def check_now(self) -> None:
        if self._in_flight or not self._lane.running():
            return
        self._in_flight = True
        url, check = self.url, self._check
        # Any failure to reach the registry means offline.
        (self._lane.op(lambda _nothing: bool(url) and bool(check(url)))
         .success(self._on_result).failure(lambda _e: self._on_result(False)).run())

    def _on_result(self, ok: object) -> None:
        ok = bool(ok)
        self._in_flight = False
        self.checked.emit(int(ok))
        if ok != self.online:
            self.online = ok
            self.changed.emit(int(ok))

    def stop(self) -> None:
        self._timer.stop()
        self._lane.shutdown()
