"""发放失败: the village's payments the bank returned, so the cadre can help the resident put it right.

The registry sends each payment line that failed at the bank to its village's laptops (protocol v6,
``payment_failure``) and follows it until it is paid. The resident gets no SMS for a failure (their card is
the problem); the cadre does: who, which subsidy and period, how much, what the bank said, and what to do
(activate the card, correct the name, a new card when the account was closed). Those still waiting for the
resident's help come first and are highlighted; a line sent again or paid on the retry stays in the list
with its new state, so the cadre sees the help worked.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

import resources
from enrollment.errors import mask_id_number
from enrollment.vocabulary import EntitlementState, PaymentLineState

from .errors import describe
from .review_labels import subsidy_names
from .store_worker import StoreOwner
from .ui import yuan as yuan_text

NEEDS_HELP_BACKGROUND = "#fff3e0"
COLUMNS = ("状态", "姓名", "身份证号码", "补贴项目", "期别", "金额（元）", "银行说明", "社保卡", "请您协助")
COL_STATE, COL_NAME, COL_ID, COL_ITEM, COL_PERIOD, COL_AMOUNT, COL_BANK, COL_CARD, COL_TODO = range(len(COLUMNS))


def period_text(period: str) -> str:
    """``"201906"`` → ``"2019年06期"`` (the bank's SMS says 第201906期)."""
    p = str(period or "")
    return QCoreApplication.translate("payments", "{year}年{month}期").format(year=p[:4], month=p[4:]) \
        if len(p) == 6 and p.isdigit() else p


def bank_wording() -> dict[str, str]:
    """The bank reason codes' wording from ``resources/payments/bank_reasons.json`` (the registry's mapping)."""
    try:
        raw = json.loads(resources.path("payments", "bank_reasons.json").read_text(encoding="utf-8"))
        out = {str(r["code"]): str(r["wording"]) for r in raw["reasons"]}
        out[str(raw["other"]["code"])] = str(raw["other"]["wording"])
        return out
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def what_to_do(row: dict[str, Any]) -> str:
    """The cadre's next step for the bank's reason, or the state the line has reached since."""
    tr = QCoreApplication.translate
    line_state, state = row.get("line_state"), row.get("state")
    if state == EntitlementState.PAID_OUT:
        return tr("payments", "已补发到账，无需处理")
    if state == EntitlementState.IN_BATCH or line_state == PaymentLineState.AT_BANK:
        return tr("payments", "已重新发放，等待银行结果")
    if line_state == PaymentLineState.REVERSED:
        return tr("payments", "银行已退回这笔钱：请陪同居民到银行查询原因")
    advice = {
        "card_inactive": tr("payments", "请提醒居民带身份证和社保卡到银行网点激活"),
        "name_mismatch": tr("payments", "请核对居民姓名与社保卡户名，由银行更正后重新发放"),
        "account_closed": tr("payments", "账户已销户：请协助居民补办社保卡，新卡信息报回后重新发放"),
        "account_frozen": tr("payments", "账户被冻结：请陪同居民到银行了解解冻办法"),
    }
    return advice.get(str(row.get("reason_code") or ""), tr("payments", "请陪同居民到银行查询原因"))


def state_text(row: dict[str, Any]) -> str:
    tr = QCoreApplication.translate
    if row.get("needs_help"):
        return tr("payments", "需协助") if row.get("line_state") != PaymentLineState.REVERSED \
            else tr("payments", "已被退回")
    if row.get("state") == EntitlementState.PAID_OUT:
        return tr("payments", "已补发")
    return tr("payments", "重新发放中")


class PaymentFailuresView(QWidget):
    """The list; ``refresh()`` reads the store through its owner (never on the UI thread)."""

    count_changed = Signal(int)   # how many still need the resident's help (the tab's title shows it)

    def __init__(self, owner: StoreOwner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.owner = owner
        self.rows: list[dict[str, Any]] = []
        self._items = subsidy_names()
        self._bank = bank_wording()

        self.summary = QLabel()
        self.summary.setObjectName("paymentFailuresSummary")
        self.summary.setWordWrap(True)
        refresh = QPushButton(self.tr("刷新"))
        refresh.clicked.connect(self.refresh)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(refresh)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("paymentFailuresTable")
        self.table.setHorizontalHeaderLabels([self.tr(c) for c in COLUMNS])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(True)
        h = self.table.horizontalHeader()
        for col in range(len(COLUMNS)):
            h.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        h.setSectionResizeMode(COL_TODO, QHeaderView.ResizeMode.Stretch)
        hint = QLabel(self.tr("银行退回的补贴不会给居民发短信，请您联系居民：按“请您协助”一栏办理后，"
                              "银行报回新的卡信息，登记中心会重新发放；结果在下次同步后显示在这里。"))
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #555;")

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(hint)

    @Slot()
    def refresh(self) -> None:
        (self.owner.op(lambda store: store.payment_failures())
         .success(self._show).failure(lambda e: self.summary.setText(describe(e))).run())

    def _show(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        waiting = [r for r in rows if r.get("needs_help")]
        if not rows:
            self.summary.setText(self.tr("本村没有被银行退回的补贴。"))
        else:
            self.summary.setText(self.tr("需协助 {n} 笔，共 {yuan} 元；已重新发放或已补发 {m} 笔。").format(
                n=len(waiting), yuan=yuan_text(sum(int(r["amount_fen"]) for r in waiting)),
                m=len(rows) - len(waiting)))
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            bank = self._bank.get(str(r.get("reason_code") or ""), "")
            if r.get("bank_reason") and r.get("bank_reason") not in bank:
                bank = f"{bank}（{r['bank_reason']}）" if bank else str(r["bank_reason"])
            if not bank and r.get("line_state") == PaymentLineState.REVERSED:
                bank = self.tr("银行冲正，钱已退回")
            values = [state_text(r), r.get("name") or "", mask_id_number(r.get("id_number") or ""),
                      self._items.get(r.get("item") or "", r.get("item") or ""), period_text(r.get("period") or ""),
                      yuan_text(int(r["amount_fen"])), bank, r.get("card") or "", what_to_do(r)]
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                if col == COL_AMOUNT:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if r.get("needs_help"):
                    item.setBackground(QBrush(QColor(NEEDS_HELP_BACKGROUND)))
                if col == COL_BANK and r.get("department"):
                    item.setToolTip(self.tr("发放部门：{d}").format(d=r["department"]))
                self.table.setItem(i, col, item)
        self.count_changed.emit(len(waiting))
