"""One record under review: side-by-side comparison, findings with evidence, decisions, history.

Opened from the queue (double-click). The comparison puts this record next to the record a
finding is about (both card photos fetched as blobs, every field in two columns, differing
fields highlighted, the face distance / demographic score / rule), next to the population
registry's reference photo, or next to the department dataset row a rule matched. A remote
verification's finding puts the card photo next to a frame the worker's phone sent (fetched from the
registry, audited there) and opens the verification's full decision in the 远程核验 tab.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop.errors import describe, message_for, show_error
from enrollment.vocabulary import DECISION_FROM, Action, FindingKind, Light, ReviewState
from sync import verification_ops

from . import evidence as ev
from .dialogs import REASON_MAX, DecisionDialog
from .labels import (
    DIFF_BACKGROUND,
    FLAG_COLOUR,
    INTERCEPT_COLOUR,
    action_name,
    audit_action_name,
    column_name,
    dataset_name,
    device_label,
    dot_icon,
    field_names,
    field_text,
    finding_status_name,
    light_name,
    state_name,
    version_changes,
)
from .net import CentralOwner

PHOTO_SIZE = QSize(179, 221)   # half the 358×441 card photo
PAYLOAD_FIELDS = ("name", "id_number", "sex", "birth_date", "village_code", "household_id", "relation", "address",
                  "phone", "subsidies", "consent")
META_FIELDS = ("operator", "device_id", "version", "state")
RELATED_KINDS = (FindingKind.SAME_ID, FindingKind.DEMOGRAPHIC, FindingKind.FACE_MATCH)
VERIFICATION_KINDS = (FindingKind.VERIFICATION_FAILED, FindingKind.VERIFICATION_MANUAL)
APPROVABLE = DECISION_FROM[Action.APPROVE]
REJECTABLE = DECISION_FROM[Action.REJECT]


def card_photo_sha(record: dict[str, Any] | None) -> str | None:
    for a in ((record or {}).get("payload") or {}).get("attachments") or []:
        if a.get("kind") == "card_photo":
            return a.get("sha256")
    return None


def record_fields(record: dict[str, Any]) -> dict[str, str]:
    payload = record.get("payload") or {}
    out = {k: field_text(k, payload.get(k)) for k in PAYLOAD_FIELDS}
    if not out["village_code"]:
        out["village_code"] = str(record.get("village_code") or "")
    if not out["id_number"]:
        out["id_number"] = str(record.get("id_number") or "")
    for k in META_FIELDS:
        out[k] = field_text(k, record.get(k))
    return out


class PhotoBox(QWidget):
    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        self.picture = QLabel()
        self.picture.setObjectName(name)
        self.picture.setFixedSize(PHOTO_SIZE)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setWordWrap(True)
        self.picture.setStyleSheet("border: 1px solid #999; background: #fafafa; color: #777;")
        self.caption = QLabel()
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setWordWrap(True)
        v.addWidget(self.picture, 0, Qt.AlignmentFlag.AlignHCenter)
        v.addWidget(self.caption)
        self.sha: str | None = None
        self.loaded = False

    def set_text(self, text: str) -> None:
        self.loaded = False
        self.picture.setPixmap(QPixmap())
        self.picture.setText(text)

    def set_jpeg(self, data: bytes) -> bool:
        pix = QPixmap()
        if not pix.loadFromData(data):
            self.set_text(self.tr("照片无法显示"))
            return False
        self.picture.setPixmap(pix.scaled(PHOTO_SIZE, Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.SmoothTransformation))
        self.loaded = True
        return True


class RecordView(QWidget):
    """Emits ``decided(record_id, state)`` after a decision the registry accepted."""

    decided = Signal(str, str)
    loaded = Signal(str)
    open_verification = Signal(str)   # a verification finding's request id: show its decision and evidence

    def __init__(self, net: CentralOwner, record_id: str, operator: dict[str, Any] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.net = net
        self.record_id = record_id
        self.operator = operator or {}
        self.detail: dict[str, Any] = {}
        self.findings: list[dict[str, Any]] = []
        self._blobs: dict[str, bytes] = {}
        self._blob_waiters: dict[str, list[PhotoBox]] = {}
        self.dialog: DecisionDialog | None = None
        self.setObjectName("recordView")

        self.header = QLabel(self.tr("正在读取记录…"))
        self.header.setObjectName("recordHeader")
        self.header.setStyleSheet("font-size: 14pt; font-weight: bold;")
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.light_label = QLabel()
        self.light_label.setObjectName("recordLight")
        self.status_label = QLabel()
        self.status_label.setObjectName("recordStatus")
        self.status_label.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.light_label)
        top.addWidget(self.header, 1)

        # -- findings (left)
        self.findings_list = QListWidget()
        self.findings_list.setObjectName("findingsList")
        self.findings_list.setWordWrap(True)
        self.findings_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.findings_list.currentRowChanged.connect(self._finding_selected)
        self.evidence_view = QTextBrowser()
        self.evidence_view.setObjectName("evidenceView")
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(QLabel(self.tr("疑点（点选查看比对）")))
        lv.addWidget(self.findings_list, 2)
        lv.addWidget(QLabel(self.tr("证据")))
        lv.addWidget(self.evidence_view, 3)

        # -- comparison (right)
        self.own_photo = PhotoBox("ownPhoto")
        self.other_photo = PhotoBox("otherPhoto")
        photos = QHBoxLayout()
        photos.addStretch(1)
        photos.addWidget(self.own_photo)
        photos.addSpacing(24)
        photos.addWidget(self.other_photo)
        photos.addStretch(1)
        self.metric_label = QLabel()
        self.metric_label.setObjectName("comparisonMetric")
        self.metric_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.metric_label.setWordWrap(True)
        self.metric_label.setStyleSheet("font-weight: bold; color: #b71c1c; padding: 4px;")
        self.verification_button = QPushButton(self.tr("查看远程核验详情与画面"))
        self.verification_button.setObjectName("openVerification")
        self.verification_button.setVisible(False)
        self.verification_button.clicked.connect(self._open_verification)
        self.verification_request: str | None = None
        self.compare_table = QTableWidget(0, 3)
        self.compare_table.setObjectName("compareTable")
        self.compare_table.setHorizontalHeaderLabels([self.tr("字段"), self.tr("本记录"), self.tr("对比")])
        self.compare_table.verticalHeader().hide()
        self.compare_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.compare_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.compare_table.setWordWrap(True)
        h = self.compare_table.horizontalHeader()
        h.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        h.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        h.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addLayout(photos)
        rv.addWidget(self.metric_label)
        rv.addWidget(self.verification_button, 0, Qt.AlignmentFlag.AlignHCenter)
        rv.addWidget(self.compare_table, 1)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([440, 760])

        # -- history
        self.versions_table = self._table([self.tr("版本"), self.tr("收到时间"), self.tr("登记人"), self.tr("登记电脑"),
                                           self.tr("改动"), self.tr("删除")], "versionsTable")
        self.versions_table.horizontalHeader().setStretchLastSection(False)
        self.versions_table.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.history_table = self._table([self.tr("时间"), self.tr("操作人"), self.tr("操作"), self.tr("说明")],
                                         "historyTable")
        hist = QWidget()
        hv = QVBoxLayout(hist)
        hv.addWidget(QLabel(self.tr("版本")))
        hv.addWidget(self.versions_table, 1)
        hv.addWidget(QLabel(self.tr("审核与操作记录（最早的在前）")))
        hv.addWidget(self.history_table, 2)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("recordTabs")
        self.tabs.addTab(split, self.tr("比对与疑点"))
        self.tabs.addTab(hist, self.tr("历史"))

        # -- decision bar
        self.reason_edit = QPlainTextEdit()
        self.reason_edit.setObjectName("reasonEdit")
        self.reason_edit.setPlaceholderText(self.tr("审核理由：驳回、退回必填（最多{max}字）").format(max=REASON_MAX))
        self.reason_edit.setFixedHeight(58)
        self.approve_button = QPushButton(self.tr("批准"))
        self.approve_button.setObjectName("approveButton")
        self.approve_button.setStyleSheet("QPushButton:enabled { color: #1a7f37; font-weight: bold; }")
        self.reject_button = QPushButton(self.tr("驳回"))
        self.reject_button.setObjectName("rejectButton")
        self.reject_button.setStyleSheet("QPushButton:enabled { color: #c62828; font-weight: bold; }")
        self.return_button = QPushButton(self.tr("退回修改"))
        self.return_button.setObjectName("returnButton")
        self.issued_button = QPushButton(self.tr("已发卡"))
        self.issued_button.setObjectName("cardIssuedButton")
        self.issued_button.setToolTip(self.tr("记录已批准、社会保障卡已交到本人手中时点击"))
        self.issued_button.clicked.connect(self.confirm_card_issued)
        self.issued_box: QMessageBox | None = None
        self.reload_button = QPushButton(self.tr("刷新"))
        self.reload_button.setObjectName("recordReload")
        self.approve_button.clicked.connect(lambda: self.start_decision(Action.APPROVE))
        self.reject_button.clicked.connect(lambda: self.start_decision(Action.REJECT))
        self.return_button.clicked.connect(lambda: self.start_decision(Action.RETURN))
        self.reload_button.clicked.connect(self.load)
        bar = QHBoxLayout()
        bar.addWidget(self.reason_edit, 1)
        for b in (self.approve_button, self.reject_button, self.return_button, self.issued_button, self.reload_button):
            bar.addWidget(b)

        v = QVBoxLayout(self)
        v.setContentsMargins(4, 6, 4, 4)
        v.addLayout(top)
        v.addWidget(self.status_label)
        v.addWidget(self.tabs, 1)
        v.addLayout(bar)
        self._set_buttons(None)

    def _table(self, headers: list[str], name: str) -> QTableWidget:
        t = QTableWidget(0, len(headers))
        t.setObjectName(name)
        t.setHorizontalHeaderLabels(headers)
        t.verticalHeader().hide()
        t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        t.horizontalHeader().setStretchLastSection(True)
        t.setWordWrap(True)
        return t

    # -- loading
    def load(self) -> None:
        self.status_label.setText(self.tr("正在读取…"))
        rid = self.record_id
        self.net.op(lambda c: c.record(rid)).success(self.show_detail).failure(self._load_failed).run()

    def _load_failed(self, error: BaseException) -> None:
        self.status_label.show()
        self.status_label.setText(describe(error))
        self.status_label.setStyleSheet("color: #c62828;")

    def show_detail(self, detail: dict[str, Any]) -> None:
        self.detail = detail
        rec = detail.get("record") or {}
        payload = rec.get("payload") or {}
        self.status_label.setStyleSheet("")
        name = payload.get("name") or self.tr("（无姓名）")
        self.header.setText(self.tr("{name}　{id}　{state}　第{version}版").format(
            name=name, id=rec.get("id_number") or "", state=state_name(rec.get("state")), version=rec.get("version")))
        light = rec.get("light") or Light.NONE
        self.light_label.setPixmap(dot_icon(light, 18).pixmap(18, 18))
        self.light_label.setToolTip(light_name(light))
        status = []
        if rec.get("deleted"):
            status.append(self.tr("此记录已被登记人删除"))
        if rec.get("review_reason"):
            status.append(self.tr("审核理由：{reason}").format(reason=rec["review_reason"]))
        if rec.get("decided_by"):
            status.append(self.tr("审核人：{who}　{at}").format(who=rec["decided_by"],
                                                             at=str(rec.get("decided_at") or "")[:16].replace("T", " ")))
        if rec.get("card_issued_at"):
            status.append(self.tr("已发卡：{at}").format(at=str(rec["card_issued_at"])[:10]))
        blocked = detail.get("blocked") or {}
        for code in {blocked.get("decide"), blocked.get("card_issued")
                     if rec.get("state") == ReviewState.APPROVED else None} - {None}:
            status.append(message_for(code))
        self.status_label.setText("　".join(status))
        self.status_label.setVisible(bool(status))

        all_findings = detail.get("findings") or []
        current = [f for f in all_findings if f.get("version") == rec.get("version")]
        self.findings = current + [f for f in all_findings if f not in current]
        self.findings_list.blockSignals(True)
        self.findings_list.clear()
        for f in self.findings:
            text = ev.headline(f)
            if f.get("status") and f["status"] != "open":
                text += f"（{finding_status_name(f['status'])}）"
            item = QListWidgetItem(text)
            colour = INTERCEPT_COLOUR if f.get("severity") == "intercept" else FLAG_COLOUR
            if f.get("status") not in (None, "open"):
                colour = "#888888"
            item.setForeground(QBrush(QColor(colour)))
            self.findings_list.addItem(item)
        if not self.findings:
            self.findings_list.addItem(QListWidgetItem(self.tr("没有疑点")))
        self.findings_list.blockSignals(False)

        self._fill_history(detail)
        self._set_buttons(rec, blocked)
        self.own_photo.caption.setText(self.tr("本记录：{name}").format(name=name))
        self._load_photo(self.own_photo, card_photo_sha(rec), self.tr("本记录没有证件照"))
        if self.findings:
            self.findings_list.setCurrentRow(0)
            self._finding_selected(0)
        else:
            self._compare(None, None)
        self.loaded.emit(self.record_id)

    def _set_buttons(self, rec: dict[str, Any] | None, blocked: dict[str, str | None] | None = None) -> None:
        """Buttons follow the record's state and separation of duties: the registry says which steps
        are closed to this operator (``blocked``), so a greyed button explains itself instead of a
        click being refused."""
        state = (rec or {}).get("state")
        deleted = bool((rec or {}).get("deleted"))
        blocked = blocked or {}
        may_decide = blocked.get("decide") is None
        self.approve_button.setEnabled(may_decide and state in APPROVABLE and not deleted)
        self.reject_button.setEnabled(may_decide and state in REJECTABLE)
        self.return_button.setEnabled(may_decide and state in REJECTABLE and not deleted)
        self.issued_button.setVisible(state == ReviewState.APPROVED)
        self.issued_button.setEnabled(blocked.get("card_issued") is None and state == ReviewState.APPROVED
                                      and not (rec or {}).get("card_issued_at"))
        why_not_issue = blocked.get("card_issued")
        self.issued_button.setToolTip(message_for(why_not_issue) if why_not_issue else
                                      self.tr("记录已批准、社会保障卡已交到本人手中时点击"))
        why_not_decide = blocked.get("decide")
        for b in (self.approve_button, self.reject_button, self.return_button):
            b.setToolTip(message_for(why_not_decide) if why_not_decide else "")

    # -- findings and comparison
    def _finding_selected(self, row: int) -> None:
        if row < 0 or row >= len(self.findings):
            return
        finding = self.findings[row]
        self.evidence_view.setPlainText("\n".join(ev.readable(finding)))
        related = None
        if finding.get("kind") in RELATED_KINDS:
            related = (self.detail.get("related") or {}).get(str(finding.get("subject") or ""))
        self._compare(finding, related)

    def _compare(self, finding: dict[str, Any] | None, related: dict[str, Any] | None) -> None:
        rec = self.detail.get("record") or {}
        mine = record_fields(rec)
        names = field_names()
        kind = (finding or {}).get("kind")
        self.metric_label.setText(ev.metric(finding) if finding else self.tr("没有疑点：无对比对象"))
        found = (finding or {}).get("evidence") or {}
        self.verification_request = (str(found.get("request") or finding.get("subject") or "")
                                     if finding and kind in VERIFICATION_KINDS else None) or None
        self.verification_button.setVisible(self.verification_request is not None)
        other: dict[str, str] | None = None
        keys = list(PAYLOAD_FIELDS) + list(META_FIELDS)
        extra_labels: dict[str, str] = {}
        if related is not None:
            other = record_fields(related)
            self._set_header(self.tr("对比记录"))
            self.other_photo.caption.setText(self.tr("对比记录：{name}（{village}）").format(
                name=(related.get("payload") or {}).get("name") or "", village=related.get("village_code") or ""))
            self._load_photo(self.other_photo, card_photo_sha(related), self.tr("对比记录没有证件照"))
        elif kind == FindingKind.REFERENCE_PHOTO:
            self._set_header(self.tr("户籍照片"))
            ref = self.detail.get("reference_photo") or {}
            found = (finding or {}).get("evidence") or {}
            sha = (ref.get("sha256") or found.get("reference_photo_sha256") or found.get("reference_sha256")
                   or (finding or {}).get("subject"))
            self.other_photo.caption.setText(self.tr("户籍照片（人口信息系统）"))
            self._load_photo(self.other_photo, sha, self.tr("没有户籍照片"))
        elif kind in VERIFICATION_KINDS:
            self._set_header(self.tr("对比"))
            self._show_verification_frame((finding or {}).get("evidence") or {})
        elif kind == FindingKind.DATASET_RULE:
            row = ev.source_row(finding or {}) or {}
            dataset = ev.rule_of(finding or {}).get("dataset")
            self._set_header(self.tr("部门数据：{ds}").format(ds=dataset_name(dataset)))
            other = {k: "" for k in keys}
            for col, value in row.items():
                if col in names:
                    other[col] = field_text(col, value)
                else:
                    extra_labels[col] = column_name(col)
                    other[col] = field_text(col, value)
                    mine.setdefault(col, "")
            self.other_photo.caption.setText(self.tr("部门数据行"))
            self.other_photo.set_text(self.tr("部门数据没有照片"))
            keys = [k for k in keys if k not in META_FIELDS] + list(extra_labels)
        else:
            self._set_header(self.tr("对比"))
            self.other_photo.caption.setText("")
            self.other_photo.set_text(self.tr("无对比对象"))
        self.compare_table.setRowCount(len(keys))
        diff_brush = QBrush(QColor(DIFF_BACKGROUND))
        self.differing: list[str] = []
        for r, key in enumerate(keys):
            a = mine.get(key, "")
            b = "" if other is None else other.get(key, "")
            cells = [QTableWidgetItem(names.get(key) or extra_labels.get(key, key)), QTableWidgetItem(a),
                     QTableWidgetItem(b)]
            # A dataset row only has some columns: an empty cell there is "not in the row", not a difference.
            differs = other is not None and a != b and (kind != FindingKind.DATASET_RULE or (b != "" and key in names))
            if differs and key not in ("version", "state"):
                self.differing.append(key)
                for c in cells:
                    c.setBackground(diff_brush)
                cells[0].setToolTip(self.tr("两边不同"))
            for c, cell in enumerate(cells):
                self.compare_table.setItem(r, c, cell)
        self.compare_table.resizeRowsToContents()

    def _show_verification_frame(self, found: dict[str, Any]) -> None:
        """The first evidence frame of the failed attempt, beside the card photo (none for an expired link)."""
        frames = found.get("evidence_frames") or []
        attempt = found.get("attempt")
        self.other_photo.sha = None
        if not attempt or not frames:
            self.other_photo.caption.setText(self.tr("远程核验"))
            self.other_photo.set_text(self.tr("没有核验画面（链接过期前没有完成核验）") if not attempt
                                      else self.tr("此次核验没有留存画面"))
            return
        seq = int(frames[0].get("seq", 0))
        key = f"verification:{attempt}:{seq}"
        self.other_photo.sha = key
        self.other_photo.caption.setText(self.tr("远程核验时手机拍到的画面"))
        if key in self._blobs:
            self.other_photo.set_jpeg(self._blobs[key])
            return
        self.other_photo.set_text(self.tr("正在读取画面…"))
        (self.net.op(lambda c: verification_ops.evidence_frame(c.http, str(attempt), seq))
         .success(lambda data: self._blob_arrived_for(self.other_photo, key, data))
         .failure(lambda e: self._frame_failed(key, e)).run())

    def _blob_arrived_for(self, box: PhotoBox, key: str, data: bytes) -> None:
        self._blobs[key] = data
        if box.sha == key:
            box.set_jpeg(data)

    def _frame_failed(self, key: str, error: BaseException) -> None:
        if self.other_photo.sha == key:
            self.other_photo.set_text(self.tr("画面读取失败：{reason}").format(reason=describe(error)))

    def _open_verification(self) -> None:
        if self.verification_request:
            self.open_verification.emit(self.verification_request)

    def _set_header(self, text: str) -> None:
        self.compare_table.setHorizontalHeaderItem(2, QTableWidgetItem(text))

    def _load_photo(self, box: PhotoBox, sha: str | None, missing: str) -> None:
        box.sha = sha
        if not sha:
            box.set_text(missing)
            return
        if sha in self._blobs:
            box.set_jpeg(self._blobs[sha])
            return
        box.set_text(self.tr("正在读取照片…"))
        waiting = self._blob_waiters.setdefault(sha, [])
        if box not in waiting:
            waiting.append(box)
        if len(waiting) == 1:
            (self.net.op(lambda c: c.blob(sha)).success(lambda data: self._blob_arrived(sha, data))
             .failure(lambda e: self._blob_failed(sha, e)).run())

    def _blob_arrived(self, sha: str, data: bytes) -> None:
        self._blobs[sha] = data
        for box in self._blob_waiters.pop(sha, []):
            if box.sha == sha:
                box.set_jpeg(data)

    def _blob_failed(self, sha: str, error: BaseException) -> None:
        for box in self._blob_waiters.pop(sha, []):
            if box.sha == sha:
                box.set_text(self.tr("照片读取失败：{reason}").format(reason=describe(error)))

    # -- history
    def _fill_history(self, detail: dict[str, Any]) -> None:
        versions = detail.get("versions") or []
        self.versions_table.setRowCount(len(versions))
        for r, v in enumerate(versions):
            device = str(v.get("device_id") or "")
            cells = [str(v.get("version", "")), str(v.get("received_at") or "")[:19].replace("T", " "),
                     str(v.get("operator") or ""), device_label(device),
                     version_changes(v), self.tr("是") if v.get("deleted") else ""]
            for c, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                # the full device id and content hash stay on hover, for an administrator tracing a laptop
                cell.setToolTip({3: device, 4: self.tr("内容校验：{h}").format(h=v.get("content_hash") or "")}
                                .get(c, text))
                self.versions_table.setItem(r, c, cell)
        history = detail.get("history") or []
        self.history_table.setRowCount(len(history))
        for r, h in enumerate(history):
            data = h.get("data") or {}
            notes = []
            if isinstance(data, dict):
                if data.get("version") is not None:
                    notes.append(self.tr("第{v}版").format(v=data["version"]))
                if data.get("reason"):
                    notes.append(self.tr("理由：{r}").format(r=data["reason"]))
                elif data.get("reason_redacted"):  # removed from the registry under PIPL
                    notes.append(self.tr("理由：（已依法删除）"))
                if data.get("findings") is not None:
                    notes.append(self.tr("疑点 {n} 条").format(n=data["findings"]))
                if data.get("kinds"):
                    from .labels import kind_short

                    notes.append("、".join(kind_short(k) for k in data["kinds"]))
            cells = [str(h.get("at") or "")[:19].replace("T", " "), str(h.get("actor") or ""),
                     audit_action_name(h.get("action")), "　".join(notes)]
            for c, text in enumerate(cells):
                self.history_table.setItem(r, c, QTableWidgetItem(text))
        self.history_table.resizeRowsToContents()

    # -- card issued
    def confirm_card_issued(self) -> QMessageBox:
        rec = self.detail.get("record") or {}
        box = QMessageBox(QMessageBox.Icon.Question, self.tr("确认发卡"),
                          self.tr("确认 {name}（{id}）的社会保障卡已交到本人手中？").format(
                              name=(rec.get("payload") or {}).get("name") or "", id=rec.get("id_number") or ""),
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("cardIssuedBox")
        box.button(QMessageBox.StandardButton.Yes).setText(self.tr("已发卡"))
        box.button(QMessageBox.StandardButton.Cancel).setText(self.tr("取消"))
        box.accepted.connect(self._send_card_issued)
        self.issued_box = box
        box.open()
        return box

    def _send_card_issued(self) -> None:
        rec = self.detail.get("record") or {}
        rid, version = self.record_id, int(rec.get("version") or 0)
        (self.net.op(lambda c: c.card_issued(rid, version)).success(self._decision_done)
         .failure(lambda e: (show_error(self, e), self.load())).run())

    # -- decisions
    def start_decision(self, action: str) -> None:
        rec = self.detail.get("record") or {}
        if not rec:
            return
        name = (rec.get("payload") or {}).get("name") or ""
        summary = self.tr("{action}：{name}　{id}（第{version}版）").format(
            action=action_name(action), name=name, id=rec.get("id_number") or "", version=rec.get("version"))
        open_findings = [f for f in self.findings if f.get("status") == "open" and f.get("version") == rec.get("version")]
        if action == Action.APPROVE and open_findings:
            summary += "\n" + self.tr("注意：此记录还有 {n} 条疑点，批准即表示已核实无误。").format(n=len(open_findings))
        self.dialog = DecisionDialog(action, summary, self.reason_edit.toPlainText().strip(), self)
        self.dialog.submitted.connect(self._send_decision)
        self.dialog.open()

    def _send_decision(self, action: str, reason: str, password: str) -> None:
        rec = self.detail.get("record") or {}
        rid, version = self.record_id, int(rec.get("version") or 0)
        pw = password if action in (Action.APPROVE, Action.REJECT) else None
        (self.net.op(lambda c: c.decide(rid, action, version, reason, pw))
         .success(self._decision_done).failure(self._decision_failed).run())

    def _decision_done(self, answer: dict[str, Any]) -> None:
        if self.dialog is not None:
            self.dialog.accept()
            self.dialog = None
        self.reason_edit.clear()
        rec = answer.get("record") or {}
        self.decided.emit(self.record_id, str(rec.get("state") or ""))
        self.load()

    def _decision_failed(self, error: BaseException) -> None:
        code = getattr(error, "code", "")
        if self.dialog is not None and code not in ("review.version_stale", "review.state_invalid"):
            self.dialog.show_error(describe(error))
            return
        if self.dialog is not None:
            self.dialog.reject()
            self.dialog = None
        # Someone else changed the record meanwhile: say so, then show what it is now.
        show_error(self, error)
        self.load()
