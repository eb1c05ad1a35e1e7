"""The cadres' printable quick card: resources/guide/quick-card.md → one A4 PDF page
(python -m desktop.guide.quick_card), read back with QtPdf."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtPdf import QPdfDocument

from desktop.guide import QUICK_CARD_PDF, QUICK_CARD_SOURCE, guide_dir
from desktop.guide import quick_card as card

ROOT = Path(__file__).resolve().parents[2]
SOURCE = guide_dir() / QUICK_CARD_SOURCE
COMMITTED = guide_dir() / QUICK_CARD_PDF
# What a cadre must find on the card: every section, and the app's own names for what to click.
SECTIONS = ("1 登录", "2 找人", "3 新登记", "4 拍照", "5 保存与发送队列", "6 同步", "7 退回的记录怎么答复",
            "8 外出务工人员远程核验", "9 遇到问题")
APP_NAMES = ("花名册与登记", "发送队列", "【拍照】", "【使用此照片】", "【同步】", "【保存并加入发送队列】",
             "【标记外出务工】", "【发起远程核验】", "【打开报告所在文件夹】", "与户主关系")
A4_POINTS = (595, 842)   # 210 × 297 mm


def _pages(path: Path) -> list[str]:
    """The text of each page of a PDF, as a PDF reader extracts it."""
    pdf = QPdfDocument()
    assert pdf.load(str(path)) == QPdfDocument.Error.None_, path
    try:
        size = pdf.pagePointSize(0)
        assert (round(size.width()), round(size.height())) == A4_POINTS
        return [pdf.getAllText(i).text() for i in range(pdf.pageCount())]
    finally:
        pdf.close()


def _flat(text: str) -> str:
    return "".join(text.split())   # a line break may fall inside a name


def test_the_card_is_one_a4_page_with_every_section_and_the_apps_names(qapp, tmp_path):
    """The generator writes a one-page A4 PDF whose text has the nine sections and the buttons and tabs
    as the app names them."""
    out = tmp_path / "card.pdf"
    assert card.build(SOURCE, out) == 1
    pages = _pages(out)
    assert len(pages) == 1
    text = _flat(pages[0])
    assert "一卡通上门登记速查卡" in text
    for name in (*SECTIONS, *APP_NAMES):
        assert _flat(name) in text, name


def test_every_name_on_the_card_is_one_the_app_shows(qapp):
    """Each 【button】 on the card is the text of a button, tab or menu entry in desktop/ (a renamed button
    makes the card wrong)."""
    import re

    source = SOURCE.read_text(encoding="utf-8")
    desktop_text = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "desktop").rglob("*.py"))
    named = set(re.findall(r"【([^】]+)】", source))
    assert len(named) >= 15, named
    missing = sorted(n for n in named if f'"{n}"' not in desktop_text)
    assert not missing, f"on the card but not in the app: {missing}"


def test_nothing_on_the_card_is_under_9_points_and_headings_stand_out(qapp):
    """Every piece of text is laid out at 9 pt or more; the title and the section headings are larger
    than the body (the Markdown reader's relative heading sizes do not override the card's)."""
    doc = card.card_document(SOURCE.read_text(encoding="utf-8"), card.cjk_font_family())
    assert card.smallest_point_size(doc) >= card.MIN_PT
    title = doc.begin()
    assert title.blockFormat().headingLevel() == 1
    assert title.begin().fragment().charFormat().font().pointSizeF() == card.HEADING_PT[1]
    section = title.next()
    while section.blockFormat().headingLevel() != 2:
        section = section.next()
    assert section.begin().fragment().charFormat().font().pointSizeF() > card.BODY_PT


def test_a_card_too_long_for_one_page_is_refused_not_shrunk(qapp, tmp_path):
    """A card whose text needs two pages fails with an error naming the source and the page count, and
    writes no PDF (the card is never printed smaller to fit)."""
    source = tmp_path / "long-card.md"
    text = SOURCE.read_text(encoding="utf-8")
    source.write_text(text + "\n" + text, encoding="utf-8")
    out = tmp_path / "card.pdf"
    with pytest.raises(card.QuickCardError) as refused:
        card.build(source, out)
    message = str(refused.value)
    assert "does not fit on one A4 page" in message and "2 pages" in message and str(source) in message
    assert not out.exists() and not list(tmp_path.glob("*.partial"))


def test_a_body_size_under_9_points_is_refused(qapp, tmp_path, monkeypatch):
    """Set to print its body at 8 pt, the generator refuses instead of writing an unreadable card."""
    monkeypatch.setattr(card, "BODY_PT", 8.0)
    with pytest.raises(card.QuickCardError, match="under 9 pt"):
        card.build(SOURCE, tmp_path / "card.pdf")
    assert not (tmp_path / "card.pdf").exists()


def test_the_command_writes_the_card_and_fails_with_a_clear_error(tmp_path):
    """`python -m desktop.guide.quick_card --out PATH` prints the PDF's path and exits 0; on a card that is
    too long it exits 1 with one `error: quick_card: …` line."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    out = tmp_path / "card.pdf"
    done = subprocess.run([sys.executable, "-m", "desktop.guide.quick_card", "--out", str(out)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out) and len(_pages(out)) == 1

    long_source = tmp_path / "long.md"
    long_source.write_text(SOURCE.read_text(encoding="utf-8") * 2, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "desktop.guide.quick_card", "--source", str(long_source),
                           "--out", str(tmp_path / "long.pdf")],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: quick_card: ") and "one A4 page" in lines[0]


def test_the_committed_card_is_up_to_date_with_its_source(qapp, tmp_path):
    """resources/guide/quick-card.pdf (shipped) has the text the generator makes from quick-card.md today:
    after editing the card, run `python -m desktop.guide.quick_card` and commit the PDF."""
    fresh = tmp_path / "card.pdf"
    card.build(SOURCE, fresh)
    assert _pages(COMMITTED) == _pages(fresh), "quick-card.pdf is stale: run python -m desktop.guide.quick_card"
