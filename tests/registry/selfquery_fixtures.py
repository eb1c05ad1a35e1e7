"""Payment rows for the self-query and notice tests, inserted straight into the tables of migration 0014
(the imports, batches and results that normally make them are built by other parts of issue 13).

``seed(engine)`` makes one village with four residents:
* ``QI``   漆明学: a roster phone, an active card ending 345341; a credited 困难残疾人生活补贴 of 201906 and a
  bounced 高龄津贴 of 201906 (户名不符), retried and credited in a later batch; a ready 低保 of 201907.
* ``WU``   吴慧: an active card, no phone anywhere (a code can never reach her); a credited 低保 of 201906.
* ``OUYANG`` 欧阳小明: an intercepted and a refused line of 201906 (neither is on the notice).
* ``OTHER``: a paid line of 201906 in another village (not on this village's notice).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, insert

from registry import schema as s

AT = "2026-12-01T02:00:00.000000Z"
SETTLED = "2026-12-03T01:30:00.000000Z"
VILLAGE = "510903102201"
VILLAGE_NAME = "大石村"
OTHER_VILLAGE = "510903102202"


@dataclass(frozen=True)
class Person:
    id_number: str
    name: str
    card_number: str
    phone: str
    village: str = VILLAGE

    @property
    def card_tail(self) -> str:
        return self.card_number[-6:]


QI = Person("510902196105202039", "漆明学", "6214830012345341", "13912345678")
WU = Person("510902197703154428", "吴慧", "6214830098765432", "")
OUYANG = Person("510902198001011237", "欧阳小明", "6214830011112222", "13800001111")
OTHER = Person("510902199002023316", "张三丰", "6214830033334444", "13700002222", OTHER_VILLAGE)
PEOPLE = (QI, WU, OUYANG, OTHER)
UNKNOWN_ID = "510902195512120017"


def _resident(conn, p: Person, counter: int) -> None:
    conn.execute(insert(s.residents).values(
        id_number=p.id_number, village_code=p.village, name=p.name, sex="男", birth_date="1961-05-20",
        household_id=f"H{counter}", relation="02", address="大石村1组", phone=p.phone, counter=counter,
        updated_at=AT))


def seed(engine: Engine) -> dict[str, int]:
    """The rows described above; returns the card ids by person name."""
    with engine.begin() as conn:
        for code, name in ((VILLAGE, VILLAGE_NAME), (OTHER_VILLAGE, "小石村")):
            conn.execute(insert(s.villages).values(code=code, name=name, created_at=AT))
        for i, p in enumerate(PEOPLE, 1):
            _resident(conn, p, i)
        card_import = conn.execute(insert(s.card_imports).values(
            file_name="cards.csv", sha256="c" * 64, rows=len(PEOPLE), imported_at=AT, actor="central")
        ).inserted_primary_key[0]
        cards = {p.name: conn.execute(insert(s.cards).values(
            id_number=p.id_number, name=p.name, card_number=p.card_number, bank_account="62" + p.card_number[2:],
            bank="遂宁银行", status="active", status_date="2026-01-01", import_id=card_import, updated_at=AT)
        ).inserted_primary_key[0] for p in PEOPLE}
        roster = conn.execute(insert(s.entitlement_imports).values(
            department="民政局", file_name="roster.csv", sha256="e" * 64, rows=8, imported_at=AT, actor="central")
        ).inserted_primary_key[0]
        line_no = iter(range(2, 100))

        def entitlement(p: Person, item: str, period: str, fen: int, state: str) -> int:
            return conn.execute(insert(s.entitlements).values(
                import_id=roster, line=next(line_no), department="民政局", id_number=p.id_number, name=p.name,
                item=item, period=period, amount_fen=fen, village_code=p.village, card_id=cards[p.name], state=state,
                created_at=AT, updated_at=AT)).inserted_primary_key[0]

        def batch(batch_id: str, item: str, period: str) -> None:
            conn.execute(insert(s.payment_batches).values(
                id=batch_id, item=item, period=period, state="settled", lines=1, total_fen=0, created_by="central",
                created_at=AT, authorised_by="central2", authorised_at=AT, export_sha256="b" * 64, exported_at=AT,
                settled_at=SETTLED))

        def line(ref: str, batch_id: str, ent: int, p: Person, item: str, period: str, fen: int, state: str,
                 reason: str | None = None) -> None:
            conn.execute(insert(s.payment_lines).values(
                reference=ref, batch_id=batch_id, entitlement_id=ent, pay_key=f"{p.id_number}|{item}|{period}",
                card_id=cards[p.name], amount_fen=fen, state=state, reason_code="bank.name_mismatch" if reason else None,
                bank_reason=reason, created_at=AT, settled_at=SETTLED))

        for b, item in (("B-DIS", "disability_living"), ("B-ELD", "elderly_allowance"), ("B-ELD2", "elderly_allowance"),
                        ("B-DIB", "dibao")):
            batch(b, item, "201906")
        disability = entitlement(QI, "disability_living", "201906", 9000, "paid_out")
        line("R0001", "B-DIS", disability, QI, "disability_living", "201906", 9000, "credited")
        elderly = entitlement(QI, "elderly_allowance", "201906", 5050, "paid_out")
        line("R0002", "B-ELD", elderly, QI, "elderly_allowance", "201906", 5050, "bounced", "户名不符")
        line("R0003", "B-ELD2", elderly, QI, "elderly_allowance", "201906", 5050, "credited")
        entitlement(QI, "dibao", "201907", 42000, "ready")
        wu = entitlement(WU, "dibao", "201906", 42000, "paid_out")
        line("R0004", "B-DIB", wu, WU, "dibao", "201906", 42000, "credited")
        entitlement(OUYANG, "dibao", "201906", 42000, "intercepted")
        entitlement(OUYANG, "elderly_allowance", "201906", 5000, "refused")
        other = entitlement(OTHER, "dibao", "201906", 42000, "paid_out")
        line("R0005", "B-DIB", other, OTHER, "dibao", "201906", 42000, "credited")
    return cards
