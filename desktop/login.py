"""Login window: registry address, username, password.

The first login on a laptop is online (the registry checks the password and the store caches
an argon2 hash of it); later, when the registry cannot be reached, the same username and
password open the app offline. Errors are shown in the window, in Chinese.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from . import session
from .errors import describe
from .guide.menu import GuideOpener
from .store_worker import StoreOwner
from .ui import ERROR_STYLE


class LoginWindow(QWidget):
    """Emits ``logged_in(result)`` with {"operator", "online", "roster_count", "registry_url"}."""

    logged_in = Signal(object)

    def __init__(self, owner: StoreOwner, registry_url: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.owner = owner
        self.setWindowTitle(self.tr("一卡通 登记 — 登录"))
        self.setObjectName("loginWindow")

        title = QLabel(self.tr("社会保障卡（一卡通）上门登记"))
        title.setProperty("role", "title")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint = QLabel(self.tr("第一次登录需要联网；以后没有网络时，可用同一账号和密码离线登录。"))
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #555;")

        self.registry_edit = QLineEdit(registry_url or "")
        self.registry_edit.setObjectName("registryUrl")
        self.registry_edit.setPlaceholderText("http://192.168.1.10:8000")
        self.username_edit = QLineEdit()
        self.username_edit.setObjectName("username")
        self.password_edit = QLineEdit()
        self.password_edit.setObjectName("password")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)

        form = QFormLayout()
        form.addRow(self.tr("登记中心地址"), self.registry_edit)
        form.addRow(self.tr("用户名"), self.username_edit)
        form.addRow(self.tr("密码"), self.password_edit)

        self.error_label = QLabel()
        self.error_label.setObjectName("loginError")
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setWordWrap(True)
        self.status_label = QLabel()
        self.status_label.setObjectName("loginStatus")
        self.status_label.setStyleSheet("color: #555;")

        self.crash_label = QLabel()
        self.crash_label.setObjectName("crashNotice")
        self.crash_label.setWordWrap(True)
        self.crash_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.crash_label.setStyleSheet("background: #fff4e5; color: #663c00; border: 1px solid #f0c36d;"
                                       " padding: 8px;")
        self.crash_folder_button = QPushButton(self.tr("打开报告所在文件夹"))
        self.crash_folder_button.setObjectName("crashFolderButton")
        self.crash_folder_button.clicked.connect(self._open_crash_folder)
        self.crash_report: Path | None = None
        self.crash_label.hide()
        self.crash_folder_button.hide()

        self.login_button = QPushButton(self.tr("登录"))
        self.login_button.setObjectName("loginButton")
        self.login_button.setDefault(True)
        self.login_button.clicked.connect(self.submit)
        self.password_edit.returnPressed.connect(self.submit)
        # First login is the guide's first chapter: the cadre's guide, before anyone has logged in.
        self.guide = GuideOpener(self, "cadre")
        self.guide_button = QPushButton(self.tr("使用指南（F1）"))
        self.guide_button.setObjectName("loginGuideButton")
        self.guide_button.setFlat(True)
        self.guide_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.guide_button.setStyleSheet("color: #1d5fb4; text-decoration: underline; border: none;")
        self.guide_button.setToolTip(self.tr("第一次使用：如何登录、找人、登记、拍照、同步"))
        self.guide_button.setAutoDefault(False)
        self.guide_button.clicked.connect(self.guide.open)
        QShortcut(QKeySequence(Qt.Key.Key_F1), self, self.guide.open)
        buttons = QHBoxLayout()
        buttons.addWidget(self.guide_button)
        buttons.addStretch(1)
        buttons.addWidget(self.login_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 24)
        layout.setSpacing(12)
        layout.addWidget(title)
        layout.addWidget(self.crash_label)
        layout.addWidget(self.crash_folder_button, 0, Qt.AlignmentFlag.AlignRight)
        layout.addWidget(hint)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.status_label)
        layout.addLayout(buttons)
        self.resize(560, 380)
        # Tab from the password goes to 登录 first; the guide link comes after it.
        QWidget.setTabOrder(self.password_edit, self.login_button)
        QWidget.setTabOrder(self.login_button, self.guide_button)
        # The address is usually filled in (remembered, or given at start): the cadre starts with the name.
        self.username_edit.setFocus()

        if not registry_url:
            # the address last used on this laptop, read on the store thread
            self.owner.op(lambda store: store.registry_url()).success(self._fill_url).failure(lambda e: None).run()

    def show_crash_report(self, report: Path) -> None:
        """The previous session ended unexpectedly: say where its report is, for support."""
        self.crash_report = Path(report)
        self.crash_label.setText(self.tr(
            "上次程序意外退出，已生成错误报告（不含居民个人信息）：\n{path}\n"
            "联系技术支持时，请把这个文件发给他们。已保存的登记和草稿仍在本机。").format(path=str(report)))
        self.crash_label.show()
        self.crash_folder_button.show()
        hint = self.sizeHint()
        self.resize(max(self.width(), 640), max(self.height(), hint.height()))

    @Slot()
    def _open_crash_folder(self) -> None:
        if self.crash_report is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.crash_report.parent)))

    @Slot(object)
    def _fill_url(self, url: object) -> None:
        if url and not self.registry_edit.text():
            self.registry_edit.setText(str(url))

    @Slot()
    def submit(self) -> None:
        if not self.login_button.isEnabled():
            return
        url, user, pw = self.registry_edit.text(), self.username_edit.text(), self.password_edit.text()
        self.error_label.clear()
        self.status_label.setText(self.tr("正在登录…"))
        self.login_button.setEnabled(False)
        (self.owner.op(lambda store: session.login(store, url, user, pw))
         .success(self._on_success).failure(self._on_failure).run())

    def _on_success(self, result: dict) -> None:
        self.login_button.setEnabled(True)
        self.password_edit.clear()
        self.status_label.setText(self.tr("已联网登录") if result.get("online") else self.tr("已离线登录"))
        self.logged_in.emit(result)

    def _on_failure(self, error: BaseException) -> None:
        self.login_button.setEnabled(True)
        self.status_label.clear()
        self.error_label.setText(describe(error))
        self.password_edit.selectAll()
        self.password_edit.setFocus()
