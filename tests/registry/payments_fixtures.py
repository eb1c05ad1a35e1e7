"""Cards and ``ready`` entitlements written straight into the payment tables (migration 0014), standing in
for ``registry import-cards`` and ``registry import-entitlements`` with their line checks (built in parallel):
the lead swaps these for the real imports once both are merged."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, update

from registry import schema as s
from registry.db import iso

AT = "2026-12-01T00:00:00.000000Z"
VILLAGE = "510903102201"          # township 510903102
OTHER_VILLAGE = "510904103201"    # township 510904103
ITEM, PERIOD = "disability_living", "202612"


def id_number(i: int) -> str:
    return f"51090219610520{i:04d}"


@dataclass
class Person:
    id_number: str
    name: str
    card_id: int
    card_number: str
    entitlement_id: int
    amount_fen: int


def add_card(conn: Any, id_number: str, name: str, card_number: str, *, status: str = "active",
             at: str = AT) -> int:
    card_import = conn.execute(insert(s.card_imports).values(
        file_name="cards.csv", sha256=hashlib.sha256(card_number.encode()).hexdigest(), rows=1, imported_at=at,
        actor="central")).inserted_primary_key[0]
    return conn.execute(insert(s.cards).values(
        id_number=id_number, name=name, card_number=card_number, bank_account="6230" + card_number[-12:],
        bank="遂宁银行", status=status, status_date=at[:10], import_id=card_import, updated_at=at)
    ).inserted_primary_key[0]


def correct_card(engine: Engine, card_id: int, at: str, **changes: Any) -> None:
    """The card bank's corrected data for a card (a later import of the same card): newer ``updated_at``."""
    with engine.begin() as conn:
        conn.execute(update(s.cards).where(s.cards.c.id == card_id).values(updated_at=at, **changes))


def add_entitlement(conn: Any, person_id: str, name: str, amount_fen: int, *, card_id: int | None,
                    item: str = ITEM, period: str = PERIOD, village: str | None = VILLAGE, state: str = "ready",
                    department: str = "残联", at: str = AT) -> int:
    imp = conn.execute(insert(s.entitlement_imports).values(
        department=department, file_name="roster.csv", sha256=hashlib.sha256(f"{person_id}{item}".encode())
        .hexdigest(), rows=1, imported_at=at, actor="central")).inserted_primary_key[0]
    return conn.execute(insert(s.entitlements).values(
        import_id=imp, line=2, department=department, id_number=person_id, name=name, item=item, period=period,
        amount_fen=amount_fen, village_code=village, card_id=card_id, state=state, created_at=at, updated_at=at)
    ).inserted_primary_key[0]


def ready_people(engine: Engine, n: int, *, start: int = 1, village: str = VILLAGE, item: str = ITEM,
                 period: str = PERIOD, clock: Any = None) -> list[Person]:
    """``n`` people, each with an active card and one ready entitlement of 90.00 + i fen."""
    at = iso(clock.now()) if clock else AT
    out = []
    with engine.begin() as conn:
        for i in range(start, start + n):
            pid, name, number = id_number(i), f"居民{i}", f"62148300{i:08d}"
            card = add_card(conn, pid, name, number, at=at)
            amount = 9000 + i
            ent = add_entitlement(conn, pid, name, amount, card_id=card, village=village, item=item, period=period,
                                  at=at)
            out.append(Person(pid, name, card, number, ent, amount))
    return out
