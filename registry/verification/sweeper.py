"""The server's thread that moves requests past their expiry to ``manual`` (with their finding), so the
cadre's laptop learns of it at the next sync even when nobody opens the link again."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

from ..clock import Clock
from . import request_store

log = logging.getLogger("registry.verification")
DEFAULT_INTERVAL = 300.0


class VerificationSweeper:
    def __init__(self, engine: Engine, *, clock: Clock, interval: float = DEFAULT_INTERVAL) -> None:
        self.engine, self.clock, self.interval = engine, clock, interval
        self.ran = threading.Event()  # set after each run (tests wait on it, never on time)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        moved = request_store.expire_due(self.engine, self.clock)
        self.ran.set()
        return moved

    def start(self) -> VerificationSweeper:
        self._thread = threading.Thread(target=self._loop, name="registry-verification-expiry", daemon=True)
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
            except Exception as exc:  # noqa: BLE001 - the sweeper must survive; logged without data
                log.error("verification expiry failed: %s", type(exc).__name__)
