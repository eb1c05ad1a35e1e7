"""Main window: sync bar, roster + enrollment form, outbox; a status bar with online/offline."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDialog, QLabel, QMainWindow, QSplitter, QTabWidget, QVBoxLayout, QWidget

from .enrollment_form import EnrollmentForm
from .errors import describe
from .guide.menu import HelpMenu
from .online import OnlineMonitor
from .outbox import OutboxView
from .payment_failures import PaymentFailuresView
from .roster import RosterView
from .store_worker import StoreOwner
from .sync_panel import SyncPanel
from .verification.mark_away import MarkAwayDialog
from .verification.request_dialog import RequestVerificationDialog


def villages_of(operator: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for v in operator.get("villages") or []:
        if isinstance(v, dict):
            out.append({"code": str(v.get("code", "")), "name": str(v.get("name") or "")})
        else:
            out.append({"code": str(v), "name": ""})
    return out


class MainWindow(QMainWindow):
    logout_requested = Signal()   # 退出登录: the app revokes the token and returns to the login window

    def __init__(self, owner: StoreOwner, login: dict[str, Any], monitor: OnlineMonitor,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.owner = owner
        self.login = login
        self.operator = login.get("operator") or {}
        self.monitor = monitor
        self.setObjectName("mainWindow")
        self.setWindowTitle(self.tr("一卡通 登记"))

        self.sync_panel = SyncPanel(owner)
        self.roster = RosterView(owner)
        self.form = EnrollmentForm(owner)
        self.outbox = OutboxView(owner)
        self.payment_failures = PaymentFailuresView(owner)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.roster)
        splitter.addWidget(self.form)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([480, 780])
        self.tabs = QTabWidget()
        self.tabs.setObjectName("mainTabs")
        self.tabs.addTab(splitter, self.tr("花名册与登记"))
        self.tabs.addTab(self.outbox, self.tr("发送队列"))
        self.tabs.addTab(self.payment_failures, self.tr("发放失败"))
        self.payment_failures.count_changed.connect(self._payment_failures_counted)
        self.tabs.currentChanged.connect(self._tab_changed)

        central = QWidget()
        v = QVBoxLayout(central)
        v.setContentsMargins(6, 6, 6, 0)
        v.addWidget(self.sync_panel)
        v.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.online_label = QLabel()
        self.online_label.setObjectName("onlineIndicator")
        self.operator_label = QLabel()
        self.operator_label.setObjectName("operatorLabel")
        self.statusBar().addPermanentWidget(self.operator_label)
        self.statusBar().addPermanentWidget(self.online_label)
        self.set_online(bool(login.get("online")))

        villages = villages_of(self.operator)
        names = "、".join(f"{v['name']}（{v['code']}）" if v["name"] else v["code"] for v in villages)
        self.operator_label.setText(self.tr("操作员：{user}　村：{villages}").format(
            user=self.operator.get("display_name") or self.operator.get("username", ""),
            villages=names or self.tr("未分配")))
        self.form.village_code = villages[0]["code"] if villages else ""

        self.logout_action = self.menuBar().addAction(self.tr("退出登录"))
        self.logout_action.setObjectName("logoutAction")
        self.logout_action.triggered.connect(self.logout_requested)
        # 帮助: the cadre's guide (F1), the quick card to print, 关于 with the version.
        self.help_menu = HelpMenu(self, self.operator.get("role") or "cadre", quick_card=True)

        self.roster.member_selected.connect(self._open_member)
        self.roster.new_enrollment.connect(self._new_enrollment)
        self.roster.village_combo.currentIndexChanged.connect(self._village_changed)
        self.form.queued.connect(self._record_queued)
        self.form.status.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.outbox.open_record.connect(self._open_record)
        self.outbox.conflict_resolved.connect(lambda _rid: self.roster.refresh())
        self.sync_panel.finished.connect(self._sync_finished)
        self.monitor.changed.connect(self.set_online)
        self.roster.verification_requested.connect(self._request_verification)
        self.roster.video_check_requested.connect(self._video_check)
        self.verification_dialog: RequestVerificationDialog | None = None
        # 标记外出务工 (roster and form) and the form's 发起远程核验: issue 11's cadre side.
        self.roster.mark_away_requested.connect(self._mark_away)
        self.form.mark_away_requested.connect(self._mark_away)
        self.form.verification_requested.connect(self._request_verification)
        self.mark_away_dialog: MarkAwayDialog | None = None
        self.video_dialog: QDialog | None = None
        self.owner.unhandled_error.connect(lambda e: self.statusBar().showMessage(describe(e), 10000))

        self.roster.set_villages(villages)
        self.outbox.refresh()
        self.payment_failures.refresh()
        self.resize(1280, 720)
        if login.get("online") and not login.get("roster_count"):
            # first login on this laptop: bring the village roster down at once
            self.sync_panel.start()

    @Slot(int)
    def set_online(self, online: int | bool) -> None:
        self._online = bool(online)
        self.roster.set_online(self._online)
        self.form.set_online(self._online)
        if online:
            self.online_label.setText(self.tr("● 在线"))
            self.online_label.setStyleSheet("color: #1a7f37; font-weight: bold; padding: 0 8px;")
            self.online_label.setToolTip(self.tr("登记中心可以连接，可以同步"))
        else:
            self.online_label.setText(self.tr("● 离线"))
            self.online_label.setStyleSheet("color: #c62828; font-weight: bold; padding: 0 8px;")
            self.online_label.setToolTip(self.tr("连接不到登记中心：登记照常保存，联网后再同步"))

    @Slot(object)
    def _request_verification(self, resident: dict[str, Any]) -> None:
        if self.verification_dialog is not None:
            self.verification_dialog.done(0)
        dialog = RequestVerificationDialog(self.owner, resident, self)
        if resident.get("work_place"):   # the form's 务工地点, or the city just marked
            dialog.city_edit.setText(str(resident["work_place"]))
        dialog.setModal(True)
        dialog.show()
        self.verification_dialog = dialog

    @Slot(object)
    def _mark_away(self, resident: dict[str, Any]) -> None:
        """标记外出务工: the city saved on the record, then (online) the request made with it at once."""
        if self.mark_away_dialog is not None:
            self.mark_away_dialog.done(0)
        dialog = MarkAwayDialog(self.owner, resident, self.is_online_shown, self)
        dialog.setModal(True)
        dialog.marked.connect(self._marked_away)
        dialog.proceed.connect(self._request_after_marking)
        dialog.finished.connect(lambda _code, d=dialog: self._mark_away_closed(d))
        dialog.show()
        self.mark_away_dialog = dialog

    def _mark_away_closed(self, dialog: MarkAwayDialog) -> None:
        if self.mark_away_dialog is dialog:
            self.mark_away_dialog = None

    def _marked_away(self, marked: Any) -> None:
        self.roster.refresh()
        self.outbox.refresh()
        if marked.record_id and marked.record_id == self.form.record_id:
            rid = marked.record_id
            self.owner.op(lambda store: store.get_record(rid)).success(self._reload_form_record).run()

    def _reload_form_record(self, record: dict[str, Any]) -> None:
        if record.get("record_id") == self.form.record_id:
            self.form.load_record(record)

    def _request_after_marking(self, resident: dict[str, Any]) -> None:
        self.statusBar().showMessage(str(resident.get("marked_note") or ""), 8000)
        self._request_verification(resident)
        if self.verification_dialog is not None:
            self.verification_dialog.send()
    def _video_check(self, resident: dict[str, Any]) -> None:
        # Imported here: QtMultimedia loads only when a cadre first opens 视频核验, not at the app's start.
        from .verification.video_dialog import VideoCheckDialog

        if self.video_dialog is not None:
            self.video_dialog.done(0)
        dialog = VideoCheckDialog(self.owner, resident, self, online=self._online)
        dialog.recorded.connect(self._video_check_recorded)
        dialog.setModal(True)
        dialog.show()
        self.video_dialog = dialog

    def _video_check_recorded(self, _check: dict[str, Any]) -> None:
        self.roster.refresh()
        if self._online:
            self.sync_panel.start()   # sent at once; offline it waits for the next sync

    def is_online_shown(self) -> bool:
        return self._online

    def _open_member(self, resident: dict[str, Any]) -> None:
        self.form.load_resident(resident)

    def _new_enrollment(self) -> None:
        self.form.flush()
        self.form.clear()
        self.form.village_code = self.roster.village_code or self.form.village_code
        self.form.id_edit.setFocus()

    def _village_changed(self, _index: int) -> None:
        if self.roster.village_code and not self.form.record_id:
            self.form.village_code = self.roster.village_code

    def _record_queued(self, _record: dict[str, Any]) -> None:
        self.roster.refresh()
        self.outbox.refresh()

    def _open_record(self, record: dict[str, Any]) -> None:
        self.tabs.setCurrentIndex(0)
        self.form.flush()
        self.form.load_record(record)

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.outbox:
            self.form.flush()
            self.outbox.refresh()
        elif self.tabs.widget(index) is self.payment_failures:
            self.payment_failures.refresh()

    def _payment_failures_counted(self, waiting: int) -> None:
        index = self.tabs.indexOf(self.payment_failures)
        self.tabs.setTabText(index, self.tr("发放失败（{n}）").format(n=waiting) if waiting else self.tr("发放失败"))

    def _sync_finished(self, _report: Any) -> None:
        self.roster.refresh()
        self.outbox.refresh()
        self.payment_failures.refresh()
        self.monitor.check_now()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self.form.flush()
        if self.sync_panel.running:
            self.sync_panel.cancel()
        if self.mark_away_dialog is not None:
            self.mark_away_dialog.done(0)
            self.mark_away_dialog = None
        if self.verification_dialog is not None:
            # Its lane's thread is joined before the window (its parent) goes away.
            self.verification_dialog.done(0)
            self.verification_dialog = None
        if self.video_dialog is not None:
            self.video_dialog.done(0)
            self.video_dialog = None
        self.help_menu.close_windows()
        super().closeEvent(event)
