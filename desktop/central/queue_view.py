"""审核队列: the records waiting for central review, with filters, lights and bulk approval."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from enrollment.vocabulary import Light, ReviewState
from sync.central import QueueFilter

from .labels import (
    FINDING_KINDS,
    FLAG_COLOUR,
    INTERCEPT_COLOUR,
    LIGHTS,
    QUEUE_STATES,
    STATE_COLOURS,
    dot_icon,
    kind_short,
    light_name,
    severity_name,
    state_name,
)
from .rows_model import RowsModel, rows_table

# (label, age_min, age_max) — the resident's age in whole years
AGE_BANDS = (("0–17", 0, 17), ("18–59", 18, 59), ("60–79", 60, 79), ("80+", 80, None))


class QueueModel(RowsModel):
    COLUMNS = ("light", "state", "village_code", "id_number_masked", "name", "age", "finding_kinds", "severity",
               "received_at")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._icons = {light: dot_icon(light) for light in LIGHTS}

    def headers(self) -> tuple[str, ...]:
        return (self.tr("预警"), self.tr("状态"), self.tr("村"), self.tr("身份证号"), self.tr("姓名"),
                    self.tr("年龄"), self.tr("疑点"), self.tr("处理"), self.tr("收到时间"))

    def styled(self, item: dict[str, Any], col: str, role: int) -> Any:
        if role == Qt.ItemDataRole.DecorationRole and col == "light":
            return self._icons.get(item.get("light") or Light.NONE)
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == "state":
                return QBrush(QColor(STATE_COLOURS.get(item.get("state") or "", "#333333")))
            if col == "severity" and item.get("severity"):
                return QBrush(QColor(INTERCEPT_COLOUR if item["severity"] == "intercept" else FLAG_COLOUR))
        if role == Qt.ItemDataRole.ToolTipRole and col == "finding_kinds":
            return self.tr("待处理疑点 {n} 条").format(n=item.get("findings_open") or 0)
        return None

    def display(self, item: dict[str, Any], col: str) -> str:
        if col == "light":
            return light_name(item.get("light") or Light.NONE)
        if col == "state":
            return state_name(item.get("state"))
        if col == "finding_kinds":
            return "、".join(kind_short(k) for k in item.get("finding_kinds") or []) or self.tr("无")
        if col == "severity":
            return severity_name(item.get("severity")) if item.get("severity") else ""
        if col == "age":
            return "" if item.get("age") is None else str(item["age"])
        if col == "received_at":
            return str(item.get("received_at") or "")[:16].replace("T", " ")
        if col == "village_code":
            return self.village(item.get(col))
        return str(item.get(col) or "")


class QueueView(QWidget):
    """Emits ``open_record(record_id)`` on a double-click; ``bulk_approve_requested(items)`` for 批量批准."""

    open_record = Signal(str)
    bulk_approve_requested = Signal(list)
    refresh_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("queueView")
        self.total = 0

        self.kind_combo = QComboBox()
        self.kind_combo.setObjectName("filterKind")
        self.kind_combo.addItem(self.tr("全部疑点类型"), "")
        for k in FINDING_KINDS:
            self.kind_combo.addItem(kind_short(k), k)
        self.village_combo = QComboBox()
        self.village_combo.setObjectName("filterVillage")
        self.village_combo.addItem(self.tr("全部村"), "")
        self.age_combo = QComboBox()
        self.age_combo.setObjectName("filterAge")
        self.age_combo.addItem(self.tr("全部年龄"), None)
        for label, lo, hi in AGE_BANDS:
            self.age_combo.addItem(self.tr("{band} 岁").format(band=label), (lo, hi))
        self.light_combo = QComboBox()
        self.light_combo.setObjectName("filterLight")
        self.light_combo.addItem(self.tr("全部预警"), "")
        for light in LIGHTS:
            self.light_combo.addItem(dot_icon(light), light_name(light), light)
        self.state_combo = QComboBox()
        self.state_combo.setObjectName("filterState")
        undecided = "/".join(state_name(s) for s in (ReviewState.RECEIVED, ReviewState.NEEDS_REVIEW,
                                                    ReviewState.CLEARED))
        self.state_combo.addItem(self.tr("待办（{states}）").format(states=undecided), [])
        for s in QUEUE_STATES:
            self.state_combo.addItem(state_name(s), [s])
        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("filterSearch")
        self.search_edit.setPlaceholderText(self.tr("姓名、拼音或身份证号开头"))
        self.search_edit.setClearButtonEnabled(True)
        self.refresh_button = QPushButton(self.tr("刷新"))
        self.refresh_button.setObjectName("queueRefresh")

        filters = QHBoxLayout()
        for w in (self.state_combo, self.kind_combo, self.village_combo, self.age_combo, self.light_combo):
            filters.addWidget(w)
        filters.addWidget(self.search_edit, 1)
        filters.addWidget(self.refresh_button)

        self.model = QueueModel(self)
        self.table = rows_table(self.model, "queueTable", QAbstractItemView.SelectionMode.ExtendedSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QueueModel.COLUMNS.index("finding_kinds"), QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(self._double_clicked)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)

        self.count_label = QLabel()
        self.count_label.setObjectName("queueCount")
        # An empty table alone looks like a screen still loading: say that nothing matched.
        self.empty_label = QLabel(self.tr("无结果：没有符合条件的记录（可换个姓名、拼音或身份证号开头，或清除筛选）"))
        self.empty_label.setObjectName("queueEmpty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet("color: #666666; padding: 12px;")
        self.empty_label.hide()
        self.bulk_button = QPushButton(self.tr("批量批准"))
        self.bulk_button.setObjectName("bulkApprove")
        self.bulk_button.setToolTip(self.tr("批准所选记录中“{cleared}”的记录（需要再次输入密码）").format(
            cleared=state_name(ReviewState.CLEARED)))
        self.bulk_button.setEnabled(False)
        self.bulk_button.clicked.connect(self._bulk)
        self.open_button = QPushButton(self.tr("打开记录"))
        self.open_button.setObjectName("queueOpen")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self._open_current)
        bottom = QHBoxLayout()
        bottom.addWidget(self.count_label, 1)
        bottom.addWidget(self.open_button)
        bottom.addWidget(self.bulk_button)

        v = QVBoxLayout(self)
        v.setContentsMargins(0, 6, 0, 0)
        v.addLayout(filters)
        v.addWidget(self.table, 1)
        v.addWidget(self.empty_label)
        v.addLayout(bottom)

        # Typing in the search box waits for a pause before asking the registry.
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(350)
        self._search_timer.timeout.connect(self.refresh_requested)
        self.search_edit.textChanged.connect(lambda _t: self._search_timer.start())
        for combo in (self.kind_combo, self.village_combo, self.age_combo, self.light_combo, self.state_combo):
            combo.currentIndexChanged.connect(lambda _i: self.refresh_requested.emit())
        self.refresh_button.clicked.connect(self.refresh_requested)

    # -- filters
    def current_filter(self) -> QueueFilter:
        band = self.age_combo.currentData()
        lo, hi = band if band else (None, None)
        return QueueFilter(states=list(self.state_combo.currentData() or []), kind=self.kind_combo.currentData() or "",
                           village=self.village_combo.currentData() or "", light=self.light_combo.currentData() or "",
                           age_min=lo, age_max=hi, q=self.search_edit.text().strip(), limit=500)

    def set_villages(self, villages: list[dict[str, Any]]) -> None:
        """Fill the village filter (from the dashboard's per-village list), keeping the choice."""
        current = self.village_combo.currentData()
        self.village_combo.blockSignals(True)
        self.village_combo.clear()
        self.village_combo.addItem(self.tr("全部村"), "")
        names = {str(v.get("village_code") or ""): str(v.get("village_name") or "") for v in villages}
        self.model.village_names = {code: name for code, name in names.items() if name}
        self.model.layoutChanged.emit()
        for v in villages:
            code = str(v.get("village_code") or "")
            name = str(v.get("village_name") or v.get("name") or "")
            self.village_combo.addItem(f"{name}（{code}）" if name else code, code)
        i = self.village_combo.findData(current)
        self.village_combo.setCurrentIndex(max(i, 0))
        self.village_combo.blockSignals(False)

    def show_items(self, answer: dict[str, Any]) -> None:
        items = answer.get("items") or []
        self.total = int(answer.get("total") or len(items))
        self.model.set_items(items)
        shown = len(items)
        text = self.tr("共 {total} 条").format(total=self.total)
        if shown < self.total:
            text += self.tr("（显示前 {shown} 条，请用筛选缩小范围）").format(shown=shown)
        self.count_label.setText(text)
        self.empty_label.setVisible(self.total == 0)
        self._selection_changed()

    # -- selection and actions
    def selected_items(self) -> list[dict[str, Any]]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.model.items[r] for r in rows if r < len(self.model.items)]

    def _selection_changed(self, *_: object) -> None:
        chosen = self.selected_items()
        cleared = [i for i in chosen if i.get("state") == ReviewState.CLEARED]
        self.bulk_button.setEnabled(bool(cleared))
        self.bulk_button.setText(self.tr("批量批准（{n}）").format(n=len(cleared)) if cleared
                                 else self.tr("批量批准"))
        self.open_button.setEnabled(len(chosen) == 1)

    def _bulk(self) -> None:
        cleared = [i for i in self.selected_items() if i.get("state") == ReviewState.CLEARED]
        if cleared:
            self.bulk_approve_requested.emit(cleared)

    def _double_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_record.emit(str(self.model.items[index.row()]["record_id"]))

    def _open_current(self) -> None:
        chosen = self.selected_items()
        if len(chosen) == 1:
            self.open_record.emit(str(chosen[0]["record_id"]))
