"""The registry's check worker: one thread that runs the checks soon after records arrive.

Pushes wake it; it also looks every ``interval`` seconds (records pushed while it was busy,
or by another registry process on the same database). The face index is loaded from the
database once, in this thread, on the first run, and then kept up to date by the runner.
A run asked for over the API (``run_now``) waits for the lock and runs in the caller's thread.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import Engine

from enrollment.vocabulary import ReviewState

from .. import audit
from . import CheckConfig
from .runner import run_checks

log = logging.getLogger("registry.checks")


class CheckWorker:
    def __init__(self, engine: Engine, *, clock: Any, config: CheckConfig | None = None, rules: Any = None,
                 interval: float = 5.0) -> None:
        self.engine, self.clock, self.interval = engine, clock, interval
        self.config = config or CheckConfig.load()
        self._rules = rules
        self._face_index: Any = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _ready(self) -> None:
        """Load the rules and the face index (first run only; called under the lock)."""
        if self._rules is None:
            from .rules import RuleSet

            self._rules = RuleSet.load()
        if self._face_index is None:
            from .faces import RegistryFaceIndex

            self._face_index = RegistryFaceIndex.load(self.engine)

    def run_now(self, actor: str = audit.SYSTEM, *, recheck_all: bool = False,
                record_ids: list[str] | None = None, progress: Any = None) -> dict[str, Any]:
        with self._lock:
            self._ready()
            return run_checks(self.engine, config=self.config, rules=self._rules, face_index=self._face_index,
                              now=self.clock.now(), actor=actor, recheck_all=recheck_all, record_ids=record_ids,
                              batch=50, progress=progress)

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> CheckWorker:
        self._thread = threading.Thread(target=self._loop, name="registry-checks", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                summary = self.run_now()
                if summary["checked"]:
                    log.info("checked %d record(s): %d need review, %d cleared", summary["checked"],
                             summary.get(ReviewState.NEEDS_REVIEW, 0), summary.get(ReviewState.CLEARED, 0))
            except Exception as exc:  # noqa: BLE001 - the worker must survive; logged without data
                log.error("check run failed: %s", type(exc).__name__)
