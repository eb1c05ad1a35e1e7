"""The Sync action: 同步 button, a progress bar by phase, 取消, and a summary at the end.

The sync runs on the store's lane (``desktop.lane``), one unit at a time (``SyncClient.run_steps``),
so autosaves queued meanwhile still run; cancelling sets the client's threading.Event and
the client stops after the current unit.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from enrollment import error_codes
from enrollment.vocabulary import VerificationState

from . import session
from .errors import describe, message_for
from .store_worker import StoreOwner


class SyncPanel(QWidget):
    started = Signal()
    finished = Signal(object)   # the SyncReport (or None after a failure)
    progressed = Signal(str, int, int)  # phase, done, total

    def __init__(self, owner: StoreOwner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.owner = owner
        self.running = False
        self.cancel_event: threading.Event | None = None
        self.report: Any = None
        self.progress_seen: list[tuple[str, int, int]] = []

        self.sync_button = QPushButton(self.tr("同步"))
        self.sync_button.setObjectName("syncButton")
        self.sync_button.setToolTip(self.tr("发送待发送的登记，下载花名册和审核结果"))
        self.sync_button.setStyleSheet("QPushButton { font-weight: bold; padding: 6px 22px; }")
        self.sync_button.clicked.connect(self.start)
        self.cancel_button = QPushButton(self.tr("取消"))
        self.cancel_button.setObjectName("cancelSync")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("syncProgress")
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("%p%")
        self.progress_bar.setTextVisible(False)  # no "0%" before the first sync
        self.phase_label = QLabel(self.tr("尚未同步"))
        self.phase_label.setObjectName("syncPhase")
        self.phase_label.setMinimumWidth(220)
        self.summary_label = QLabel()
        self.summary_label.setObjectName("syncSummary")
        self.summary_label.setWordWrap(True)
        self.summary_label.setMinimumHeight(self.summary_label.fontMetrics().height() + 4)  # no layout jump

        row = QHBoxLayout()
        row.addWidget(self.sync_button)
        row.addWidget(self.phase_label)
        row.addWidget(self.progress_bar, 1)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(row)
        layout.addWidget(self.summary_label)
        self.owner.op(session.last_sync).success(self.show_last_sync).run()

    def show_last_sync(self, last: dict[str, Any] | None) -> None:
        """After a restart: the last sync's time and outcome (kept in the laptop store), not 尚未同步."""
        if not last or self.running or self.report is not None:
            return
        report = last["report"]
        try:
            when = dt.datetime.fromisoformat(str(last.get("finished_at"))).astimezone()
            at = when.strftime("%Y-%m-%d %H:%M")
        except ValueError:
            at = "?"
        self.phase_label.setText(self.tr("上次同步 {at}：{outcome}").format(at=at, outcome=self.outcome(report)))
        self.summary_label.setText(self.summary(report))
        self.summary_label.setStyleSheet("color: #c62828;" if self.is_bad(report) else "color: #1a7f37;")

    def phase_name(self, phase: str) -> str:
        return {
            "blobs": self.tr("正在上传附件"),
            "push": self.tr("正在发送登记记录"),
            "pull": self.tr("正在下载花名册和审核结果"),
            "video": self.tr("正在发送视频核验"),
            "digest": self.tr("正在核对"),
        }.get(phase, phase)

    def step_text(self, phase: str, done: int, total: int, reason: str = "") -> str:
        """What is happening, in units a cadre reads: KB for uploads, records for the rest."""
        if phase == "blobs":
            return self.tr("{phase} {done} / {total}").format(
                phase=self.phase_name(phase), done=_size(done), total=_size(total))
        if phase == "pull":
            return self.tr("{phase}：已下载 {done} 条").format(phase=self.phase_name(phase), done=done)
        if phase == "waiting":
            if reason == error_codes.NETWORK_SERVER_ERROR:   # the registry answered, with a failure
                return self.tr("登记中心出错，稍后自动重试（第 {n}/{m} 次）").format(n=done, m=total)
            return self.tr("网络中断，稍后自动重试（第 {n}/{m} 次）").format(n=done, m=total)
        if phase == "push":
            return self.tr("{phase} {done} / {total} 条").format(phase=self.phase_name(phase), done=done,
                                                                total=total)
        return self.phase_name(phase)

    @Slot()
    def start(self) -> None:
        if self.running:
            return
        self.running = True
        self.report = None
        self.progress_seen = []
        self.cancel_event = cancel = threading.Event()
        self.sync_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.summary_label.clear()
        self.summary_label.setStyleSheet("")
        self.phase_label.setText(self.tr("正在连接登记中心…"))
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setRange(0, 0)  # busy until the first unit reports its total
        self.started.emit()
        (self.owner.steps(lambda store: session.sync_steps(store, cancel))
         .progress(self._progress).success(self._finished).failure(self._failed).run())

    @Slot()
    def cancel(self) -> None:
        if self.cancel_event is not None:
            self.cancel_event.set()
            self.cancel_button.setEnabled(False)
            self.phase_label.setText(self.tr("正在取消…（当前这一步完成后停止）"))

    def _progress(self, p: Any) -> None:
        phase, done, total = getattr(p, "phase", ""), int(getattr(p, "done", 0)), int(getattr(p, "total", 0))
        self.progress_seen.append((phase, done, total))
        if self.cancel_event is not None and self.cancel_event.is_set():
            return
        if phase == "waiting":  # a retry: keep the bar where it is, say why it stopped
            self.phase_label.setText(self.step_text(phase, done, total, getattr(p, "reason", "") or ""))
            return
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(min(done, max(total, 1)) if total else 1)
        self.phase_label.setText(self.step_text(phase, done, total))
        self.progressed.emit(phase, done, total)

    def _end(self) -> None:
        self.running = False
        self.sync_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if self.progress_bar.maximum() == 0:
            self.progress_bar.setRange(0, 1)

    def _finished(self, report: Any) -> None:
        self._end()
        self.report = report
        self.summary_label.setText(self.summary(report))
        self.summary_label.setStyleSheet("color: #c62828;" if self.is_bad(report) else "color: #1a7f37;")
        self.phase_label.setText(self.outcome(report))
        if not _as_dict(report).get("cancelled") and not _as_dict(report).get("error"):
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(1)
        self.finished.emit(report)

    def outcome(self, report: Any) -> str:
        r = _as_dict(report)
        if r.get("cancelled"):
            return self.tr("同步已取消")
        if r.get("error"):
            return self.tr("同步未完成")
        return self.tr("同步完成")

    @staticmethod
    def is_bad(report: Any) -> bool:
        r = _as_dict(report)
        return bool((r.get("error") or _digest_differs(r) or r.get("conflicts") or r.get("refused"))
                    and not r.get("cancelled"))

    def _failed(self, error: BaseException) -> None:
        self._end()
        self.phase_label.setText(self.tr("同步失败"))
        self.summary_label.setStyleSheet("color: #c62828;")
        self.summary_label.setText(describe(error))
        self.finished.emit(None)

    def summary(self, report: Any) -> str:
        r = _as_dict(report)
        if not _digest_checked(r):
            digest = self.tr("未核对")
        else:
            digest = self.tr("一致") if r.get("digest_match") else self.tr("不一致")
        text = self.tr("新接收 {accepted} 条，无变化 {unchanged} 条，冲突 {conflicts} 条，被拒收 {refused} 条；"
                       "上传附件 {blobs} 个；下载 {pulled} 条；核对：{digest}").format(
            accepted=r.get("accepted", 0), unchanged=r.get("unchanged", 0), conflicts=r.get("conflicts", 0),
            refused=r.get("refused", 0), blobs=r.get("blobs_sent", 0), pulled=r.get("pulled", 0), digest=digest)
        if r.get("cancelled"):
            text = message_for("sync.cancelled") + "。" + text
        code = r.get("error_code") or (str(r["error"]).split(":", 1)[0] if r.get("error") else None)
        if code and not r.get("cancelled"):
            text = message_for(code) + "。" + text
        if _digest_differs(r):
            text += "。" + message_for("sync.digest_mismatch")
        if r.get("conflicts") or r.get("refused"):
            text += "。" + self.tr("请到“发送队列”处理冲突和被拒收的记录")
        if r.get("video_sent"):
            text += "。" + self.tr("视频核验已发送 {n} 条").format(n=r["video_sent"])
        if r.get("video_refused"):
            text += "。" + self.tr("视频核验被登记中心拒收 {n} 条（原因见花名册）").format(n=r["video_refused"])
        if r.get("returned"):
            text += "。" + self.tr("审核退回 {n} 条，请到“发送队列”修改后重新提交").format(n=r["returned"])
        verifications = self.verification_summary(r.get("verifications") or {})
        if verifications:
            text += "。" + verifications
        if r.get("payment_failures_open"):
            text += "。" + self.tr("银行退回的补贴 {n} 笔需协助居民处理，见“发放失败”").format(
                n=r["payment_failures_open"])
        return text

    def verification_summary(self, by_state: dict[str, int]) -> str:
        """远程核验：2 条更新（1 通过，1 需上门核实）: the requests the pull brought, by state, results first."""
        total = sum(by_state.values())
        if not total:
            return ""
        words = {
            VerificationState.PASSED: self.tr("通过"),
            VerificationState.MANUAL: self.tr("需上门核实"),
            VerificationState.FAILED: self.tr("未通过"),
            VerificationState.EXPIRED: self.tr("链接过期"),
            VerificationState.OPENED: self.tr("已打开链接"),
            VerificationState.SENT: self.tr("已发送链接"),
        }
        parts = [self.tr("{n} {what}").format(n=by_state[state], what=word)
                 for state, word in words.items() if by_state.get(state)]
        if not parts:
            return self.tr("远程核验：{n} 条更新").format(n=total)
        return self.tr("远程核验：{n} 条更新（{parts}）").format(n=total, parts="，".join(parts))


def _digest_checked(r: dict[str, Any]) -> bool:
    """The registry answered the digest step (a sync that stopped before it compared nothing)."""
    return bool(r.get("digest_checked")) and not r.get("error") and not r.get("cancelled")


def _digest_differs(r: dict[str, Any]) -> bool:
    return _digest_checked(r) and r.get("digest_match") is False


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    return f"{max(0, round(n / 1024))} KB"


def _as_dict(report: Any) -> dict[str, Any]:
    if report is None:
        return {}
    if isinstance(report, dict):
        return report
    if hasattr(report, "to_dict"):
        return report.to_dict()
    return dict(getattr(report, "__dict__", {}))
