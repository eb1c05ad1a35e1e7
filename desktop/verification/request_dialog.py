"""发起远程核验: the cadre asks the registry for a single-use link for one resident who works away, then
reads the link, the SMS text to send (with a copy button) and the QR code to show or forward.

The registry call runs on a lane of its own (``sync.verification_ops.create_verification``), never on
the UI thread; the registry address and the token come from the store on the store's thread. The link's
token is shown once: only this dialog ever sees it, and it is not kept on the laptop.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QByteArray, Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication, QTextOption
from PySide6.QtSvgWidgets import QSvgWidget
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

from sync.http import RegistryHttp
from sync.verification_ops import CreatedVerification, create_verification

from ..errors import describe
from ..lane import Lane
from ..store_worker import StoreOwner
from .labels import beijing_day, video_instruction

QR_SIZE = 220


class RequestVerificationDialog(QDialog):
    created = Signal(object)   # the CreatedVerification
    failed = Signal(object)    # the error

    def __init__(self, owner: StoreOwner, resident: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.owner = owner
        self.resident = dict(resident)
        self.result: CreatedVerification | None = None
        self.setObjectName("requestVerificationDialog")
        self.setWindowTitle(self.tr("发起远程核验"))
        self.setMinimumWidth(600)
        self._note = ""
        # One HTTP call at a time, off the UI thread; a lane of its own so a sync never holds it up.
        self._lane = Lane("verification-request", parent=self)
        self._lane.start()

        who = QLabel(self.tr("{name}（身份证号 {id}）").format(name=self.resident.get("name", ""),
                                                          id=self.resident.get("id_number", "")))
        self.city_edit = QLineEdit()
        self.city_edit.setObjectName("verifyCity")
        self.city_edit.setPlaceholderText(self.tr("例如：深圳"))
        self.send_button = QPushButton(self.tr("生成核验链接"))
        self.send_button.setObjectName("verifySend")
        self.send_button.clicked.connect(self.send)
        self.status_label = QLabel()
        self.status_label.setObjectName("verifyStatus")
        self.status_label.setWordWrap(True)

        self.link_edit = QLineEdit()
        self.link_edit.setObjectName("verifyLink")
        self.link_edit.setReadOnly(True)
        self.sms_edit = QPlainTextEdit()
        self.sms_edit.setObjectName("verifySms")
        self.sms_edit.setReadOnly(True)
        self.sms_edit.setFixedHeight(120)
        # The link has no spaces: wrap anywhere, so the whole text reads without a sideways scroll.
        self.sms_edit.setWordWrapMode(QTextOption.WrapMode.WrapAnywhere)
        self.sms_edit.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.copy_button = QPushButton(self.tr("复制短信"))
        self.copy_button.setObjectName("verifyCopySms")
        self.copy_button.clicked.connect(self.copy_sms)
        # The offline path: for a worker who cannot open the link, the request's digits and actions to
        # record in a clip and send back through a messaging app (docs/verification-api.md).
        self.video_edit = QPlainTextEdit()
        self.video_edit.setObjectName("verifyVideoInstruction")
        self.video_edit.setReadOnly(True)
        self.video_edit.setFixedHeight(72)
        self.video_edit.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.copy_video_button = QPushButton(self.tr("复制说明"))
        self.copy_video_button.setObjectName("verifyCopyVideo")
        self.copy_video_button.clicked.connect(self.copy_video_instruction)
        self.qr = QSvgWidget()
        self.qr.setObjectName("verifyQr")
        self.qr.setFixedSize(QR_SIZE, QR_SIZE)
        self.result_box = QWidget()
        result_form = QFormLayout(self.result_box)
        result_form.addRow(self.tr("链接"), self.link_edit)
        sms_row = QHBoxLayout()
        sms_row.addWidget(self.sms_edit, 1)
        sms_row.addWidget(self.copy_button)
        result_form.addRow(self.tr("短信"), sms_row)
        video_row = QHBoxLayout()
        video_row.addWidget(self.video_edit, 1)
        video_row.addWidget(self.copy_video_button)
        self.video_label = QLabel(self.tr("打不开链接时"))
        result_form.addRow(self.video_label, video_row)
        result_form.addRow(self.tr("二维码"), self.qr)
        self.result_box.setVisible(False)

        form = QFormLayout()
        form.addRow(self.tr("居民"), who)
        form.addRow(self.tr("外出务工城市"), self.city_edit)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.send_button)
        layout.addWidget(self.status_label)
        layout.addWidget(self.result_box)
        layout.addStretch(1)

    @Slot()
    def send(self) -> None:
        self.send_button.setEnabled(False)
        self.status_label.setText(self.tr("正在向登记中心申请链接…"))
        (self.owner.op(lambda store: (store.registry_url(), store.token()))
         .success(self._call).failure(self._failed).run())

    def _call(self, where: tuple[str | None, str | None]) -> None:
        url, token = where
        id_number, city = self.resident["id_number"], self.city_edit.text().strip()
        (self._lane.op(lambda _nothing: create_verification(RegistryHttp(url or "", token), id_number, city))
         .success(self._show).failure(self._failed).run())

    def _show(self, created: CreatedVerification) -> None:
        self.result = created
        self._note = self.tr("链接已生成，{day}前有效。请把短信发给本人，或让本人扫二维码。"
                             "链接只显示这一次。").format(day=beijing_day(created.expires_at))
        self.status_label.setText(self._note)
        self.link_edit.setText(created.link)
        self.link_edit.setCursorPosition(0)
        self.sms_edit.setPlainText(created.sms_text)
        instruction = video_instruction(created.request.get("video_challenge"))
        self.video_edit.setPlainText(instruction)
        for widget in (self.video_label, self.video_edit, self.copy_video_button):
            widget.setVisible(bool(instruction))
        self.qr.load(QByteArray(created.qr_svg.encode("utf-8")))
        self.result_box.setVisible(True)
        self.adjustSize()
        self.created.emit(created)

    def _failed(self, error: BaseException) -> None:
        self.send_button.setEnabled(True)
        self.status_label.setText(describe(error))
        self.failed.emit(error)

    @Slot()
    def copy_sms(self) -> None:
        QGuiApplication.clipboard().setText(self.sms_edit.toPlainText())
        self.status_label.setText(self.tr("短信已复制。") + self._note)

    @Slot()
    def copy_video_instruction(self) -> None:
        QGuiApplication.clipboard().setText(self.video_edit.toPlainText())
        self.status_label.setText(self.tr("视频核验说明已复制。") + self._note)

    def done(self, result: int) -> None:
        self._lane.shutdown()
        super().done(result)
