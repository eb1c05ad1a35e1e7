"""A server chore on a timer: a daemon thread that runs ``work()`` every ``interval`` seconds until
stopped (blob collection, verification expiry). ``ran`` is set after each run, so tests wait on it,
never on time; a failing run is logged by its exception type alone (no personal data) and the next
one still comes."""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger("registry.periodic")


class Periodic:
    name = "registry-periodic"

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.runs = 0
        self.ran = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def work(self) -> Any:
        raise NotImplementedError

    def run_once(self) -> Any:
        result = self.work()
        self.runs += 1
        self.ran.set()
        return result

    def start(self) -> Periodic:
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except Exception as exc:  # noqa: BLE001 - the chore must survive; logged without data
                log.error("%s failed: %s", self.name, type(exc).__name__)
