"""Helpers for the checks' tests: records and dataset rows written straight into a real registry database.

The checks only read ``records`` and ``dataset_rows``; writing the rows directly keeps these
tests about the checks (the push path has its own tests).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from sqlalchemy import Connection, Engine, insert

from enrollment.canonical import canonical_bytes
from registry.checks import CheckConfig, CheckContext, CheckRecord
from registry.schema import dataset_imports, dataset_rows, records

TODAY = dt.date(2026, 11, 27)
AT = "2026-11-27T08:00:00.000000Z"


def store_record(engine: Engine, payload: dict[str, Any], *, village: str | None = None, version: int = 1,
                 deleted: bool = False, operator: str = "cadre_a", device_id: str = "laptop-1",
                 state: str = "received") -> CheckRecord:
    """Insert the record's current row and return it as the checks see it."""
    rid = payload.get("record_id") or str(uuid.uuid4())
    payload = {**payload, "record_id": rid}
    village = village or payload["village_code"]
    with engine.begin() as conn:
        conn.execute(insert(records).values(
            record_id=rid, village_code=village, id_number=payload["id_number"], version=version,
            content_hash=uuid.uuid4().hex, payload=None if deleted else canonical_bytes(payload).decode(),
            deleted=deleted, operator=operator, device_id=device_id, state=state, counter=1,
            created_at=AT, updated_at=AT, state_at=AT))
    return CheckRecord(rid, version, village, payload["id_number"], operator, device_id,
                       {} if deleted else payload, deleted)


def store_rows(engine: Engine, kind: str, rows: list[dict[str, str]]) -> list[int]:
    """Add dataset rows of a kind (as an import would store them); return their ids in order."""
    with engine.begin() as conn:
        import_id = conn.execute(insert(dataset_imports).values(
            kind=kind, file_name=f"{kind}.csv", sha256="0" * 64, rows=len(rows), imported_at=AT, actor="test",
        ).returning(dataset_imports.c.id)).scalar_one()
        return [conn.execute(insert(dataset_rows).values(
            kind=kind, id_number=r["id_number"], row=json.dumps(r, ensure_ascii=False, sort_keys=True),
            import_id=import_id).returning(dataset_rows.c.id)).scalar_one() for r in rows]


def context(conn: Connection, *, rules: Any = None, threshold: float = 0.85, today: dt.date = TODAY) -> CheckContext:
    return CheckContext(conn=conn, config=CheckConfig(demographic_threshold=threshold), today=today, rules=rules)
