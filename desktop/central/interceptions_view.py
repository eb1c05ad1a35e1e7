"""支付拦截: the lines of the departments' payment rosters that a check stopped, waiting for a person.

The list (部门, 项目, 期别, 金额, 姓名, masked ID, 村, 拦截原因) with filters, and beside it the selected
line's evidence (which dataset row and rule, the other department's line of a duplicate, the card), the
full ID number (only here: the registry audits that read) and its history. 放行 / 不予发放 ask a reason and
the password again (``DecisionDialog``); the registry re-checks the password. Every registry call goes
through the lane (``net.op``), results come back on the UI thread.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.errors import describe
from enrollment.vocabulary import EntitlementState

from .dialogs import DecisionDialog
from .labels import INTERCEPT_COLOUR, beijing_minute, subsidy_names
from .payment_labels import (
    card_status_name,
    entitlement_state_name,
    evidence_lines,
    finding_reason,
    item_name,
    line_state_name,
    reasons_text,
    yuan,
)
from .rows_model import RowsModel, rows_table

OPEN, DECIDED = "open", "decided"


class InterceptionsModel(RowsModel):
    COLUMNS = ("department", "item", "period", "amount_fen", "name", "id_number_masked", "village_code", "findings",
               "state")

    def headers(self) -> tuple[str, ...]:
        return (self.tr("部门"), self.tr("项目"), self.tr("期别"), self.tr("金额（元）"), self.tr("姓名"),
                    self.tr("身份证号"), self.tr("村"), self.tr("拦截原因"), self.tr("状态"))

    def styled(self, item: dict[str, Any], col: str, role: int) -> Any:
        if role == Qt.ItemDataRole.TextAlignmentRole and col == "amount_fen":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and col == "findings":
            return QBrush(QColor(INTERCEPT_COLOUR))
        if role == Qt.ItemDataRole.ToolTipRole and col == "findings":
            return "\n".join(finding_reason(f) + ("：" + str(f.get("summary")) if f.get("summary") else "")
                             for f in item.get("findings") or [])
        return None

    def display(self, item: dict[str, Any], col: str) -> str:
        if col == "item":
            return item_name(item.get("item"), item.get("item_name"))
        if col == "amount_fen":
            return yuan(item.get("amount_fen"))
        if col == "findings":
            return reasons_text(item.get("findings") or [], short=True)
        if col == "state":
            return entitlement_state_name(item.get("state"))
        if col == "village_code":
            return self.village(item.get(col))
        return str(item.get(col) or "")


class InterceptionsView(QWidget):
    """Emits ``decided(answer)`` after a decision reached the registry, ``loaded(n)`` after each list."""

    decided = Signal(object)
    loaded = Signal(int)
    detail_loaded = Signal(object)

    def __init__(self, net: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("interceptionsView")
        self.net = net
        self.total = 0
        self.detail: dict[str, Any] = {}
        self.decision_dialog: DecisionDialog | None = None

        self.status_combo = QComboBox()
        self.status_combo.setObjectName("interceptStatus")
        self.status_combo.addItem(self.tr("待处理"), OPEN)
        self.status_combo.addItem(self.tr("已处理"), DECIDED)
        self.department_combo = QComboBox()
        self.department_combo.setObjectName("interceptDepartment")
        self.department_combo.addItem(self.tr("全部部门"), "")
        self.item_combo = QComboBox()
        self.item_combo.setObjectName("interceptItem")
        self.item_combo.addItem(self.tr("全部项目"), "")
        for code, name in subsidy_names().items():
            self.item_combo.addItem(name, code)
        self.period_edit = QLineEdit()
        self.period_edit.setObjectName("interceptPeriod")
        self.period_edit.setPlaceholderText(self.tr("期别，如 202612"))
        self.period_edit.setMaxLength(6)
        self.period_edit.setClearButtonEnabled(True)
        self.period_edit.setFixedWidth(150)
        self.refresh_button = QPushButton(self.tr("刷新"))
        self.refresh_button.setObjectName("interceptRefresh")
        filters = QHBoxLayout()
        for w in (self.status_combo, self.department_combo, self.item_combo, self.period_edit):
            filters.addWidget(w)
        filters.addStretch(1)
        filters.addWidget(self.refresh_button)

        self.model = InterceptionsModel(self)
        self.table = rows_table(self.model, "interceptTable", QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(InterceptionsModel.COLUMNS.index("findings"),
                                                           QHeaderView.ResizeMode.Stretch)
        self.table.setColumnHidden(InterceptionsModel.COLUMNS.index("state"), True)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.count_label = QLabel()
        self.count_label.setObjectName("interceptCount")
        self.empty_label = QLabel()
        self.empty_label.setObjectName("interceptEmpty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet("color: #1a7f37; padding: 12px;")
        self.empty_label.hide()
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.table, 1)
        lv.addWidget(self.empty_label)
        lv.addWidget(self.count_label)

        self.detail_title = QLabel(self.tr("请在左侧选择一条拦截记录"))
        self.detail_title.setObjectName("interceptDetailTitle")
        self.detail_title.setWordWrap(True)
        self.detail_title.setStyleSheet("font-size: 12pt; font-weight: bold;")
        self.detail_text = QPlainTextEdit()
        self.detail_text.setObjectName("interceptEvidence")
        self.detail_text.setReadOnly(True)
        self.release_button = QPushButton(self.tr("放行"))
        self.release_button.setObjectName("interceptRelease")
        self.release_button.setToolTip(self.tr("核实无误，允许发放（需填写理由并再次输入密码）"))
        self.reject_button = QPushButton(self.tr("不予发放"))
        self.reject_button.setObjectName("interceptReject")
        self.reject_button.setToolTip(self.tr("核实后此行不发放（需填写理由并再次输入密码）"))
        for b in (self.release_button, self.reject_button):
            b.setEnabled(False)
        self.release_button.clicked.connect(lambda: self.ask_decision("release"))
        self.reject_button.clicked.connect(lambda: self.ask_decision("reject"))
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.reject_button)
        buttons.addWidget(self.release_button)
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(6, 0, 0, 0)
        rv.addWidget(self.detail_title)
        rv.addWidget(self.detail_text, 1)
        rv.addLayout(buttons)

        self.splitter = QSplitter()
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([920, 440])
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 6, 0, 0)
        v.addLayout(filters)
        v.addWidget(self.splitter, 1)

        for combo in (self.status_combo, self.department_combo, self.item_combo):
            combo.currentIndexChanged.connect(lambda _i: self.refresh())
        self.period_edit.editingFinished.connect(self.refresh)
        self.refresh_button.clicked.connect(self.refresh)

    # -- the list
    def refresh(self) -> None:
        status, dept = self.status_combo.currentData(), self.department_combo.currentData() or ""
        item, period = self.item_combo.currentData() or "", self.period_edit.text().strip()
        (self.net.op(lambda c: c.interceptions(status, dept, item, period, limit=500))
         .success(self.show_items).failure(self._list_failed).run())
        self.net.op(lambda c: c.entitlement_imports(limit=200)).success(self._imports_arrived).failure(
            lambda _e: None).run()

    def _list_failed(self, error: BaseException) -> None:
        self.count_label.setStyleSheet("color: #c62828;")
        self.count_label.setText(describe(error))

    def _imports_arrived(self, answer: dict[str, Any]) -> None:
        """The department filter lists every department that sent a roster (kept as chosen)."""
        departments = sorted({str(i.get("department") or "") for i in answer.get("imports") or []} - {""})
        current = self.department_combo.currentData()
        known = [self.department_combo.itemData(i) for i in range(1, self.department_combo.count())]
        if departments == known:
            return
        self.department_combo.blockSignals(True)
        self.department_combo.clear()
        self.department_combo.addItem(self.tr("全部部门"), "")
        for d in departments:
            self.department_combo.addItem(d, d)
        self.department_combo.setCurrentIndex(max(self.department_combo.findData(current), 0))
        self.department_combo.blockSignals(False)

    def set_villages(self, villages: list[dict[str, Any]]) -> None:
        self.model.village_names = {str(v.get("village_code")): str(v["village_name"])
                                    for v in villages if v.get("village_name")}
        self.model.layoutChanged.emit()

    def show_items(self, answer: dict[str, Any]) -> None:
        chosen = self.detail.get("entitlement_id")
        items = answer.get("items") or []
        self.total = int(answer.get("total") or len(items))
        self.model.set_items(items)
        self.table.setColumnHidden(InterceptionsModel.COLUMNS.index("state"), self.status_combo.currentData() == OPEN)
        self.count_label.setStyleSheet("")
        text = self.tr("共 {n} 条，合计 {y} 元").format(
            n=self.total, y=yuan(sum(int(i.get("amount_fen") or 0) for i in items)))
        if len(items) < self.total:
            text += self.tr("（显示前 {shown} 条，请用筛选缩小范围）").format(shown=len(items))
        self.count_label.setText(text)
        self.empty_label.setText(self.tr("没有待处理的支付拦截") if self.status_combo.currentData() == OPEN
                                 else self.tr("没有已处理的支付拦截"))
        self.empty_label.setVisible(not items)
        row = next((r for r, i in enumerate(items) if i.get("entitlement_id") == chosen), None)
        if row is not None:
            self.table.selectRow(row)
        else:
            self._clear_detail()
        self.loaded.emit(len(items))

    def select_entitlement(self, entitlement_id: int) -> bool:
        row = next((r for r, i in enumerate(self.model.items) if i.get("entitlement_id") == entitlement_id), None)
        if row is None:
            return False
        self.table.selectRow(row)
        return True

    # -- the detail
    def _selection_changed(self, *_: object) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            self._clear_detail()
            return
        item = self.model.items[rows[0].row()]
        entitlement_id = int(item["entitlement_id"])
        self.release_button.setEnabled(False)
        self.reject_button.setEnabled(False)
        (self.net.op(lambda c: c.entitlement(entitlement_id)).success(self.show_detail)
         .failure(lambda e: self.detail_text.setPlainText(describe(e))).run())

    def _clear_detail(self) -> None:
        self.detail = {}
        self.detail_title.setText(self.tr("请在左侧选择一条拦截记录"))
        self.detail_text.clear()
        self.release_button.setEnabled(False)
        self.reject_button.setEnabled(False)

    def show_detail(self, d: dict[str, Any]) -> None:
        self.detail = d
        self.detail_title.setText(self.tr("{name}　{item}　{period}　{amount} 元").format(
            name=d.get("name") or "", item=item_name(d.get("item"), d.get("item_name")), period=d.get("period") or "",
            amount=yuan(d.get("amount_fen"))))
        self.detail_text.setPlainText("\n".join(self.detail_lines(d)))
        open_line = d.get("state") == EntitlementState.INTERCEPTED
        self.release_button.setEnabled(open_line)
        self.reject_button.setEnabled(open_line)
        self.detail_loaded.emit(d)

    def detail_lines(self, d: dict[str, Any]) -> list[str]:
        village = str(d.get("village_code") or "")
        out = [
            self.tr("身份证号码：{id}").format(id=d.get("id_number") or d.get("id_number_masked") or ""),
            self.tr("姓名：{name}　　村：{village}").format(
                name=d.get("name") or "", village=self.model.village_names.get(village) or village or self.tr("未知")),
            self.tr("发放部门：{dept}（名单第 {line} 行）　　状态：{state}").format(
                dept=d.get("department") or "", line=d.get("line") or "?", state=entitlement_state_name(d.get("state"))),
        ]
        card = d.get("card")
        if isinstance(card, dict) and card:
            out.append(self.tr("社保卡：{card}　{bank}　{status}　持卡人：{holder}").format(
                card=card.get("card_number_masked") or card.get("card_masked") or "",
                bank=card.get("bank") or "", status=card_status_name(card.get("status")),
                holder=card.get("holder") or ""))
        else:
            out.append(self.tr("社保卡：无已激活的社保卡"))
        for n, f in enumerate(d.get("findings") or [], 1):
            out.append("")
            out.append(self.tr("拦截原因 {n}：{reason}").format(n=n, reason=finding_reason(f)))
            out += ["　" + line for line in evidence_lines(f)]
        for p in d.get("payments") or []:
            reason = str(p.get("bank_reason") or "")
            out.append("")
            out.append(self.tr("发放：{ref}　{card}　{amount} 元　{state}{reason}").format(
                ref=p.get("reference") or "", card=p.get("card_number_masked") or "", amount=yuan(p.get("amount_fen")),
                state=line_state_name(p.get("state")), reason=("：" + reason) if reason else ""))
        history = d.get("history") or []
        if history:
            out.append("")
            out.append(self.tr("处理记录："))
            for h in history:
                reason = str(h.get("reason") or "")
                out.append(self.tr("　{at}　{actor}　{action}{reason}").format(
                    at=beijing_minute(h.get("at")), actor=h.get("actor") or "", action=_history_action(h.get("action")),
                    reason=("：" + reason) if reason else ""))
        return out

    # -- decisions
    def ask_decision(self, action: str) -> DecisionDialog | None:
        d = self.detail
        if not d or d.get("state") != EntitlementState.INTERCEPTED:
            return None
        title = self.tr("放行") if action == "release" else self.tr("不予发放")
        summary = self.tr("{title}：{dept} {item} {period}　{name}　{amount} 元").format(
            title=title, dept=d.get("department") or "", item=item_name(d.get("item"), d.get("item_name")),
            period=d.get("period") or "", name=d.get("name") or "", amount=yuan(d.get("amount_fen")))
        dialog = DecisionDialog(action, summary, "", self, title=title, needs_reason=True, needs_password=True)
        dialog.reason_edit.setPlaceholderText(
            self.tr("理由（必填，最多200字），如：已核实车辆为农用车，符合发放条件") if action == "release"
            else self.tr("理由（必填，最多200字），如：已核实本人已于2025年去世"))
        dialog.resize(560, 340)
        entitlement_id = int(d["entitlement_id"])
        dialog.submitted.connect(lambda a, reason, pw: self._send(entitlement_id, a, reason, pw))
        self.decision_dialog = dialog
        dialog.open()
        return dialog

    def _send(self, entitlement_id: int, action: str, reason: str, password: str) -> None:
        (self.net.op(lambda c: c.decide_entitlement(entitlement_id, action, reason, password))
         .success(self._decided).failure(self._decision_failed).run())

    def _decided(self, answer: dict[str, Any]) -> None:
        if self.decision_dialog is not None:
            self.decision_dialog.accept()
            self.decision_dialog = None
        self.detail = {}
        self.decided.emit(answer)
        self.refresh()

    def _decision_failed(self, error: BaseException) -> None:
        if self.decision_dialog is not None:
            self.decision_dialog.show_error(describe(error))


def _history_action(action: str | None) -> str:
    from PySide6.QtCore import QCoreApplication

    def t(text: str) -> str:
        return QCoreApplication.translate("central", text)

    names = {"entitlements.imported": t("随名单导入"), "entitlement.released": t("放行"),
             "entitlement.rejected": t("不予发放"), "entitlement.viewed": t("查看完整身份证号"),
             "payments.batch_built": t("编入发放批次"), "payments.line_reversed": t("银行冲正")}
    return names.get(action or "") or str(action or "")
