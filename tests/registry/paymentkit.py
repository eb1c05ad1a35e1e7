"""Helpers shared by the payment batch and result tests: operators, a built-approved-exported batch, a
return file, and the status invariant checked after every step."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from payments_fixtures import ITEM, PERIOD
from regkit import PASSWORD
from reviewkit import make_operator
from sqlalchemy import Engine, select

from registry import schema as s
from registry.clock import FixedClock
from registry.payments.batches import approve_batch, build_batch, export_batch, payment_status

T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
__all__ = ["PASSWORD", "T0", "Env", "status", "lines_of", "results_file"]


class Env:
    """A migrated registry database with two central operators: ``maker`` builds, ``checker`` approves."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.clock = FixedClock(T0)
        self.maker = make_operator(engine, "maker", "central")
        self.checker = make_operator(engine, "checker", "central")

    def build(self, item: str = ITEM, period: str = PERIOD, township: str | None = None):  # noqa: ANN201
        self.clock.advance(minutes=1)
        return build_batch(self.engine, self.maker, item, period, township, clock=self.clock)

    def approve(self, batch_id: str) -> dict[str, Any]:
        self.clock.advance(minutes=1)
        return approve_batch(self.engine, self.checker, batch_id, clock=self.clock)

    def export(self, batch_id: str, out: Path, **kw: Any) -> dict[str, Any]:
        self.clock.advance(minutes=1)
        return export_batch(self.engine, batch_id, out, clock=self.clock, **kw)

    def sent(self, out: Path, **kw: Any) -> str:
        """Build, approve and export a batch of the default item and period; its id."""
        built = self.build(**kw)
        self.approve(built.id)
        self.export(built.id, out)
        return built.id


def status(engine: Engine, batch_id: str | None = None, **expected: tuple[int, int]) -> dict[str, Any]:
    """The status, after asserting issued = paid + failed + pending in count and fen and the expected parts."""
    with engine.connect() as conn:
        out = payment_status(conn, batch_id)
    for unit in ("count", "fen"):
        assert out["issued"][unit] == out["paid"][unit] + out["failed"][unit] + out["pending"][unit], out
    assert out["balanced"] is True
    for key, (count, fen) in expected.items():
        assert (out[key]["count"], out[key]["fen"]) == (count, fen), (key, out[key])
    return out


def lines_of(engine: Engine, batch_id: str | None = None) -> list[Any]:
    query = select(s.payment_lines).order_by(s.payment_lines.c.reference)
    if batch_id:
        query = query.where(s.payment_lines.c.batch_id == batch_id)
    with engine.connect() as conn:
        return list(conn.execute(query))


def results_file(path: Path, rows: list[tuple[str, ...]], header: str = "reference,status,reason",
                 encoding: str = "utf-8") -> Path:
    path.write_bytes(("\r\n".join([header, *(",".join(r) for r in rows)]) + "\r\n").encode(encoding))
    return path
