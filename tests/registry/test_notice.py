"""The public notice (公示, issue 13 item 7) through the real CLI, on SQLite and PostgreSQL: one village and
period, approved recipients only (ready, in a batch, paid, or failed at the bank), masked names, the two
disability items under one generic name, amounts in yuan, CSV with a BOM and a Chinese PDF; no export
carries an ID, card or phone number."""

from __future__ import annotations

import json
import re

import pytest
from selfquery_fixtures import OTHER, OTHER_VILLAGE, OUYANG, PEOPLE, VILLAGE, VILLAGE_NAME, seed
from sqlalchemy import select, update

from registry.db import open_database
from registry.payments import notice
from registry.schema import audit_log, entitlements
from tests.conftest import yikatong

ID_PATTERN = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9])")
CARD_PATTERN = re.compile(r"(?<![0-9])[0-9]{16,19}(?![0-9])")
PHONE_PATTERN = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
DISABILITY_DETAILS = ("困难残疾", "重度残疾", "护理补贴", "生活补贴")


@pytest.fixture
def db(registry_db_url):
    engine = open_database(registry_db_url)
    seed(engine)
    engine.dispose()
    return registry_db_url


def _notice(db: str, out, *extra: str, village: str = VILLAGE, period: str = "201906"):
    return yikatong("registry", "notice", "--village", village, "--period", period, "-o", str(out), "--db", db,
                    *extra)


def _scan(text: str) -> None:
    """No ID, card or phone number, none of the seeded people's whole numbers, no disability detail."""
    for pattern in (ID_PATTERN, CARD_PATTERN, PHONE_PATTERN):
        assert not pattern.search(text), (pattern.pattern, pattern.search(text))
    for p in PEOPLE:
        assert p.id_number not in text and p.card_number not in text and (not p.phone or p.phone not in text)
        assert p.name not in text   # only masked names
    for detail in DISABILITY_DETAILS:
        assert detail not in text, detail


def test_the_csv_lists_the_villages_approved_recipients_masked(db, tmp_path):
    """201906 of the village: 漆*学 (残疾人补贴 90.00 and 高龄津贴 50.50) and 吴* (低保 420.00); not the
    intercepted or refused lines, not another village's; UTF-8 with a BOM; the JSON names rows and total;
    the export is audited."""
    out = tmp_path / "notice.csv"
    r = _notice(db, out, "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result == {"file": str(out), "format": "csv", "village": VILLAGE, "period": "201906", "rows": 3,
                      "total_fen": 9000 + 5050 + 42000}
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    lines = [line.split(",") for line in text.strip().splitlines()]
    assert lines[0] == list(notice.HEADER)
    village = f"{VILLAGE_NAME} {VILLAGE}"
    assert lines[1:] == [
        ["1", village, "吴*", "城乡最低生活保障 (低保)", "420.00", "201906"],
        ["2", village, "漆*学", "残疾人补贴", "90.00", "201906"],
        ["3", village, "漆*学", "高龄津贴", "50.50", "201906"],
    ]
    assert "欧**明" not in text and "张*丰" not in text
    _scan(text)
    engine = open_database(db)
    with engine.connect() as conn:
        entry = conn.execute(select(audit_log).where(audit_log.c.action == "notice.written")).one()
    engine.dispose()
    assert entry.subject == VILLAGE and json.loads(entry.data) == {
        "format": "csv", "period": "201906", "rows": 3, "total_fen": 56050}


def test_a_notice_before_payment_lists_ready_lines_and_a_line_without_village_by_the_roster(db, tmp_path):
    """201907: 漆*学's 低保 is only ready (checked, not yet in a batch) and is on the notice; a line whose
    village the import left empty is placed by the roster; another village's notice of 201906 has only
    its own recipient."""
    engine = open_database(db)
    with engine.begin() as conn:
        conn.execute(update(entitlements).where(entitlements.c.period == "201907").values(village_code=None))
    engine.dispose()
    out = tmp_path / "july.csv"
    assert _notice(db, out, period="201907").returncode == 0
    rows = out.read_text(encoding="utf-8-sig").strip().splitlines()[1:]
    assert [r.split(",")[2:] for r in rows] == [["漆*学", "城乡最低生活保障 (低保)", "420.00", "201907"]]
    other = tmp_path / "other.csv"
    assert _notice(db, other, village=OTHER_VILLAGE).returncode == 0
    assert [r.split(",")[2] for r in other.read_text(encoding="utf-8-sig").strip().splitlines()[1:]] == ["张*丰"]
    assert OTHER.name not in other.read_text(encoding="utf-8-sig")


def test_the_pdf_is_chinese_and_carries_no_id_card_phone_or_disability_detail(db, tmp_path):
    """The PDF (WenQuanYi Zen Hei embedded) reads back with QtPdf: title with the village and period, the
    masked names, 残疾人补贴, the total; nothing whole, no disability detail, on any page."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    out = tmp_path / "notice.pdf"
    r = _notice(db, out)
    assert r.returncode == 0, r.stderr
    assert "3 line(s)" in r.stdout
    raw = out.read_bytes()
    assert raw.startswith(b"%PDF") and b"WenQuanYi" in raw
    read = subprocess.run([sys.executable, "-m", "tests.desktop.pdf_text", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert read.returncode == 0, read.stderr
    pages = json.loads(read.stdout)
    text = "".join("".join(pages).split())
    for expected in (f"{VILLAGE_NAME}2019年6月补贴发放公示", "漆*学", "吴*", "残疾人补贴", "高龄津贴", "90.00",
                     "50.50", "420.00", "合计：3人次，560.50元", "公示期7天"):
        assert expected in text, expected
    assert "欧**明" not in text and OUYANG.name not in text
    _scan("\n".join(pages))


def test_refusals_have_codes(db, tmp_path):
    """An unknown village, a period that is not YYYYMM and a file that is neither .csv nor .pdf are refused
    with their codes (exit 1), and no file is written."""
    for kwargs, name, code in (({"village": "510903999999"}, "a.csv", "notice.village_unknown"),
                               ({"period": "201913"}, "b.csv", "notice.period_invalid"),
                               ({}, "c.txt", "notice.format_unknown")):
        r = _notice(db, tmp_path / name, **kwargs)
        assert r.returncode == 1 and r.stderr.startswith(f"error: {code}:"), r.stderr
        assert not (tmp_path / name).exists()


def test_every_disability_item_gets_the_generic_name():
    """Both catalogue disability items, and any item whose name says 残疾, are 残疾人补贴 on a notice;
    other items keep their catalogue name."""
    names = {"disability_living": "困难残疾人生活补贴", "disability_care": "重度残疾人护理补贴",
             "new_item": "一级残疾人交通补贴", "dibao": "城乡最低生活保障 (低保)"}
    assert {code: notice.public_item_name(code, names) for code in names} == {
        "disability_living": "残疾人补贴", "disability_care": "残疾人补贴", "new_item": "残疾人补贴",
        "dibao": "城乡最低生活保障 (低保)"}
