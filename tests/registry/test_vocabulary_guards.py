"""The registry's database refuses a review state or finding kind that is not in enrollment/vocabulary.py."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import sqlalchemy as sa

from registry import schema
from registry.db import open_database

VERSIONS = Path(schema.__file__).parent / "migrations" / "versions"


def _newest_guard_migration():
    """The newest migration script that freezes the guards (a ``GUARDS`` table); later ones change other things."""
    names = sorted(p.stem for p in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))
    modules = [importlib.import_module(f"registry.migrations.versions.{n}") for n in names]
    return [m for m in modules if hasattr(m, "GUARDS")][-1]


def test_the_newest_migrations_guards_are_the_vocabularys():
    """The SQL the newest guard migration froze is what the vocabulary generates today: adding a state or a
    finding kind without a migration that replaces the guards fails here."""
    frozen = _newest_guard_migration().GUARDS
    for dialect in ("postgresql", "sqlite"):
        assert frozen[dialect] == schema.vocabulary_guard_sql(dialect), dialect


def _record(record_id: str, state: str) -> dict:
    return {"record_id": record_id, "village_code": "510903102201", "id_number": "510903196803140118",
            "version": 1, "content_hash": "0" * 64, "payload": "{}", "deleted": False, "operator": "c1",
            "device_id": "laptop-1", "state": state, "counter": 1, "created_at": "2026-12-01T00:00:00Z",
            "updated_at": "2026-12-01T00:00:00Z", "state_at": "2026-12-01T00:00:00Z"}


def _finding(kind: str) -> dict:
    return {"record_id": "r1", "version": 1, "kind": kind, "rule": "", "subject": "", "severity": "high",
            "evidence": "{}", "status": "open", "created_at": "2026-12-01T00:00:00Z"}


def test_a_state_or_kind_outside_the_vocabulary_is_refused(registry_db_url):
    """Every vocabulary state and kind is stored; a made-up one is refused on insert and on update, and
    nothing of the refused statement is written."""
    engine = open_database(registry_db_url)
    try:
        with engine.begin() as conn:
            for i, state in enumerate(schema.ReviewState):
                conn.execute(schema.records.insert().values(**_record(f"r{i}", state)))
            for kind in schema.FindingKind:
                conn.execute(schema.findings.insert().values(**_finding(kind)))
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(schema.records.insert().values(**_record("bad", "pending")))
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(schema.records.update().where(schema.records.c.record_id == "r0").values(state="done"))
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(schema.findings.insert().values(**_finding("gossip")))
        with engine.connect() as conn:
            assert conn.scalar(sa.select(sa.func.count()).select_from(schema.records)) == len(schema.ReviewState)
            assert conn.scalar(sa.select(schema.records.c.state).where(schema.records.c.record_id == "r0")) \
                == "received"
    finally:
        engine.dispose()
