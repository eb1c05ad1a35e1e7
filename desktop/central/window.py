"""The central workspace window: 审核队列 / 支付拦截 / 代发 / 预警 / 统计 / 远程核验 tabs, and one closable tab per
opened record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QWidget,
)

from desktop.errors import describe, show_error
from desktop.guide.menu import HelpMenu
from desktop.lane import Lane
from desktop.review_labels import review_state_name
from enrollment.vocabulary import ReviewState

from .dashboard_view import DashboardView
from .dialogs import DecisionDialog, VerificationIdDialog
from .interceptions_view import InterceptionsView
from .net import CentralOwner
from .payments_view import PaymentsView
from .queue_view import QueueView
from .record_view import RecordView
from .verification_view import VerificationsView
from .warnings_view import WarningsView


def _write_file(path: str, data: bytes) -> str:
    Path(path).write_bytes(data)
    return path


class _Credentials:
    """The registry address and the operator's token, as the request dialog asks a store for them."""

    def __init__(self, registry_url: str, token: str | None) -> None:
        self._url, self._token = registry_url, token

    def registry_url(self) -> str:
        return self._url

    def token(self) -> str | None:
        return self._token


class CentralWindow(QMainWindow):
    """For a central/admin operator logged in online.

    Two lanes to the registry (``desktop.central.net``): ``net`` for the short calls a person waits
    on, ``long_net`` for the runs that may take minutes (run the checks, the report), so the queue
    and records still load while one of those is in flight. Either may be given (tests); else it is
    made, started and shut down here.
    """

    queue_loaded = Signal(int)
    warnings_loaded = Signal(int)
    dashboard_loaded = Signal()
    payment_dashboard_loaded = Signal()
    report_saved = Signal(str)
    bulk_done = Signal(object)
    checks_done = Signal(object)   # the run's summary, or the exception
    logout_requested = Signal()    # 退出登录: the app revokes the token and returns to the login window
    verification_created = Signal(object)   # the CreatedVerification of 发起远程核验

    def __init__(self, registry_url: str, token: str | None, operator: dict[str, Any],
                 net: CentralOwner | None = None, parent: QWidget | None = None, *,
                 long_net: CentralOwner | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("centralWindow")
        self.setWindowTitle(self.tr("一卡通 审核工作台"))
        self.operator = operator or {}
        self.registry_url = registry_url
        self._token = token
        self.net = net or CentralOwner(registry_url, token)
        self.long_net = long_net or CentralOwner(registry_url, token, name="central-long")
        self._own_lanes = [lane for lane, given in ((self.net, net), (self.long_net, long_net)) if given is None]
        for lane in self._own_lanes:
            lane.start()
        self.records: dict[str, RecordView] = {}
        self.bulk_dialog: DecisionDialog | None = None
        # The moment warnings are computed for (ISO): None = the registry's clock; set for drills and tests.
        self.warnings_at: str | None = None
        self.file_dialog: QFileDialog | None = None
        self.verification_id_dialog: VerificationIdDialog | None = None
        self.verification_dialog: Any = None   # desktop.verification.request_dialog.RequestVerificationDialog
        self._credentials: Lane | None = None

        self.queue = QueueView()
        self.warnings = WarningsView()
        self.dashboard = DashboardView()
        self.verifications = VerificationsView(self.net)
        self.interceptions = InterceptionsView(self.net)
        self.payments = PaymentsView(self.net, self.long_net)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("centralTabs")
        self.tabs.setTabsClosable(True)
        self.tabs.addTab(self.queue, self.tr("审核队列"))
        self.tabs.addTab(self.interceptions, self.tr("支付拦截"))
        self.tabs.addTab(self.payments, self.tr("代发"))
        self.tabs.addTab(self.warnings, self.tr("预警"))
        self.tabs.addTab(self.dashboard, self.tr("统计"))
        self.tabs.addTab(self.verifications, self.tr("远程核验"))
        for i in range(self.tabs.count()):   # the fixed tabs cannot be closed
            self.tabs.tabBar().setTabButton(i, self.tabs.tabBar().ButtonPosition.RightSide, None)
        self.tabs.tabCloseRequested.connect(self._close_tab)
        self.tabs.currentChanged.connect(self._tab_changed)
        self.setCentralWidget(self.tabs)

        self.run_checks_button = QPushButton(self.tr("立即比对"))
        self.run_checks_button.setObjectName("runChecks")
        self.run_checks_button.setToolTip(self.tr("对新收到的记录立即运行全部自动比对"))
        self.run_checks_button.clicked.connect(self.run_checks)
        self.tabs.setCornerWidget(self.run_checks_button, Qt.Corner.TopRightCorner)
        self.logout_action = self.menuBar().addAction(self.tr("退出登录"))
        self.logout_action.setObjectName("logoutAction")
        self.logout_action.triggered.connect(self.logout_requested)
        # 帮助: the central staff's guide (F1) and 关于; the quick card is the cadres'.
        self.help_menu = HelpMenu(self, self.operator.get("role") or "central", quick_card=False)

        self.busy = QProgressBar()
        self.busy.setObjectName("busyIndicator")
        self.busy.setRange(0, 0)   # indeterminate
        self.busy.setFixedWidth(120)
        self.busy.setMaximumHeight(14)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.operator_label = QLabel(self.tr("审核人：{user}（{role}）　登记中心：{url}").format(
            user=self.operator.get("display_name") or self.operator.get("username", ""),
            role=self._role_name(self.operator.get("role")), url=registry_url))
        self.operator_label.setObjectName("centralOperator")
        self.statusBar().addPermanentWidget(self.busy)
        self.statusBar().addPermanentWidget(self.operator_label)
        for lane in (self.net, self.long_net):
            lane.busy_changed.connect(self._busy_changed)
            lane.unhandled_error.connect(lambda e: self.statusBar().showMessage(describe(e), 10000))
            lane.opened.connect(self._net_opened)

        self.queue.refresh_requested.connect(self.refresh_queue)
        self.queue.open_record.connect(self.open_record)
        self.queue.bulk_approve_requested.connect(self.start_bulk_approve)
        self.warnings.refresh_requested.connect(self.refresh_warnings)
        self.warnings.export_requested.connect(self.ask_export)
        self.warnings.open_record.connect(self.open_record)
        self.dashboard.refresh_requested.connect(self.refresh_dashboard)
        self.verifications.create_requested.connect(self.start_verification_request)
        self.interceptions.decided.connect(self._interception_decided)
        self.payments.message.connect(lambda text: self.statusBar().showMessage(text, 15000))
        self.payments.roster_imported.connect(lambda _a: self.interceptions.refresh())
        self.resize(1366, 740)
        self.refresh_queue()
        self.refresh_dashboard()
        self.refresh_warnings()

    def _role_name(self, role: str | None) -> str:
        return {"central": self.tr("中心审核员"), "admin": self.tr("管理员")}.get(role or "", role or "")

    def _busy_changed(self, _n: int) -> None:
        self.busy.setVisible(self.net.pending() + self.long_net.pending() > 0)

    def _net_opened(self, ok: int, error: Any) -> None:
        if not ok:
            self.statusBar().showMessage(describe(error), 15000)

    def _failed(self, what: str):
        def report(error: BaseException) -> None:
            self.statusBar().showMessage(self.tr("{what}失败：{reason}").format(what=what, reason=describe(error)), 15000)
        return report

    # -- queue
    def refresh_queue(self) -> None:
        f = self.queue.current_filter()
        (self.net.op(lambda c: c.queue(f)).success(self._queue_arrived)
         .failure(self._queue_failed).run())

    def _queue_arrived(self, answer: dict[str, Any]) -> None:
        self.queue.count_label.setStyleSheet("")
        self.queue.show_items(answer)
        self.queue_loaded.emit(len(answer.get("items") or []))

    def _queue_failed(self, error: BaseException) -> None:
        self.queue.count_label.setStyleSheet("color: #c62828;")
        self.queue.count_label.setText(describe(error))

    # -- records
    def open_record(self, record_id: str) -> RecordView:
        view = self.records.get(record_id)
        if view is None:
            view = RecordView(self.net, record_id, self.operator)
            view.decided.connect(self._record_decided)
            view.loaded.connect(lambda rid: self._retitle(rid))
            view.open_verification.connect(self.open_verification)
            self.records[record_id] = view
            self.tabs.addTab(view, self.tr("记录"))
            view.load()
        self.tabs.setCurrentWidget(view)
        return view

    def _retitle(self, record_id: str) -> None:
        view = self.records.get(record_id)
        if view is None:
            return
        name = ((view.detail.get("record") or {}).get("payload") or {}).get("name") or self.tr("记录")
        self.tabs.setTabText(self.tabs.indexOf(view), name)

    def _record_decided(self, _record_id: str, state: str) -> None:
        from .labels import state_name

        self.statusBar().showMessage(self.tr("已保存审核结果：{state}").format(state=state_name(state)), 8000)
        self.refresh_queue()

    def _close_tab(self, index: int) -> None:
        view = self.tabs.widget(index)
        if isinstance(view, RecordView):
            self.records.pop(view.record_id, None)
            self.tabs.removeTab(index)
            view.deleteLater()

    def _tab_changed(self, index: int) -> None:
        widget = self.tabs.widget(index)
        if widget is self.warnings:
            self.refresh_warnings()
        elif widget is self.dashboard:
            self.refresh_dashboard()
        elif widget is self.verifications:
            self.verifications.refresh()
        elif widget is self.interceptions:
            self.interceptions.refresh()
        elif widget is self.payments:
            self.payments.refresh()

    def _interception_decided(self, answer: dict[str, Any]) -> None:
        from .payment_labels import entitlement_state_name

        self.statusBar().showMessage(self.tr("已保存：{state}").format(
            state=entitlement_state_name(answer.get("state"))), 8000)

    # -- bulk approval
    def start_bulk_approve(self, items: list[dict[str, Any]]) -> DecisionDialog:
        summary = self.tr("批准以下 {n} 条“{cleared}”记录：").format(
            n=len(items), cleared=review_state_name(ReviewState.CLEARED))
        names = "、".join(str(i.get("name") or i.get("id_number_masked") or "") for i in items[:8])
        if len(items) > 8:
            names += self.tr(" 等")
        self.bulk_dialog = DecisionDialog("bulk_approve", summary + "\n" + names, "", self)
        self.bulk_dialog.submitted.connect(
            lambda _a, reason, password: self._send_bulk(items, reason, password))
        self.bulk_dialog.open()
        return self.bulk_dialog

    def _send_bulk(self, items: list[dict[str, Any]], reason: str, password: str) -> None:
        chosen = [{"record_id": i["record_id"], "version": i["version"]} for i in items]
        (self.net.op(lambda c: c.bulk_approve(chosen, password, reason or None))
         .success(self._bulk_done).failure(self._bulk_failed).run())

    def _bulk_done(self, answer: dict[str, Any]) -> None:
        if self.bulk_dialog is not None:
            self.bulk_dialog.accept()
            self.bulk_dialog = None
        approved = answer.get("approved") or []
        skipped = answer.get("skipped") or []
        text = self.tr("已批准 {n} 条").format(n=len(approved))
        if skipped:
            reasons = "；".join(sorted({describe(str(s.get("code") or "")) for s in skipped}))
            text += self.tr("，跳过 {m} 条：{reasons}").format(m=len(skipped), reasons=reasons)
        self.statusBar().showMessage(text, 15000)
        self.bulk_done.emit(answer)
        self.refresh_queue()

    def _bulk_failed(self, error: BaseException) -> None:
        if self.bulk_dialog is not None:
            self.bulk_dialog.show_error(describe(error))
        else:
            show_error(self, error)

    # -- warnings and the report
    def refresh_warnings(self) -> None:
        at = self.warnings_at
        (self.net.op(lambda c: c.warnings(at)).success(self._warnings_arrived)
         .failure(self._failed(self.tr("读取预警"))).run())

    def _warnings_arrived(self, answer: dict[str, Any]) -> None:
        self.warnings.show_warnings(answer)
        self.warnings_loaded.emit(len(answer.get("items") or []))

    def ask_export(self, fmt: str) -> QFileDialog:
        """A save dialog (window-modal, never blocking the event loop); the chosen path gets the report."""
        suffix = "pdf" if fmt == "pdf" else "csv"
        dialog = QFileDialog(self, self.tr("保存督办报告"))
        dialog.setObjectName("reportSaveDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix(suffix)
        dialog.setNameFilter(self.tr("PDF 文件 (*.pdf)") if fmt == "pdf" else self.tr("CSV 文件 (*.csv)"))
        dialog.selectFile(f"督办报告.{suffix}")
        dialog.fileSelected.connect(lambda path: self.export_report(fmt, path))
        self.file_dialog = dialog
        dialog.open()
        return dialog

    def export_report(self, fmt: str, path: str) -> None:
        """Fetch the escalation report and write it to ``path`` (both on the long lane: a big report
        takes a while to render at the registry)."""
        if not path:
            return
        at = self.warnings_at
        fetch = (lambda c: c.report_pdf(at)) if fmt == "pdf" else (lambda c: c.report_csv(at))
        (self.long_net.op(lambda c: _write_file(path, fetch(c)))
         .success(self._report_saved).failure(lambda e: show_error(self, e)).run())

    def _report_saved(self, path: str) -> None:
        self.statusBar().showMessage(self.tr("督办报告已保存：{path}").format(path=path), 15000)
        self.report_saved.emit(path)

    # -- dashboard and checks
    def refresh_dashboard(self) -> None:
        (self.net.op(lambda c: c.dashboard()).success(self._dashboard_arrived)
         .failure(self._failed(self.tr("读取统计"))).run())
        (self.net.op(lambda c: c.payment_dashboard()).success(self._payment_dashboard_arrived)
         .failure(lambda e: self.dashboard.show_payments_error(describe(e))).run())

    def _payment_dashboard_arrived(self, d: dict[str, Any]) -> None:
        self.dashboard.show_payments(d)
        self.payment_dashboard_loaded.emit()

    def _dashboard_arrived(self, d: dict[str, Any]) -> None:
        self.dashboard.show_dashboard(d)
        self.queue.set_villages(d.get("by_village") or [])
        self.warnings.village_names = {str(v.get("village_code")): str(v["village_name"])
                                       for v in d.get("by_village") or [] if v.get("village_name")}
        self.verifications.set_villages(d.get("by_village") or [])
        self.interceptions.set_villages(d.get("by_village") or [])
        self.dashboard_loaded.emit()

    def run_checks(self) -> None:
        self.run_checks_button.setEnabled(False)
        self.statusBar().showMessage(self.tr("正在比对…"))

        def done(summary: dict[str, Any]) -> None:
            self.run_checks_button.setEnabled(True)
            # The run summary counts records per state they were routed to, keyed by the state.
            self.statusBar().showMessage(self.tr("比对完成：检查 {c} 条，{review} {n} 条，{clear} {k} 条").format(
                c=summary.get(ReviewState.CHECKED, 0), review=review_state_name(ReviewState.NEEDS_REVIEW),
                n=summary.get(ReviewState.NEEDS_REVIEW, 0), clear=review_state_name(ReviewState.CLEARED),
                k=summary.get(ReviewState.CLEARED, 0)), 15000)
            self.refresh_queue()
            self.checks_done.emit(summary)

        def failed(error: BaseException) -> None:
            self.run_checks_button.setEnabled(True)
            self.checks_done.emit(error)
            show_error(self, error)

        # The long lane: a run over many records may take minutes (read timeout 600 s).
        self.long_net.op(lambda c: c.run_checks()).success(done).failure(failed).run()

    # -- remote verification
    def open_verification(self, request_id: str) -> VerificationsView:
        """The 远程核验 tab with this request's decision and evidence (from a record's finding)."""
        self.tabs.setCurrentWidget(self.verifications)   # refreshes the list
        self.verifications.open_request(request_id)
        return self.verifications

    def start_verification_request(self) -> VerificationIdDialog:
        """发起远程核验: the ID number first, then the laptop's request dialog (link, SMS text, QR code)."""
        dialog = VerificationIdDialog(self)
        dialog.chosen.connect(self._ask_registry_for_link)
        self.verification_id_dialog = dialog
        dialog.open()
        return dialog

    def _ask_registry_for_link(self, id_number: str) -> None:
        from desktop.verification.request_dialog import RequestVerificationDialog

        if self._credentials is None:
            # The dialog asks its owner for the address and the token on the owner's lane (the laptop's
            # store); here they are the window's own, handed over by a lane of their own.
            url, token = self.registry_url, self._token
            self._credentials = Lane("central-credentials", lambda: _Credentials(url, token), self)
            self._credentials.start()
        dialog = RequestVerificationDialog(self._credentials, {"id_number": id_number, "name": ""}, self)
        dialog.created.connect(self._verification_created)
        self.verification_dialog = dialog
        dialog.open()

    def _verification_created(self, created: Any) -> None:
        self.statusBar().showMessage(self.tr("已生成核验链接"), 8000)
        if self.tabs.currentWidget() is self.verifications:
            self.verifications.refresh()
        self.verifications.open_request(str(created.request["request"]))
        self.verification_created.emit(created)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        self.help_menu.close_windows()
        self.verifications.detail.close_clip()   # a clip's temp file goes with its player
        for lane in self._own_lanes:
            lane.shutdown()
        if self._credentials is not None:
            self._credentials.shutdown()
            self._credentials = None
