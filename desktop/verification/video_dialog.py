"""视频核验: the offline video path on the laptop (docs/verification-api.md, "The offline video path").

A worker who could not open the link sends a clip through a messaging app. The cadre opens this dialog
on the resident, reads the request's digits and actions, imports the clip (导入视频), plays it with its
sound (QtMultimedia), and the laptop runs the liveness engine's checks on it (a preview: the registry
runs them again on the uploaded clip and decides). The cadre ticks 「我听到了数字 …」 and 记录视频核验
keeps the clip and the check in the store; the next sync sends them (at once when the laptop is online:
the main window starts a sync on ``recorded``).

Threads: the store is read and written only through its lane (``StoreOwner``); the checks run on a lane
of this dialog's own (seconds of work, so the store's lane stays free for the roster and autosaves);
results come back by signal. The player is the shared ``player.ClipPlayer`` (central staff's 远程核验 plays
the registry's copy with it); this module is imported only when the dialog first opens, so the app's start
does not pay for QtMultimedia.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from sync.verification_ops import (
    LocalVideoCheck,
    VideoCheckProgress,
    VideoTask,
    check_video_steps,
    record_video_check,
    video_task,
)

from ..errors import describe
from ..lane import Lane
from ..store_worker import StoreOwner
from .labels import action_text, check_help, check_name, check_value, reason_text, spaced_digits
from .player import ClipPlayer

PASSED_COLOUR, FAILED_COLOUR, NOTE_COLOUR = "#1a7f37", "#c62828", "#b45309"
CLIP_FILTER = "视频 (*.mp4 *.mov *.3gp *.m4v *.webm *.mkv *.avi);;所有文件 (*)"


def _checker() -> Any:
    """One liveness checker for the dialog's lane (the models load on its first check, on that thread)."""
    from capture.liveness import LivenessChecker

    return LivenessChecker()


class VideoCheckDialog(QDialog):
    task_loaded = Signal(object)   # the VideoTask (or None when the resident has no request for a video)
    checked = Signal(object)       # the LocalVideoCheck
    check_failed = Signal(object)  # the error
    recorded = Signal(object)      # the stored video check (sync/local/video_checks.py row)

    def __init__(self, owner: StoreOwner, resident: dict[str, Any], parent: QWidget | None = None, *,
                 online: bool = False) -> None:
        super().__init__(parent)
        self.owner = owner
        self.resident = dict(resident)
        self.online = online
        self.task: VideoTask | None = None
        self.local: LocalVideoCheck | None = None
        self.clip_path: Path | None = None
        self.record: dict[str, Any] | None = None
        self.progress_seen: list[tuple[str, int, int]] = []
        self.setObjectName("videoCheckDialog")
        self.setWindowTitle(self.tr("视频核验"))
        self.setMinimumWidth(720)
        self._lane = Lane("video-check", _checker, parent=self)
        self._lane.start()

        who = QLabel(self.tr("{name}（身份证号 {id}）").format(name=self.resident.get("name", ""),
                                                          id=self.resident.get("id_number", "")))
        who.setObjectName("videoWho")
        self.challenge_label = QLabel(self.tr("正在读取核验请求…"))
        self.challenge_label.setObjectName("videoChallenge")
        self.challenge_label.setWordWrap(True)
        self.challenge_label.setStyleSheet("font-size: 15px;")
        self.reference_label = QLabel()
        self.reference_label.setObjectName("videoReference")
        self.reference_label.setWordWrap(True)
        self.reference_label.setStyleSheet("color: #555;")

        self.import_button = QPushButton(self.tr("导入视频…"))
        self.import_button.setObjectName("videoImport")
        self.import_button.setEnabled(False)
        self.import_button.clicked.connect(self.choose_clip)
        self.clip_label = QLabel(self.tr("尚未导入视频"))
        self.clip_label.setObjectName("videoClipName")
        self.clip_label.setStyleSheet("color: #555;")

        self.clip_player = ClipPlayer(self)   # the worker's voice saying the digits: the cadre must hear it
        self.play_button = self.clip_player.play_button
        self.video = self.clip_player.view
        self.player = self.clip_player.player

        self.progress = QProgressBar()
        self.progress.setObjectName("videoProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)
        self.progress_label = QLabel()
        self.progress_label.setObjectName("videoProgressText")
        self.result_label = QLabel()
        self.result_label.setObjectName("videoResult")
        self.result_label.setWordWrap(True)
        self.checks = QTreeWidget()
        self.checks.setObjectName("videoChecks")
        self.checks.setHeaderLabels([self.tr("检查项"), self.tr("结果"), self.tr("数值"), self.tr("要求")])
        self.checks.setRootIsDecorated(False)
        self.checks.setUniformRowHeights(True)
        header = self.checks.header()
        for col in range(3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)

        self.heard_box = QCheckBox(self.tr("我听到了数字"))
        self.heard_box.setObjectName("videoDigitsHeard")
        self.heard_box.setEnabled(False)
        self.record_button = QPushButton(self.tr("记录视频核验"))
        self.record_button.setObjectName("videoRecord")
        self.record_button.setEnabled(False)
        self.record_button.clicked.connect(self.record_check)
        self.close_button = QPushButton(self.tr("关闭"))
        self.close_button.clicked.connect(self.reject)
        self.status_label = QLabel()
        self.status_label.setObjectName("videoStatus")
        self.status_label.setWordWrap(True)

        clip_row = QHBoxLayout()
        clip_row.addWidget(self.import_button)
        clip_row.addWidget(self.play_button)
        clip_row.addWidget(self.clip_label, 1)
        left = QVBoxLayout()
        left.addLayout(clip_row)
        left.addWidget(self.video, 1)
        right = QVBoxLayout()
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.progress_label)
        right.addLayout(progress_row)
        right.addWidget(self.result_label)
        right.addWidget(self.checks, 1)
        middle = QHBoxLayout()
        middle.addLayout(left, 2)
        middle.addLayout(right, 3)
        bottom = QHBoxLayout()
        bottom.addWidget(self.heard_box, 1)
        bottom.addWidget(self.record_button)
        bottom.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(who)
        layout.addWidget(self.challenge_label)
        layout.addWidget(self.reference_label)
        layout.addLayout(middle, 1)
        layout.addLayout(bottom)
        layout.addWidget(self.status_label)
        self.resize(1120, 640)

        id_number = self.resident["id_number"]
        (self.owner.op(lambda store: video_task(store, id_number))
         .success(self._show_task).failure(self._no_task).run())

    # -- the request
    def _show_task(self, task: VideoTask) -> None:
        self.task = task
        actions = "，再".join(action_text(a) for a in task.actions)
        self.challenge_label.setText(self.tr("视频中本人应当：正对镜头，先念出数字 <b>{digits}</b>，再{actions}。")
                                     .format(digits=spaced_digits(task.digits), actions=actions))
        self.reference_label.setText(
            self.tr("比对照片：本机该居民的登记照片。") if task.reference is not None else
            self.tr("本机没有该居民的登记照片：本机只检查动作和真人，比对由登记中心完成。"))
        self.heard_box.setText(self.tr("我听到了数字 {digits}").format(digits=spaced_digits(task.digits)))
        self.import_button.setEnabled(True)
        self.task_loaded.emit(task)

    def _no_task(self, error: BaseException) -> None:
        self.challenge_label.setText(describe(error))
        self.challenge_label.setStyleSheet(f"font-size: 15px; color: {FAILED_COLOUR};")
        self.task_loaded.emit(None)

    # -- the clip
    @Slot()
    def choose_clip(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(self, self.tr("导入本人发来的视频"), "", self.tr(CLIP_FILTER))
        if path:
            self.import_clip(path)

    def import_clip(self, path: str | Path) -> None:
        """Load the clip into the player and run the checks on it (on the dialog's lane)."""
        if self.task is None:
            return
        self.clip_path = Path(path)
        self.local = None
        self.record = None
        self.progress_seen = []
        self.clip_label.setText(self.clip_path.name)
        self.clip_player.load(self.clip_path)
        self.checks.clear()
        self.result_label.clear()
        self.status_label.clear()
        self.heard_box.setChecked(False)
        self.heard_box.setEnabled(False)
        self.record_button.setEnabled(False)
        self.import_button.setEnabled(False)
        self.progress.setRange(0, 0)
        self.progress_label.setText(self.tr("正在读取视频…"))
        task, clip = self.task, self.clip_path
        (self._lane.steps(lambda checker: check_video_steps(task, clip, checker))
         .progress(self._progress).success(self._checked).failure(self._check_failed).run())

    @Slot()
    def toggle_play(self) -> None:
        self.clip_player.toggle_play()

    # -- the checks
    def _progress(self, step: VideoCheckProgress) -> None:
        self.progress_seen.append((step.phase, step.done, step.total))
        if step.phase == "checking":
            self.progress_label.setText(self.tr("正在检查动作、真人和比对…"))
        else:
            self.progress_label.setText(self.tr("正在读取视频…"))

    def _checked(self, local: LocalVideoCheck) -> None:
        self.local = local
        self.import_button.setEnabled(True)
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.progress_label.setText(self.tr("检查完成"))
        for check in local.decision.get("checks") or []:
            ok = bool(check.get("passed"))
            result = self.tr("通过") if ok else self.tr("未通过：{reason}").format(
                reason=reason_text(check.get("reason") or ""))
            item = QTreeWidgetItem([check_name(check.get("name")), result, check_value(check.get("value")),
                                    check_value(check.get("threshold"))])
            item.setToolTip(0, check_help(check.get("name")))
            item.setForeground(1, QBrush(QColor(PASSED_COLOUR if ok else FAILED_COLOUR)))
            self.checks.addTopLevelItem(item)
        reasons = local.decision.get("reasons") or []
        if local.passed:
            self.result_label.setText(self.tr("本机检查通过。请播放视频，确认听到了本人念出的数字。"))
            self.result_label.setStyleSheet(f"color: {PASSED_COLOUR}; font-weight: bold;")
        elif reasons == ["match.no_reference"]:
            # Only the match is missing, for want of a photo here: the registry matches against its own.
            self.result_label.setText(self.tr("动作和真人检查通过；本机没有登记照片，比对由登记中心完成。"
                                              "请播放视频，确认听到了本人念出的数字。"))
            self.result_label.setStyleSheet(f"color: {NOTE_COLOUR}; font-weight: bold;")
        else:
            reasons = "；".join(reason_text(r) for r in local.decision.get("reasons") or [])
            self.result_label.setText(self.tr("本机检查未通过：{reasons}").format(reasons=reasons))
            self.result_label.setStyleSheet(f"color: {FAILED_COLOUR}; font-weight: bold;")
        self.heard_box.setEnabled(True)
        self.record_button.setEnabled(True)
        self.checked.emit(local)

    def _check_failed(self, error: BaseException) -> None:
        self.import_button.setEnabled(True)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress_label.setText(self.tr("无法检查"))
        self.result_label.setText(describe(error))
        self.result_label.setStyleSheet(f"color: {FAILED_COLOUR}; font-weight: bold;")
        self.check_failed.emit(error)

    # -- recording
    @Slot()
    def record_check(self) -> None:
        if self.task is None or self.local is None:
            return
        self.record_button.setEnabled(False)
        self.import_button.setEnabled(False)
        task, local, heard = self.task, self.local, self.heard_box.isChecked()
        self.status_label.setText(self.tr("正在记录…"))
        (self.owner.op(lambda store: record_video_check(store, task, local, heard))
         .success(self._recorded).failure(self._record_failed).run())

    def _recorded(self, row: dict[str, Any]) -> None:
        self.record = row
        self.import_button.setEnabled(True)
        self.heard_box.setEnabled(False)
        note = (self.tr("视频核验已记录，正在同步发送到登记中心，由登记中心重新检查后作出结论。") if self.online else
                self.tr("视频核验已记录，下次联网同步时发送到登记中心，由登记中心重新检查后作出结论。"))
        if not row.get("digits_heard"):
            note += self.tr("（未确认听到数字：登记中心会判为未通过）")
        self.status_label.setText(note)
        self.status_label.setStyleSheet(f"color: {PASSED_COLOUR};")
        self.recorded.emit(row)

    def _record_failed(self, error: BaseException) -> None:
        self.record_button.setEnabled(True)
        self.import_button.setEnabled(True)
        self.status_label.setText(describe(error))
        self.status_label.setStyleSheet(f"color: {FAILED_COLOUR};")

    def done(self, result: int) -> None:
        self.clip_player.stop()
        self._lane.shutdown()
        super().done(result)
