"""The decision dialog: what is decided, the reason, and the reviewer's password re-entered.

Approve and reject need the password again (the registry checks it: a wrong one comes back as
``auth.bad_credentials`` and the dialog stays open with the message); reject and return need a
reason of 1–200 characters. The dialog only collects input; the window sends the call.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.ui import ERROR_STYLE

from .labels import action_name

REASON_MAX = 200
PASSWORD_ACTIONS = ("approve", "reject", "bulk_approve")
REASON_ACTIONS = ("reject", "return")


class DecisionDialog(QDialog):
    """Emits ``submitted(action, reason, password)``; the owner calls ``show_error`` or ``accept``."""

    submitted = Signal(str, str, str)

    def __init__(self, action: str, summary: str, reason: str = "", parent: QWidget | None = None, *,
                 title: str | None = None, needs_reason: bool | None = None, needs_password: bool | None = None,
                 asks_reason: bool = True) -> None:
        """``title``, ``needs_reason``, ``needs_password`` override what the review action implies (the
        payment screens' 放行/不予发放 both need a reason and the password); ``asks_reason=False`` leaves
        the reason out (a batch's approval is the password alone)."""
        super().__init__(parent)
        self.action = action
        self.setObjectName("decisionDialog")
        self.setModal(True)
        if title is None:
            title = self.tr("批量批准") if action == "bulk_approve" else action_name(action)
        self.setWindowTitle(self.tr("确认：{action}").format(action=title))

        head = QLabel(summary)
        head.setObjectName("decisionSummary")
        head.setWordWrap(True)
        head.setStyleSheet("font-size: 13pt; font-weight: bold;")

        self.reason_edit = QPlainTextEdit(reason)
        self.reason_edit.setObjectName("decisionReason")
        self.reason_edit.setFixedHeight(84)
        needs_reason = action in REASON_ACTIONS if needs_reason is None else needs_reason
        self.needs_reason = needs_reason
        self.reason_edit.setPlaceholderText(
            self.tr("理由（必填，最多200字），如：已核实本人已于2025年去世") if needs_reason
            else self.tr("备注（可不填，最多200字）"))
        self.count_label = QLabel()
        self.count_label.setStyleSheet("color: #666;")

        self.password_edit = QLineEdit()
        self.password_edit.setObjectName("decisionPassword")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText(self.tr("请再次输入您的登录密码"))

        form = QFormLayout()
        if asks_reason:
            form.addRow(self.tr("理由") if needs_reason else self.tr("备注"), self.reason_edit)
            form.addRow("", self.count_label)
        else:
            self.reason_edit.hide()
            self.count_label.hide()
        self.needs_password = action in PASSWORD_ACTIONS if needs_password is None else needs_password
        if self.needs_password:
            form.addRow(self.tr("密码"), self.password_edit)
        else:
            self.password_edit.hide()

        self.error_label = QLabel()
        self.error_label.setObjectName("decisionError")
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setWordWrap(True)

        self.ok_button = QPushButton(self.tr("确认{action}").format(action=title))
        self.ok_button.setObjectName("decisionOk")
        self.ok_button.setDefault(True)
        self.ok_button.clicked.connect(self._submit)
        cancel = QPushButton(self.tr("取消"))
        cancel.setObjectName("decisionCancel")
        cancel.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(cancel)
        buttons.addWidget(self.ok_button)

        v = QVBoxLayout(self)
        v.setContentsMargins(20, 16, 20, 16)
        v.setSpacing(10)
        v.addWidget(head)
        v.addLayout(form)
        v.addWidget(self.error_label)
        v.addLayout(buttons)
        self.reason_edit.textChanged.connect(self._update)
        self.password_edit.textChanged.connect(self._update)
        self.password_edit.returnPressed.connect(self._submit)
        self.resize(520, 300)
        self._update()

    def reason(self) -> str:
        return self.reason_edit.toPlainText().strip()

    def _update(self) -> None:
        n = len(self.reason())
        self.count_label.setText(self.tr("{n}/{max} 字").format(n=n, max=REASON_MAX))
        ok = n <= REASON_MAX
        if self.needs_reason:
            ok = ok and n > 0
        if self.needs_password:
            ok = ok and bool(self.password_edit.text())
        self.ok_button.setEnabled(ok)

    def _submit(self) -> None:
        if not self.ok_button.isEnabled():
            return
        self.error_label.clear()
        self.ok_button.setEnabled(False)
        self.submitted.emit(self.action, self.reason(), self.password_edit.text())

    def show_error(self, text: str) -> None:
        """The call failed: say why and let the reviewer correct the password or the reason."""
        self.error_label.setText(text)
        self.ok_button.setEnabled(True)
        if self.needs_password:
            self.password_edit.selectAll()
            self.password_edit.setFocus(Qt.FocusReason.OtherFocusReason)


class VerificationIdDialog(QDialog):
    """发起远程核验, first step for central staff: the resident's ID number, checked here (length, check
    character, birth date) before the registry is asked. Emits ``chosen(id_number)``; the window then
    opens the request dialog the laptop uses (``desktop.verification.request_dialog``)."""

    chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("verificationIdDialog")
        self.setWindowTitle(self.tr("发起远程核验"))
        self.setModal(True)
        note = QLabel(self.tr("为外出务工人员生成一次性核验链接。请输入本人的身份证号码："))
        note.setWordWrap(True)
        self.id_edit = QLineEdit()
        self.id_edit.setObjectName("verificationIdNumber")
        self.id_edit.setMaxLength(20)
        self.id_edit.setPlaceholderText(self.tr("18位身份证号码"))
        self.error_label = QLabel()
        self.error_label.setObjectName("verificationIdError")
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setWordWrap(True)
        self.ok_button = QPushButton(self.tr("下一步"))
        self.ok_button.setObjectName("verificationIdOk")
        self.ok_button.setDefault(True)
        self.ok_button.clicked.connect(self._submit)
        cancel = QPushButton(self.tr("取消"))
        cancel.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(cancel)
        buttons.addWidget(self.ok_button)
        v = QVBoxLayout(self)
        v.addWidget(note)
        v.addWidget(self.id_edit)
        v.addWidget(self.error_label)
        v.addLayout(buttons)
        self.id_edit.returnPressed.connect(self._submit)
        self.resize(420, 160)

    def _submit(self) -> None:
        from desktop.errors import describe
        from enrollment import id_number
        from enrollment.errors import DomainError

        try:
            number = id_number.parse(self.id_edit.text()).number
        except DomainError as e:
            self.error_label.setText(describe(e))
            return
        self.error_label.clear()
        self.accept()
        self.chosen.emit(number)
