"""``registry import-cards``: the card bank's file checked whole, statuses moving on, the same file taken once,
mark-issued tied to a made or active card, and card numbers masked in every output."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from regkit import PASSWORD, VILLAGE_A
from reviewkit import T0, make_operator, plant_card, push_new, route
from sqlalchemy import func, select

from enrollment import error_codes as codes
from enrollment import id_number as idn
from enrollment.roster_csv import CsvFileError
from registry import review
from registry.clock import FixedClock
from registry.db import migrate, open_database
from registry.errors import ApiError
from registry.payments.cards import import_cards
from registry.schema import audit_log, card_imports, cards
from tests.conftest import yikatong

HEADER = "id_number,name,card_number,bank_account,bank,status,date"
A = idn.make("510903", dt.date(1961, 5, 20), 203)
B = idn.make("510903", dt.date(1982, 9, 26), 206)
C = idn.make("510903", dt.date(1935, 5, 20), 208)
CARD_A, CARD_B, CARD_C = "6217853100012345341", "6217853100012346882", "6217853100012347001"


@pytest.fixture
def engine(registry_db_url):
    engine = open_database(registry_db_url)
    migrate(engine)
    yield engine
    engine.dispose()


def write(path: Path, *lines: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(("\n".join((HEADER, *lines)) + "\n").encode(encoding))
    return path


def line(number: str, name: str, card: str, status: str = "已激活", date: str = "2026-03-01") -> str:
    return f"{number},{name},{card},6228480{card[-12:]},遂宁银行,{status},{date}"


def status_of(engine, card: str) -> tuple[str, str]:
    with engine.connect() as conn:
        row = conn.execute(select(cards.c.status, cards.c.status_date).where(cards.c.card_number == card)).one()
    return row.status, row.status_date


def test_new_cards_are_added_and_a_later_status_updates_a_known_card(engine, tmp_path):
    """Three new cards are added with their statuses; a later file moves one from 已激活 to 已挂失 and leaves the
    others unchanged."""
    first = import_cards(engine, write(tmp_path / "c1.csv", line(A, "赵海波", CARD_A), line(B, "赵小红", CARD_B, "已制卡"),
                                       line(C, "杨小红", CARD_C, "已注销", "2025-01-02")))
    assert (first.added, first.updated, first.unchanged) == (3, 0, 0)
    assert first.by_status == {"active": 1, "made": 1, "cancelled": 1}
    second = import_cards(engine, write(tmp_path / "c2.csv", line(A, "赵海波", CARD_A, "已挂失", "2026-06-01"),
                                        line(B, "赵小红", CARD_B, "已制卡")))
    assert (second.added, second.updated, second.unchanged) == (0, 1, 1)
    assert status_of(engine, CARD_A) == ("lost", "2026-06-01")
    assert status_of(engine, CARD_C) == ("cancelled", "2025-01-02")


def test_an_older_file_imported_late_does_not_undo_a_newer_status(engine, tmp_path):
    """A card lost on 06-01 stays lost when a file dated earlier (still saying 已激活) comes in afterwards."""
    import_cards(engine, write(tmp_path / "new.csv", line(A, "赵海波", CARD_A, "已挂失", "2026-06-01")))
    late = import_cards(engine, write(tmp_path / "old.csv", line(A, "赵海波", CARD_A, "已激活", "2026-03-01")))
    assert late.older_ignored == 1 and status_of(engine, CARD_A) == ("lost", "2026-06-01")


def test_a_file_with_bad_lines_is_refused_whole_with_every_line(engine, tmp_path):
    """Each bad line is reported with its file line, field and code, and nothing at all is written."""
    bad_check = A[:-1] + ("0" if A[-1] != "0" else "1")
    path = write(tmp_path / "bad.csv",
                 line(A, "赵海波", CARD_A),                       # line 2: good
                 line(bad_check, "赵小红", CARD_B),               # 3: ID check character
                 line(C, "杨小红", CARD_C, "已领卡"),              # 4: status
                 line(B, "赵小红", "6217853100099999999", date="2026-02-30"),  # 5: date
                 line(C, "杨小红", CARD_A),                        # 6: card number repeated
                 f"{B},赵小红,12-34,6228480000001,遂宁银行,已激活,2026-03-01",  # 7: card number
                 f"{B},赵小红",                                     # 8: row length
                 f"{C},,6217853100011111111,6228480000001,遂宁银行,已激活,2026-03-01")  # 9: empty name
    with pytest.raises(CsvFileError) as e:
        import_cards(engine, path)
    assert e.value.code == codes.CARD_ROWS_INVALID
    got = [(r.line, r.field, r.code) for r in e.value.rows]
    assert got == [(3, "id_number", "id_number.check_character"), (4, "status", codes.CARD_STATUS),
                   (5, "date", codes.CARD_DATE), (6, "card_number", codes.CARD_NUMBER_REPEATED),
                   (7, "card_number", codes.CARD_NUMBER), (8, None, codes.CARD_ROW_LENGTH),
                   (9, "name", codes.CARD_VALUE_EMPTY)]
    assert e.value.rows[3].data == {"first_line": 2, "card": "****5341"}
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(cards)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(card_imports)).scalar_one() == 0


def test_a_card_number_known_under_another_id_number_refuses_the_file(engine, tmp_path):
    """The bank cannot move a card to another person: the file is refused with the line and the masked card."""
    import_cards(engine, write(tmp_path / "c1.csv", line(A, "赵海波", CARD_A)))
    with pytest.raises(CsvFileError) as e:
        import_cards(engine, write(tmp_path / "c2.csv", line(B, "赵小红", CARD_B), line(C, "杨小红", CARD_A)))
    assert [(r.line, r.code, r.data) for r in e.value.rows] == [
        (3, codes.CARD_NUMBER_OTHER_PERSON, {"card": "****5341"})]
    with engine.connect() as conn:
        assert conn.execute(select(cards.c.card_number)).scalars().all() == [CARD_A]


def test_a_gbk_file_imports_and_the_same_file_again_changes_nothing(engine, tmp_path):
    """A GBK file (with --encoding gbk) imports; importing it again adds no card, no import and no audit entry."""
    path = write(tmp_path / "gbk.csv", line(A, "赵海波", CARD_A), line(B, "赵小红", CARD_B, "已制卡"), encoding="gbk")
    with pytest.raises(CsvFileError) as e:
        import_cards(engine, path)
    assert e.value.code == codes.CARD_ENCODING and e.value.data.get("suggested_encoding") == "gbk"
    assert import_cards(engine, path, encoding="gbk").added == 2
    with engine.connect() as conn:
        audits = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
    again = import_cards(engine, path, encoding="gbk")
    assert again.already_imported and again.added == 0
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(card_imports)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == audits
        assert conn.execute(select(cards.c.name).where(cards.c.card_number == CARD_A)).scalar_one() == "赵海波"


def test_mark_issued_needs_a_made_or_active_card_and_answers_it_masked(engine):
    """Without a card (or with only a lost one) mark-issued is review.card_missing; with a made card it
    succeeds and its answer shows the card as ****NNNN, never whole."""
    clock = FixedClock(T0)
    cadre = make_operator(engine, "cadre_a", "cadre", VILLAGE_A)
    staff = make_operator(engine, "central", "central")
    issuer = make_operator(engine, "issuer", "central")
    p = push_new(engine, cadre, 5, clock=clock)
    route(engine, {p["record_id"]: []})
    review.decide(engine, staff, p["record_id"], "approve", version=1, reason=None, password=PASSWORD, clock=clock)
    plant_card(engine, p["id_number"], status="lost", card_number="6217853100000000001")
    with pytest.raises(ApiError) as e:
        review.mark_card_issued(engine, issuer, p["record_id"], version=1, clock=clock)
    assert (e.value.status, e.value.code) == (409, codes.REVIEW_CARD_MISSING)
    number = plant_card(engine, p["id_number"], status="made", card_number="6217853100000005341")
    out = review.mark_card_issued(engine, issuer, p["record_id"], version=1, clock=clock)
    assert out["card"]["card_number_masked"] == "****5341" and out["card"]["status"] == "made"
    assert number not in json.dumps(out, ensure_ascii=False)


def test_the_command_line_masks_card_and_account_numbers_in_json_and_errors(registry_db_url, tmp_path):
    """import-cards --json never prints a whole card or account number: not on success, not for a refused file."""
    good = write(tmp_path / "cards.csv", line(A, "赵海波", CARD_A), line(B, "赵小红", CARD_B))
    r = yikatong("registry", "import-cards", str(good), "--db", registry_db_url, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["added"] == 2
    bad = write(tmp_path / "bad.csv", line(A, "赵海波", CARD_A), line(C, "杨小红", CARD_A))
    r2 = yikatong("registry", "import-cards", str(bad), "--db", registry_db_url, "--json")
    assert r2.returncode == 1 and codes.CARD_NUMBER_REPEATED in r2.stderr and "****5341" in r2.stderr
    r3 = yikatong("registry", "import-cards", str(bad), "--db", registry_db_url)
    assert r3.returncode == 1 and "line 3, card_number: card.number_repeated" in r3.stderr
    for out in (r.stdout + r.stderr, r2.stdout + r2.stderr, r3.stdout + r3.stderr):
        for whole in (CARD_A, CARD_B, "6228480" + CARD_A[-12:], "6228480" + CARD_B[-12:]):
            assert whole not in out
