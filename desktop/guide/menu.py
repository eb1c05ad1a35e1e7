"""The 帮助 menu of the field window and the 审核工作台: 使用指南 (F1), 打印速查卡 (cadres), 关于."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMainWindow, QMessageBox, QWidget

from desktop import guide as guide_files

from .window import GuideWindow

APP_NAME = "一卡通 登记"


def app_version() -> str:
    """The version `yikatong --version` prints: the installed distribution's (cli.main.version reads the
    same metadata; not imported from there, since cli reaches the registry and the desktop must not)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("yikatong")
    except PackageNotFoundError:
        return "unknown (not installed)"


class GuideOpener(QObject):
    """Opens one guide window for a widget and keeps that one instance: asking again raises it."""

    def __init__(self, owner: QWidget, role: str | None) -> None:
        super().__init__(owner)
        self.owner = owner
        self.role = role
        self.window: GuideWindow | None = None

    @Slot()
    def open(self) -> GuideWindow:
        if self.window is None:
            self.window = GuideWindow(guide_files.guide_file(self.role), self.owner)
            self.window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self.window.show()
        self.window.raise_()
        self.window.activateWindow()
        return self.window

    def close(self) -> None:
        if self.window is not None:
            self.window.close()


class HelpMenu(QObject):
    """帮助 on a main window's menu bar, for an operator of this role."""

    def __init__(self, window: QMainWindow, role: str | None, *, quick_card: bool) -> None:
        super().__init__(window)
        self.window = window
        self.guide = GuideOpener(window, role)
        self.about_box: QMessageBox | None = None

        self.menu = window.menuBar().addMenu(self.tr("帮助"))
        self.menu.setObjectName("helpMenu")
        self.guide_action = self.menu.addAction(self.tr("使用指南"))
        self.guide_action.setObjectName("guideAction")
        self.guide_action.setShortcut(QKeySequence(Qt.Key.Key_F1))
        self.guide_action.triggered.connect(self.guide.open)
        self.quick_card_action = None
        if quick_card:
            self.quick_card_action = self.menu.addAction(self.tr("打印速查卡"))
            self.quick_card_action.setObjectName("quickCardAction")
            self.quick_card_action.setToolTip(self.tr("打开一页纸的速查卡（PDF），在 PDF 阅读器里打印"))
            self.quick_card_action.triggered.connect(self.open_quick_card)
        self.menu.addSeparator()
        self.about_action = self.menu.addAction(self.tr("关于"))
        self.about_action.setObjectName("aboutAction")
        self.about_action.triggered.connect(self.show_about)

    @property
    def guide_window(self) -> GuideWindow | None:
        return self.guide.window

    @Slot()
    def open_quick_card(self) -> bool:
        path = guide_files.quick_card_pdf()
        if not path.is_file():
            self.window.statusBar().showMessage(self.tr("找不到速查卡文件：{path}（安装可能不完整）").format(
                path=str(path)), 15000)
            return False
        opened = guide_files.open_external(path)
        if not opened:
            self.window.statusBar().showMessage(self.tr("没有能打开 PDF 的程序。速查卡在：{path}").format(
                path=str(path)), 15000)
        return opened

    def about_text(self) -> str:
        return self.tr("{app}\n版本 {version}\n\n社会保障卡（一卡通）上门登记与审核。\n"
                       "使用说明：帮助 → 使用指南（F1）。").format(app=APP_NAME, version=app_version())

    @Slot()
    def show_about(self) -> QMessageBox:
        if self.about_box is None:
            box = QMessageBox(QMessageBox.Icon.Information, self.tr("关于 {app}").format(app=APP_NAME),
                              self.about_text(), QMessageBox.StandardButton.Ok, self.window)
            box.setObjectName("aboutBox")
            self.about_box = box
        self.about_box.open()   # window-modal, not a nested event loop
        return self.about_box

    def close_windows(self) -> None:
        self.guide.close()
        if self.about_box is not None:
            self.about_box.done(0)
