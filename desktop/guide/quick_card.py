"""The printable quick card for village cadres: resources/guide/quick-card.md → one A4 page of PDF.

    python -m desktop.guide.quick_card [--source quick-card.md] [--out resources/guide/quick-card.pdf]

Laid out with QTextDocument on a QPdfWriter (A4, 12 mm margins) in a Chinese font (paging.PDF_FONTS),
body 10.5 pt and nothing under 9 pt: a card is read at arm's length. Text that does not fit on one
page is an error naming the source file and the page count; the card is never shrunk to fit. The PDF is committed
(installers ship it); tests/desktop/test_quick_card.py checks it is up to date with its source.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from PySide6.QtGui import (
    QColor,
    QFont,
    QGuiApplication,
    QPdfWriter,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
)

from . import QUICK_CARD_PDF, QUICK_CARD_SOURCE, guide_dir
from .paging import PDF_FONTS, PagedDocument, a4_layout, pdf_font_family

MARGIN_MM = 12.0
BODY_PT = 10.5
MIN_PT = 9.0
HEADING_PT = {1: 16.0, 2: 12.0, 3: 11.0}
HEADING_COLOUR = "#1d5fb4"
LINE_HEIGHT_PERCENT = 118
# Lengths below are pixels of a 96-dpi screen (Qt scales them to the PDF's resolution).
LIST_INDENT = 20
# (above, below) each block: a heading stands a little apart from the section before it.
BLOCK_SPACING = {1: (0.0, 3.0), 2: (5.0, 1.5), 0: (0.0, 1.0)}
RESOLUTION = 300


class QuickCardError(Exception):
    """The card cannot be made as it must be (one page, a Chinese font, readable sizes)."""


def cjk_font_family() -> str:
    family = pdf_font_family()
    if family is None:
        raise QuickCardError(f"no Chinese font installed (install fonts-wqy-zenhei): looked for {', '.join(PDF_FONTS)}")
    return family


def _fragments(block):
    it = block.begin()
    while not it.atEnd():
        fragment = it.fragment()
        if fragment.isValid():
            yield fragment
        it += 1


def card_document(markdown: str, family: str) -> QTextDocument:
    """The card as a document: Markdown, then the card's own font, sizes and spacing on every block."""
    doc = QTextDocument()
    doc.setUndoRedoEnabled(False)
    font = QFont(family)
    font.setPointSizeF(BODY_PT)
    doc.setDefaultFont(font)
    doc.setIndentWidth(LIST_INDENT)
    doc.setMarkdown(markdown, QTextDocument.MarkdownFeature.MarkdownDialectGitHub)
    cursor = QTextCursor(doc)
    block = doc.begin()
    while block.isValid():
        level = block.blockFormat().headingLevel()
        for fragment in list(_fragments(block)):
            chars = fragment.charFormat()
            # The Markdown reader sizes headings relative to the default font (a size adjustment that
            # would win over a point size); the card sets every size itself.
            chars.clearProperty(QTextCharFormat.Property.FontSizeAdjustment)
            chars.setFontFamilies([family])
            chars.setFontPointSize(HEADING_PT.get(level, BODY_PT))
            if level:
                chars.setFontWeight(QFont.Weight.Bold)
                chars.setForeground(QColor(HEADING_COLOUR if level > 1 else "#000000"))
            cursor.setPosition(fragment.position())
            cursor.setPosition(fragment.position() + fragment.length(), QTextCursor.MoveMode.KeepAnchor)
            cursor.setCharFormat(chars)
        fmt = block.blockFormat()
        fmt.setTopMargin(BLOCK_SPACING.get(level, (0, 0))[0])
        fmt.setBottomMargin(BLOCK_SPACING.get(level, (0, 0))[1])
        fmt.setLineHeight(LINE_HEIGHT_PERCENT, 1)   # 1 = ProportionalHeight: CJK reads better with some air
        cursor.setPosition(block.position())
        cursor.setBlockFormat(fmt)
        block = block.next()
    return doc


def smallest_point_size(doc: QTextDocument) -> float:
    """The smallest font size any text of the document is drawn in (points)."""
    default = doc.defaultFont().pointSizeF()
    smallest = default
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            if fragment.isValid() and fragment.text().strip():
                size = fragment.charFormat().fontPointSize() or default
                smallest = min(smallest, size)
            it += 1
        block = block.next()
    return smallest


def build(source: Path, out: Path) -> int:
    """Write the card's PDF; returns its page count (1). Raises QuickCardError if it would not be one page."""
    markdown = Path(source).read_text(encoding="utf-8")
    doc = card_document(markdown, cjk_font_family())
    smallest = smallest_point_size(doc)
    if smallest < MIN_PT:
        raise QuickCardError(f"{source}: text at {smallest:g} pt; the card prints nothing under {MIN_PT:g} pt")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    writer = QPdfWriter(str(partial))
    writer.setResolution(RESOLUTION)
    writer.setPageLayout(a4_layout(MARGIN_MM))
    writer.setTitle("一卡通 上门登记 速查卡")
    writer.setCreator("yikatong (python -m desktop.guide.quick_card)")
    paged = PagedDocument(doc, writer, page_numbers=False)
    pages = paged.page_count()
    if pages != 1:
        del writer
        partial.unlink(missing_ok=True)
        raise QuickCardError(
            f"{source} does not fit on one A4 page: it takes {pages} pages at {BODY_PT:g} pt with "
            f"{MARGIN_MM:g} mm margins. Shorten the text; the card is not shrunk (nothing under {MIN_PT:g} pt).")
    paged.paint()
    del paged, writer   # the PDF is complete once the writer is gone
    partial.replace(out)
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m desktop.guide.quick_card",
                                     description="Make the one-page quick card PDF for village cadres.")
    parser.add_argument("--source", type=Path, default=guide_dir() / QUICK_CARD_SOURCE,
                        help="the card's Markdown (default: resources/guide/quick-card.md)")
    parser.add_argument("--out", type=Path, default=guide_dir() / QUICK_CARD_PDF,
                        help="the PDF to write (default: resources/guide/quick-card.pdf)")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")   # no window: also on a machine without a screen
    _app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    try:
        build(args.source, args.out)
    except (QuickCardError, OSError) as e:
        sys.stderr.write(f"error: quick_card: {e}\n")
        return 1
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
