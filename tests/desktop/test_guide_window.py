"""帮助 → 使用指南: the role's Markdown guide in its own window (contents, screenshots, PDF, quick card),
from the field window, the 审核工作台 and the login window. Offscreen Qt, the shipped guide files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from desktop_helpers import VILLAGE, VILLAGE_NAME
from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QColor, QDesktopServices, QImage, QKeySequence, QTextCursor, QTextDocument
from PySide6.QtPdf import QPdfDocument
from PySide6.QtWidgets import QLineEdit

import desktop.guide as guide_files
from desktop.guide.window import GuideWindow

# Nothing listens here: the central window's calls fail at once (connection refused), and the 帮助 menu
# needs no registry.
UNREACHABLE = "http://127.0.0.1:9"


def _h2(path: Path) -> list[str]:
    """The ## headings of a Markdown file, as its author wrote them."""
    return [m.group(1).strip() for m in re.finditer(r"^## +(.+)$", path.read_text(encoding="utf-8"), re.M)]


@pytest.fixture
def opened(monkeypatch):
    """What the app asked the system to open (the quick card's PDF), instead of starting a PDF reader."""
    paths: list[Path] = []

    def record(path: Path) -> bool:
        paths.append(Path(path))
        return True

    monkeypatch.setattr(guide_files, "open_external", record)
    return paths


@pytest.fixture
def cadre_window(qtbot, owner):
    from desktop.main_window import MainWindow
    from desktop.online import OnlineMonitor

    login = {"operator": {"username": "cadre1", "display_name": "王干部", "role": "cadre",
                          "villages": [{"code": VILLAGE, "name": VILLAGE_NAME}]},
             "online": False, "roster_count": 7}
    win = MainWindow(owner, login, OnlineMonitor())
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


@pytest.fixture
def central_window(qtbot):
    from desktop.central import CentralWindow

    win = CentralWindow(UNREACHABLE, "no-token", {"username": "central1", "display_name": "审核员",
                                                   "role": "central"})
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.net.pending() == 0 and win.long_net.pending() == 0, timeout=20_000)
    yield win
    win.close()


def _help_actions(win) -> dict[str, object]:
    menu = win.help_menu.menu
    assert menu.title() == "帮助"
    assert menu.menuAction() in win.menuBar().actions()
    return {a.text(): a for a in menu.actions() if not a.isSeparator()}


def _showing(qtbot, guide: GuideWindow, path: Path) -> None:
    qtbot.waitUntil(guide.isVisible, timeout=5000)
    assert guide.windowTitle() == "一卡通 使用指南"
    assert guide.loaded and Path(guide.browser.source().toLocalFile()) == path
    assert guide.browser.sourceType() == QTextDocument.ResourceType.MarkdownResource
    assert guide.section_titles() == _h2(path) and len(_h2(path)) >= 2


def test_the_cadre_help_menu_opens_the_cadre_guide_and_the_quick_card(qtbot, cadre_window, opened, screens):
    """The field window's 帮助 has 使用指南 (F1), 打印速查卡 and 关于; 使用指南 shows cadre.md with its ##
    headings as contents, asking again raises the same window, and 打印速查卡 opens the shipped PDF."""
    win = cadre_window
    actions = _help_actions(win)
    assert list(actions) == ["使用指南", "打印速查卡", "关于"]
    assert actions["使用指南"].shortcut() == QKeySequence(Qt.Key.Key_F1)
    assert win.logout_action.text() == "退出登录" and win.logout_action in win.menuBar().actions()

    actions["使用指南"].trigger()
    guide = win.help_menu.guide_window
    _showing(qtbot, guide, guide_files.guide_dir() / "cadre.md")
    screens(guide, "guide_window_cadre")
    guide.close()
    actions["使用指南"].trigger()
    assert win.help_menu.guide_window is guide and guide.isVisible()

    actions["打印速查卡"].trigger()
    assert opened == [guide_files.guide_dir() / "quick-card.pdf"] and opened[0].is_file()
    qtbot.mouseClick(guide.card_button, Qt.MouseButton.LeftButton)
    assert len(opened) == 2 and opened[1] == opened[0]

    win.close()   # the guide goes with the window it was opened from
    assert not guide.isVisible()


def test_about_names_the_app_and_the_version_yikatong_prints(qtbot, cadre_window):
    """关于 shows the app's name and the version `yikatong --version` prints, without blocking the app."""
    from cli.main import version

    box = cadre_window.help_menu.show_about()
    qtbot.waitUntil(box.isVisible, timeout=5000)
    assert "一卡通 登记" in box.text() and f"版本 {version()}" in box.text()
    box.accept()


def test_the_central_help_menu_opens_the_central_guide(qtbot, central_window):
    """The 审核工作台's 帮助 has 使用指南 (F1) and 关于, no quick card; 使用指南 shows central.md, and
    退出登录 is still on the menu bar."""
    win = central_window
    actions = _help_actions(win)
    assert list(actions) == ["使用指南", "关于"]
    assert actions["使用指南"].shortcut() == QKeySequence(Qt.Key.Key_F1)
    assert win.logout_action.text() == "退出登录" and win.logout_action in win.menuBar().actions()
    actions["使用指南"].trigger()
    _showing(qtbot, win.help_menu.guide_window, guide_files.guide_dir() / "central.md")


def test_an_administrator_reads_the_central_guide_and_no_role_reads_the_cadres():
    """Administrators work in the 审核工作台 too: central.md; cadres, and anyone before login, cadre.md."""
    assert guide_files.guide_file("admin").name == "central.md"
    assert guide_files.guide_file("central").name == "central.md"
    assert guide_files.guide_file("cadre").name == "cadre.md"
    assert guide_files.guide_file(None).name == "cadre.md"


def test_the_login_window_opens_the_cadre_guide(qtbot, owner):
    """The login window's 使用指南 link (first login is in the guide) opens cadre.md; a second click raises
    the same window."""
    from desktop.login import LoginWindow

    login = LoginWindow(owner, "http://127.0.0.1:9")
    qtbot.addWidget(login)
    login.show()
    qtbot.mouseClick(login.guide_button, Qt.MouseButton.LeftButton)
    guide = login.guide.window
    _showing(qtbot, guide, guide_files.guide_dir() / "cadre.md")
    qtbot.mouseClick(login.guide_button, Qt.MouseButton.LeftButton)
    assert login.guide.window is guide
    guide.close()


def test_a_missing_guide_file_is_said_in_the_window_with_its_path(qtbot, cadre_window, tmp_path, monkeypatch):
    """With the guide folder missing (a broken install), 使用指南 opens a window that names the missing
    file; nothing to print, and the quick card says where it should have been."""
    empty = tmp_path / "no-guide"
    monkeypatch.setattr(guide_files, "guide_dir", lambda: empty)
    cadre_window.help_menu.guide_action.trigger()
    guide = cadre_window.help_menu.guide_window
    qtbot.waitUntil(guide.isVisible, timeout=5000)
    text = guide.browser.toPlainText()
    assert "找不到使用指南" in text and str(empty / "cadre.md") in text and "重新安装" in text
    assert not guide.loaded and guide.section_titles() == []
    assert not guide.print_button.isEnabled() and not guide.pdf_button.isEnabled()
    assert not guide.card_button.isEnabled() and str(empty / "quick-card.pdf") in guide.card_button.toolTip()
    assert cadre_window.help_menu.open_quick_card() is False
    assert str(empty / "quick-card.pdf") in cadre_window.statusBar().currentMessage()


@pytest.fixture
def illustrated_guide(tmp_path) -> Path:
    """A guide as the lead's generator leaves it: Markdown with 1366×768 screenshots in images/, long
    enough to scroll, with a web link."""
    (tmp_path / "images").mkdir()
    shot = QImage(1366, 768, QImage.Format.Format_RGB32)
    shot.fill(QColor("#3366cc"))
    assert shot.save(str(tmp_path / "images" / "main.png"))
    filler = "\n\n".join("这一段说明登记的一个步骤，内容足够长，让指南需要滚动才能看完。" * 3 for _ in range(12))
    path = tmp_path / "guide.md"
    path.write_text(f"# 指南\n\n## 第一章 登录\n\n![主窗口](images/main.png)\n\n{filler}\n\n"
                    f"## 第二章 同步\n\n详见 [项目网站](https://example.org/yikatong)。\n\n{filler}\n\n"
                    f"## 第三章 遇到问题\n\n{filler}\n", encoding="utf-8")
    return path


class _UrlCatcher(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


def test_screenshots_load_fit_the_width_and_contents_scroll_to_their_section(qtbot, illustrated_guide):
    """The guide's images/… load from beside the .md file and are scaled to the reading width; clicking a
    contents entry scrolls its heading to the top."""
    guide = GuideWindow(illustrated_guide)
    qtbot.addWidget(guide)
    guide.resize(1000, 650)
    guide.show()
    qtbot.waitExposed(guide)
    doc = guide.browser.document()
    image = doc.resource(QTextDocument.ResourceType.ImageResource, QUrl("images/main.png"))
    assert image is not None and not image.isNull() and image.width() == 1366
    qtbot.waitUntil(lambda: 0 < doc.size().width() <= guide.browser.viewport().width(), timeout=5000)
    assert guide.section_titles() == ["第一章 登录", "第二章 同步", "第三章 遇到问题"]

    bar = guide.browser.verticalScrollBar()
    assert bar.value() == 0 and bar.maximum() > 0
    item = guide.contents.item(2)
    qtbot.mouseClick(guide.contents.viewport(), Qt.MouseButton.LeftButton,
                     pos=guide.contents.visualItemRect(item).center())
    heading = doc.findBlockByNumber(item.data(Qt.ItemDataRole.UserRole))
    assert heading.text() == "第三章 遇到问题"
    expected = min(int(doc.documentLayout().blockBoundingRect(heading).top()), bar.maximum())
    assert bar.value() == expected > 0


def test_a_web_link_opens_outside_and_the_guide_stays(qtbot, illustrated_guide):
    """Clicking a web link hands it to the system (the browser) and leaves the guide showing."""
    catcher = _UrlCatcher()
    QDesktopServices.setUrlHandler("https", catcher, "open")
    try:
        guide = GuideWindow(illustrated_guide)
        qtbot.addWidget(guide)
        guide.resize(1000, 650)
        guide.show()
        qtbot.waitExposed(guide)
        guide.go_to_section(1)
        doc = guide.browser.document()
        link = doc.find("项目网站")
        assert not link.isNull() and link.charFormat().anchorHref() == "https://example.org/yikatong"
        cursor = QTextCursor(doc)
        cursor.setPosition(link.selectionStart() + 1)
        point = guide.browser.cursorRect(cursor).center()
        qtbot.mouseClick(guide.browser.viewport(), Qt.MouseButton.LeftButton, pos=point)
        qtbot.waitUntil(lambda: bool(catcher.urls), timeout=5000)
        assert catcher.urls == [QUrl("https://example.org/yikatong")]
        assert Path(guide.browser.source().toLocalFile()) == illustrated_guide
    finally:
        QDesktopServices.unsetUrlHandler("https")


def test_save_as_pdf_writes_every_section_on_a4_pages(qtbot, illustrated_guide, tmp_path):
    """另存为 PDF writes the guide on numbered A4 pages with every section's text readable back."""
    guide = GuideWindow(illustrated_guide)
    qtbot.addWidget(guide)
    guide.show()
    out = tmp_path / "out" / "guide.pdf"
    out.parent.mkdir()
    pages = guide.save_pdf(out)
    pdf = QPdfDocument()
    assert pdf.load(str(out)) == QPdfDocument.Error.None_
    try:
        assert pdf.pageCount() == pages >= 2
        size = pdf.pagePointSize(0)
        assert (round(size.width()), round(size.height())) == (595, 842)
        text = "".join("".join(pdf.getAllText(i).text().split()) for i in range(pages))
    finally:
        pdf.close()
    for title in guide.section_titles():
        assert "".join(title.split()) in text
    assert f"1/{pages}" in text and str(out) in guide.message_label.text()


def test_print_opens_the_print_dialog_and_prints_every_page(qtbot, illustrated_guide, tmp_path):
    """打印… opens Qt's print dialog without blocking the app; accepted with a printer (here Qt's PDF
    printer, as 打印到文件 does) the guide comes out as numbered A4 pages."""
    from PySide6.QtPrintSupport import QPrinter

    guide = GuideWindow(illustrated_guide)
    qtbot.addWidget(guide)
    guide.show()
    qtbot.mouseClick(guide.print_button, Qt.MouseButton.LeftButton)
    dialog = guide.print_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    printer = dialog.printer()
    assert printer.pageLayout().pageSize().id() == printer.pageLayout().pageSize().PageSizeId.A4
    # This machine has no printer: the dialog offers 打印到文件 (PDF); the person types the file's name.
    out = tmp_path / "printed.pdf"
    dialog.findChild(QLineEdit, "filename").setText(str(out))
    dialog.accept()
    assert printer.outputFormat() == QPrinter.OutputFormat.PdfFormat
    qtbot.waitUntil(lambda: guide.print_dialog is None, timeout=5000)
    assert guide.message_label.text().startswith("已发送打印")
    # A file name that cannot be written: said in the window, no exception escapes into the event loop.
    qtbot.mouseClick(guide.print_button, Qt.MouseButton.LeftButton)
    dialog = guide.print_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    dialog.findChild(QLineEdit, "filename").setText(str(tmp_path / "no-such-folder" / "x.pdf"))
    dialog.accept()
    assert guide.message_label.text().startswith("未能打印")
    pdf = QPdfDocument()
    assert pdf.load(str(out)) == QPdfDocument.Error.None_
    try:
        assert pdf.pageCount() >= 2
        assert "第三章遇到问题" in "".join("".join(pdf.getAllText(i).text().split()) for i in range(pdf.pageCount()))
    finally:
        pdf.close()


def test_save_as_pdf_asks_where_then_writes_there(qtbot, illustrated_guide, tmp_path):
    """另存为 PDF… opens a save dialog (not blocking the app) and writes the PDF to the file chosen in it."""
    guide = GuideWindow(illustrated_guide)
    qtbot.addWidget(guide)
    guide.show()
    qtbot.mouseClick(guide.pdf_button, Qt.MouseButton.LeftButton)
    dialog = guide.save_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    assert dialog.acceptMode() == dialog.AcceptMode.AcceptSave and dialog.defaultSuffix() == "pdf"
    out = tmp_path / "指南.pdf"
    dialog.fileSelected.emit(str(out))   # what choosing a file and 保存 emits
    dialog.done(1)
    qtbot.waitUntil(lambda: guide.save_dialog is None, timeout=5000)
    assert out.is_file() and out.read_bytes().startswith(b"%PDF") and str(out) in guide.message_label.text()


def test_screenshots_not_yet_taken_are_said_with_the_command_that_takes_them(qtbot, illustrated_guide):
    """A source checkout's guide without its pictures says how many are missing and the command that takes
    them; with every picture there the line stays empty."""
    guide = GuideWindow(illustrated_guide)
    qtbot.addWidget(guide)
    assert guide.message_label.text() == ""
    (illustrated_guide.parent / "images" / "main.png").unlink()
    guide.load(illustrated_guide)
    assert "1 张截图还没有生成" in guide.message_label.text()
    assert "python -m desktop.guide.shots" in guide.message_label.text()
