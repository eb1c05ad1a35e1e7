"""The in-app guide (帮助 → 使用指南): the role's Markdown guide with its screenshots, a contents list,
打印…, 另存为 PDF… and 打开速查卡.

QTextBrowser reads the .md file itself (Markdown by the file's suffix) from its path, so the guide's
``images/x.png`` load from the folder next to it. Links to web pages open in the system's browser,
never inside the guide. A missing guide file (a broken install) is said in the window, with its path.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal, Slot
from PySide6.QtGui import QKeySequence, QPdfWriter, QResizeEvent, QShortcut, QTextBlock, QTextDocument
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop import guide as guide_files

from .paging import PagedDocument, a4_layout, fit_images, pdf_font_family

PRINT_MARGIN_MM = 15.0
PDF_RESOLUTION = 300
READING_MARGIN = 14    # pixels around the text in the reading area
IMAGE_SIDE_ROOM = 2 * READING_MARGIN + 8   # a screenshot fitted to the reading width leaves the margins free


def headings(doc: QTextDocument, level: int = 2) -> list[QTextBlock]:
    """The blocks that are Markdown headings of this level (## …), in order."""
    out = []
    block = doc.begin()
    while block.isValid():
        if block.blockFormat().headingLevel() == level and block.text().strip():
            out.append(block)
        block = block.next()
    return out


class _Browser(QTextBrowser):
    resized = Signal()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.resized.emit()


class GuideWindow(QWidget):
    """One guide file in its own window (a top-level window even when given a parent)."""

    def __init__(self, guide: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("guideWindow")
        self.setWindowTitle(self.tr("一卡通 使用指南"))
        self.guide = Path(guide)
        self.quick_card = guide_files.quick_card_pdf()
        self.loaded = False   # the guide file was found and is showing
        self.print_dialog = None   # QPrintDialog while it is open (modal to this window only)
        self.save_dialog: QFileDialog | None = None

        self.contents = QListWidget()
        self.contents.setObjectName("guideContents")
        self.contents.setMinimumWidth(180)
        self.contents.setWordWrap(True)
        self.contents.itemClicked.connect(self._go_to_item)
        self.contents.itemActivated.connect(self._go_to_item)
        self.browser = _Browser()
        self.browser.setObjectName("guideBrowser")
        self.browser.setOpenExternalLinks(True)   # http(s) links go to the system's browser
        self.browser.setOpenLinks(True)           # links between the guide's own files stay inside
        self.browser.document().setUndoRedoEnabled(False)
        self.browser.document().setDocumentMargin(READING_MARGIN)
        self.browser.sourceChanged.connect(self._source_changed)
        self.browser.resized.connect(self._fit_images)

        self.print_button = QPushButton(self.tr("打印…"))
        self.print_button.setObjectName("guidePrint")
        self.print_button.clicked.connect(self.print_guide)
        self.pdf_button = QPushButton(self.tr("另存为 PDF…"))
        self.pdf_button.setObjectName("guideSavePdf")
        self.pdf_button.clicked.connect(self.ask_save_pdf)
        self.card_button = QPushButton(self.tr("打开速查卡"))
        self.card_button.setObjectName("guideQuickCard")
        self.card_button.setToolTip(self.tr("一页纸的村干部速查卡（PDF），可打印随身带"))
        self.card_button.clicked.connect(self.open_quick_card)
        self.message_label = QLabel()
        self.message_label.setObjectName("guideMessage")
        self.message_label.setStyleSheet("color: #555;")
        self.message_label.setWordWrap(True)

        contents_box = QWidget()
        cv = QVBoxLayout(contents_box)
        cv.setContentsMargins(0, 0, 0, 0)
        cv.addWidget(QLabel(self.tr("目录")))
        cv.addWidget(self.contents, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(contents_box)
        splitter.addWidget(self.browser)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([220, 780])

        top = QHBoxLayout()
        top.addWidget(self.message_label, 1)
        top.addWidget(self.card_button)
        top.addWidget(self.pdf_button)
        top.addWidget(self.print_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        QShortcut(QKeySequence.StandardKey.Print, self, self.print_guide)
        self.resize(1040, 700)
        self.load(self.guide)

    # -- loading
    def load(self, guide: Path) -> None:
        self.guide = Path(guide)
        if not self.guide.is_file():
            self._show_missing(self.guide)
            return
        self.browser.setSource(QUrl.fromLocalFile(str(self.guide)))
        self.loaded = True
        missing = guide_files.missing_images(self.guide)
        self.message_label.setText(self.tr(
            "本指南的 {n} 张截图还没有生成（从源代码运行时会这样，安装包里都有）：运行 "
            "python -m desktop.guide.shots 生成").format(n=len(missing)) if missing else "")
        self.print_button.setEnabled(True)
        self.pdf_button.setEnabled(True)

    def _show_missing(self, path: Path) -> None:
        self.loaded = False
        self.browser.setHtml(self.tr(
            "<h2>找不到使用指南</h2><p>这台电脑上缺少使用指南文件：</p><p><b>{path}</b></p>"
            "<p>安装可能不完整。请重新安装一卡通，或联系技术支持。登记和审核不受影响。</p>")
            .format(path=html.escape(str(path))))
        self.contents.clear()
        self.print_button.setEnabled(False)
        self.pdf_button.setEnabled(False)
        self._update_card_button()

    @Slot(QUrl)
    def _source_changed(self, _url: QUrl) -> None:
        self._fit_images()
        self.contents.clear()
        for block in headings(self.browser.document()):
            item = QListWidgetItem(block.text())
            item.setData(Qt.ItemDataRole.UserRole, block.blockNumber())
            self.contents.addItem(item)
        self._update_card_button()

    def _update_card_button(self) -> None:
        there = self.quick_card.is_file()
        self.card_button.setEnabled(there)
        self.card_button.setToolTip(self.tr("一页纸的村干部速查卡（PDF），可打印随身带") if there
                                    else self.tr("找不到速查卡文件：{path}").format(path=str(self.quick_card)))

    def _fit_images(self) -> None:
        """Screenshots no wider than the reading area (a 1366-pixel screenshot would need side scrolling)."""
        width = self.browser.viewport().width() - IMAGE_SIDE_ROOM
        if width > 100:
            fit_images(self.browser.document(), float(width))

    # -- contents
    def section_titles(self) -> list[str]:
        return [self.contents.item(i).text() for i in range(self.contents.count())]

    @Slot(QListWidgetItem)
    def _go_to_item(self, item: QListWidgetItem) -> None:
        self.go_to_section(self.contents.row(item))

    def go_to_section(self, index: int) -> None:
        """Scroll so that the index-th ## heading is at the top of the reading area."""
        item = self.contents.item(index)
        if item is None:
            return
        doc = self.browser.document()
        block = doc.findBlockByNumber(int(item.data(Qt.ItemDataRole.UserRole)))
        top = doc.documentLayout().blockBoundingRect(block).top()
        self.browser.verticalScrollBar().setValue(int(top))
        self.contents.setCurrentItem(item)

    # -- print, PDF, quick card
    @Slot()
    def print_guide(self) -> None:
        """打印…: the system's print dialog (Qt's print support); without it, save a PDF to print."""
        if not self.loaded:
            return
        try:
            from PySide6.QtPrintSupport import QPrintDialog, QPrinter
        except ImportError:   # a Qt without print support: a PDF prints from any PDF reader
            self.ask_save_pdf()
            return
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setPageLayout(a4_layout(PRINT_MARGIN_MM))
        printer.setDocName(self.windowTitle())
        dialog = QPrintDialog(printer, self)
        dialog.setWindowTitle(self.tr("打印使用指南"))
        dialog.accepted.connect(lambda: self._print_on(printer))
        dialog.finished.connect(lambda _r: setattr(self, "print_dialog", None))
        self.print_dialog = dialog
        QDialog.open(dialog)   # window-modal, no nested loop (QPrintDialog.open itself wants a receiver)

    def _print_on(self, printer) -> None:  # noqa: ANN001 - a QPrinter
        try:
            pages = PagedDocument(self.browser.document(), printer, font_family=pdf_font_family()).paint()
        except OSError:   # no printer after all, or 打印到文件 into a folder that cannot be written
            self.message_label.setText(self.tr("未能打印：打印机不可用，或文件不能写入。可以先“另存为 PDF”再打印。"))
            return
        self.message_label.setText(self.tr("已发送打印：{n} 页").format(n=pages))

    @Slot()
    def ask_save_pdf(self) -> None:
        if not self.loaded:
            return
        dialog = QFileDialog(self, self.tr("另存为 PDF"), str(Path.home() / (self.guide.stem + "-使用指南.pdf")),
                             self.tr("PDF 文件 (*.pdf)"))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("pdf")
        dialog.fileSelected.connect(lambda path: self.save_pdf(Path(path)))
        dialog.finished.connect(lambda _r: setattr(self, "save_dialog", None))
        self.save_dialog = dialog
        QDialog.open(dialog)   # (QFileDialog.open itself wants a receiver)

    def save_pdf(self, path: Path) -> int:
        """Write the guide as an A4 PDF (screenshots fitted to the page, numbered pages); returns the page count."""
        writer = QPdfWriter(str(path))
        writer.setResolution(PDF_RESOLUTION)
        writer.setPageLayout(a4_layout(PRINT_MARGIN_MM))
        writer.setTitle(self.windowTitle())
        writer.setCreator("yikatong")
        try:
            pages = PagedDocument(self.browser.document(), writer, font_family=pdf_font_family()).paint()
        except OSError as e:
            self.message_label.setText(self.tr("未能保存 PDF：{reason}").format(reason=str(e)))
            return 0
        finally:
            del writer
        self.message_label.setText(self.tr("已保存 PDF（{n} 页）：{path}").format(n=pages, path=str(path)))
        return pages

    @Slot()
    def open_quick_card(self) -> bool:
        if not self.quick_card.is_file():
            self.message_label.setText(self.tr("找不到速查卡文件：{path}").format(path=str(self.quick_card)))
            return False
        opened = guide_files.open_external(self.quick_card)
        if not opened:
            self.message_label.setText(self.tr("没有能打开 PDF 的程序。速查卡在：{path}").format(path=str(self.quick_card)))
        return opened
