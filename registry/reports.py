"""The escalation report for the discipline commission (纪委): the red warnings, as CSV and PDF.

CSV is UTF-8 with a BOM (Excel on Windows opens it as Chinese only with the BOM). The PDF
is drawn with reportlab in a TrueType CJK font from a Debian package (``fonts-wqy-zenhei``,
installed by scripts/test and scripts/demo): reportlab embeds TrueType outlines only, and
Noto CJK ships CFF outlines. Nothing is downloaded at run time; without the font the PDF
fails with ``report.font_missing`` (CSV still works).
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

from enrollment.vocabulary import ReviewState, label

from .db import iso, parse_iso
from .warnings import UNHANDLED, WarningLimits

FONT_MISSING = "report.font_missing"
TITLE = "一卡通 预警升级报告"
RECIPIENT = "报送：纪委"
REASONS = {UNHANDLED: "受理超时", "unissued": "审批后未发卡"}
HEADER = ("村", "记录", "身份证号", "状态", "原因", "起算时间", "超时小时", "经办人")
COLUMNS = ("village", "record_id", "id_number_masked", "state", "reason", "since", "hours_overdue", "operator")

# Debian's path first; the others are where the same file lands on other distributions.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/TTF/wqy-zenhei.ttc",
)
_FONT_NAME = "WenQuanYiZenHei"
_CST = dt.timezone(dt.timedelta(hours=8), "CST")  # the commission reads Beijing time


class ReportError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _local(value: str | dt.datetime) -> str:
    moment = parse_iso(value) if isinstance(value, str) else value
    return moment.astimezone(_CST).strftime("%Y-%m-%d %H:%M")


def _village(item: dict[str, Any]) -> str:
    name = item.get("village_name") or ""
    return f"{name} {item['village_code']}".strip()


def report_rows(items: list[dict[str, Any]]) -> list[list[str]]:
    """The table's rows in Chinese, one per item, columns as ``HEADER``."""
    rows = []
    for it in items:
        rows.append([_village(it), it["record_id"], it["id_number_masked"], label(it["state"], ReviewState),
                     REASONS.get(it["reason"], it["reason"]), _local(it["since"]), str(it["hours_overdue"]),
                     it["operator"]])
    return rows


def write_csv(items: list[dict[str, Any]], path: str | Path) -> int:
    with open(path, "w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(report_rows(items))
    return len(items)


def find_font(candidates: tuple[str, ...] = FONT_CANDIDATES) -> str:
    for candidate in candidates:
        if Path(candidate).is_file():
            return candidate
    raise ReportError(FONT_MISSING, "no TrueType CJK font for the PDF report: install the Debian package "
                                    "fonts-wqy-zenhei (scripts/test and scripts/demo do)")


def _register_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if _FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(_FONT_NAME, find_font(), subfontIndex=0))
    return _FONT_NAME


def write_pdf(items: list[dict[str, Any]], path: str | Path, *, at: dt.datetime, limits: WarningLimits) -> int:
    font = _register_font()
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    title = ParagraphStyle("title", fontName=font, fontSize=18, leading=24, spaceAfter=4)
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=14)
    cell = ParagraphStyle("cell", fontName=font, fontSize=8, leading=10)
    doc = SimpleDocTemplate(str(path), pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, title=TITLE, author="一卡通 registry")
    story: list[Any] = [
        Paragraph(TITLE, title),
        Paragraph(RECIPIENT, body),
        Paragraph(f"生成时间：{_local(at)}（北京时间；UTC {iso(at)[:19]}）", body),
        Paragraph(f"时限：受理 {limits.unhandled_yellow_hours:g} 小时内处理，审批后 "
                  f"{limits.unissued_yellow_hours:g} 小时内发卡；超时即黄灯，再过 {limits.red_after_hours:g} 小时"
                  f"为红灯并列入本报告。", body),
        Paragraph(f"红灯事项：{len(items)} 条", body),
        Spacer(1, 4 * mm),
    ]
    data = [[Paragraph(h, cell) for h in HEADER]] + [[Paragraph(v, cell) for v in r] for r in report_rows(items)]
    widths = [40 * mm, 62 * mm, 36 * mm, 20 * mm, 24 * mm, 28 * mm, 16 * mm, 26 * mm]
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f2dede")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    story.append(table if items else Paragraph("（无红灯事项）", body))
    doc.build(story)
    return len(items)
