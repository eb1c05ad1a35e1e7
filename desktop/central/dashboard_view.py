"""统计: the central dashboard — numbers and bar charts drawn with QPainter.

PySide6-Essentials ships no QtCharts, so ``BarChart`` draws grouped horizontal bars itself:
a label per row (Chinese names are long, so they sit left of the bars), one bar per series,
the value at the end of each bar, a legend on top.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from enrollment.vocabulary import FindingKind, Light

from .labels import LIGHT_COLOURS, kind_name, light_name

INTERCEPT = "#d32f2f"
FLAG = "#f2a600"
GREY = "#9aa5b1"
BLUE = "#1d5fb4"
GREEN = "#2e7d32"


class BarChart(QWidget):
    """Grouped horizontal bars: ``set_data(rows, series)`` with rows [(label, [v per series])],
    series [(name, colour)]."""

    ROW_PAD = 6
    BAR_H = 14

    def __init__(self, title: str, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.title = title
        self.rows: list[tuple[str, list[float]]] = []
        self.series: list[tuple[str, str]] = []
        self.empty_text = self.tr("暂无数据")
        self.bar_colours: list[str] | None = None   # one colour per row (single-series charts)
        self.value_text = _num                       # how a bar's value is written (amounts: fen as 元)
        self._rows_top = 0.0                         # where the first row was painted (for the hover text)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)

    def set_data(self, rows: list[tuple[str, list[float]]], series: list[tuple[str, str]]) -> None:
        self.rows, self.series = rows, series
        self.setMinimumHeight(self.sizeHint().height())
        self.updateGeometry()
        self.update()

    def _row_h(self) -> int:
        return max(1, len(self.series)) * (self.BAR_H + 2) + self.ROW_PAD

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        fm = QFontMetrics(self.font())
        head = fm.height() * 2 + 16
        return QSize(460, head + max(1, len(self.rows)) * self._row_h() + 12)

    def row_tip(self, y: float) -> str:
        """The whole label and its values of the row at height ``y`` (a long rule name is cut on screen)."""
        i = int((y - self._rows_top) // self._row_h()) if y >= self._rows_top else -1
        if not 0 <= i < len(self.rows):
            return ""
        label, values = self.rows[i]
        names = [n for n, _ in self.series]
        parts = [f"{names[k]} {self.value_text(v)}" if k < len(names) else self.value_text(v)
                 for k, v in enumerate(values)]
        return label + "\n" + "，".join(parts)

    def event(self, e: QEvent) -> bool:
        if e.type() == QEvent.Type.ToolTip:
            tip = self.row_tip(e.pos().y())
            if tip:
                QToolTip.showText(e.globalPos(), tip, self)
            else:
                QToolTip.hideText()
                e.ignore()
            return True
        return super().event(e)

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        fm = QFontMetrics(self.font())
        w = self.width()
        p.fillRect(self.rect(), QColor("#ffffff"))
        p.setPen(QColor("#d0d7de"))
        p.drawRect(self.rect().adjusted(0, 0, -1, -1))
        # title
        title_font = self.font()
        title_font.setBold(True)
        p.setFont(title_font)
        p.setPen(QColor("#222222"))
        p.drawText(QRectF(10, 6, w - 20, fm.height() + 4), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                   self.title)
        p.setFont(self.font())
        # legend (a chart colouring each row itself needs none)
        x = 10.0
        y = 8 + fm.height() + 4
        for name, colour in ([] if self.bar_colours else self.series):
            p.fillRect(QRectF(x, y + 3, 12, 12), QColor(colour))
            p.setPen(QColor("#444444"))
            tw = fm.horizontalAdvance(name)
            p.drawText(QRectF(x + 16, y, tw + 4, fm.height() + 2), Qt.AlignmentFlag.AlignVCenter, name)
            x += 16 + tw + 18
        top = y + fm.height() + 8
        self._rows_top = top
        if not self.rows:
            p.setPen(QColor("#888888"))
            p.drawText(QRectF(10, top, w - 20, 30), Qt.AlignmentFlag.AlignCenter, self.empty_text)
            p.end()
            return
        label_w = min(max(fm.horizontalAdvance(label) for label, _ in self.rows) + 12, int(w * 0.5))
        biggest = max((v for _, vals in self.rows for v in vals), default=0) or 1
        value_w = fm.horizontalAdvance(self.value_text(biggest)) + 10
        bar_x = 10 + label_w
        bar_w = max(20, w - bar_x - value_w - 12)
        row_h = self._row_h()
        for i, (label, values) in enumerate(self.rows):
            ry = top + i * row_h
            p.setPen(QColor("#333333"))
            shown = fm.elidedText(label, Qt.TextElideMode.ElideRight, label_w - 8)
            p.drawText(QRectF(10, ry, label_w - 8, row_h - self.ROW_PAD),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, shown)
            for s, value in enumerate(values):
                by = ry + s * (self.BAR_H + 2)
                length = bar_w * (float(value) / biggest)
                colour = self.series[s][1] if s < len(self.series) else GREY
                if self.bar_colours and len(self.series) == 1 and i < len(self.bar_colours):
                    colour = self.bar_colours[i]
                if value:
                    p.fillRect(QRectF(bar_x, by, max(length, 1.5), self.BAR_H), QColor(colour))
                p.setPen(QColor("#333333"))
                p.drawText(QRectF(bar_x + length + 4, by - 2, value_w + 20, self.BAR_H + 4),
                           Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self.value_text(value))
        p.end()


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


class NumberTile(QFrame):
    def __init__(self, caption: str, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setStyleSheet(f"QFrame#{name} {{ background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; }}")
        v = QVBoxLayout(self)
        v.setContentsMargins(10, 6, 10, 6)
        self.value = QLabel("—")
        self.value.setStyleSheet("font-size: 18pt; font-weight: bold; color: #1d5fb4; border: none;")
        cap = QLabel(caption)
        cap.setStyleSheet("color: #555; border: none;")
        v.addWidget(self.value)
        v.addWidget(cap)


class DashboardView(QWidget):
    refresh_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dashboardView")
        self.data: dict[str, Any] = {}
        self.tiles = {
            "residents": NumberTile(self.tr("花名册人数"), "tileResidents"),
            "enrolled": NumberTile(self.tr("已登记"), "tileEnrolled"),
            "approved": NumberTile(self.tr("已批准"), "tileApproved"),
            "cards_issued": NumberTile(self.tr("已发卡"), "tileCardsIssued"),
            "holding_rate": NumberTile(self.tr("持卡率"), "tileHoldingRate"),
            "checks_run": NumberTile(self.tr("比对次数"), "tileChecksRun"),
            "median_hours_to_decision": NumberTile(self.tr("审核用时中位数"), "tileMedianHours"),
        }
        tiles = QHBoxLayout()
        for t in self.tiles.values():
            tiles.addWidget(t)
        self.rules_chart = BarChart(self.tr("按规则：拦截与提示"), "chartRules")
        self.departments_chart = BarChart(self.tr("按部门：比对、拦截与提示"), "chartDepartments")
        self.lights_chart = BarChart(self.tr("按预警颜色：记录数"), "chartLights")
        self.villages_chart = BarChart(self.tr("按村：花名册、已登记、已批准"), "chartVillages")
        grid = QGridLayout()
        grid.addWidget(self.rules_chart, 0, 0)
        grid.addWidget(self.departments_chart, 0, 1)
        grid.addWidget(self.lights_chart, 1, 0)
        grid.addWidget(self.villages_chart, 1, 1)
        grid.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.grid_rows = ((self.rules_chart, self.departments_chart), (self.lights_chart, self.villages_chart))
        self.time_label = QLabel()
        self.time_label.setStyleSheet("color: #666;")
        self.refresh_button = QPushButton(self.tr("刷新"))
        self.refresh_button.setObjectName("dashboardRefresh")
        self.refresh_button.clicked.connect(self.refresh_requested)
        bar = QHBoxLayout()
        bar.addWidget(self.time_label, 1)
        bar.addWidget(self.refresh_button)

        # 代发 (issue 13): what was paid, how much reached the cards, what the roster checks stopped
        self.payments_title = QLabel(self.tr("代发"))
        self.payments_title.setObjectName("paymentsTitle")
        self.payments_title.setStyleSheet("font-size: 13pt; font-weight: bold; margin-top: 8px;")
        self.payments_note = QLabel()
        self.payments_note.setObjectName("paymentsNote")
        self.payments_note.setStyleSheet("color: #666;")
        self.pay_tiles = {
            "paid_count": NumberTile(self.tr("已到账笔数"), "tilePaidCount"),
            "paid_yuan": NumberTile(self.tr("已到账金额（元）"), "tilePaidYuan"),
            "success_rate": NumberTile(self.tr("发放成功率"), "tileSuccessRate"),
            "failed_count": NumberTile(self.tr("银行退回笔数"), "tileFailedCount"),
            "pending_count": NumberTile(self.tr("银行处理中笔数"), "tilePendingCount"),
            "intercepted_count": NumberTile(self.tr("支付拦截笔数"), "tileInterceptedCount"),
        }
        pay_tiles = QHBoxLayout()
        for t in self.pay_tiles.values():
            pay_tiles.addWidget(t)
        self.pay_items_chart = BarChart(self.tr("按项目：已到账金额（元）"), "chartPayItems")
        self.pay_departments_chart = BarChart(self.tr("按部门：已到账金额（元）"), "chartPayDepartments")
        for chart in (self.pay_items_chart, self.pay_departments_chart):
            chart.value_text = _yuan_of
        self.pay_rules_chart = BarChart(self.tr("支付比对按规则：比对与拦截"), "chartPayRules")
        self.pay_rule_departments_chart = BarChart(self.tr("支付比对按部门：比对与拦截"), "chartPayRuleDepartments")
        pay_grid = QGridLayout()
        pay_grid.addWidget(self.pay_items_chart, 0, 0)
        pay_grid.addWidget(self.pay_departments_chart, 0, 1)
        pay_grid.addWidget(self.pay_rules_chart, 1, 0)
        pay_grid.addWidget(self.pay_rule_departments_chart, 1, 1)
        pay_grid.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.pay_grid_rows = ((self.pay_items_chart, self.pay_departments_chart),
                              (self.pay_rules_chart, self.pay_rule_departments_chart))
        self.payments: dict[str, Any] = {}

        inner = QWidget()
        iv = QVBoxLayout(inner)
        iv.addLayout(tiles)
        iv.addLayout(grid)
        pay_head = QHBoxLayout()
        pay_head.addWidget(self.payments_title)
        pay_head.addWidget(self.payments_note, 1)
        iv.addLayout(pay_head)
        iv.addLayout(pay_tiles)
        iv.addLayout(pay_grid)
        iv.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(inner)
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 6, 0, 0)
        v.addLayout(bar)
        v.addWidget(scroll, 1)

    def show_dashboard(self, d: dict[str, Any]) -> None:
        self.data = d
        for key, tile in self.tiles.items():
            value = d.get(key)
            if key == "holding_rate" and value is not None:
                text = f"{float(value) * 100:.1f}%"
            elif key == "median_hours_to_decision":
                text = self.tr("{h} 小时").format(h=value) if value is not None else self.tr("暂无")
            else:
                text = "—" if value is None else str(value)
            tile.value.setText(text)
        rules = sorted((r for r in d.get("rules") or [] if r.get("intercepted") or r.get("flagged")),
                       key=lambda r: (-(r.get("intercepted") or 0), -(r.get("flagged") or 0)))
        self.rules_chart.set_data(
            [(_rule_label(r), [r.get("intercepted") or 0, r.get("flagged") or 0]) for r in rules],
            [(self.tr("拦截"), INTERCEPT), (self.tr("提示"), FLAG)])
        # departments whose datasets compared nothing yet would only be rows of zeros
        departments = sorted((x for x in d.get("departments") or []
                              if x.get("compared") or x.get("intercepted") or x.get("flagged")),
                             key=lambda x: (-(x.get("intercepted") or 0), -(x.get("flagged") or 0),
                                            -(x.get("compared") or 0)))
        self.departments_chart.set_data(
            [(str(x.get("department") or self.tr("（未注明）")),
              [x.get("compared") or 0, x.get("intercepted") or 0, x.get("flagged") or 0])
             for x in departments],
            [(self.tr("比对"), GREY), (self.tr("拦截"), INTERCEPT), (self.tr("提示"), FLAG)])
        lights = d.get("by_light") or {}
        # one bar per light in its own colour
        self.lights_chart.bar_colours = [LIGHT_COLOURS[k] for k in Light]
        self.lights_chart.set_data(
            [(light_name(k), [lights.get(k) or 0]) for k in Light],
            [(self.tr("记录数"), GREY)])
        self.villages_chart.set_data(
            [(str(x.get("village_name") or x.get("village_code") or ""),
              [x.get("residents") or 0, x.get("enrolled") or 0, x.get("approved") or 0])
             for x in d.get("by_village") or []],
            [(self.tr("花名册"), GREY), (self.tr("已登记"), BLUE), (self.tr("已批准"), GREEN)])
        for pair in self.grid_rows:   # charts side by side share a height, so their frames line up
            height = max(c.sizeHint().height() for c in pair)
            for c in pair:
                c.setMinimumHeight(height)
        self.time_label.setText(self.tr("数据时间：{at}").format(at=str(d.get("server_time") or "")[:16].replace("T", " ")))


    # -- 代发
    def show_payments(self, d: dict[str, Any]) -> None:
        """The registry's payment figures (``GET /api/payments/dashboard``); amounts in fen, shown as 元."""
        from .payment_labels import rule_name, yuan

        self.payments = d
        totals = d.get("totals") or {}
        paid, failed = totals.get("paid") or {}, totals.get("failed") or {}
        self.pay_tiles["paid_count"].value.setText(str(int(paid.get("count") or 0)))
        self.pay_tiles["paid_yuan"].value.setText(yuan(paid.get("fen")))
        self.pay_tiles["success_rate"].value.setText(success_rate_text(totals.get("success_rate"),
                                                                       paid.get("count"), failed.get("count")))
        self.pay_tiles["failed_count"].value.setText(str(int(failed.get("count") or 0)))
        self.pay_tiles["pending_count"].value.setText(str(int((totals.get("pending") or {}).get("count") or 0)))
        self.pay_tiles["intercepted_count"].value.setText(str(int((totals.get("intercepted") or {}).get("count") or 0)))
        self.pay_tiles["success_rate"].setToolTip(self.tr("成功率 = 到账 ÷（到账 + 银行退回），处理中的不计"))
        by_item = sorted(d.get("by_item") or [], key=lambda x: -int(x.get("paid_fen") or 0))
        self.pay_items_chart.set_data(
            [(str(x.get("item_name") or _item_name(x.get("item"))), [int(x.get("paid_fen") or 0)]) for x in by_item],
            [(self.tr("已到账金额"), GREEN)])
        by_dept = sorted(d.get("by_department") or [], key=lambda x: -int(x.get("paid_fen") or 0))
        self.pay_departments_chart.set_data(
            [(str(x.get("department") or self.tr("（未注明）")), [int(x.get("paid_fen") or 0)]) for x in by_dept],
            [(self.tr("已到账金额"), BLUE)])
        rules: dict[str, list[int]] = {}
        departments: dict[str, list[int]] = {}
        for r in d.get("rules") or []:
            compared, intercepted = int(r.get("compared") or 0), int(r.get("intercepted") or 0)
            key = str(r.get("rule") or r.get("rule_id") or "")
            for bucket, name in ((rules, key), (departments, str(r.get("department") or ""))):
                acc = bucket.setdefault(name, [0, 0])
                acc[0] += compared
                acc[1] += intercepted
        rule_rows = sorted(((rule_name(k), v) for k, v in rules.items() if v[0] or v[1]),
                           key=lambda kv: (-kv[1][1], -kv[1][0]))
        self.pay_rules_chart.set_data([(label, list(v)) for label, v in rule_rows],
                                      [(self.tr("比对"), GREY), (self.tr("拦截"), INTERCEPT)])
        dept_rows = sorted(((k or self.tr("（未注明）"), v) for k, v in departments.items() if v[0] or v[1]),
                           key=lambda kv: (-kv[1][1], -kv[1][0]))
        self.pay_rule_departments_chart.set_data([(label, list(v)) for label, v in dept_rows],
                                                 [(self.tr("比对"), GREY), (self.tr("拦截"), INTERCEPT)])
        for pair in self.pay_grid_rows:
            height = max(c.sizeHint().height() for c in pair)
            for c in pair:
                c.setMinimumHeight(height)
        self.payments_note.setText(self.tr("数据时间：{at}").format(
            at=str(d.get("server_time") or "")[:16].replace("T", " ")))

    def show_payments_error(self, text: str) -> None:
        self.payments_note.setText(self.tr("无法读取代发统计：{why}").format(why=text))


def success_rate_text(rate: Any, paid: Any = None, failed: Any = None) -> str:
    """``"0.9957"`` → ``99.57%`` (decimal arithmetic, no float); without the registry's rate, from the counts
    (rounded half up to 0.01 %); ``暂无`` before any line has the bank's result."""
    from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

    from PySide6.QtCore import QCoreApplication

    if rate not in (None, ""):
        try:
            return f"{(Decimal(str(rate)) * 100).quantize(Decimal('0.01'), ROUND_HALF_UP)}%"
        except InvalidOperation:
            return str(rate)
    p, f = int(paid or 0), int(failed or 0)
    if p + f == 0:
        return QCoreApplication.translate("DashboardView", "暂无")
    basis = (p * 20000 + (p + f)) // (2 * (p + f))   # hundredths of a percent, rounded half up
    return f"{basis // 100}.{basis % 100:02d}%"


def _yuan_of(fen: float) -> str:
    from .payment_labels import yuan

    return yuan(int(fen))


def _item_name(code: Any) -> str:
    from .payment_labels import item_name

    return item_name(code)


def _rule_label(r: dict[str, Any]) -> str:
    rule_id = str(r.get("rule_id") or "")
    kind = str(r.get("kind") or "")
    if kind and kind != FindingKind.DATASET_RULE and (not rule_id or rule_id == kind):
        return kind_name(kind)
    return str(r.get("name") or r.get("rule_name") or rule_names().get(rule_id) or rule_id)


_RULE_NAMES: dict[str, str] | None = None


def rule_names() -> dict[str, str]:
    """Rule id → name from resources/rules/subsidy_rules.json (the dashboard answer carries ids only)."""
    global _RULE_NAMES
    if _RULE_NAMES is None:
        import json

        import resources

        _RULE_NAMES = {}
        try:
            data = json.loads(resources.path("rules", "subsidy_rules.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return _RULE_NAMES
        rules = data.get("rules") if isinstance(data, dict) else data
        for r in rules or []:
            if isinstance(r, dict) and r.get("id") and r.get("name"):
                _RULE_NAMES[str(r["id"])] = str(r["name"])
    return _RULE_NAMES
