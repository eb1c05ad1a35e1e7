"""Payment lines to notify, written straight into a registry database (the payment import and the bank
results are other parts of issue 13): residents, an enrolled record, cards, lines credited or bounced,
a village's cadres."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from registry import schema as s

AT = "2026-12-01T00:00:00.000000Z"
VILLAGE = "510903102201"
OTHER_VILLAGE = "510903102202"


@dataclass(frozen=True)
class Person:
    id_number: str
    name: str
    card_number: str
    roster_phone: str = ""
    record_phone: str = ""


def person(i: int, *, roster_phone: str | None = None, record_phone: str = "") -> Person:
    return Person(f"51090219610520{i:04d}", f"居民{i}", f"62148300{i:08d}",
                  f"139{i:08d}" if roster_phone is None else roster_phone, record_phone)


QI = Person("510902196105205341", "漆明学", "6214830012345341", "13912345678")


class Seed:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        for code, name in ((VILLAGE, "石溪村"), (OTHER_VILLAGE, "金桥村")):
            conn.execute(insert(s.villages).values(code=code, name=name, created_at=AT))
        self.card_import = conn.execute(insert(s.card_imports).values(
            file_name="cards.csv", sha256="0" * 64, rows=0, imported_at=AT, actor="central")).inserted_primary_key[0]
        self.roster_import = conn.execute(insert(s.entitlement_imports).values(
            department="残联", file_name="r.csv", sha256="1" * 64, rows=0, imported_at=AT, actor="central"
        )).inserted_primary_key[0]
        conn.execute(insert(s.payment_batches).values(
            id="batch-1", item="disability_living", period="201906", state="exported", lines=0, total_fen=0,
            created_by="central", created_at=AT))
        self.n = 0

    def line(self, p: Person, *, state: str = "credited", amount_fen: int = 9000, item: str = "disability_living",
             period: str = "201906", bank_reason: str | None = None, village: str = VILLAGE) -> int:
        c = self.conn
        self.n += 1
        self._resident(p, village)
        if p.record_phone:
            c.execute(insert(s.records).values(
                record_id=f"rec-{p.id_number}-{self.n}", village_code=village, id_number=p.id_number, version=1,
                content_hash="h", payload=json.dumps({"phone": p.record_phone, "name": p.name}), deleted=False,
                operator="cadre", device_id="laptop", counter=self.n, created_at=AT, updated_at=AT))
        card = self._card(p) or c.execute(insert(s.cards).values(
            id_number=p.id_number, name=p.name, card_number=p.card_number, bank_account="6" + p.card_number,
            bank="遂宁银行", status="active", status_date="2019-01-01", import_id=self.card_import, updated_at=AT
        )).inserted_primary_key[0]
        ent = c.execute(insert(s.entitlements).values(
            import_id=self.roster_import, line=self.n + 1, department="残联", id_number=p.id_number, name=p.name,
            item=item, period=period, amount_fen=amount_fen, village_code=village, card_id=card,
            state="paid_out" if state == "credited" else "pay_failed", created_at=AT, updated_at=AT
        )).inserted_primary_key[0]
        return c.execute(insert(s.payment_lines).values(
            reference=f"R{self.n:08d}", batch_id="batch-1", entitlement_id=ent,
            pay_key=f"{p.id_number}|{item}|{period}|{self.n}", card_id=card, amount_fen=amount_fen, state=state,
            bank_reason=bank_reason, created_at=AT, settled_at=AT)).inserted_primary_key[0]

    def _resident(self, p: Person, village: str) -> None:
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        self.conn.execute(dialect.insert(s.residents).values(
            id_number=p.id_number, village_code=village, name=p.name, sex="男", birth_date="1961-05-20",
            household_id="h1", relation="02", phone=p.roster_phone, counter=self.n, updated_at=AT
        ).on_conflict_do_nothing())

    def _card(self, p: Person) -> int | None:
        return self.conn.execute(select(s.cards.c.id).where(s.cards.c.card_number == p.card_number)).scalar()

    def cadre(self, username: str, village: str = VILLAGE, phone: str | None = None) -> int:
        op = self.conn.execute(insert(s.operators).values(
            username=username, password_hash="x", role="cadre", display_name="", created_at=AT, phone=phone
        )).inserted_primary_key[0]
        self.conn.execute(insert(s.operator_villages).values(operator_id=op, village_code=village))
        return op
