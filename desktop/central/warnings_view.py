"""预警: records past their limits (yellow, red) and the escalation report (PDF/CSV)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
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

from enrollment.vocabulary import Light

from .labels import dot_icon, light_name, state_name, warning_reason_name

LIGHT_ORDER = {Light.RED: 0, Light.YELLOW: 1, Light.NONE: 2}


class WarningsView(QWidget):
    """Emits ``refresh_requested``, ``export_requested(fmt)`` ("pdf"/"csv") and ``open_record(record_id)``."""

    refresh_requested = Signal()
    export_requested = Signal(str)
    open_record = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("warningsView")
        self.items: list[dict[str, Any]] = []
        self.village_names: dict[str, str] = {}   # code → name, from the dashboard's per-village list
        self.summary_label = QLabel()
        self.summary_label.setObjectName("warningsSummary")
        self.summary_label.setWordWrap(True)
        self.refresh_button = QPushButton(self.tr("刷新"))
        self.refresh_button.setObjectName("warningsRefresh")
        self.pdf_button = QPushButton(self.tr("导出督办报告（PDF）"))
        self.pdf_button.setObjectName("exportPdf")
        self.csv_button = QPushButton(self.tr("导出督办报告（CSV）"))
        self.csv_button.setObjectName("exportCsv")
        self.refresh_button.clicked.connect(self.refresh_requested)
        self.pdf_button.clicked.connect(lambda: self.export_requested.emit("pdf"))
        self.csv_button.clicked.connect(lambda: self.export_requested.emit("csv"))
        top = QHBoxLayout()
        top.addWidget(self.summary_label, 1)
        top.addWidget(self.refresh_button)
        top.addWidget(self.pdf_button)
        top.addWidget(self.csv_button)

        headers = [self.tr("预警"), self.tr("原因"), self.tr("状态"), self.tr("村"), self.tr("身份证号"),
                   self.tr("起始时间"), self.tr("已过小时"), self.tr("变黄时间"), self.tr("变红时间"), self.tr("登记人")]
        self.table = QTableWidget(0, len(headers))
        self.table.setObjectName("warningsTable")
        self.table.setHorizontalHeaderLabels(headers)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.cellDoubleClicked.connect(self._double_clicked)

        v = QVBoxLayout(self)
        v.setContentsMargins(0, 6, 0, 0)
        v.addLayout(top)
        v.addWidget(self.table, 1)
        # An empty table alone reads as "not loaded": say that nothing is late.
        self.empty_label = QLabel()
        self.empty_label.setObjectName("warningsEmpty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: #1a7f37; padding: 12px;")
        self.empty_label.hide()
        v.addWidget(self.empty_label)

    def show_warnings(self, answer: dict[str, Any]) -> None:
        items = sorted(answer.get("items") or [],
                       key=lambda i: (LIGHT_ORDER.get(i.get("light") or Light.NONE, 3), str(i.get("since") or "")))
        self.items = items
        red = sum(1 for i in items if i.get("light") == Light.RED)
        yellow = sum(1 for i in items if i.get("light") == Light.YELLOW)
        limits = answer.get("limits") or {}
        text = self.tr("红灯 {red} 条，黄灯 {yellow} 条（截至 {at}）").format(
            red=red, yellow=yellow, at=str(answer.get("at") or "")[:16].replace("T", " "))
        if limits:
            text += "\n" + self.tr("规则：收到后 {u} 小时未处理、批准后 {i} 小时未发卡变黄；再过 {r} 小时变红。红灯记录列入督办报告。").format(
                u=limits.get("unhandled_yellow_hours", "?"), i=limits.get("unissued_yellow_hours", "?"),
                r=limits.get("red_after_hours", "?"))
        self.summary_label.setText(text)
        self.empty_label.setText(self.tr("暂无预警：没有超过时限未处理或未发卡的记录"))
        self.empty_label.setVisible(not items)
        self.table.setRowCount(len(items))
        for r, w in enumerate(items):
            light = w.get("light") or Light.NONE
            first = QTableWidgetItem(light_name(light))
            first.setIcon(dot_icon(light))
            cells = [first] + [QTableWidgetItem(t) for t in (
                warning_reason_name(w.get("reason")), state_name(w.get("state")),
                self.village_names.get(str(w.get("village_code") or "")) or str(w.get("village_code") or ""),
                str(w.get("id_number_masked") or ""), _when(w.get("since")), str(w.get("hours_open") or ""),
                _when(w.get("yellow_at")), _when(w.get("red_at")), str(w.get("operator") or ""))]
            for c, cell in enumerate(cells):
                self.table.setItem(r, c, cell)

    def _double_clicked(self, row: int, _col: int) -> None:
        if 0 <= row < len(self.items) and self.items[row].get("record_id"):
            self.open_record.emit(str(self.items[row]["record_id"]))


def _when(value: Any) -> str:
    return str(value or "")[:16].replace("T", " ")
