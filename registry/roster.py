"""Roster import: a village's residents as the population registry knows them.

The whole file is checked first (``enrollment.roster_csv.read_rows``); then everything is
applied in one transaction. New or changed residents get a new pull counter; unchanged
ones are left alone, so importing the same file twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, insert, select, update

from enrollment.records import validate_village_code
from enrollment.roster_csv import read_rows

from . import audit
from .auth import ensure_village
from .db import now_iso
from .schema import residents
from .service import next_counter

FIELDS = ("village_code", "name", "sex", "birth_date", "household_id", "relation", "address", "phone")


@dataclass
class ImportResult:
    village_code: str
    rows: int
    added: int
    updated: int
    unchanged: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def import_roster(engine: Engine, path: str | Path, village_code: str, *, village_name: str | None = None,
                  encoding: str = "utf-8", actor: str = "cli") -> ImportResult:
    village_code = validate_village_code(village_code)
    rows = read_rows(path, village_code=village_code, encoding=encoding)
    added = updated = unchanged = 0
    now = now_iso()
    with engine.begin() as conn:
        ensure_village(conn, village_code, village_name)
        ids = [r.person["id_number"] for r in rows]
        existing = {}
        for i in range(0, len(ids), 500):
            for row in conn.execute(select(residents).where(residents.c.id_number.in_(ids[i:i + 500]))):
                existing[row.id_number] = row
        for r in rows:
            values = {k: r.person.get(k, "") for k in FIELDS}
            old = existing.get(r.person["id_number"])
            if old is not None and all(getattr(old, k) == values[k] for k in FIELDS):
                unchanged += 1
                continue
            counter = next_counter(conn)
            if old is None:
                conn.execute(insert(residents).values(id_number=r.person["id_number"], counter=counter,
                                                      updated_at=now, **values))
                added += 1
            else:
                conn.execute(update(residents).where(residents.c.id_number == old.id_number)
                             .values(counter=counter, updated_at=now, **values))
                updated += 1
        audit.append(conn, actor, audit.ROSTER_IMPORTED, village_code, {
            "rows": len(rows), "added": added, "updated": updated, "unchanged": unchanged},
            texts={"file": Path(path).name})  # a file name is free text
    return ImportResult(village_code, len(rows), added, updated, unchanged)
