"""The payment tables refuse, in the database itself, what would pay twice or skip the second person."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError

from registry import schema as s
from registry.db import migrate, open_database

AT = "2026-12-01T00:00:00Z"
ID_A, ID_B = "510902196105202039", "510902196105202047"


@pytest.fixture
def engine(registry_db_url):
    engine = open_database(registry_db_url)
    migrate(engine)
    yield engine
    engine.dispose()


def _setup(conn) -> dict[str, int]:
    card_import = conn.execute(insert(s.card_imports).values(
        file_name="cards.csv", sha256="0" * 64, rows=2, imported_at=AT, actor="central")).inserted_primary_key[0]
    cards = [conn.execute(insert(s.cards).values(
        id_number=idn, name=name, card_number=number, bank_account="6214" + number, bank="遂宁银行",
        status="active", status_date="2026-01-01", import_id=card_import, updated_at=AT)).inserted_primary_key[0]
        for idn, name, number in ((ID_A, "赵海波", "A10000001"), (ID_B, "吴慧", "A10000002"))]
    imports = [conn.execute(insert(s.entitlement_imports).values(
        department=dep, file_name="r.csv", sha256=str(i) * 64, rows=1, imported_at=AT, actor="central"))
        .inserted_primary_key[0] for i, dep in enumerate(("民政局", "残联"))]
    ents = [conn.execute(insert(s.entitlements).values(
        import_id=imp, line=2, department="民政局", id_number=ID_A, name="赵海波", item="dibao", period="202612",
        amount_fen=9000, card_id=cards[0], state="in_batch", created_at=AT, updated_at=AT)).inserted_primary_key[0]
        for imp in imports]
    for batch in ("b1", "b2"):
        conn.execute(insert(s.payment_batches).values(
            id=batch, item="dibao", period="202612", state="built", lines=1, total_fen=9000, created_by="central",
            created_at=AT))
    return {"card": cards[0], "ent": ents[0], "ent_other_department": ents[1]}


def _line(conn, ids, reference: str, batch: str, entitlement: int, state: str = "at_bank") -> None:
    conn.execute(insert(s.payment_lines).values(
        reference=reference, batch_id=batch, entitlement_id=entitlement, pay_key=f"{ID_A}|dibao|202612",
        card_id=ids["card"], amount_fen=9000, state=state, created_at=AT))


def test_one_entitlement_cannot_be_open_twice_but_a_bounced_line_can_be_retried(engine):
    """A second at-bank line for the same entitlement is refused; once the first bounced, the retry goes in,
    and a third while the retry is open is refused again."""
    with engine.begin() as conn:
        ids = _setup(conn)
        _line(conn, ids, "R1", "b1", ids["ent"])
    with pytest.raises(IntegrityError), engine.begin() as conn:
        _line(conn, ids, "R2", "b2", ids["ent"])
    with engine.begin() as conn:
        conn.execute(update(s.payment_lines).where(s.payment_lines.c.reference == "R1").values(state="bounced"))
        _line(conn, ids, "R2", "b2", ids["ent"])
    with pytest.raises(IntegrityError), engine.begin() as conn:
        _line(conn, ids, "R3", "b1", ids["ent"], state="credited")


def test_the_same_person_item_and_period_cannot_be_paid_from_two_departments(engine):
    """Another department's line for the same person, item and period cannot be open while one is credited."""
    with engine.begin() as conn:
        ids = _setup(conn)
        _line(conn, ids, "R1", "b1", ids["ent"], state="credited")
    with pytest.raises(IntegrityError), engine.begin() as conn:
        _line(conn, ids, "R2", "b2", ids["ent_other_department"])


def test_a_batch_cannot_be_authorised_by_its_creator_and_states_are_the_vocabulary(engine):
    """The four-eyes rule and the state vocabularies hold in the database, whatever code writes."""
    with engine.begin() as conn:
        _setup(conn)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(update(s.payment_batches).where(s.payment_batches.c.id == "b1")
                     .values(state="authorised", authorised_by="central"))
    with engine.begin() as conn:
        conn.execute(update(s.payment_batches).where(s.payment_batches.c.id == "b1")
                     .values(state="authorised", authorised_by="issuer"))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(update(s.payment_batches).where(s.payment_batches.c.id == "b2").values(state="paid"))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(update(s.entitlements).values(amount_fen=-1))
