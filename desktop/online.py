"""Online/offline state: a periodic ``check_online`` on its own thread.

Not on the store thread: a sync may keep that one busy, and the indicator must still move
when the link drops. The UI thread only starts checks and receives the answer by signal.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot


def _default_check(url: str) -> bool:
    from sync.client import check_online

    return bool(check_online(url, timeout=2))


class _NetWorker(QObject):
    result = Signal(int)  # 1/0: no bools through queued signals (see store_worker)

    def __init__(self, check: Callable[[str], bool]) -> None:
        super().__init__()
        self._check = check

    @Slot(str)
    def check(self, url: str) -> None:
        try:
            ok = bool(url) and self._check(url)
        except Exception:  # noqa: BLE001 - any failure to reach the registry means offline
            ok = False
        self.result.emit(int(ok))


class OnlineMonitor(QObject):
    """Emits ``changed(online)`` when the registry becomes reachable or unreachable."""

    changed = Signal(int)   # 1 online, 0 offline
    checked = Signal(int)
    _request = Signal(str)

    def __init__(self, interval_ms: int = 5000, check: Callable[[str], bool] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.url = ""
        self.online: bool | None = None
        self._in_flight = False
        self._thread = QThread()
        self._thread.setObjectName("online-check")
        self._worker = _NetWorker(check or _default_check)
        self._worker.moveToThread(self._thread)
        self._request.connect(self._worker.check)
        self._worker.result.connect(self._on_result)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check_now)

    def start(self, url: str) -> None:
        self.url = url or ""
        if not self._thread.isRunning():
            self._thread.start()
        self._timer.start()
        self.check_now()

    def set_url(self, url: str) -> None:
        self.url = url or ""
        self.check_now()

    @Slot()
    def check_now(self) -> None:
        if self._in_flight or not self._thread.isRunning():
            return
        self._in_flight = True
        self._request.emit(self.url)

    @Slot(int)
    def _on_result(self, result: int) -> None:
        ok = bool(result)
        self._in_flight = False
        self.checked.emit(int(ok))
        if ok != self.online:
            self.online = ok
            self.changed.emit(int(ok))

    def stop(self) -> None:
        self._timer.stop()
        if self._thread.isRunning():
            self._thread.quit()
            self._thread.wait(5000)
