"""标记外出务工 as one act: the cadre names the city a resident works in; the record's away fields
(外出务工人员, 务工地点) are saved through the form's own path (``sync.enrollment_ops.mark_away`` on the
store thread: a new version in the outbox, sent with the next sync like any edit), and then, when the
registry can be reached, the verification request is made at once (the caller opens the request
dialog with this city). Offline the dialog says the request can be made once online.

The city is prefilled from the record's 务工地点 when it has one. The record is the one named, else the
resident's newest on this laptop (a roster row read before the last sync may not name it yet).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from enrollment.errors import DomainError
from enrollment.records import WORK_PLACE_MAX, validate_work_place
from sync.enrollment_ops import MarkedAway, away_record, mark_away

from ..errors import describe
from ..store_worker import StoreOwner
from ..ui import ERROR_STYLE


class MarkAwayDialog(QDialog):
    marked = Signal(object)      # the MarkedAway, once the store wrote it
    proceed = Signal(object)     # online: the resident with their city, for the request dialog
    failed = Signal(object)      # the error

    def __init__(self, owner: StoreOwner, resident: dict[str, Any], is_online: Callable[[], bool],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.owner = owner
        self.resident = dict(resident)
        self.is_online = is_online
        self.result_marked: MarkedAway | None = None
        self.setObjectName("markAwayDialog")
        self.setWindowTitle(self.tr("标记外出务工"))
        self.setMinimumWidth(460)

        who = QLabel(self.tr("{name}（身份证号 {id}）").format(name=self.resident.get("name", ""),
                                                          id=self.resident.get("id_number", "")))
        self.city_edit = QLineEdit()
        self.city_edit.setObjectName("awayCity")
        self.city_edit.setMaxLength(WORK_PLACE_MAX + 20)   # room to type past the limit and be told why
        self.city_edit.setPlaceholderText(self.tr("务工城市，如 广东省深圳市"))
        self.city_edit.setText(str(self.resident.get("work_place") or ""))
        self.city_edit.textEdited.connect(lambda _t: self.error_label.hide())
        self.error_label = QLabel()
        self.error_label.setObjectName("awayCityError")
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.note_label = QLabel()
        self.note_label.setObjectName("awayNote")
        self.note_label.setWordWrap(True)
        self.note_label.setStyleSheet("color: #555;")
        self.status_label = QLabel()
        self.status_label.setObjectName("awayStatus")
        self.status_label.setWordWrap(True)
        self.status_label.hide()

        self.confirm_button = QPushButton(self.tr("确定"))
        self.confirm_button.setObjectName("awayConfirm")
        self.confirm_button.setDefault(True)
        self.confirm_button.clicked.connect(self.confirm)
        self.cancel_button = QPushButton(self.tr("取消"))
        self.cancel_button.setObjectName("awayCancel")
        self.cancel_button.clicked.connect(self.reject)

        form = QFormLayout()
        form.addRow(self.tr("居民"), who)
        form.addRow(self.tr("务工城市"), self.city_edit)
        form.addRow("", self.error_label)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.confirm_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.note_label)
        layout.addWidget(self.status_label)
        layout.addLayout(buttons)
        self._has_record = bool(self.resident.get("record_id"))
        self.refresh_note()

        id_number, rid = self.resident.get("id_number") or "", self.resident.get("record_id")
        (self.owner.op(lambda store: _record_summary(away_record(store, id_number, rid)))
         .success(self._found).failure(lambda _e: None).run())

    def _found(self, found: tuple[bool, str]) -> None:
        """The record on this laptop (if any) and its 务工地点, which fills the city unless one is typed."""
        self._has_record, work_place = found
        if work_place and not self.city_edit.text():
            self.city_edit.setText(work_place)
        self.refresh_note()

    def refresh_note(self) -> None:
        """What 确定 will do, as the connection is now."""
        if self._has_record:
            saved = self.tr("确定后，外出务工信息作为登记记录的新版本保存，下次同步时发送。")
        else:
            saved = self.tr("该居民在本机还没有登记记录：务工城市随远程核验请求发送。")
        then = (self.tr("接着生成远程核验链接。") if self.is_online()
                else self.tr("当前离线：联网后才能发起远程核验。"))
        self.note_label.setText(saved + then)

    @Slot()
    def confirm(self) -> None:
        try:
            city = validate_work_place(self.city_edit.text())
        except DomainError as e:
            self._show_error(describe(e))
            return
        self.confirm_button.setEnabled(False)
        id_number, rid = self.resident.get("id_number") or "", self.resident.get("record_id")
        (self.owner.op(lambda store: mark_away(store, id_number, city, rid))
         .success(self._marked).failure(self._failed).run())

    def _marked(self, marked: MarkedAway) -> None:
        self.result_marked = marked
        self.marked.emit(marked)
        if marked.refused is not None:
            saved = self.tr("务工城市已存入草稿，但该记录还不完整，没有加入发送队列（{reason}）。").format(
                reason=describe(marked.refused))
        elif marked.queued:
            saved = self.tr("已标记外出务工（{city}），已加入发送队列。").format(city=marked.city)
        elif marked.record_id is not None:
            saved = self.tr("已标记外出务工（{city}），已存入草稿。").format(city=marked.city)
        else:
            saved = self.tr("务工城市：{city}。").format(city=marked.city)
        if self.is_online():
            self.proceed.emit({**self.resident, "work_place": marked.city, "marked_note": saved})
            self.accept()
            return
        self.status_label.setText(saved + self.tr("当前离线：联网后，在花名册选中此人点“发起远程核验”生成核验链接。"))
        self.status_label.setStyleSheet("color: #1a7f37;" if marked.refused is None else "color: #8a6d00;")
        self.status_label.show()
        self.note_label.hide()
        self.city_edit.setEnabled(False)
        self.confirm_button.hide()
        self.cancel_button.setText(self.tr("关闭"))

    def _failed(self, error: BaseException) -> None:
        self.confirm_button.setEnabled(True)
        self._show_error(describe(error))
        self.failed.emit(error)

    def _show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.show()
        self.city_edit.setFocus()


def _record_summary(record: dict | None) -> tuple[bool, str]:
    """(a record exists, its 务工地点): plain values for the GUI thread."""
    if record is None:
        return False, ""
    return True, str((record.get("fields") or {}).get("work_place") or "")
