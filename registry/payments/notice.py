"""The public notice (公示) of one village and period: who receives what, as CSV and as a Chinese PDF.

Who is on it: the period's entitlements of the village that passed every check, i.e. states ``ready``,
``in_batch``, ``paid_out`` and ``pay_failed`` (``LISTED_STATES``). A 公示 is published *before* the money
goes out, so that neighbours can object to a recipient in time: it lists the approved recipients, not
only those already paid (a notice made after the checks and before the batch already lists everyone; one
made later lists the same people). A line the bank failed is still an approved entitlement (it is paid
again once the card is fixed), so it stays. Intercepted lines (a person has still to decide), refused
lines (bad data) and lines decided not to be paid are left out: they are not approved.

What it shows: the masked name (``漆*学``), the item, the amount in yuan, the period: never an ID number,
a card or account number, a phone, or a disability detail. The two disability items (困难残疾人生活补贴,
重度残疾人护理补贴) are shown under one generic name, ``残疾人补贴`` (``PUBLIC_ITEM_NAMES``; also any item
whose name contains 残疾): "困难" and "重度" would publish the person's degree of disability, which PIPL
art. 28 counts as sensitive (health) information; the generic name still lets the village check that the
money went to a real recipient. Rows are ordered by item, then name.

The CSV is UTF-8 with a BOM (Excel on Windows reads it as Chinese only with it); the PDF is drawn like the
escalation report (``registry.reports``: reportlab with WenQuanYi Zen Hei embedded; without the font,
``report.font_missing`` and the CSV still works).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from enrollment import error_codes
from enrollment.records import subsidy_catalogue
from enrollment.vocabulary import EntitlementState

from ..errors import ApiError
from ..reports import _register_font
from ..schema import entitlements, residents, villages
from .masking import mask_name
from .money import fen_to_yuan

LISTED_STATES = (EntitlementState.READY, EntitlementState.IN_BATCH, EntitlementState.PAID_OUT,
                 EntitlementState.PAY_FAILED)
GENERIC_DISABILITY = "残疾人补贴"
PUBLIC_ITEM_NAMES = {"disability_living": GENERIC_DISABILITY, "disability_care": GENERIC_DISABILITY}
HEADER = ("序号", "村", "姓名", "补贴项目", "金额（元）", "发放期次")
TITLE = "补贴发放公示"
WRITTEN = "notice.written"   # the audit action of an export: village, period, format, rows, total in fen
_PERIOD = re.compile(r"^[0-9]{4}(0[1-9]|1[0-2])$")
_CST = dt.timezone(dt.timedelta(hours=8), "CST")


@dataclass(frozen=True)
class NoticeLine:
    name_masked: str
    item: str
    item_name: str
    amount_fen: int
    period: str

    def to_dict(self) -> dict[str, Any]:
        return {"name_masked": self.name_masked, "item_name": self.item_name, "amount_fen": self.amount_fen,
                "amount_yuan": fen_to_yuan(self.amount_fen), "period": self.period}


@dataclass(frozen=True)
class Notice:
    village_code: str
    village_name: str
    period: str
    lines: tuple[NoticeLine, ...]

    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)

    @property
    def village(self) -> str:
        return f"{self.village_name} {self.village_code}".strip() if self.village_name else self.village_code


def public_item_name(code: str, names: dict[str, str]) -> str:
    """What the notice calls an item: its catalogue name, but never a disability's degree or kind."""
    name = names.get(code, code)
    if code in PUBLIC_ITEM_NAMES:
        return PUBLIC_ITEM_NAMES[code]
    return GENERIC_DISABILITY if "残疾" in name else name


def check_period(period: str) -> str:
    period = (period or "").strip()
    if not _PERIOD.match(period):
        raise ApiError(error_codes.NOTICE_PERIOD_INVALID, "the period is YYYYMM, e.g. 201906", field="period")
    return period


def build(conn: Connection, village_code: str, period: str) -> Notice:
    """The notice's lines for one village and period (see the module's text for who is on it)."""
    period = check_period(period)
    village = conn.execute(select(villages.c.code, villages.c.name).where(villages.c.code == village_code)).first()
    if village is None:
        raise ApiError(error_codes.NOTICE_VILLAGE_UNKNOWN, "no such village", field="village", village=village_code)
    # A line whose village the import could not tell is placed by the roster.
    on_roster = select(residents.c.id_number).where(residents.c.village_code == village_code)
    rows = conn.execute(
        select(entitlements.c.id, entitlements.c.name, entitlements.c.item, entitlements.c.amount_fen)
        .where(entitlements.c.period == period,
               entitlements.c.state.in_([s.value for s in LISTED_STATES]),
               or_(entitlements.c.village_code == village_code,
                   and_(entitlements.c.village_code.is_(None), entitlements.c.id_number.in_(on_roster))))).all()
    names = dict(subsidy_catalogue())
    ordered = sorted(rows, key=lambda r: (r.item, r.name, r.id))
    return Notice(village.code, village.name or "", period, tuple(
        NoticeLine(mask_name(r.name), r.item, public_item_name(r.item, names), int(r.amount_fen), period)
        for r in ordered))


def rows(notice: Notice) -> list[list[str]]:
    return [[str(i), notice.village, line.name_masked, line.item_name, fen_to_yuan(line.amount_fen), line.period]
            for i, line in enumerate(notice.lines, 1)]


def write_csv(notice: Notice, path: str | Path) -> int:
    with open(path, "w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(rows(notice))
    return len(notice.lines)


def period_words(period: str) -> str:
    return f"{period[:4]}年{int(period[4:])}月"


def write_pdf(notice: Notice, path: str | Path, *, at: dt.datetime) -> int:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _register_font()
    title_text = f"{notice.village_name or notice.village_code} {period_words(notice.period)}{TITLE}"
    title = ParagraphStyle("title", fontName=font, fontSize=18, leading=24, spaceAfter=4, alignment=1)
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=15, wordWrap="CJK")
    doc = SimpleDocTemplate(str(path), pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                            topMargin=15 * mm, bottomMargin=15 * mm, title=title_text, author="一卡通")
    story: list[Any] = [
        Paragraph(title_text, title),
        Paragraph(f"村：{notice.village}　发放期次：{notice.period}　"
                  f"合计：{len(notice.lines)} 人次，{fen_to_yuan(notice.total_fen)} 元", body),
        Paragraph("以下人员经审核符合补贴发放条件，现予公示，公示期 7 天。如有异议，请在公示期内向村（居）委会"
                  "或乡镇（街道）反映。姓名已部分隐去，以保护个人信息。", body),
        Paragraph(f"生成时间：{at.astimezone(_CST).strftime('%Y-%m-%d %H:%M')}（北京时间）", body),
        Spacer(1, 4 * mm),
    ]
    # Plain strings in the cells (a Paragraph per cell, and one long table split across pages, made a
    # 10,000-line notice take 90 s): the cells' text is short and never wraps. The rows go in one table
    # per page, each with the header, as many as the page holds (measured, one row spare).
    style = TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 10),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef6")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ])
    widths = [14 * mm, 48 * mm, 24 * mm, 48 * mm, 24 * mm, 22 * mm]
    body_rows = rows(notice)
    frame_height = A4[1] - 30 * mm - 12            # the margins and the frame's own padding
    probe = Table([list(HEADER), list(HEADER)], colWidths=widths)
    probe.setStyle(style)
    row_height = probe.wrap(doc.width, frame_height)[1] / 2
    used = sum(f.wrap(doc.width, frame_height)[1] + f.getSpaceBefore() + f.getSpaceAfter() for f in story)
    room = int((frame_height - used) // row_height) - 2
    start = 0
    while start < len(body_rows):
        table = Table([list(HEADER), *body_rows[start:start + room]], colWidths=widths)
        table.setStyle(style)
        story.append(table)
        start += room
        if start < len(body_rows):
            story.append(PageBreak())
        room = int(frame_height // row_height) - 2
    if not body_rows:
        story.append(Paragraph("（本期无公示对象）", body))
    doc.build(story)
    return len(notice.lines)
