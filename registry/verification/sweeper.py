"""The server's thread that moves requests past their expiry to ``manual`` (with their finding), so the
cadre's laptop learns of it at the next sync even when nobody opens the link again."""

from __future__ import annotations

from sqlalchemy import Engine

from ..clock import Clock
from ..periodic import Periodic
from . import request_store

DEFAULT_INTERVAL = 300.0


class VerificationSweeper(Periodic):
    name = "registry-verification-expiry"

    def __init__(self, engine: Engine, *, clock: Clock, interval: float = DEFAULT_INTERVAL) -> None:
        super().__init__(interval)
        self.engine, self.clock = engine, clock

    def work(self) -> int:
        return request_store.expire_due(self.engine, self.clock)
