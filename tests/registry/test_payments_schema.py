"""The payment tables refuse, in the database itself, what would pay twice or skip the second person."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, text, update
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


def test_a_paid_line_and_its_roster_line_are_rewritten_in_place_on_postgresql(engine):
    """On PostgreSQL a line going at_bank → credited and its roster line in_batch → paid_out are HOT updates (no
    new index entries): no index holds their state, and their pages keep room (migration 0019)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("HOT updates are PostgreSQL's")
    with engine.begin() as conn:
        ids = _setup(conn)
        _line(conn, ids, "R1", "b1", ids["ent"])
    with engine.begin() as conn:
        conn.execute(update(s.payment_lines).where(s.payment_lines.c.reference == "R1").values(
            state="credited", settled_at=AT))
        conn.execute(update(s.entitlements).where(s.entitlements.c.id == ids["ent"]).values(
            state="paid_out", updated_at=AT))
        hot = {t: conn.execute(text(f"SELECT pg_stat_get_xact_tuples_hot_updated('{t}'::regclass)")).scalar()
               for t in ("payment_lines", "entitlements")}
        fill = dict(conn.execute(text("SELECT relname, array_to_string(reloptions, ',') FROM pg_class "
                                      "WHERE relname IN ('payment_lines', 'entitlements')")).all())
    assert hot == {"payment_lines": 1, "entitlements": 1}
    assert fill == {"payment_lines": "fillfactor=50", "entitlements": "fillfactor=50"}


def test_upgrading_to_0019_keeps_open_lines_unique_and_lets_bounced_ones_be_retried(registry_db_url):
    """A registry at 0018 with an at-bank line and a bounced one upgrades: the at-bank line's entitlement still
    refuses a second open line, the bounced one's takes its retry."""
    from regkit import upgrade_to

    from registry.db import make_engine

    engine = make_engine(registry_db_url)
    upgrade_to(engine, "0018")
    with engine.begin() as conn:
        ids = _setup(conn)
        _line(conn, ids, "R1", "b1", ids["ent"])
        conn.execute(text("INSERT INTO payment_lines (reference, batch_id, entitlement_id, pay_key, card_id, "
                          "amount_fen, state, created_at) VALUES ('R2', 'b2', :e, 'other|dibao|202612', :c, 9000, "
                          "'bounced', :t)"), {"e": ids["ent_other_department"], "c": ids["card"], "t": AT})
    migrate(engine)
    with engine.connect() as conn:
        assert dict(conn.execute(select(s.payment_lines.c.reference, s.payment_lines.c.is_open)).all()) == {
            "R1": True, "R2": False}
    with pytest.raises(IntegrityError), engine.begin() as conn:
        _line(conn, ids, "R3", "b2", ids["ent"])
    with engine.begin() as conn:
        conn.execute(insert(s.payment_lines).values(
            reference="R4", batch_id="b1", entitlement_id=ids["ent_other_department"], pay_key="other|dibao|202612",
            card_id=ids["card"], amount_fen=9000, state="at_bank", created_at=AT))
    engine.dispose()
