"""Enrollment form: live validation at each field, autosaved drafts, save to the queue.

* Validation is the domain's own (``enrollment.records.validate_enrollment``), run on every
  change; each error is shown under its field (a red line and the field's tooltip). While a
  field is still being typed only errors that cannot be fixed by typing more are shown; the
  Save button shows everything.
* Sex and birth date are filled from a valid ID number; an unknown or anachronistic region
  code shows a checkbox the cadre ticks after checking the card.
* Every change is autosaved as a draft through the store thread (debounced), and at once
  when a field loses focus, so killing the app loses at most the field being typed.
* Every write is a named operation of ``sync.enrollment_ops`` run on the store thread; its frozen
  result (record id, state, attachments) is applied here on the GUI thread. The record id is
  chosen here when a new record starts and every operation carries it, so the first one to run
  creates the record and the later ones, queued behind it in submission order, reuse it (no
  duplicate drafts); ``record_id`` becomes set only once a result says the store holds the record.
* 拍照 opens the capture dialog; the accepted card photo and face template are attachments of
  the record (written through the store thread) and the payload's ``face`` names the template's
  model and the measured quality. Before the record is queued its face is compared with every
  record on this laptop (``sync.duplicates``); a likely duplicate opens the side-by-side dialog and
  the cadre's decision and reason go into ``duplicate_review``.
* 申请补贴项目: one checkbox per item of ``resources/subsidies/catalogue.json``; the ticked codes are the
  payload's ``subsidies`` (protocol v3; none ticked → no field, the v2 form of the record).
* A record the registry returned (已退回) or rejected (已驳回) opens with the decision and its reason at
  the top; the cadre corrects it and saves, and the correction is queued as a new version of the same
  record (base version = the registry's version).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from enrollment import id_number as idn
from enrollment.errors import DomainError, ValidationErrors
from enrollment.records import (
    CARD_PHOTO,
    DOCUMENT_KINDS,
    FACE_KINDS,
    FACE_TEMPLATE,
    SEXES,
    face_info,
    new_record_id,
    validate_enrollment,
)
from sync import enrollment_ops

from .errors import describe, field_errors
from .relation_combo import RelationCombo
from .review_labels import APPROVED, REJECTED, RETURNED, review_state_name, subsidy_names
from .store_worker import StoreOwner
from .ui import ERROR_STYLE, error_label, state_name

AUTOSAVE_MS = 300
THUMB_SIZE = QSize(90, 111)   # the card photo (358 x 441) at a quarter
# Errors that more typing can still fix: not shown while the field has focus.
_STILL_TYPING = {"id_number.length", "id_number.empty", "name.empty"}
_FORM_FIELDS = ("id_number", "name", "sex", "birth_date", "household_id", "relation", "address", "phone",
                "migrant_worker", "work_place", "consent", "subsidies")
_REVIEW_STYLES = {
    RETURNED: "background: #ffe8c2; color: #7a3e00; padding: 6px; border-radius: 4px; font-weight: bold;",
    REJECTED: "background: #fdecea; color: #c62828; padding: 6px; border-radius: 4px; font-weight: bold;",
    APPROVED: "background: #e6f4ea; color: #1a7f37; padding: 6px; border-radius: 4px;",
}
_REVIEW_STYLE_OTHER = "background: #f0f0f0; color: #444; padding: 6px; border-radius: 4px;"


class EnrollmentForm(QWidget):
    queued = Signal(object)        # the record, after it went to the outbox
    draft_saved = Signal(str)    # record id
    status = Signal(str)
    mark_away_requested = Signal(object)      # the open resident (标记外出务工)
    verification_requested = Signal(object)   # the open resident (发起远程核验)

    def __init__(self, owner: StoreOwner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.owner = owner
        self.village_code = ""
        # _target_id: the record this form writes (a plain value every op carries); _record_id: set
        # from op results once the store holds it; _editing: a token per record opened, so a result
        # about an earlier record is dropped.
        self._target_id = new_record_id()
        self._record_id: str | None = None
        self._editing = object()
        self._state: str | None = None
        self._attachments: dict[str, dict[str, Any]] = {}
        self._touched: set[str] = set()
        self._loading = False
        self._errors: dict[str, list[str]] = {}
        self._warnings: tuple[str, ...] = ()
        self._saves_in_flight = 0
        self.last_saved_at: dt.datetime | None = None
        self._face: dict[str, Any] | None = None
        self._duplicate_review: list[dict[str, Any]] = []
        self._card_jpeg: bytes | None = None
        # capture settings: None = the app's camera / shared face engine / the store's threshold
        self.camera_factory: Any = None
        self.face_engine: Any = None
        self.capture_limits: Any = None
        self.duplicate_threshold: float | None = None
        self.capture_dialog: Any = None
        self.duplicate_dialog: Any = None
        self._online = False

        self._autosave_timer = QTimer(self)
        self._autosave_timer.setSingleShot(True)
        self._autosave_timer.setInterval(AUTOSAVE_MS)
        self._autosave_timer.timeout.connect(self.autosave)

        self._build()
        self.clear()

    # ---- layout -------------------------------------------------------------------------
    def _build(self) -> None:
        self.header_label = QLabel()
        self.header_label.setObjectName("formHeader")
        self.header_label.setProperty("role", "title")
        self.attention_label = QLabel()
        self.attention_label.setObjectName("formAttention")
        self.attention_label.setWordWrap(True)
        self.attention_label.setStyleSheet("background: #fdecea; color: #c62828; padding: 6px; border-radius: 4px;")
        self.attention_label.hide()
        self.review_label = QLabel()
        self.review_label.setObjectName("formReview")
        self.review_label.setWordWrap(True)
        self.review_label.hide()
        self._review: dict[str, Any] | None = None

        self.id_edit = QLineEdit()
        self.id_edit.setObjectName("id_number")
        self.id_edit.setMaxLength(22)
        self.id_edit.setPlaceholderText(self.tr("18位，最后一位可为X"))
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("name")
        self.sex_combo = QComboBox()
        self.sex_combo.setObjectName("sex")
        self.sex_combo.addItem(self.tr("（请选择）"), "")
        for s in SEXES:
            self.sex_combo.addItem(s, s)
        self.birth_edit = QLineEdit()
        self.birth_edit.setObjectName("birth_date")
        self.birth_edit.setPlaceholderText("1980-05-01")
        self.household_edit = QLineEdit()
        self.household_edit.setObjectName("household_id")
        self.relation_combo = RelationCombo()
        self.relation_combo.setObjectName("relation")
        self.address_edit = QLineEdit()
        self.address_edit.setObjectName("address")
        self.phone_edit = QLineEdit()
        self.phone_edit.setObjectName("phone")
        self.phone_edit.setPlaceholderText(self.tr("11位手机号码，可不填"))
        self.migrant_check = QCheckBox(self.tr("外出务工人员"))
        self.migrant_check.setObjectName("migrant_worker")
        self.work_place_edit = QLineEdit()
        self.work_place_edit.setObjectName("work_place")
        self.work_place_edit.setPlaceholderText(self.tr("务工地点，如 广东省东莞市"))
        self.consent_check = QCheckBox(self.tr("本人已知情并同意办理社会保障卡（已签署同意书）"))
        self.consent_check.setObjectName("consent")
        self.region_check = QCheckBox(self.tr("已核实地区代码"))
        self.region_check.setObjectName("region_confirmed")
        self.region_label = QLabel()
        self.region_label.setWordWrap(True)
        self.region_label.setStyleSheet("color: #8a6d00;")
        self.region_box = QWidget()
        rb = QVBoxLayout(self.region_box)
        rb.setContentsMargins(0, 0, 0, 0)
        rb.addWidget(self.region_label)
        rb.addWidget(self.region_check)
        self.region_box.hide()

        self.widgets: dict[str, QWidget] = {
            "id_number": self.id_edit, "name": self.name_edit, "sex": self.sex_combo,
            "birth_date": self.birth_edit, "household_id": self.household_edit,
            "relation": self.relation_combo, "address": self.address_edit, "phone": self.phone_edit,
            "work_place": self.work_place_edit, "consent": self.consent_check,
        }
        self.error_labels: dict[str, QLabel] = {}
        for name in (*self.widgets, "attachments", "village_code", "face", "subsidies"):
            lab = error_label()
            lab.setObjectName(f"error_{name}")
            self.error_labels[name] = lab

        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(2)
        labels = {
            "id_number": self.tr("身份证号码"), "name": self.tr("姓名"), "sex": self.tr("性别"),
            "birth_date": self.tr("出生日期"), "household_id": self.tr("户号"), "relation": self.tr("与户主关系"),
            "address": self.tr("住址"), "phone": self.tr("手机号码"),
        }
        left = ("id_number", "name", "sex", "birth_date")
        right = ("household_id", "relation", "phone", "address")
        for row, (a, b) in enumerate(zip(left, right, strict=True)):
            for col, key in ((0, a), (2, b)):
                grid.addWidget(QLabel(labels[key]), row * 2, col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                grid.addWidget(self.widgets[key], row * 2, col + 1)
                grid.addWidget(self.error_labels[key], row * 2 + 1, col + 1)
        grid.addWidget(self.region_box, 1 + 2 * len(left), 1, 1, 3)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        tab_chain = [self.widgets[k] for k in (*left, *right)] + [self.migrant_check, self.work_place_edit,
                                                                   self.consent_check]

        # Remote verification of a resident who works away (issue 11): the same dialogs as the roster's.
        self.away_button = QPushButton(self.tr("标记外出务工"))
        self.away_button.setObjectName("formMarkAway")
        self.away_button.setToolTip(self.tr("记下务工城市，保存为此记录的新版本；联网时接着发起远程核验"))
        self.away_button.clicked.connect(self._mark_away_clicked)
        self.request_button = QPushButton(self.tr("发起远程核验"))
        self.request_button.setObjectName("formRequestVerification")
        self.request_button.setToolTip(self.tr("为外出务工的本人生成核验链接（需要联网）"))
        self.request_button.clicked.connect(self._request_clicked)
        migrant_row = QHBoxLayout()
        migrant_row.addWidget(self.migrant_check)
        migrant_row.addWidget(self.work_place_edit, 1)
        away_row = QHBoxLayout()   # its own row: the city keeps its width in a narrow form
        away_row.addWidget(self.away_button)
        away_row.addWidget(self.request_button)
        away_row.addStretch(1)
        extra = QVBoxLayout()
        extra.addLayout(migrant_row)
        extra.addLayout(away_row)
        extra.addWidget(self.error_labels["work_place"])
        extra.addWidget(self.consent_check)
        extra.addWidget(self.error_labels["consent"])

        att_box = QGroupBox(self.tr("附件"))
        att_grid = QGridLayout(att_box)
        self.attachment_labels: dict[str, QLabel] = {}
        self.attachment_buttons: dict[str, QPushButton] = {}
        self.attachment_remove: dict[str, QPushButton] = {}
        names = {"consent_form": self.tr("同意书扫描件"), "id_front": self.tr("身份证正面"),
                 "id_back": self.tr("身份证背面")}
        for row, kind in enumerate(DOCUMENT_KINDS):
            status = QLabel(self.tr("未添加"))
            status.setObjectName(f"attachment_{kind}")
            pick = QPushButton(self.tr("选择文件…"))
            pick.setObjectName(f"attach_{kind}")
            pick.clicked.connect(lambda _=False, k=kind: self._pick_file(k))
            remove = QPushButton(self.tr("移除"))
            remove.setObjectName(f"remove_{kind}")
            remove.clicked.connect(lambda _=False, k=kind: self.remove_attachment(k))
            att_grid.addWidget(QLabel(names[kind]), row, 0)
            att_grid.addWidget(status, row, 1)
            att_grid.addWidget(pick, row, 2)
            att_grid.addWidget(remove, row, 3)
            att_grid.setColumnStretch(1, 1)
            self.attachment_labels[kind] = status
            self.attachment_buttons[kind] = pick
            self.attachment_remove[kind] = remove
        att_grid.addWidget(self.error_labels["attachments"], len(DOCUMENT_KINDS), 0, 1, 4)

        subsidy_box = QGroupBox(self.tr("申请补贴项目"))
        subsidy_box.setObjectName("subsidyBox")
        subsidy_grid = QGridLayout(subsidy_box)
        self.subsidy_checks: dict[str, QCheckBox] = {}
        for i, (code, name) in enumerate(subsidy_names().items()):
            check = QCheckBox(name)
            check.setObjectName(f"subsidy_{code}")
            check.clicked.connect(lambda _c: self._user_changed("subsidies", flush=True))
            subsidy_grid.addWidget(check, i // 2, i % 2)
            self.subsidy_checks[code] = check
        subsidy_grid.addWidget(self.error_labels["subsidies"], (len(self.subsidy_checks) + 1) // 2, 0, 1, 2)

        photo_box = QGroupBox(self.tr("证件照"))
        photo_row = QHBoxLayout(photo_box)
        self.card_thumb = QLabel()
        self.card_thumb.setObjectName("cardThumb")
        self.card_thumb.setFixedSize(THUMB_SIZE)
        self.card_thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.card_thumb.setStyleSheet("border: 1px solid #bbb; background: #fafafa; color: #888;")
        self.photo_status = QLabel()
        self.photo_status.setObjectName("photoStatus")
        self.photo_status.setWordWrap(True)
        self.photo_button = QPushButton(self.tr("拍照"))
        self.photo_button.setObjectName("photoButton")
        self.photo_button.clicked.connect(self.open_camera)
        self.photo_remove = QPushButton(self.tr("移除照片"))
        self.photo_remove.setObjectName("removePhoto")
        self.photo_remove.clicked.connect(self.remove_photo)
        photo_buttons = QVBoxLayout()
        photo_buttons.addWidget(self.photo_status)
        photo_buttons.addWidget(self.error_labels["face"])
        photo_buttons.addStretch(1)
        pb = QHBoxLayout()
        pb.addWidget(self.photo_button)
        pb.addWidget(self.photo_remove)
        pb.addStretch(1)
        photo_buttons.addLayout(pb)
        photo_row.addWidget(self.card_thumb)
        photo_row.addLayout(photo_buttons, 1)

        self.save_button = QPushButton(self.tr("保存并加入发送队列"))
        self.save_button.setObjectName("saveButton")
        self.save_button.setStyleSheet("QPushButton { font-weight: bold; padding: 6px 18px; }")
        self.save_button.clicked.connect(self.save)
        self.clear_button = QPushButton(self.tr("清空表单"))
        self.clear_button.setObjectName("clearButton")
        self.clear_button.clicked.connect(self._clear_clicked)
        self.autosave_label = QLabel()
        self.autosave_label.setObjectName("autosaveLabel")
        self.autosave_label.setStyleSheet("color: #555;")
        self.message_label = QLabel()
        self.message_label.setObjectName("formMessage")
        self.message_label.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.autosave_label, 1)
        buttons.addWidget(self.clear_button)
        buttons.addWidget(self.save_button)

        body = QWidget()
        v = QVBoxLayout(body)
        v.setContentsMargins(8, 4, 8, 4)
        v.addWidget(self.header_label)
        v.addWidget(self.review_label)
        v.addWidget(self.attention_label)
        v.addLayout(grid)
        v.addWidget(self.error_labels["village_code"])
        v.addLayout(extra)
        v.addWidget(subsidy_box)
        v.addWidget(photo_box)
        v.addWidget(att_box)
        v.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll, 1)
        outer.addWidget(self.message_label)
        outer.addLayout(buttons)
        # Tab follows the reading order, down the left column then the right (the grid adds them row by row,
        # which sent Tab from 身份证号码 to 户号); set once every widget is in this window.
        for before, after in zip(tab_chain, tab_chain[1:], strict=False):
            QWidget.setTabOrder(before, after)

        for key, w in self.widgets.items():
            if isinstance(w, QLineEdit):
                w.textEdited.connect(lambda _t, k=key: self._user_changed(k))
                w.editingFinished.connect(lambda k=key: self._field_done(k))
            elif isinstance(w, RelationCombo):
                w.edited.connect(lambda k=key: self._user_changed(k))
            elif isinstance(w, QComboBox):
                w.activated.connect(lambda _i, k=key: self._user_changed(k, flush=True))
            elif isinstance(w, QCheckBox):
                w.clicked.connect(lambda _c, k=key: self._user_changed(k, flush=True))
        self.migrant_check.clicked.connect(lambda _c: self._user_changed("migrant_worker", flush=True))
        self.region_check.clicked.connect(lambda _c: self._user_changed("id_number", flush=True))

    # ---- reading and filling ----------------------------------------------------------
    @property
    def record_id(self) -> str | None:
        return self._record_id

    def _start(self, target_id: str, existing_id: str | None) -> None:
        self._target_id, self._record_id, self._editing = target_id, existing_id, object()

    def fields(self) -> dict[str, Any]:
        out = {
            "village_code": self.village_code,
            "id_number": idn.normalize(self.id_edit.text()),
            "name": self.name_edit.text().strip(),
            "sex": self.sex_combo.currentData() or "",
            "birth_date": self.birth_edit.text().strip(),
            "household_id": self.household_edit.text().strip(),
            "relation": self.relation_combo.value(),
            "address": self.address_edit.text().strip(),
            "phone": self.phone_edit.text().strip(),
            "migrant_worker": self.migrant_check.isChecked(),
            "work_place": self.work_place_edit.text().strip() if self.migrant_check.isChecked() else "",
            "consent": self.consent_check.isChecked(),
            "confirmed_warnings": list(self._warnings) if self.region_check.isChecked() else [],
        }
        out["attachments"] = [
            {k: a[k] for k in ("kind", "sha256", "size", "mime") if k in a} for a in self._attachments.values()
        ]
        if self._face is not None:
            out["face"] = self._face
        if self._duplicate_review:
            out["duplicate_review"] = list(self._duplicate_review)
        subsidies = sorted(code for code, check in self.subsidy_checks.items() if check.isChecked())
        if subsidies:
            out["subsidies"] = subsidies
        return out

    def _set_fields(self, f: dict[str, Any]) -> None:
        self._loading = True
        try:
            self.id_edit.setText(str(f.get("id_number") or ""))
            self.name_edit.setText(str(f.get("name") or ""))
            self.sex_combo.setCurrentIndex(max(0, self.sex_combo.findData(f.get("sex") or "")))
            self.birth_edit.setText(str(f.get("birth_date") or ""))
            self.household_edit.setText(str(f.get("household_id") or ""))
            self.relation_combo.set_value(str(f.get("relation") or ""))
            self.address_edit.setText(str(f.get("address") or ""))
            self.phone_edit.setText(str(f.get("phone") or ""))
            self.migrant_check.setChecked(bool(f.get("migrant_worker")))
            self.work_place_edit.setText(str(f.get("work_place") or ""))
            self.consent_check.setChecked(f.get("consent") is True)
            self.region_check.setChecked(bool(f.get("confirmed_warnings")))
            self._face = f.get("face") if isinstance(f.get("face"), dict) else None
            self._duplicate_review = [r for r in f.get("duplicate_review") or [] if isinstance(r, dict)]
            chosen = f.get("subsidies") if isinstance(f.get("subsidies"), list) else []
            for code, check in self.subsidy_checks.items():
                check.setChecked(code in chosen)
            if f.get("village_code"):
                self.village_code = str(f["village_code"])
        finally:
            self._loading = False

    def clear(self) -> None:
        """An empty form for a new record (the previous one stays in the store as it is)."""
        self._autosave_timer.stop()
        self._start(new_record_id(), None)
        self._state = None
        self._attachments = {}
        self._touched = set()
        self._card_jpeg = None
        self._set_fields({})
        self._show_attachments()
        self.attention_label.hide()
        self._show_review(None)
        self.message_label.clear()
        self.autosave_label.clear()
        self._set_editable(True)
        self._update_header()
        self.validate()

    def load_resident(self, resident: dict[str, Any]) -> None:
        """Open the form for a roster member: their record if they have one, else prefilled from the roster."""
        self.flush()
        if resident.get("record_id"):
            rid = resident["record_id"]
            (self.owner.op(lambda store: store.get_record(rid)).success(self.load_record)
             .failure(self._show_failure).run())
            return
        self.clear()
        self._set_fields({**resident, "consent": False})
        if resident.get("village_code"):
            self.village_code = resident["village_code"]
        self._update_header(resident.get("name"))
        self.validate()

    def load_record(self, record: dict[str, Any]) -> None:
        self.clear()
        payload = record.get("fields") or record.get("payload") or {}
        self._start(record["record_id"], record["record_id"])
        self._state = record.get("state")
        atts = record.get("attachments") or payload.get("attachments") or []
        self._attachments = {a["kind"]: dict(a) for a in atts if isinstance(a, dict)}
        self._set_fields(payload)
        self._show_attachments()
        if CARD_PHOTO in self._attachments:
            editing, rid = self._editing, record["record_id"]
            self.owner.op(lambda store: store.attachment_bytes(rid, CARD_PHOTO)).success(
                lambda data, e=editing: self._card_loaded(e, data)).failure(self._show_failure).run()
        attention = record.get("attention")
        if attention and self._state == "needs-attention":
            reason = describe_attention(attention)
            self.attention_label.setText(self.tr("需处理：{reason}").format(reason=reason))
            self.attention_label.show()
        self._show_review(record.get("review"))
        self._set_editable(self._state != "sending")
        self._touched = {k for k in _FORM_FIELDS if payload.get(k)}
        self._update_header(payload.get("name"))
        self.validate()

    def _show_review(self, review: dict[str, Any] | None) -> None:
        """The registry's review of the open record above the fields; a returned one says what to correct."""
        self._review = review if review and review.get("state") else None
        if self._review is None:
            self.review_label.clear()
            self.review_label.hide()
            return
        state = self._review["state"]
        reason = (self._review.get("reason") or "").strip() or "—"
        if state == RETURNED:
            text = self.tr("登记中心已退回此记录，退回原因：{reason}\n请按原因修改后点“保存并加入发送队列”，"
                           "下次同步作为同一记录的新版本重新提交。").format(reason=reason)
        elif state == REJECTED:
            text = self.tr("登记中心已驳回此记录，驳回原因：{reason}").format(reason=reason)
        elif state == APPROVED:
            text = (self.tr("登记中心已批准，已发卡") if self._review.get("card_issued_at")
                    else self.tr("登记中心已批准"))
        else:
            text = self.tr("审核状态：{state}").format(state=review_state_name(state))
        self.review_label.setText(text)
        self.review_label.setStyleSheet(_REVIEW_STYLES.get(state, _REVIEW_STYLE_OTHER))
        self.review_label.show()

    def review_text(self) -> str:
        """What the form shows about the registry's review ("" when nothing)."""
        return self.review_label.text() if not self.review_label.isHidden() else ""

    def _update_header(self, name: str | None = None) -> None:
        name = name or self.name_edit.text().strip()
        if not self.record_id and not name:
            self.header_label.setText(self.tr("新登记"))
        else:
            state = state_name(self._state) if self.record_id else self.tr("未登记")
            if self.record_id and self._review:
                state = self.tr("{state} · {review}").format(state=state,
                                                             review=review_state_name(self._review["state"]))
            self.header_label.setText(self.tr("{name} · {state}").format(
                name=name or self.tr("（未填姓名）"), state=state))
        self._update_away_buttons()

    # ---- remote verification (issue 11) ---------------------------------------------
    def set_online(self, online: int | bool) -> None:
        """发起远程核验 asks the registry at once: enabled only online."""
        self._online = bool(online)
        self._update_away_buttons()

    def _update_away_buttons(self) -> None:
        """标记外出务工 needs a record on this laptop that is not being sent; 发起远程核验 an ID number and
        the registry."""
        has_id = len(idn.normalize(self.id_edit.text())) == 18
        self.away_button.setEnabled(bool(self.record_id) and has_id and self._state != "sending")
        self.request_button.setEnabled(self._online and has_id)

    def open_resident(self) -> dict[str, Any]:
        """The resident the form shows, as the roster hands one to the verification dialogs."""
        f = self.fields()
        return {"name": f["name"], "id_number": f["id_number"], "record_id": self.record_id,
                "village_code": f["village_code"], "work_place": self.work_place_edit.text().strip()}

    @Slot()
    def _mark_away_clicked(self) -> None:
        self.flush()   # typed changes reach the store first: its thread runs them in order
        self.mark_away_requested.emit(self.open_resident())

    @Slot()
    def _request_clicked(self) -> None:
        self.flush()
        self.verification_requested.emit(self.open_resident())

    def _set_editable(self, editable: bool) -> None:
        for w in (*self.widgets.values(), *self.subsidy_checks.values(), self.migrant_check, self.region_check,
                  self.save_button,
                  *self.attachment_buttons.values(), *self.attachment_remove.values(), self.photo_button,
                  self.photo_remove):
            w.setEnabled(editable)
        if not editable:
            self.message_label.setText(self.tr("该记录正在发送，发送结束后才能修改"))

    # ---- live validation --------------------------------------------------------------
    def _user_changed(self, key: str, flush: bool = False) -> None:
        if self._loading:
            return
        self._touched.add(key)
        self.message_label.clear()
        self.validate()
        if flush:
            self.flush()
        else:
            self._autosave_timer.start()

    def _field_done(self, key: str) -> None:
        if self._loading or key not in self._touched:
            return
        self.validate()
        self.flush()

    def validate(self, full: bool = False) -> dict[str, list[str]]:
        """Run the domain's validation and show each error at its field; returns field -> messages."""
        f = self.fields()
        self._autofill_from_id(f)
        f = self.fields()
        errors: list[DomainError] = []
        try:
            validate_enrollment({**f, "record_id": self.record_id or str(uuid.uuid4())})
        except ValidationErrors as e:
            errors = list(e.errors)
        shown: dict[str, list[str]] = {}
        focus = self.focusWidget()
        for e in errors:
            key = e.field or ""
            if key == "record_id":
                continue
            if key == "work_place" and not self.migrant_check.isChecked():
                continue
            if not full:
                if key not in self._touched and not _has_value(f.get(key)):
                    continue
                if e.code in _STILL_TYPING and focus is self.widgets.get(key):
                    continue
                if e.code == "id_number.region_unconfirmed" or key in ("consent", "attachments", "village_code",
                                                                      "face", "duplicate_review", "subsidies"):
                    continue
            if key == "duplicate_review":
                key = "face"
            if key not in self.error_labels:
                key = "village_code"
            text = describe(e)
            if text not in shown.setdefault(key, []):
                shown[key].append(text)
        self._show_errors(shown)
        self._update_away_buttons()
        return shown

    def _show_errors(self, shown: dict[str, list[str]]) -> None:
        self._errors = shown
        for key, lab in self.error_labels.items():
            msgs = shown.get(key)
            widget = self.widgets.get(key)
            if msgs:
                lab.setText("；".join(msgs))
                lab.show()
                if widget is not None:
                    widget.setToolTip("；".join(msgs))
                    widget.setStyleSheet("border: 1px solid #c62828;" if not isinstance(widget, QCheckBox)
                                         else ERROR_STYLE)
            else:
                lab.clear()
                lab.hide()
                if widget is not None:
                    widget.setToolTip("")
                    widget.setStyleSheet("")

    def error_text(self, field: str) -> str:
        """What the form shows under a field now ("" when nothing)."""
        lab = self.error_labels.get(field)
        return lab.text() if lab is not None and not lab.isHidden() else ""

    def _autofill_from_id(self, f: dict[str, Any]) -> None:
        try:
            info = idn.parse(f["id_number"])
        except DomainError:
            self._set_warnings(())
            return
        self._loading = True
        try:
            if self.sex_combo.currentData() != info.sex:
                self.sex_combo.setCurrentIndex(self.sex_combo.findData(info.sex))
            if self.birth_edit.text().strip() != info.birth_date.isoformat():
                self.birth_edit.setText(info.birth_date.isoformat())
        finally:
            self._loading = False
        self._set_warnings(info.warnings)

    def _set_warnings(self, warnings: tuple[str, ...]) -> None:
        if warnings != self._warnings and self._warnings:
            self.region_check.setChecked(False)
        self._warnings = warnings
        if warnings:
            self.region_label.setText("；".join(describe(w) for w in warnings))
            self.region_box.show()
        else:
            self.region_box.hide()

    # ---- autosave and save ------------------------------------------------------------
    def _is_blank(self) -> bool:
        f = self.fields()
        return not self.record_id and not any(_has_value(f.get(k)) for k in _FORM_FIELDS if k != "consent")

    @Slot()
    def flush(self) -> None:
        """Autosave now if a change is waiting."""
        if self._autosave_timer.isActive():
            self._autosave_timer.stop()
            self.autosave()

    @Slot()
    def autosave(self) -> None:
        if self._is_blank() or self._state == "sending":
            return
        fields, rid, editing = self.fields(), self._target_id, self._editing
        self._saves_in_flight += 1
        self.owner.op(lambda store: enrollment_ops.autosave(store, rid, fields)).success(
            lambda saved, e=editing: self._saved(e, saved)).failure(self._save_failed).run()

    def _saved(self, editing: object, saved: enrollment_ops.Saved) -> None:
        self._saves_in_flight -= 1
        if editing is not self._editing:
            return  # the form moved on to another record meanwhile
        self._record_id, self._state = saved.record_id, saved.state
        self.last_saved_at = dt.datetime.now()
        self.autosave_label.setText(self.tr("草稿已自动保存 {time}").format(time=self.last_saved_at.strftime("%H:%M:%S")))
        self._update_header()
        self.draft_saved.emit(saved.record_id)

    def _save_failed(self, error: BaseException) -> None:
        self._saves_in_flight -= 1
        self.autosave_label.setText(self.tr("草稿保存失败：{reason}").format(reason=describe(error)))

    def saving(self) -> bool:
        return self._saves_in_flight > 0 or self._autosave_timer.isActive()

    @Slot()
    def save(self) -> None:
        """Validate fully; when clean, save and queue the record for the next sync."""
        self._autosave_timer.stop()
        shown = self.validate(full=True)
        if shown:
            first = next((self.widgets[k] for k in self.widgets if k in shown), None)
            if first is not None:
                first.setFocus()
            self.message_label.setStyleSheet(ERROR_STYLE)
            self.message_label.setText(self.tr("请先改正标红的项目，再保存"))
            return
        if FACE_TEMPLATE in self._attachments and self.record_id:
            self.check_duplicates()
            return
        self._queue()

    def check_duplicates(self) -> None:
        """Compare this record's face with every record on the laptop (store thread), then ask or queue."""
        rid, editing, threshold = self._target_id, self._editing, self.duplicate_threshold
        self.save_button.setEnabled(False)
        self.message_label.setStyleSheet("color: #555;")
        self.message_label.setText(self.tr("正在与本机已登记人员比对人脸…"))
        self.owner.op(lambda store: enrollment_ops.find_duplicates(store, rid, threshold)).success(
            lambda check, e=editing: self._duplicates_found(e, check)).failure(self._queue_failed).run()

    def _duplicates_found(self, editing: object, check: enrollment_ops.DuplicateCheck) -> None:
        if editing is not self._editing:
            return
        found = [(c.match, c.card_photo) for c in check.candidates]
        current = {m.record_id for m, _photo in found}
        # decisions about records that no longer match are dropped; the ones still matching are kept
        self._duplicate_review = [r for r in self._duplicate_review if r.get("record_id") in current]
        decided = {r["record_id"] for r in self._duplicate_review}
        pending = [(m, photo) for m, photo in found if m.record_id not in decided]
        if not pending:
            self._queue()
            return
        self._ask_duplicate(editing, pending)

    def _ask_duplicate(self, editing: object, pending: list[tuple[Any, bytes | None]]) -> None:
        from .duplicate_dialog import DuplicateFaceDialog

        match, their_photo = pending[0]
        dlg = DuplicateFaceDialog(match, their_photo, self._card_jpeg, self.name_edit.text().strip(), self)
        self.duplicate_dialog = dlg

        def finished(code: int) -> None:
            self.duplicate_dialog = None
            if editing is not self._editing:
                return
            if code != QDialog.DialogCode.Accepted:
                self.save_button.setEnabled(True)
                self.message_label.setStyleSheet(ERROR_STYLE)
                self.message_label.setText(self.tr("未保存：请先核对是否为同一人"))
                return
            self._duplicate_review.append(dlg.review())
            if len(pending) > 1:
                self._ask_duplicate(editing, pending[1:])
            else:
                self._queue()

        dlg.finished.connect(finished)
        dlg.open()

    def _queue(self) -> None:
        fields, rid = self.fields(), self._target_id
        self.save_button.setEnabled(False)
        self.owner.op(lambda store: enrollment_ops.save_and_queue(store, rid, fields)).success(
            self._queued).failure(self._queue_failed).run()

    def _queued(self, queued: enrollment_ops.Queued) -> None:
        self.save_button.setEnabled(True)
        record = dict(queued.record)
        name = record.get("name") or (record.get("fields") or {}).get("name") or ""
        self.clear()
        self.message_label.setStyleSheet("color: #1a7f37;")
        self.message_label.setText(self.tr("{name} 已保存，加入发送队列；联网后点“同步”发送").format(name=name))
        self.queued.emit(record)
        self.status.emit(self.message_label.text())

    def _queue_failed(self, error: BaseException) -> None:
        self.save_button.setEnabled(True)
        if isinstance(error, ValidationErrors) or getattr(error, "field", None):
            per_field = field_errors(error)
            shown = {(k if k in self.error_labels else "village_code"): v for k, v in per_field.items()}
            self._show_errors(shown)
        self.message_label.setStyleSheet(ERROR_STYLE)
        self.message_label.setText(self.tr("未能保存：{reason}").format(reason=describe(error)))

    def _show_failure(self, error: BaseException) -> None:
        self.message_label.setStyleSheet(ERROR_STYLE)
        self.message_label.setText(describe(error))

    def _clear_clicked(self) -> None:
        rid, f = self.record_id, self.fields()
        emptied = (rid is not None and self._state == "draft" and not f.get("attachments")
                   and not any(_has_value(f.get(k)) for k in _FORM_FIELDS))
        if emptied:
            # Everything typed was erased: the draft is dropped, not left empty in 发送队列.
            self._autosave_timer.stop()
            self.owner.op(lambda store: enrollment_ops.discard_empty_draft(store, rid)).success(
                lambda _r: self.draft_saved.emit(rid)).failure(self._show_failure).run()
        else:
            self.flush()
        self.clear()

    # ---- card photo and face template --------------------------------------------------
    def open_camera(self) -> None:
        """Open the capture dialog (window-modal, the event loop keeps running)."""
        from .capture_dialog import CaptureDialog

        dlg = CaptureDialog(self, source_factory=self.camera_factory, engine=self.face_engine,
                            limits=self.capture_limits)
        dlg.photo_accepted.connect(self.use_capture)
        dlg.finished.connect(lambda _c: setattr(self, "capture_dialog", None))
        self.capture_dialog = dlg
        dlg.open()

    def use_capture(self, result: Any) -> None:
        """Keep an accepted capture: card photo + template as attachments, ``face`` in the payload."""
        template = result.template
        self._face = face_info(template.model, template.version, {c.code: c.value for c in result.report.checks})
        self._duplicate_review = []   # a new face: earlier decisions were about another photo
        self._card_jpeg = result.card_photo.jpeg
        self._show_photo()
        fields, rid, editing = self.fields(), self._target_id, self._editing
        jpeg, tbytes = result.card_photo.jpeg, template.to_bytes()
        self.photo_status.setText(self.tr("正在保存照片…"))
        self.owner.op(lambda store: enrollment_ops.attach_capture(store, rid, fields, jpeg, tbytes)).success(
            lambda saved, e=editing: self._photo_saved(e, saved)).failure(self._photo_failed).run()

    def _photo_saved(self, editing: object, saved: enrollment_ops.Saved) -> None:
        if editing is not self._editing:
            return
        self._record_id, self._state = saved.record_id, saved.state
        for att in saved.attachments:
            self._attachments[att.kind] = att.as_dict()
        self._show_photo()
        self._update_header()
        self.validate()
        self.draft_saved.emit(saved.record_id)

    def _photo_failed(self, error: BaseException) -> None:
        self._show_photo()
        self.error_labels["face"].setText(describe(error))
        self.error_labels["face"].show()

    def _card_loaded(self, editing: object, data: bytes | None) -> None:
        if editing is self._editing:
            self._card_jpeg = data
            self._show_photo()

    def remove_photo(self) -> None:
        if not self.record_id or not any(k in self._attachments for k in FACE_KINDS):
            return
        self._face, self._duplicate_review, self._card_jpeg = None, [], None
        fields, rid = self.fields(), self._record_id
        for kind in FACE_KINDS:
            self._attachments.pop(kind, None)
        self._show_photo()
        self.owner.op(lambda store: enrollment_ops.remove_photo(store, rid, fields)).success(
            lambda _saved: self.validate()).failure(self._show_failure).run()

    def _show_photo(self) -> None:
        self.error_labels["face"].hide()
        pix = QPixmap()
        if self._card_jpeg and pix.loadFromData(self._card_jpeg):
            self.card_thumb.setPixmap(pix.scaled(THUMB_SIZE, Qt.AspectRatioMode.KeepAspectRatio,
                                                 Qt.TransformationMode.SmoothTransformation))
        else:
            self.card_thumb.clear()
            self.card_thumb.setText(self.tr("无照片"))
        has = CARD_PHOTO in self._attachments or self._card_jpeg is not None
        if has and CARD_PHOTO in self._attachments:
            kb = max(1, round(int(self._attachments[CARD_PHOTO].get("size") or 0) / 1024))
            self.photo_status.setText(self.tr("已拍摄证件照（{kb} KB）和人脸特征").format(kb=kb))
            self.photo_status.setStyleSheet("color: #1a7f37;")
        elif has:
            self.photo_status.setText(self.tr("正在保存照片…"))
            self.photo_status.setStyleSheet("color: #555;")
        else:
            self.photo_status.setText(self.tr("未拍照"))
            self.photo_status.setStyleSheet("color: #666;")
        self.photo_button.setText(self.tr("重新拍照") if has else self.tr("拍照"))
        self.photo_remove.setVisible(has)

    # ---- attachments ------------------------------------------------------------------
    def _pick_file(self, kind: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("选择文件"), "",
                                              self.tr("图片或PDF (*.jpg *.jpeg *.png *.pdf);;所有文件 (*)"))
        if path:
            self.attach_file(kind, path)

    def attach_file(self, kind: str, path: str) -> None:
        """Read the file on the store thread and attach it (creating the draft first if needed)."""
        fields, rid, editing = self.fields(), self._target_id, self._editing
        self.attachment_labels[kind].setText(self.tr("正在读取…"))
        self.owner.op(lambda store: enrollment_ops.attach_file(store, rid, fields, kind, path)).success(
            lambda saved, e=editing: self._attached(e, saved)).failure(
            lambda err, k=kind: self._attach_failed(k, err)).run()

    def _attached(self, editing: object, saved: enrollment_ops.Saved) -> None:
        if editing is not self._editing:
            return
        self._record_id, self._state = saved.record_id, saved.state
        for att in saved.attachments:
            self._attachments[att.kind] = att.as_dict()
        self._show_attachments()
        self._update_header()
        self.draft_saved.emit(saved.record_id)

    def _attach_failed(self, kind: str, error: BaseException) -> None:
        self._show_attachments()
        self.error_labels["attachments"].setText(describe(error))
        self.error_labels["attachments"].show()

    def remove_attachment(self, kind: str) -> None:
        if kind not in self._attachments or not self.record_id:
            return
        rid = self._record_id
        self.owner.op(lambda store: enrollment_ops.remove_file(store, rid, kind)).success(
            lambda _saved, k=kind: self._removed(k)).failure(self._show_failure).run()

    def _removed(self, kind: str) -> None:
        self._attachments.pop(kind, None)
        self._show_attachments()

    def _show_attachments(self) -> None:
        self._show_photo()
        self.error_labels["attachments"].hide()
        for kind, label in self.attachment_labels.items():
            att = self._attachments.get(kind)
            if att:
                size_kb = max(1, round(int(att.get("size") or 0) / 1024))
                label.setText(self.tr("{name}（{kb} KB）").format(name=att.get("file_name") or self.tr("已添加"),
                                                                  kb=size_kb))
                label.setStyleSheet("color: #1a7f37;")
            else:
                label.setText(self.tr("未添加"))
                label.setStyleSheet("color: #666;")
            self.attachment_remove[kind].setVisible(bool(att))


def _has_value(v: Any) -> bool:
    return bool(v) if not isinstance(v, bool) else v


def describe_attention(attention: dict[str, Any]) -> str:
    """The reason a record needs attention, from the store's {code, message, data}."""
    code = attention.get("code") or ""
    data = attention.get("data") or {}
    subs = data.get("errors") if isinstance(data, dict) else None
    if isinstance(subs, list) and subs:
        return "；".join(
            describe(DomainError(s.get("code", ""), s.get("field"), **(s.get("data") or {}))) for s in subs
        )
    return describe(DomainError(code, attention.get("field"), **(data if isinstance(data, dict) else {})))
