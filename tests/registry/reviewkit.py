"""Helpers for the review tests: operators and records made in-process, routed by the real runner.

``route`` runs ``registry.checks.runner.run_checks`` on chosen records with one stand-in check
that reports exactly the findings a test asks for, so a test decides which records need review
without depending on the real checks' data (those have their own tests).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from regkit import PASSWORD, VILLAGE_A, item, payload
from sqlalchemy import Engine, select

from enrollment.records import validate_enrollment
from registry.auth import Operator, add_operator, load_operator
from registry.checks import FLAG, INTERCEPT, CheckConfig, CheckResult, Finding, RuleCount
from registry.checks.runner import run_checks
from registry.schema import operators, records
from registry.service import push

T0 = dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)


def make_operator(engine: Engine, username: str, role: str, *villages: str) -> Operator:
    with engine.begin() as conn:
        existing = conn.execute(select(operators.c.id).where(operators.c.username == username)).scalar()
        op_id = existing or add_operator(conn, username=username, password=PASSWORD, role=role,
                                         village_codes=list(villages))
        return load_operator(conn, op_id)


def push_new(engine: Engine, cadre: Operator, i: int, *, clock: Any = None, village: str = VILLAGE_A,
             **over: Any) -> dict[str, Any]:
    """Push a new record for resident ``i``; returns its payload."""
    p = payload(i, village, **over)
    result = push(engine, cadre, "laptop-1", [item(p)], clock=clock)[0]
    assert result["status"] == "accepted", result
    return p


def push_edit(engine: Engine, cadre: Operator, p: dict[str, Any], base_version: int, *, clock: Any = None,
              **over: Any) -> dict[str, Any]:
    p2 = validate_enrollment({**p, **over})
    result = push(engine, cadre, "laptop-1", [item(p2, base_version)], clock=clock)[0]
    assert result["status"] == "accepted", result
    return p2


def stand_in_check(wanted: dict[str, list[Finding]], seen: set[str] | None = None):  # noqa: ANN201
    def check(_ctx: Any, batch: list) -> CheckResult:
        result = CheckResult(counts=[RuleCount("test_rule", "dataset_rule", "民政", "deaths", compared=len(batch))])
        for rec in batch:
            if seen is not None:
                seen.add(rec.record_id)
            for f in wanted.get(rec.record_id, []):
                result.add(rec.record_id, f)
                result.counts[0].intercepted += f.severity == INTERCEPT
                result.counts[0].flagged += f.severity == FLAG
        return result
    return check


def finding(kind: str = "dataset_rule", severity: str = INTERCEPT, subject: str = "row-1", **evidence: Any
            ) -> Finding:
    return Finding(kind=kind, severity=severity, evidence=evidence or {"why": "test"},
                   rule="test_rule" if kind == "dataset_rule" else "", subject=subject)


def route(engine: Engine, wanted: dict[str, list[Finding]], *, now: dt.datetime = T0) -> None:
    """Check exactly these records with the stand-in check: those with findings go to needs_review,
    the others to cleared. Retries while another runner (the server's worker) holds them."""
    ids = sorted(wanted)
    deadline = time.monotonic() + 30
    # Done when THIS check has routed every record: the server's own worker may check a record while
    # this run skips it as locked, which also sets checked_version, but with the real checks' result.
    seen: set[str] = set()
    while True:
        run_checks(engine, config=CheckConfig(), rules=None, face_index=None, now=now, actor="test",
                   record_ids=[i for i in ids if i not in seen], checks=[stand_in_check(wanted, seen)])
        with engine.connect() as conn:
            rows = conn.execute(select(records.c.record_id, records.c.version, records.c.checked_version)
                                .where(records.c.record_id.in_(ids))).all()
        if seen >= set(ids) and all(r.checked_version == r.version for r in rows) and len(rows) == len(ids):
            return
        assert time.monotonic() < deadline, "records stayed locked by another check run"
        time.sleep(0.2)


def state_of(engine: Engine, record_id: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(records).where(records.c.record_id == record_id)).one()


def run_real_checks(engine: Engine, ids: list[str], *, now: dt.datetime = T0) -> None:
    """Run the registry's own checks (identity, faces, dataset rules) until these records are checked
    (the server's worker may be checking them at the same time)."""
    from registry.checks.faces import RegistryFaceIndex
    from registry.checks.rules import RuleSet

    # As the server's worker does: the rules and a face index loaded once, then kept up to date.
    rules, faces = RuleSet.load(), RegistryFaceIndex.load(engine)
    deadline = time.monotonic() + 60
    while True:
        run_checks(engine, config=CheckConfig.load(), rules=rules, face_index=faces, now=now, actor="test")
        with engine.connect() as conn:
            rows = conn.execute(select(records.c.version, records.c.checked_version)
                                .where(records.c.record_id.in_(ids))).all()
        if len(rows) == len(ids) and all(r.checked_version == r.version for r in rows):
            return
        assert time.monotonic() < deadline, "records stayed unchecked"
        time.sleep(0.2)


def plant_card(engine: Engine, id_number: str, *, status: str = "active", name: str = "持卡人",
               card_number: str | None = None) -> str:
    """TEST-ONLY: the card bank's card for ``id_number`` straight into ``cards`` (``registry import-cards``
    has its own tests); mark-issued needs one. Returns the card number."""
    from sqlalchemy import func, insert

    from registry.schema import card_imports, cards

    with engine.begin() as conn:
        n = conn.execute(select(func.count()).select_from(cards)).scalar_one()
        number = card_number or f"621483{n:013d}"
        import_id = conn.execute(insert(card_imports).values(
            file_name="cards.csv", sha256=f"{n:064d}", rows=1, imported_at="2026-11-01T00:00:00Z", actor="test",
        ).returning(card_imports.c.id)).scalar_one()
        conn.execute(insert(cards).values(id_number=id_number, name=name, card_number=number,
                                          bank_account="6228" + number[-12:], bank="遂宁银行", status=status,
                                          status_date="2026-11-01", import_id=import_id,
                                          updated_at="2026-11-01T00:00:00Z"))
    return number


def plant_card_of_record(engine: Engine, record_id: str, **kw: Any) -> str:
    """TEST-ONLY: ``plant_card`` for the ID number of the record ``record_id``."""
    with engine.connect() as conn:
        number = conn.execute(select(records.c.id_number).where(records.c.record_id == record_id)).scalar_one()
    return plant_card(engine, number, **kw)
