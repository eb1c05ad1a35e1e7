"""Outbox: every record with its send state and, when it needs attention, the reason.

A conflict (the same record changed on the registry since this laptop's base version)
opens a side-by-side view of both versions with 保留我的 / 采用服务器的.

The 审核结果 column is the registry's review as of the last sync (protocol v3), in the names of
``enrollment.vocabulary``, and a decision's reason in 原因 / 说明. A returned record's row is
highlighted; double-clicking it opens the form with the reason at the top for correction, and saving
queues the correction as a new version of the same record.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from enrollment.errors import mask_id_number
from enrollment.vocabulary import SendState

from .enrollment_form import describe_attention
from .errors import describe
from .review_labels import (
    REJECTED,
    RETURNED,
    RETURNED_BACKGROUND,
    is_returned,
    review_colour,
    review_state_name,
    review_summary,
    subsidy_names,
)
from .store_worker import StoreOwner
from .ui import STATE_COLOURS, STATES, relation_name, state_name

RECORD_ROLE = Qt.ItemDataRole.UserRole + 1
REVIEW_FILTER = "review:"   # filter entries for a review state: "review:returned"
COL_NAME, COL_ID, COL_STATE, COL_REASON, COL_REVIEW, COL_TIME = range(6)


class OutboxView(QWidget):
    open_record = Signal(object)  # a record dict (object, not dict: see roster.py)
    conflict_resolved = Signal(str)

    def __init__(self, owner: StoreOwner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.owner = owner
        self.records: list[dict[str, Any]] = []
        self._dialog: ConflictDialog | None = None

        self.filter_combo = QComboBox()
        self.filter_combo.setObjectName("outboxFilter")
        self.filter_combo.addItem(self.tr("全部"), None)
        for s in STATES:
            self.filter_combo.addItem(state_name(s), s)
        for s in (RETURNED, REJECTED):
            self.filter_combo.addItem(self.tr("审核{state}").format(state=review_state_name(s)), REVIEW_FILTER + s)
        self.filter_combo.currentIndexChanged.connect(self.refresh)
        self.counts_label = QLabel()
        self.counts_label.setObjectName("outboxCounts")
        refresh = QPushButton(self.tr("刷新"))
        refresh.clicked.connect(self.refresh)
        top = QHBoxLayout()
        top.addWidget(QLabel(self.tr("显示")))
        top.addWidget(self.filter_combo)
        top.addWidget(self.counts_label, 1)
        top.addWidget(refresh)

        self.table = QTableWidget(0, 6)
        self.table.setObjectName("outboxTable")
        self.table.setHorizontalHeaderLabels([self.tr("姓名"), self.tr("身份证号码"), self.tr("状态"),
                                              self.tr("原因 / 说明"), self.tr("审核结果"), self.tr("更新时间")])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(True)
        self.table.setAlternatingRowColors(True)
        h = self.table.horizontalHeader()
        for col in (COL_NAME, COL_ID, COL_STATE, COL_REVIEW, COL_TIME):
            h.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        h.setSectionResizeMode(COL_REASON, QHeaderView.ResizeMode.Stretch)
        self.table.cellDoubleClicked.connect(self._double_clicked)
        hint = QLabel(self.tr("双击一行：打开记录；冲突的记录会并排显示两个版本，由您选择保留哪个；"
                              "被退回的记录（橙色）打开后按退回原因修改、保存，下次同步重新提交。"))
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #555;")

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(hint)

    @Slot()
    def refresh(self) -> None:
        choice = self.filter_combo.currentData()
        state, review = None, None
        if isinstance(choice, str) and choice.startswith(REVIEW_FILTER):
            review = choice[len(REVIEW_FILTER):]
        else:
            state = choice
        # this laptop's records only: those other laptops sent arrive by pull and are theirs to follow
        (self.owner.op(lambda store: (store.list_records(state, review_state=review, mine_only=True),
                                      store.counts_by_state(mine_only=True),
                                      store.counts_by_review_state()))
         .success(lambda res: self._show(*res)).failure(lambda e: self.counts_label.setText(describe(e))).run())

    def _show(self, records: list[dict[str, Any]], counts: dict[str, int],
              review_counts: dict[str, int] | None = None) -> None:
        self.records = records
        text = "  ".join(f"{state_name(s)} {counts.get(s, 0)}" for s in STATES)
        review_counts = review_counts or {}
        decided = [f"{review_state_name(s)} {review_counts[s]}" for s in (RETURNED, REJECTED) if review_counts.get(s)]
        if decided:
            text += self.tr("　｜　审核：") + "  ".join(decided)
        self.counts_label.setText(text)
        self.table.setRowCount(len(records))
        for row, rec in enumerate(records):
            fields = rec.get("fields") or rec.get("payload") or {}
            name = rec.get("name") or fields.get("name") or self.tr("（未填姓名）")
            if rec.get("deleted"):
                name = self.tr("{name}（删除）").format(name=name)
            state = rec.get("state")
            review = rec.get("review")
            items = [
                QTableWidgetItem(name),
                QTableWidgetItem(mask_id_number(rec.get("id_number") or fields.get("id_number"))),
                QTableWidgetItem(state_name(state)),
                QTableWidgetItem(self.reason(rec)),
                QTableWidgetItem(review_state_name((review or {}).get("state"))),
                QTableWidgetItem(_short_time(rec.get("updated_at"))),
            ]
            items[COL_STATE].setForeground(QBrush(QColor(STATE_COLOURS.get(state, "#666666"))))
            if review:
                items[COL_REVIEW].setForeground(QBrush(QColor(review_colour(review.get("state")))))
                items[COL_REVIEW].setToolTip(review_summary(review))
                font = items[COL_REVIEW].font()
                font.setBold(review.get("state") in (RETURNED, REJECTED))
                items[COL_REVIEW].setFont(font)
            for col, item in enumerate(items):
                item.setData(RECORD_ROLE, row)
                if is_returned(review):
                    item.setBackground(QBrush(QColor(RETURNED_BACKGROUND)))
                self.table.setItem(row, col, item)
        self.table.resizeRowsToContents()

    def reason(self, rec: dict[str, Any]) -> str:
        if rec.get("conflict"):
            return self.tr("冲突：登记中心已有更新的版本（第{v}版），双击选择保留哪个").format(
                v=rec["conflict"].get("server_version"))
        if rec.get("attention"):
            return describe_attention(rec["attention"])
        review = rec.get("review") or {}
        decision_reason = (review.get("reason") or "").strip()
        if review.get("state") == RETURNED:
            if rec.get("state") == SendState.ACCEPTED:
                return self.tr("退回原因：{reason}（双击打开，修改后保存）").format(reason=decision_reason or "—")
            return self.tr("已按退回意见修改（退回原因：{reason}）").format(reason=decision_reason or "—")
        if review.get("state") == REJECTED:
            return self.tr("驳回原因：{reason}").format(reason=decision_reason or "—")
        return {
            SendState.DRAFT: self.tr("未保存到发送队列"),
            SendState.QUEUED: self.tr("等待同步"),
            SendState.SENDING: self.tr("上次同步未完成，下次同步重发"),
            SendState.ACCEPTED: self.tr("已送达登记中心（第{v}版）").format(v=rec.get("server_version") or 1),
        }.get(rec.get("state") or "", "")

    @Slot(int, int)
    def _double_clicked(self, row: int, _col: int) -> None:
        item = self.table.item(row, 0)
        index = item.data(RECORD_ROLE) if item else None
        if not isinstance(index, int) or not 0 <= index < len(self.records):
            return
        rec = self.records[index]
        if rec.get("conflict"):
            self.show_conflict(rec)
        else:
            self.open_record.emit(rec)

    def show_conflict(self, rec: dict[str, Any]) -> ConflictDialog:
        self._dialog = ConflictDialog(self.owner, rec, self)
        self._dialog.resolved.connect(self._resolved)
        self._dialog.open()
        return self._dialog

    def _resolved(self, record_id: str) -> None:
        self.conflict_resolved.emit(record_id)
        self.refresh()


_FIELD_ORDER = ("name", "id_number", "sex", "birth_date", "household_id", "relation", "address", "phone",
                "migrant_worker", "work_place", "consent", "attachments", "face", "duplicate_review", "subsidies",
                "note")


class ConflictDialog(QDialog):
    """Both versions side by side; differences highlighted; the cadre picks one."""

    resolved = Signal(str)

    def __init__(self, owner: StoreOwner, record: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.owner = owner
        self.record = record
        self.setObjectName("conflictDialog")
        self.setWindowTitle(self.tr("处理冲突"))
        mine = record.get("payload") or record.get("fields") or {}
        conflict = record.get("conflict") or {}
        theirs = conflict.get("server_payload") or {}
        labels = {
            "name": self.tr("姓名"), "id_number": self.tr("身份证号码"), "sex": self.tr("性别"),
            "birth_date": self.tr("出生日期"), "household_id": self.tr("户号"), "relation": self.tr("与户主关系"),
            "address": self.tr("住址"), "phone": self.tr("手机号码"), "migrant_worker": self.tr("外出务工"),
            "work_place": self.tr("务工地点"), "consent": self.tr("本人同意"), "attachments": self.tr("附件"),
            "face": self.tr("人脸"), "duplicate_review": self.tr("相似人脸核查"), "subsidies": self.tr("申请补贴项目"),
            "note": self.tr("备注"),
        }
        intro = QLabel(self.tr("{name} 的登记在登记中心已被修改（第{v}版）。请核对两个版本，选择保留哪一个：").format(
            name=mine.get("name") or theirs.get("name") or "", v=conflict.get("server_version")))
        intro.setWordWrap(True)

        table = QTableWidget(len(_FIELD_ORDER), 3)
        table.setObjectName("conflictTable")
        table.setHorizontalHeaderLabels([self.tr("项目"), self.tr("我的版本（本机）"), self.tr("服务器的版本")])
        table.verticalHeader().hide()
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setWordWrap(True)
        self.differences: list[str] = []
        if conflict.get("server_deleted"):
            theirs = {}
        for row, key in enumerate(_FIELD_ORDER):
            a, b = _show_value(self, key, mine.get(key)), _show_value(self, key, theirs.get(key))
            cells = [QTableWidgetItem(labels[key]), QTableWidgetItem(a), QTableWidgetItem(b)]
            if a != b:
                self.differences.append(key)
                for c in cells[1:]:
                    c.setBackground(QBrush(QColor("#fff3cd")))
                f = cells[0].font()
                f.setBold(True)
                cells[0].setFont(f)
            for col, c in enumerate(cells):
                table.setItem(row, col, c)
        h = table.horizontalHeader()
        h.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        h.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        h.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        table.resizeRowsToContents()
        self.table = table
        if conflict.get("server_deleted"):
            intro.setText(intro.text() + self.tr("（登记中心已删除此记录）"))

        self.keep_mine = QPushButton(self.tr("保留我的"))
        self.keep_mine.setObjectName("keepMine")
        self.keep_mine.clicked.connect(lambda: self.choose("mine"))
        self.take_theirs = QPushButton(self.tr("采用服务器的"))
        self.take_theirs.setObjectName("takeTheirs")
        self.take_theirs.clicked.connect(lambda: self.choose("theirs"))
        later = QPushButton(self.tr("稍后处理"))
        later.clicked.connect(self.reject)
        self.error_label = QLabel()
        self.error_label.setStyleSheet("color: #c62828;")
        buttons = QHBoxLayout()
        buttons.addWidget(self.error_label, 1)
        buttons.addWidget(later)
        buttons.addWidget(self.take_theirs)
        buttons.addWidget(self.keep_mine)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(table, 1)
        layout.addLayout(buttons)
        self.resize(900, 560)

    def choose(self, keep: str) -> None:
        rid = self.record["record_id"]
        self.keep_mine.setEnabled(False)
        self.take_theirs.setEnabled(False)
        (self.owner.op(lambda store: store.resolve_conflict(rid, keep))
         .success(lambda _r: self._done(rid)).failure(self._failed).run())

    def _done(self, rid: str) -> None:
        self.resolved.emit(rid)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.keep_mine.setEnabled(True)
        self.take_theirs.setEnabled(True)
        self.error_label.setText(describe(error))


def _show_value(w: QWidget, key: str, value: Any) -> str:
    if key == "relation" and isinstance(value, str):
        return relation_name(value)
    if isinstance(value, bool):
        return w.tr("是") if value else w.tr("否")
    if key == "attachments":
        names = {"consent_form": w.tr("同意书"), "id_front": w.tr("身份证正面"), "id_back": w.tr("身份证背面"),
                 "card_photo": w.tr("证件照"), "face_template": w.tr("人脸特征")}
        return "、".join(f"{names.get(a.get('kind'), a.get('kind'))}（{a.get('sha256', '')[:8]}）"
                        for a in (value or []) if isinstance(a, dict)) or "—"
    if key == "face" and isinstance(value, dict):
        return w.tr("已拍照（{model} 版本 {version}）").format(model=value.get("model", ""),
                                                         version=value.get("version", ""))
    if key == "duplicate_review" and isinstance(value, list):
        decisions = {"different_person": w.tr("不是同一人"), "same_person_other_id": w.tr("是同一人"),
                     "unreviewed": w.tr("待中心核查")}
        return "；".join(f"{decisions.get(r.get('decision'), r.get('decision'))}：{r.get('reason') or '—'}"
                        for r in value if isinstance(r, dict)) or "—"
    if key == "subsidies" and isinstance(value, list):
        names = subsidy_names()
        return "、".join(names.get(str(c), str(c)) for c in value) or "—"
    if value in (None, ""):
        return "—"
    return str(value)


def _short_time(ts: str | None) -> str:
    if not ts:
        return ""
    return ts.replace("T", " ")[:16]
