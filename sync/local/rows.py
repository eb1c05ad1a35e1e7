"""Small helpers every store part shares: JSON columns, timestamps, one-row queries."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

import sqlite_utils

from enrollment.canonical import canonical_bytes


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def to_json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def canonical_text(value: Any) -> str:
    return canonical_bytes(value).decode("utf-8")


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def one(db: sqlite_utils.Database, sql: str, params: Iterable[Any] = ()) -> dict | None:
    rows = list(db.query(sql, list(params)))
    return rows[0] if rows else None


def newest_per_resident(rows: Iterable[dict], id_numbers: list[str] | None) -> dict[str, dict]:
    """The last row per ``id_number`` of rows given oldest first (all residents, or only those listed)."""
    wanted = None if id_numbers is None else set(id_numbers)
    latest: dict[str, dict] = {}
    for r in rows:
        if wanted is None or r["id_number"] in wanted:
            latest[r["id_number"]] = r
    return latest


def keep_newer(db: sqlite_utils.Database, table: str, key: str, row: dict[str, Any]) -> bool:
    """Insert a pulled row, or replace the one with the same ``key`` unless that one came with a higher pull
    ``counter`` (a batch replayed never brings an older state back); True when written."""
    columns = list(row)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
    cursor = db.execute(
        f"INSERT INTO {table}({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)}) "
        f"ON CONFLICT({key}) DO UPDATE SET {updates} WHERE excluded.counter >= {table}.counter",
        [row[c] for c in columns])
    return cursor.rowcount > 0
