"""远程核验: the remote verification requests (docs/verification-api.md) and, for the one selected, its
decision: every check with its value and threshold, the reasons, the match distance and the passive
score with their thresholds, and the evidence frames the registry kept.

Everything from the registry comes through the workspace's short lane (``net``): the list, one
request's attempts (``GET /api/verifications/{request}``) and each evidence frame (a JPEG, audited
at the registry). Callbacks run on the UI thread; an answer that arrives after the reviewer moved on
to another request is dropped.

The registry filters by state; a request that ended without a pass rests in ``manual`` and its
outcome (``failed`` or ``expired``) says why, so the filters 核验未通过 and 链接已过期 ask for
``manual`` and keep the outcome. Village and method filter the list here (the registry has no such
parameter; the list is at most 500 requests).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.errors import describe
from enrollment.errors import mask_id_number
from enrollment.vocabulary import VerificationMethod, VerificationState
from sync import verification_ops

from ..review_labels import vocabulary_name
from ..verification.labels import action_text, check_help, check_name, check_value, spaced_digits
from .labels import (
    FAILED_COLOUR,
    PASSED_COLOUR,
    VIDEO_BACKGROUND,
    VIDEO_COLOUR,
    beijing_minute,
    method_name,
    reference_name,
    verification_reason,
    verification_state_colour,
    verification_state_name,
)
from .net import CentralOwner
from .rows_model import RowsModel, rows_table

FRAME_SIZE = QSize(140, 168)   # an evidence frame is at most 320 px wide, portrait (300 x 360 from a phone)
# The list's columns that are elided to a fixed width (their full text in the tooltip); the others fit their text.
ELIDED_WIDTHS = {"state": 150, "method": 100}
# The state filter: (registry state to ask for, outcome to keep) per choice.
STATE_FILTERS = (
    (VerificationState.SENT, VerificationState.SENT, None),
    (VerificationState.OPENED, VerificationState.OPENED, None),
    (VerificationState.PASSED, VerificationState.PASSED, None),
    (VerificationState.FAILED, VerificationState.MANUAL, VerificationState.FAILED),
    (VerificationState.EXPIRED, VerificationState.MANUAL, VerificationState.EXPIRED),
    (VerificationState.MANUAL, VerificationState.MANUAL, None),
)


def outcome(request: dict[str, Any]) -> str | None:
    return (request.get("result") or {}).get("outcome")


class VerificationsModel(RowsModel):
    COLUMNS = ("resident", "village", "city", "state", "method", "attempts", "updated")

    def headers(self) -> tuple[str, ...]:
        return (self.tr("居民身份证号"), self.tr("村"), self.tr("外出务工城市"), self.tr("状态"), self.tr("方式"),
                    self.tr("次数"), self.tr("更新（北京时间）"))

    def styled(self, item: dict[str, Any], col: str, role: int) -> Any:
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == "state":
                return QBrush(QColor(verification_state_colour(item)))
            if col == "method" and item.get("method") == VerificationMethod.VIDEO:
                return QBrush(QColor(VIDEO_COLOUR))
        if role == Qt.ItemDataRole.BackgroundRole and col == "method" and item.get("method") == VerificationMethod.VIDEO:
            return QBrush(QColor(VIDEO_BACKGROUND))
        if role == Qt.ItemDataRole.ToolTipRole and col in ("state", "method", "village"):
            return self.display(item, col)
        return None

    def display(self, item: dict[str, Any], col: str) -> str:
        if col == "resident":
            return mask_id_number(item.get("id_number"))
        if col == "village":
            code = str(item.get("village_code") or "")
            name = self.village_names.get(code)
            return f"{name}（{code}）" if name else code
        if col == "city":
            return str(item.get("city") or "")
        if col == "state":
            return verification_state_name(item)
        if col == "method":
            return method_name(item.get("method"))
        if col == "attempts":
            return f"{item.get('attempts_used', 0)}/{item.get('attempts_max', 0)}"
        if col == "updated":
            return beijing_minute(item.get("updated_at"))
        return ""


class FrameBox(QLabel):
    """One evidence frame: a placeholder text until its JPEG arrives."""

    def __init__(self, seq: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.seq = seq
        self.loaded = False
        self.setObjectName(f"evidenceFrame{seq}")
        self.setFixedSize(FRAME_SIZE)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setStyleSheet("border: 1px solid #999; background: #fafafa; color: #777;")
        self.setText(self.tr("正在读取画面…"))

    def set_jpeg(self, data: bytes) -> bool:
        pix = QPixmap()
        if not pix.loadFromData(data):
            self.setText(self.tr("画面无法显示"))
            return False
        self.setPixmap(pix.scaled(FRAME_SIZE, Qt.AspectRatioMode.KeepAspectRatio,
                                  Qt.TransformationMode.SmoothTransformation))
        self.loaded = True
        return True


class VerificationDetail(QWidget):
    """One request: its facts, its attempts, and the chosen attempt's decision and evidence frames.

    ``show_detail(answer)`` takes ``GET /api/verifications/{request}``'s answer; the frames are fetched
    on ``net`` one by one. Emits ``frames_loaded(n)`` once every kept frame of the attempt shown arrived.
    A video attempt (the offline path) also shows what the worker was asked to say and do, whether the
    cadre ticked 听到数字, and 播放视频 while its clip is kept: staff hear the digits themselves.
    """

    frames_loaded = Signal(int)
    clip_opened = Signal(object)   # the player dialog (desktop/central/video_clip.py), as 播放视频 opens it

    def __init__(self, net: CentralOwner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.net = net
        self.setObjectName("verificationDetail")
        self.detail: dict[str, Any] = {}
        self.attempt: dict[str, Any] | None = None
        self.clip_dialog: QDialog | None = None
        self.frames: list[FrameBox] = []
        self._jpegs: dict[tuple[str, int], bytes] = {}

        self.title = QLabel(self.tr("请在左侧选择一个核验请求"))
        self.title.setObjectName("verificationTitle")
        self.title.setStyleSheet("font-size: 14pt; font-weight: bold;")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.state_label = QLabel()
        self.state_label.setObjectName("verificationState")
        self.state_label.setStyleSheet("font-size: 13pt; font-weight: bold;")
        self.method_label = QLabel()
        self.method_label.setObjectName("verificationMethod")
        self.method_label.setWordWrap(True)
        self.facts = QLabel()
        self.facts.setObjectName("verificationFacts")
        self.facts.setWordWrap(True)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.attempt_combo = QComboBox()
        self.attempt_combo.setObjectName("verificationAttempt")
        self.attempt_combo.currentIndexChanged.connect(self._attempt_chosen)
        self.reasons_label = QLabel()
        self.reasons_label.setObjectName("verificationReasons")
        self.reasons_label.setWordWrap(True)
        self.reasons_label.setStyleSheet(f"font-weight: bold; color: {FAILED_COLOUR};")
        self.match_label = QLabel()
        self.match_label.setObjectName("verificationMatch")
        self.passive_label = QLabel()
        self.passive_label.setObjectName("verificationPassive")
        scores = QFormLayout()
        scores.addRow(self.tr("核验次数"), self.attempt_combo)
        scores.addRow(self.tr("原因"), self.reasons_label)
        scores.addRow(self.tr("人脸比对"), self.match_label)
        scores.addRow(self.tr("活体评分"), self.passive_label)

        # A video attempt only: the challenge it answered, the cadre's tick, and the clip to watch and hear.
        self.video_label = QLabel()
        self.video_label.setObjectName("verificationVideoChallenge")
        self.video_label.setWordWrap(True)
        self.video_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.play_clip_button = QPushButton(self.tr("播放视频"))
        self.play_clip_button.setObjectName("verificationPlayClip")
        self.play_clip_button.setToolTip(self.tr("从登记中心读取本人发来的视频并播放（有声音；记入审计日志）"))
        self.play_clip_button.clicked.connect(self.play_clip)
        self.clip_status = QLabel()
        self.clip_status.setObjectName("verificationClipStatus")
        self.clip_status.setWordWrap(True)
        self.video_panel = QWidget()
        self.video_panel.setObjectName("verificationVideo")
        self.video_panel.setStyleSheet(f"#verificationVideo {{ background: {VIDEO_BACKGROUND}; "
                                       f"border: 1px solid {VIDEO_COLOUR}; }}")
        video_row = QHBoxLayout(self.video_panel)
        video_row.setContentsMargins(8, 4, 8, 4)
        video_row.addWidget(self.video_label, 1)
        video_row.addWidget(self.clip_status)
        video_row.addWidget(self.play_clip_button)
        self.video_panel.hide()

        self.checks_table = QTableWidget(0, 4)
        self.checks_table.setObjectName("verificationChecks")
        self.checks_table.setHorizontalHeaderLabels([self.tr("检查项"), self.tr("测得"), self.tr("标准"),
                                                     self.tr("结果")])
        self.checks_table.verticalHeader().hide()
        self.checks_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.checks_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        header = self.checks_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)

        # At most 4 evidence frames (docs/verification-api.md): two by two beside the checks.
        self.frames_label = QLabel(self.tr("核验画面"))
        self.frames_label.setObjectName("evidenceFramesLabel")
        self.frames_label.setWordWrap(True)
        self.frames_grid = QGridLayout()
        self.frames_grid.setContentsMargins(0, 0, 0, 0)
        self.frames_grid.setSpacing(6)
        frames_panel = QWidget()
        frames_panel.setObjectName("evidenceFrames")
        fv = QVBoxLayout(frames_panel)
        fv.setContentsMargins(0, 0, 0, 0)
        fv.addWidget(self.frames_label)
        fv.addLayout(self.frames_grid)
        fv.addStretch(1)
        frames_panel.setFixedWidth(2 * FRAME_SIZE.width() + 12)

        v = QVBoxLayout(self)
        v.setContentsMargins(8, 0, 0, 0)
        v.addWidget(self.title)
        top = QHBoxLayout()
        top.addWidget(self.state_label)
        top.addWidget(self.method_label)
        top.addStretch(1)
        v.addLayout(top)
        v.addWidget(self.facts)
        v.addLayout(scores)
        v.addWidget(self.video_panel)
        below = QHBoxLayout()
        below.addWidget(self.checks_table, 1)
        below.addWidget(frames_panel)
        v.addLayout(below, 1)

    @property
    def request_id(self) -> str | None:
        return (self.detail.get("request") or {}).get("request")

    def show_message(self, text: str, error: bool = False) -> None:
        self.title.setText(text)
        self.title.setStyleSheet("font-size: 14pt; font-weight: bold;" + (f" color: {FAILED_COLOUR};" if error else ""))

    def show_detail(self, detail: dict[str, Any]) -> None:
        self.detail = detail
        req = detail.get("request") or {}
        self.show_message(self.tr("居民 {id}　{village}　{city}").format(
            id=mask_id_number(req.get("id_number")), village=req.get("village_code") or "",
            city=req.get("city") or ""))
        self.state_label.setText(verification_state_name(req))
        self.state_label.setStyleSheet(f"font-size: 13pt; font-weight: bold; color: {verification_state_colour(req)};")
        video = req.get("method") == VerificationMethod.VIDEO
        self.method_label.setText(method_name(req.get("method")))
        # A video check must never read like a live pass: its own colour, boxed.
        self.method_label.setStyleSheet(
            f"color: {VIDEO_COLOUR}; background: {VIDEO_BACKGROUND}; border: 1px solid {VIDEO_COLOUR};"
            " padding: 3px 8px; font-weight: bold;" if video else "color: #555;")
        facts = [self.tr("发起人：{who}　发起时间：{at}　链接有效期至：{until}").format(
                     who=req.get("created_by") or "", at=beijing_minute(req.get("created_at")),
                     until=beijing_minute(req.get("expires_at"))),
                 self.tr("已用 {used} 次，共 {max} 次　最后更新：{at}（北京时间）").format(
                     used=req.get("attempts_used", 0), max=req.get("attempts_max", 0),
                     at=beijing_minute(req.get("updated_at")))]
        if outcome(req) == VerificationState.EXPIRED:
            facts.append(self.tr("链接过期前没有完成核验，需上门或人工核验"))
        self.facts.setText("\n".join(facts))

        attempts = detail.get("attempts") or []
        self.attempt_combo.blockSignals(True)
        self.attempt_combo.clear()
        for a in attempts:
            decision = a.get("decision")
            verdict = (self.tr("通过") if decision.get("passed") else self.tr("未通过")) if decision \
                else self.tr("未完成")
            self.attempt_combo.addItem(self.tr("第{n}次　{at}　{verdict}").format(
                n=a.get("number"), at=beijing_minute(a.get("finished_at") or a.get("started_at")), verdict=verdict))
        self.attempt_combo.blockSignals(False)
        decided = [i for i, a in enumerate(attempts) if a.get("decision")]
        if attempts:
            index = decided[-1] if decided else len(attempts) - 1
            self.attempt_combo.setCurrentIndex(index)
            self._attempt_chosen(index)
        else:
            self.attempt_combo.addItem(self.tr("还没有核验"))
            self._show_attempt(None)

    def _attempt_chosen(self, index: int) -> None:
        attempts = self.detail.get("attempts") or []
        if 0 <= index < len(attempts):
            self._show_attempt(attempts[index])

    def _show_attempt(self, attempt: dict[str, Any] | None) -> None:
        self.attempt = attempt
        decision = (attempt or {}).get("decision") or {}
        reasons = decision.get("reasons") or []
        self.reasons_label.setText("；".join(verification_reason(r) for r in reasons) if reasons else
                                   (self.tr("无（核验通过）") if decision.get("passed") else self.tr("—")))
        colour = FAILED_COLOUR if reasons else (PASSED_COLOUR if decision.get("passed") else "#555")
        self.reasons_label.setStyleSheet(f"font-weight: bold; color: {colour};")
        checks = decision.get("checks") or []
        by_name = {c.get("name"): c for c in checks}
        match = by_name.get("match") or {}
        self.match_label.setText(self.tr("距离 {d}（标准 {t}）　比对照片：{ref}").format(
            d=decision.get("match_distance") or check_value(match.get("value")),
            t=check_value(match.get("threshold")), ref=reference_name(decision.get("reference"))) if decision else "")
        passive = by_name.get("passive") or {}
        self.passive_label.setText(self.tr("{s}（标准 {t}；越高越像真人）").format(
            s=decision.get("passive_score") or check_value(passive.get("value")),
            t=check_value(passive.get("threshold"))) if decision else "")

        self.checks_table.setRowCount(len(checks))
        for r, c in enumerate(checks):
            ok = bool(c.get("passed"))
            verdict = self.tr("通过") if ok else self.tr("未通过：{why}").format(why=verification_reason(c.get("reason")))
            cells = [QTableWidgetItem(check_name(c.get("name"))), QTableWidgetItem(check_value(c.get("value"))),
                     QTableWidgetItem(check_value(c.get("threshold"))), QTableWidgetItem(verdict)]
            cells[3].setForeground(QBrush(QColor(PASSED_COLOUR if ok else FAILED_COLOUR)))
            if not ok:
                bold = QFont()
                bold.setBold(True)
                for cell in cells:
                    cell.setFont(bold)
            cells[0].setToolTip(check_help(c.get("name")))
            for col, cell in enumerate(cells):
                self.checks_table.setItem(r, col, cell)
        self.checks_table.resizeRowsToContents()
        self._show_video(attempt)
        self._show_frames(attempt)

    # -- a video attempt (the offline path)
    def _challenge_text(self) -> str:
        challenge = (self.detail.get("request") or {}).get("video_challenge") or {}
        actions = "，再".join(action_text(a) for a in challenge.get("actions") or [])
        return self.tr("视频中本人应当：先念出数字 {digits}，再{actions}").format(
            digits=spaced_digits(str(challenge.get("digits") or "")), actions=actions)

    def _show_video(self, attempt: dict[str, Any] | None) -> None:
        if (attempt or {}).get("method") != VerificationMethod.VIDEO:
            self.video_panel.hide()
            return
        assert attempt is not None
        checks = ((attempt.get("decision") or {}).get("checks")) or []
        heard = next((c for c in checks if c.get("name") == "digits_heard"), None)
        ticked = (self.tr("—") if heard is None else self.tr("是") if heard.get("passed") else self.tr("否"))
        self.video_label.setText(self.tr("<b>{challenge}</b><br>村干部勾选「听到数字」：{ticked}"
                                         "（仅供参考，请播放视频亲自听）").format(
            challenge=self._challenge_text(), ticked=ticked))
        kept = bool(attempt.get("clip_sha256"))
        self.play_clip_button.setVisible(kept)
        self.play_clip_button.setEnabled(kept)
        self.clip_status.setStyleSheet("color: #555;")
        self.clip_status.setText("" if kept else self.tr("视频已按保留期限删除"))
        self.video_panel.show()

    def play_clip(self) -> None:
        """Fetch the shown attempt's clip on ``net`` (into a private temp file) and open the player."""
        sha256 = (self.attempt or {}).get("clip_sha256")
        if not sha256:
            return
        from .video_clip import fetch_clip  # the player's QtMultimedia only once staff play a clip

        self.play_clip_button.setEnabled(False)
        self.clip_status.setStyleSheet("color: #555;")
        self.clip_status.setText(self.tr("正在读取视频…"))
        about = self._challenge_text()
        (self.net.op(lambda c: fetch_clip(c, sha256))
         .success(lambda path: self._clip_arrived(path, about))
         .failure(self._clip_failed).run())

    def _clip_arrived(self, path: Any, about: str) -> None:
        from .video_clip import ClipDialog

        self.play_clip_button.setEnabled(True)
        self.clip_status.setText("")
        self.close_clip()
        self.clip_dialog = ClipDialog(path, about, self)
        self.clip_dialog.show()
        self.clip_opened.emit(self.clip_dialog)

    def _clip_failed(self, error: BaseException) -> None:
        self.play_clip_button.setEnabled(True)
        self.clip_status.setStyleSheet(f"color: {FAILED_COLOUR};")
        self.clip_status.setText(self.tr("视频读取失败：{reason}").format(reason=describe(error)))

    def close_clip(self) -> None:
        """Close the player if one is open (its temp file goes with it)."""
        if self.clip_dialog is not None:
            self.clip_dialog.done(0)
            self.clip_dialog = None

    def _show_frames(self, attempt: dict[str, Any] | None) -> None:
        for box in self.frames:
            self.frames_grid.removeWidget(box)
            box.deleteLater()
        self.frames = []
        if attempt is None:
            self.frames_label.setText(self.tr("核验画面：无"))
            return
        wanted = list((attempt.get("decision") or {}).get("evidence") or [])
        kept = set(attempt.get("evidence_kept") or [])
        if not wanted:
            self.frames_label.setText(self.tr("核验画面：此次核验没有留存画面"))
            return
        self.frames_label.setText(self.tr("核验画面 {n} 张（每次查看都记入审计日志）").format(n=len(wanted)))
        attempt_id = str(attempt.get("attempt"))
        for seq in wanted:
            box = FrameBox(int(seq))
            box.setToolTip(self.tr("第 {seq} 帧").format(seq=seq))
            self.frames_grid.addWidget(box, len(self.frames) // 2, len(self.frames) % 2)
            self.frames.append(box)
            if int(seq) not in kept:
                box.setText(self.tr("已按保留期限删除"))
                continue
            key = (attempt_id, int(seq))
            if key in self._jpegs:
                box.set_jpeg(self._jpegs[key])
                continue
            (self.net.op(lambda c, a=attempt_id, s=int(seq): verification_ops.evidence_frame(c.http, a, s))
             .success(lambda data, k=key: self._frame_arrived(k, data))
             .failure(lambda e, k=key: self._frame_failed(k, e)).run())
        self._maybe_all_loaded()

    def _box(self, key: tuple[str, int]) -> FrameBox | None:
        if self.attempt is None or str(self.attempt.get("attempt")) != key[0]:
            return None   # the reviewer moved on meanwhile
        return next((b for b in self.frames if b.seq == key[1]), None)

    def _frame_arrived(self, key: tuple[str, int], data: bytes) -> None:
        self._jpegs[key] = data
        box = self._box(key)
        if box is not None:
            box.set_jpeg(data)
            self._maybe_all_loaded()

    def _frame_failed(self, key: tuple[str, int], error: BaseException) -> None:
        box = self._box(key)
        if box is not None:
            box.setText(self.tr("画面读取失败：{reason}").format(reason=describe(error)))

    def _maybe_all_loaded(self) -> None:
        kept = set((self.attempt or {}).get("evidence_kept") or [])
        expected = [b for b in self.frames if b.seq in kept]
        if expected and all(b.loaded for b in expected):
            self.frames_loaded.emit(len(expected))


class VerificationsView(QWidget):
    """The list with its filters (left) and the selected request's detail (right).

    ``create_requested`` asks the window for 发起远程核验; ``list_loaded(n)`` after each list,
    ``detail_loaded(request_id)`` after each detail.
    """

    create_requested = Signal()
    list_loaded = Signal(int)
    detail_loaded = Signal(str)

    def __init__(self, net: CentralOwner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.net = net
        self.setObjectName("verificationsView")
        self.all_items: list[dict[str, Any]] = []
        self.current: str | None = None   # the request whose detail is shown or on its way
        self._list_generation = 0

        self.state_combo = QComboBox()
        self.state_combo.setObjectName("verificationFilterState")
        self.state_combo.addItem(self.tr("全部状态"), None)
        for shown, state, kept_outcome in STATE_FILTERS:
            self.state_combo.addItem(vocabulary_name(shown, VerificationState), (str(state), kept_outcome))
        self.village_combo = QComboBox()
        self.village_combo.setObjectName("verificationFilterVillage")
        self.village_combo.addItem(self.tr("全部村"), "")
        self.method_combo = QComboBox()
        self.method_combo.setObjectName("verificationFilterMethod")
        self.method_combo.addItem(self.tr("全部方式"), "")
        for m in VerificationMethod:
            self.method_combo.addItem(method_name(m), str(m))
        self.refresh_button = QPushButton(self.tr("刷新"))
        self.refresh_button.setObjectName("verificationRefresh")
        self.create_button = QPushButton(self.tr("发起远程核验"))
        self.create_button.setObjectName("verificationCreate")
        self.create_button.setToolTip(self.tr("为外出务工人员生成一次性核验链接"))
        filters = QHBoxLayout()
        for w in (self.state_combo, self.village_combo, self.method_combo):
            filters.addWidget(w)
        filters.addStretch(1)
        filters.addWidget(self.refresh_button)
        filters.addWidget(self.create_button)

        self.model = VerificationsModel(self)
        self.table = rows_table(self.model, "verificationsTable", QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.table.horizontalHeader()
        for col, width in ELIDED_WIDTHS.items():
            header.setSectionResizeMode(VerificationsModel.COLUMNS.index(col), QHeaderView.ResizeMode.Interactive)
            header.resizeSection(VerificationsModel.COLUMNS.index(col), width)
        header.setStretchLastSection(True)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.count_label = QLabel()
        self.count_label.setObjectName("verificationCount")
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.table, 1)
        lv.addWidget(self.count_label)

        self.detail = VerificationDetail(net)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 5)
        split.setSizes([660, 706])

        v = QVBoxLayout(self)
        v.setContentsMargins(0, 6, 0, 0)
        v.addLayout(filters)
        v.addWidget(split, 1)

        self.state_combo.currentIndexChanged.connect(lambda _i: self.refresh())
        self.village_combo.currentIndexChanged.connect(lambda _i: self._apply_filters())
        self.method_combo.currentIndexChanged.connect(lambda _i: self._apply_filters())
        self.refresh_button.clicked.connect(self.refresh)
        self.create_button.clicked.connect(self.create_requested)

    # -- the list
    def refresh(self) -> None:
        chosen = self.state_combo.currentData()
        state = chosen[0] if chosen else None
        self._list_generation += 1
        generation = self._list_generation
        self.count_label.setStyleSheet("")
        self.count_label.setText(self.tr("正在读取…"))
        (self.net.op(lambda c: verification_ops.list_verifications(c.http, state))
         .success(lambda items: self._list_arrived(generation, items))
         .failure(lambda e: self._list_failed(generation, e)).run())

    def _list_arrived(self, generation: int, items: list[dict[str, Any]]) -> None:
        if generation != self._list_generation:
            return   # an older filter's answer
        self.all_items = items
        self._apply_filters()
        self.list_loaded.emit(self.model.rowCount())

    def _list_failed(self, generation: int, error: BaseException) -> None:
        if generation == self._list_generation:
            self.count_label.setStyleSheet(f"color: {FAILED_COLOUR};")
            self.count_label.setText(describe(error))

    def _apply_filters(self) -> None:
        chosen = self.state_combo.currentData()
        kept_outcome = chosen[1] if chosen else None
        village = self.village_combo.currentData() or ""
        method = self.method_combo.currentData() or ""
        items = [i for i in self.all_items
                 if (kept_outcome is None or outcome(i) == kept_outcome)
                 and (not village or i.get("village_code") == village)
                 and (not method or i.get("method") == method)]
        self.model.set_items(items)
        self.count_label.setText(self.tr("共 {n} 条").format(n=len(items)))
        self._select_row(self.current)

    def _select_row(self, request_id: str | None) -> None:
        rows = [r for r, i in enumerate(self.model.items) if i.get("request") == request_id]
        if not rows:
            return
        model = self.table.selectionModel()
        model.blockSignals(True)   # the detail is loaded (or being loaded) already
        self.table.selectRow(rows[0])
        model.blockSignals(False)

    def set_villages(self, villages: list[dict[str, Any]]) -> None:
        """Village names and the village filter (from the dashboard's per-village list), keeping the choice."""
        current = self.village_combo.currentData()
        self.village_combo.blockSignals(True)
        self.village_combo.clear()
        self.village_combo.addItem(self.tr("全部村"), "")
        names = {}
        for v in villages:
            code = str(v.get("village_code") or "")
            name = str(v.get("village_name") or v.get("name") or "")
            names[code] = name
            self.village_combo.addItem(f"{name}（{code}）" if name else code, code)
        self.village_combo.setCurrentIndex(max(self.village_combo.findData(current), 0))
        self.village_combo.blockSignals(False)
        self.model.village_names = {k: v for k, v in names.items() if v}
        self.model.layoutChanged.emit()

    # -- one request
    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid() and current.row() < len(self.model.items):
            self.open_request(str(self.model.items[current.row()]["request"]))

    def open_request(self, request_id: str) -> None:
        """Show this request's detail (also when the list's filters hide it) and select its row if listed."""
        self.current = request_id
        self._select_row(request_id)
        self.detail.show_message(self.tr("正在读取…"))
        (self.net.op(lambda c: verification_ops.verification_detail(c.http, request_id))
         .success(lambda d: self._detail_arrived(request_id, d))
         .failure(lambda e: self._detail_failed(request_id, e)).run())

    def _detail_arrived(self, request_id: str, detail: dict[str, Any]) -> None:
        if self.current != request_id:
            return   # another request was chosen meanwhile
        self.detail.show_detail(detail)
        self.detail_loaded.emit(request_id)

    def _detail_failed(self, request_id: str, error: BaseException) -> None:
        if self.current == request_id:
            self.detail.show_message(describe(error), error=True)
