"""Laying a QTextDocument out on A4 pages and painting it, for the guide's 打印/另存为 PDF and the quick card.

Not ``QTextDocument.print_``: for a document without a page size it adds its own 2 cm margins on top of
the page's and lets wide images (the 1366-pixel screenshots) run off the page. Here the document is
laid out for the device itself (fonts in points, images scaled to the page width) and painted page by
page, with the page number in the bottom margin.
"""

from __future__ import annotations

from PySide6.QtCore import QMarginsF, QRectF, QSizeF, Qt, QUrl
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QFont,
    QFontDatabase,
    QImage,
    QPagedPaintDevice,
    QPageLayout,
    QPageSize,
    QPainter,
    QPixmap,
    QTextCursor,
    QTextDocument,
)

SCREEN_DPI = 96   # a QTextImageFormat's width is in pixels of a 96-dpi screen, scaled to the device
FOOTER_MM = 7.0   # room at the bottom of each page for its number
# Fonts for PDF, the first installed: WenQuanYi first because Qt's PDF writer maps Noto Sans CJK's glyphs
# back to the wrong characters (一 → the Kangxi radical ⼀, 1 → a control character), so a PDF in Noto
# prints right but its text cannot be searched or copied; WenQuanYi's text reads back as written.
PDF_FONTS = ("WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "SimSun", "Noto Sans CJK SC")


def pdf_font_family() -> str | None:
    installed = set(QFontDatabase.families())
    return next((family for family in PDF_FONTS if family in installed), None)


def a4_layout(margin_mm: float) -> QPageLayout:
    return QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                       QMarginsF(margin_mm, margin_mm, margin_mm, margin_mm), QPageLayout.Unit.Millimeter)


def _image_size(doc: QTextDocument, name: str):
    kind, url = QTextDocument.ResourceType.ImageResource, QUrl(name)
    # Not yet drawn, not yet loaded: load it now (a QTextBrowser's document reads it from beside the file).
    data = doc.resource(kind, url) or doc.loadResource(kind, url)
    if isinstance(data, (QPixmap, QImage)) and not data.isNull():
        return data.size()
    return None


def fit_images(doc: QTextDocument, max_width: float) -> int:
    """Give every image the width min(its own, max_width) (height in proportion); returns how many images.

    Images the document has not loaded (a missing file) are left as they are."""
    found = []
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            if fragment.isValid() and fragment.charFormat().isImageFormat():
                found.append((fragment.position(), fragment.length(), fragment.charFormat().toImageFormat()))
            it += 1
        block = block.next()
    cursor = QTextCursor(doc)
    for position, length, image in found:
        size = _image_size(doc, image.name())
        if size is None or size.width() <= 0:
            continue
        width = min(float(size.width()), max_width)
        image.setWidth(width)
        image.setHeight(size.height() * width / size.width())
        cursor.setPosition(position)
        cursor.setPosition(position + length, QTextCursor.MoveMode.KeepAnchor)
        cursor.setCharFormat(image)
    return len(found)


class PagedDocument:
    """A copy of a document laid out for one paged device (its page layout and resolution)."""

    def __init__(self, source: QTextDocument, device: QPagedPaintDevice, *, page_numbers: bool = True,
                 font_family: str | None = None) -> None:
        self.device = device
        self.page_numbers = page_numbers
        self.doc = source.clone()   # keeps the images the source has loaded
        if font_family:
            font = QFont(self.doc.defaultFont())
            font.setFamilies([font_family])
            self.doc.setDefaultFont(font)
        self.dpi = device.logicalDpiY()
        paint = device.pageLayout().paintRectPixels(device.logicalDpiX())
        self.width = float(paint.width())
        footer = FOOTER_MM / 25.4 * self.dpi if page_numbers else 0.0
        self.body_height = float(paint.height()) - footer
        self.doc.documentLayout().setPaintDevice(device)
        self.doc.setDocumentMargin(0)
        # Image widths are screen pixels, scaled by dpi/96 on the device: the page width in those units.
        fit_images(self.doc, self.width * SCREEN_DPI / device.logicalDpiX())
        self.doc.setPageSize(QSizeF(self.width, self.body_height))

    def page_count(self) -> int:
        return self.doc.pageCount()

    def paint(self) -> int:
        """Paint every page on the device; returns the number of pages."""
        pages = self.page_count()
        painter = QPainter()
        if not painter.begin(self.device):
            raise OSError("cannot paint on the output device (is the file writable?)")
        try:
            layout = self.doc.documentLayout()
            for page in range(pages):
                if page:
                    self.device.newPage()
                painter.save()
                top = page * self.body_height
                painter.translate(0, -top)
                context = QAbstractTextDocumentLayout.PaintContext()
                # one device pixel short: what starts the next page must not show its top edge here
                context.clip = QRectF(0, top, self.width, self.body_height - 1)
                painter.setClipRect(context.clip)
                layout.draw(painter, context)
                painter.restore()
                if self.page_numbers and pages > 1:
                    font = QFont(self.doc.defaultFont())
                    font.setPointSizeF(9)
                    painter.setFont(font)
                    painter.setPen(Qt.GlobalColor.darkGray)
                    footer = QRectF(0, self.body_height, self.width, FOOTER_MM / 25.4 * self.dpi)
                    painter.drawText(footer, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
                                     f"{page + 1} / {pages}")
        finally:
            painter.end()
        return pages
