"""The village roster as pulled from the registry, with pinyin search keys; each resident carries the
send and review state of their record on this laptop."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from enrollment import relations
from enrollment.text import pinyin_keys

from .rows import one

RESIDENT_COLS = ("id_number", "name", "sex", "birth_date", "village_code", "household_id",
                 "relation", "address", "phone")

def upsert_residents(store: Any, residents: Iterable[dict], counter: int | None = None) -> int:
    n = 0
    with store.transaction():
        for r in residents:
            full, initials = pinyin_keys(r["name"])
            values = [r.get(c) or "" for c in RESIDENT_COLS]
            store.db.execute(
                "INSERT INTO residents(id_number, name, sex, birth_date, village_code, household_id,"
                " relation, address, phone, counter, pinyin_full, pinyin_initials)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id_number) DO UPDATE SET"
                " name=excluded.name, sex=excluded.sex, birth_date=excluded.birth_date,"
                " village_code=excluded.village_code, household_id=excluded.household_id,"
                " relation=excluded.relation, address=excluded.address, phone=excluded.phone,"
                " counter=excluded.counter, pinyin_full=excluded.pinyin_full,"
                " pinyin_initials=excluded.pinyin_initials",
                [*values, r.get("counter", counter), full, initials])
            n += 1
    return n

def search_residents(store: Any, query: str, village_code: str | None = None, limit: int = 200) -> list[dict]:
    """Name substring, full-pinyin prefix, initials prefix, ID-number substring; at most ``limit`` rows.

    The query's shape picks the plan, and every plan either walks an index in order with a
    LIMIT or scans with a LIMIT (never sorting a whole table): digits (and X) take ID-number
    prefixes from the primary key, then other substrings; letters take the two pinyin
    indexes as prefix ranges; anything else (Chinese characters, 𠈌) takes name prefixes from
    the name index, then other substrings. Prefix matches come first.
    """
    q = (query or "").strip()
    limit = max(1, int(limit))
    cols = ", ".join(RESIDENT_COLS)
    vclause, vparams = (" AND village_code = ?", [village_code]) if village_code else ("", [])

    def run(where: str, params: list, order: str | None, n: int) -> list[dict]:
        sql = f"SELECT {cols}, pinyin_full FROM residents WHERE {where}{vclause}"
        if order:
            sql += f" ORDER BY {order}"
        return list(store.db.query(sql + " LIMIT ?", [*params, *vparams, n]))

    def merge(*groups: list[dict]) -> list[dict]:
        seen: set[str] = set()
        out = []
        for group in groups:
            for r in group:
                if r["id_number"] not in seen:
                    seen.add(r["id_number"])
                    out.append(r)
        return out[:limit]

    if not q:
        rows = run("1", [], "village_code, household_id", limit)
    elif re.fullmatch(r"[0-9]+[xX]?", q):
        qu = q.upper()
        rows = run("id_number >= ? AND id_number < ?", [qu, _next_prefix(qu)], "id_number", limit)
        if len(rows) < limit:
            inner = run("instr(id_number, ?) > 1", [qu], None, limit - len(rows))
            rows = merge(rows, sorted(inner, key=lambda r: r["id_number"]))
    elif re.fullmatch(r"[A-Za-z]+", q):
        ql = q.lower()
        hi = _next_prefix(ql)
        full = run("pinyin_full >= ? AND pinyin_full < ?", [ql, hi], "pinyin_full", limit)
        initials = run("pinyin_initials >= ? AND pinyin_initials < ?", [ql, hi], "pinyin_initials", limit)
        rows = merge(sorted(merge(full, initials), key=lambda r: (r["pinyin_full"], r["id_number"])))
    else:
        prefix = run("name >= ? AND name < ?", [q, _next_prefix(q)], "name", limit)
        groups = [prefix]
        if re.search(r"[A-Za-z]", q):  # 𠈌m: a character then the pinyin being typed
            ql = q.lower()
            groups.append(run("pinyin_full >= ? AND pinyin_full < ?", [ql, _next_prefix(ql)],
                              "pinyin_full", limit))
        if sum(len(g) for g in groups) < limit:
            inner = run("instr(name, ?) > 1", [q], None, limit)
            groups.append(sorted(inner, key=lambda r: (len(r["name"]), r["pinyin_full"] or "", r["id_number"])))
        rows = merge(*groups)
    for r in rows:
        r.pop("pinyin_full", None)
    return _with_enrollment_state(store, rows)

def _with_enrollment_state(store: Any, rows: list[dict]) -> list[dict]:
    if not rows:
        return rows
    ids = [r["id_number"] for r in rows]
    states: dict[str, tuple[str, str, str | None, str | None]] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        marks = ",".join("?" * len(chunk))
        for rec in store.db.query(
                "SELECT id_number, state, record_id, review_state, review_reason FROM records"
                f" WHERE deleted = 0 AND id_number IN ({marks}) ORDER BY updated_at", chunk):
            states[rec["id_number"]] = (rec["state"], rec["record_id"], rec["review_state"], rec["review_reason"])
    for r in rows:
        state, rid, review_state, review_reason = states.get(r["id_number"], (None, None, None, None))
        r["enrollment_state"], r["record_id"] = state, rid
        r["review_state"], r["review_reason"] = review_state, review_reason
    return rows

def households(store: Any, village_code: str) -> list[dict]:
    cols = ", ".join(RESIDENT_COLS)
    rows = _with_enrollment_state(store, list(store.db.query(
        f"SELECT {cols} FROM residents WHERE village_code = ? ORDER BY household_id, id_number",
        [village_code])))
    out: dict[str, dict] = {}
    for r in rows:
        hh = out.setdefault(r["household_id"], {"household_id": r["household_id"], "head_name": None,
                                                 "members": []})
        hh["members"].append(r)
        if relations.is_head(r["relation"]) and hh["head_name"] is None:
            hh["head_name"] = r["name"]
    for hh in out.values():
        if hh["head_name"] is None:
            hh["head_name"] = hh["members"][0]["name"]
    return list(out.values())


def household_heads(store: Any, village_code: str | None, household_ids: list[str]) -> dict[str, str]:
    """household_id → the head's name (``relations.HEAD_VALUES``), so search hits are named by their household's head
    even when the head is not among them."""
    ids = sorted({h for h in household_ids if h})
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    where = "village_code = ? AND " if village_code else ""
    params = [village_code] if village_code else []
    heads_in = ", ".join("?" for _ in relations.HEAD_VALUES)
    rows = store.db.execute(
        f"SELECT household_id, name FROM residents WHERE {where}relation IN ({heads_in}) "
        f"AND household_id IN ({marks}) ORDER BY household_id, relation DESC, id_number",
        [*params, *relations.HEAD_VALUES, *ids]).fetchall()
    heads: dict[str, str] = {}
    for household_id, name in rows:
        heads.setdefault(household_id, name)
    return heads


def roster_count(store: Any) -> int:
    return store.db.execute("SELECT count(*) FROM residents").fetchone()[0]

def resident(store: Any, id_number: str) -> dict | None:
    cols = ", ".join(RESIDENT_COLS)
    return one(store.db, f"SELECT {cols} FROM residents WHERE id_number = ?", [id_number])


def _next_prefix(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix`` (binary order)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
