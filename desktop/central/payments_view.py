"""代发: departments' payment rosters in, batches built and approved, the bank file out, the bank's return
file (回盘) back with its reconciliation.

Layout, top to bottom: the buttons of the flow (导入发放名单…, 导入回盘文件…, 刷新); 可生成批次 (the ready
lines by item, period and township) with 生成批次; the batches with 审批…, 导出银行文件… (UTF-8 or GBK) and
their lines (masked) with the bank's reasons. A roster import and a return-file import each happen in a
dialog that then shows what came of it (可发放/拦截/数据有误 with the refused lines; 已到账/失败/处理中 with
发放 = 到账 + 失败 + 处理中 as 平衡/不平衡). Every registry call goes through a lane; files are read and
written on the lane's thread, never on the UI thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.errors import describe, message_for
from desktop.ui import ERROR_STYLE
from enrollment.vocabulary import BatchState

from .dialogs import DecisionDialog
from .labels import beijing_minute
from .payment_labels import (
    BATCH_COLOURS,
    LINE_COLOURS,
    batch_state_name,
    count_and_yuan,
    item_name,
    line_state_name,
    refusal_text,
    yuan,
)
from .rows_model import RowsModel, rows_table

ENCODINGS = (("utf-8", "UTF-8"), ("gbk", "GBK"))
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
BALANCED_COLOUR, UNBALANCED_COLOUR = "#1a7f37", "#c62828"


def _write(path: str, data: bytes) -> str:
    Path(path).write_bytes(data)
    return path


def _table(headers: list[str], name: str) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setAlternatingRowColors(True)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _cell(text: Any, *, right: bool = False, colour: str | None = None) -> QTableWidgetItem:
    item = QTableWidgetItem(str(text))
    if right:
        item.setTextAlignment(RIGHT)
    if colour:
        item.setForeground(QBrush(QColor(colour)))
    return item


# ------------------------------------------------------------------------------ tables

class ReadyModel(RowsModel):
    """可生成批次: ready lines per item, period and township."""

    COLUMNS = ("item", "period", "township", "lines", "total_fen", "retries", "awaiting_card_fix")

    def headers(self) -> tuple[str, ...]:
        return (self.tr("项目"), self.tr("期别"), self.tr("乡镇"), self.tr("笔数"), self.tr("金额（元）"),
                self.tr("其中重发"), self.tr("待更正卡信息"))

    def display(self, item: dict[str, Any], col: str) -> str:
        if col == "item":
            return item_name(item.get("item"), item.get("item_name"))
        if col == "township":
            return self.village(item.get("township")) or self.tr("全部乡镇")
        if col == "total_fen":
            return yuan(item.get("total_fen"))
        if col in ("lines", "retries", "awaiting_card_fix"):
            return str(int(item.get(col) or 0))
        return str(item.get(col) or "")

    def styled(self, item: dict[str, Any], col: str, role: int) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole and col == "awaiting_card_fix":
            return self.tr("银行退回、社保卡信息尚未更正的笔数：更正前不能再次发放")
        if role == Qt.ItemDataRole.TextAlignmentRole and col in ("lines", "total_fen", "retries", "awaiting_card_fix"):
            return RIGHT
        return None


class BatchesModel(RowsModel):
    COLUMNS = ("id", "item", "period", "township", "state", "lines", "total_fen", "created_by", "authorised_by",
               "paid", "failed", "pending", "created_at")

    def headers(self) -> tuple[str, ...]:
        return (self.tr("批次号"), self.tr("项目"), self.tr("期别"), self.tr("乡镇"), self.tr("状态"),
                self.tr("笔数"), self.tr("金额（元）"), self.tr("创建人"), self.tr("审批人"), self.tr("已到账"),
                self.tr("失败"), self.tr("处理中"), self.tr("生成时间"))

    def display(self, item: dict[str, Any], col: str) -> str:
        if col == "id":
            return str(item.get("id") or "")[:8]
        if col == "item":
            return item_name(item.get("item"), item.get("item_name"))
        if col == "township":
            return str(item.get("township") or "") or self.tr("全部")
        if col == "state":
            return batch_state_name(item.get("state"))
        if col == "total_fen":
            return yuan(item.get("total_fen"))
        if col == "lines":
            return str(int(item.get("lines") or 0))
        if col in ("paid", "failed", "pending"):
            part = item.get(col) or {}
            return self.tr("{n} 笔").format(n=int(part.get("count") or 0))
        if col == "created_at":
            return beijing_minute(item.get("created_at"))
        return str(item.get(col) or "")

    def styled(self, item: dict[str, Any], col: str, role: int) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == "id":
                return str(item.get("id") or "")
            if col in ("paid", "failed", "pending"):
                return count_and_yuan(item.get(col))
        if role == Qt.ItemDataRole.TextAlignmentRole and col in ("lines", "total_fen", "paid", "failed", "pending"):
            return RIGHT
        if role == Qt.ItemDataRole.ForegroundRole and col == "state":
            return QBrush(QColor(BATCH_COLOURS.get(item.get("state") or "", "#333333")))
        return None


# ------------------------------------------------------------------------------ dialogs

class FileImportDialog(QDialog):
    """Pick a file (选择文件…, a window-modal QFileDialog kept as ``file_dialog``) and its encoding, press
    导入; the owner sends it and calls ``show_result`` (the dialog then shows what came of it) or
    ``show_error``. Emits ``submitted(path, encoding)``."""

    submitted = Signal(str, str)

    def __init__(self, title: str, note: str, file_filter: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(True)
        self.file_filter = file_filter
        self.file_dialog: QFileDialog | None = None
        self.note = QLabel(note)
        self.note.setWordWrap(True)
        self.path_edit = QLineEdit()
        self.path_edit.setObjectName("importPath")
        self.path_edit.setReadOnly(True)
        self.path_edit.setPlaceholderText(self.tr("尚未选择文件"))
        self.choose_button = QPushButton(self.tr("选择文件…"))
        self.choose_button.setObjectName("importChoose")
        self.choose_button.clicked.connect(self.choose_file)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(self.choose_button)
        self.encoding_combo = QComboBox()
        self.encoding_combo.setObjectName("importEncoding")
        for code, name in ENCODINGS:
            self.encoding_combo.addItem(name, code)
        self.form = QFormLayout()
        self.form.addRow(self.tr("文件"), path_row)
        self.form.addRow(self.tr("编码"), self.encoding_combo)

        self.result_label = QLabel()
        self.result_label.setObjectName("importResult")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_label.hide()
        self.rows_table = _table([self.tr("行号"), self.tr("原因")], "importRows")
        self.rows_table.hide()
        self.error_label = QLabel()
        self.error_label.setObjectName("importError")
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setWordWrap(True)

        self.ok_button = QPushButton(self.tr("导入"))
        self.ok_button.setObjectName("importOk")
        self.ok_button.setDefault(True)
        self.ok_button.clicked.connect(self._submit)
        self.close_button = QPushButton(self.tr("取消"))
        self.close_button.setObjectName("importClose")
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.ok_button)
        v = QVBoxLayout(self)
        v.setContentsMargins(20, 16, 20, 16)
        v.addWidget(self.note)
        v.addLayout(self.form)
        v.addWidget(self.result_label)
        v.addWidget(self.rows_table, 1)
        v.addWidget(self.error_label)
        v.addLayout(buttons)
        self.resize(640, 300)
        self._update()

    def choose_file(self) -> QFileDialog:
        dialog = QFileDialog(self, self.windowTitle())
        dialog.setObjectName("importFileDialog")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilter(self.file_filter)
        dialog.fileSelected.connect(self.set_path)
        self.file_dialog = dialog
        dialog.open()
        return dialog

    def set_path(self, path: str) -> None:
        self.path_edit.setText(path)
        self._update()

    def ready(self) -> bool:
        return bool(self.path_edit.text())

    def _update(self) -> None:
        self.ok_button.setEnabled(self.ready())

    def _submit(self) -> None:
        if not self.ok_button.isEnabled():
            return
        self.error_label.clear()
        self.ok_button.setEnabled(False)
        self.ok_button.setText(self.tr("正在导入…"))
        self.submitted.emit(self.path_edit.text(), self.encoding_combo.currentData())

    def show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.ok_button.setText(self.tr("导入"))
        self._update()

    def show_result(self, html: str, rows: list[tuple[str, str]]) -> None:
        """The import is done: the summary, the rows that need a look, and 关闭 instead of 导入/取消."""
        self.error_label.clear()
        self.result_label.setText(html)
        self.result_label.show()
        self.rows_table.setRowCount(len(rows))
        for r, (line, why) in enumerate(rows):
            self.rows_table.setItem(r, 0, _cell(line, right=True))
            self.rows_table.setItem(r, 1, _cell(why))
        self.rows_table.setVisible(bool(rows))
        for w in (self.choose_button, self.encoding_combo, *self.findChildren(QComboBox)):
            w.setEnabled(False)
        self.ok_button.hide()
        self.close_button.setText(self.tr("关闭"))
        self.close_button.setDefault(True)
        self.resize(max(self.width(), 720), 480 if rows else 320)


class RosterImportDialog(FileImportDialog):
    """导入发放名单: a department's roster CSV (id_number,name,item,period,amount) and the department."""

    def __init__(self, departments: list[str], parent: QWidget | None = None) -> None:
        super().__init__(
            self.tr("导入发放名单"),
            self.tr("选择部门报来的发放名单（CSV：id_number,name,item,period,amount，金额以元为单位）。"
                    "每一行都会先与社保卡数据和各部门数据比对：通过的可发放，发现问题的进入“支付拦截”，数据有误的逐行列出。"),
            self.tr("CSV 文件 (*.csv);;所有文件 (*)"), parent)
        self.setObjectName("rosterImportDialog")
        self.department_combo = QComboBox()
        self.department_combo.setObjectName("rosterDepartment")
        self.department_combo.setEditable(True)
        self.department_combo.addItems(departments)
        self.department_combo.setCurrentText("")
        self.department_combo.lineEdit().setPlaceholderText(self.tr("发放部门，如 民政局"))
        self.department_combo.currentTextChanged.connect(lambda _t: self._update())
        self.form.insertRow(0, self.tr("部门"), self.department_combo)
        self._update()

    def department(self) -> str:
        return self.department_combo.currentText().strip()

    def ready(self) -> bool:
        return super().ready() and bool(getattr(self, "department_combo", None) and self.department())


class ResultsImportDialog(FileImportDialog):
    """导入回盘文件: the bank's return file (reference,status,reason)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            self.tr("导入回盘文件"),
            self.tr("选择银行返回的回盘文件（CSV：reference,status,reason，状态为“成功”或“失败”）。"
                    "同一文件导入两次不会重复记账；无法对应的行逐行列出，其余照常入账。"),
            self.tr("CSV 文件 (*.csv);;所有文件 (*)"), parent)
        self.setObjectName("resultsImportDialog")


# ------------------------------------------------------------------------------ the tab

class PaymentsView(QWidget):
    """The 代发 tab. Signals say when each step's answer arrived (the window's status bar and tests)."""

    loaded = Signal()
    roster_imported = Signal(object)
    batch_built = Signal(object)
    batch_approved = Signal(object)
    bank_file_saved = Signal(str, str)      # path, SHA-256
    results_imported = Signal(object)
    lines_loaded = Signal(object)
    message = Signal(str)

    def __init__(self, net: Any, long_net: Any | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("paymentsView")
        self.net = net
        self.long_net = long_net or net
        self.departments: list[str] = []
        self.roster_dialog: RosterImportDialog | None = None
        self.results_dialog: ResultsImportDialog | None = None
        self.approve_dialog: DecisionDialog | None = None
        self.save_dialog: QFileDialog | None = None
        self.batch_detail: dict[str, Any] = {}

        self.import_button = QPushButton(self.tr("导入发放名单…"))
        self.import_button.setObjectName("importRoster")
        self.import_button.clicked.connect(self.start_roster_import)
        self.results_button = QPushButton(self.tr("导入回盘文件…"))
        self.results_button.setObjectName("importResults")
        self.results_button.clicked.connect(self.start_results_import)
        self.refresh_button = QPushButton(self.tr("刷新"))
        self.refresh_button.setObjectName("paymentsRefresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.status_label = QLabel()
        self.status_label.setObjectName("paymentsStatus")
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # a saved file's path and SHA-256 are long: the label takes the room there is (the whole in the tooltip)
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        top = QHBoxLayout()
        top.addWidget(self.import_button)
        top.addWidget(self.results_button)
        top.addWidget(self.status_label, 1)
        top.addWidget(self.refresh_button)

        # 可生成批次
        self.ready_model = ReadyModel(self)
        self.ready_table = rows_table(self.ready_model, "readyTable", QAbstractItemView.SelectionMode.SingleSelection)
        self.ready_table.horizontalHeader().setSectionResizeMode(ReadyModel.COLUMNS.index("item"),
                                                                 QHeaderView.ResizeMode.Stretch)
        self.ready_table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.build_button = QPushButton(self.tr("生成批次"))
        self.build_button.setObjectName("buildBatch")
        self.build_button.setToolTip(self.tr("把所选项目、期别（和乡镇）的全部可发放记录编成一个发放批次，等待另一位工作人员审批"))
        self.build_button.clicked.connect(self.build_selected)
        self.ready_empty = QLabel(self.tr("暂无可发放的记录：请先导入发放名单，或处理支付拦截"))
        self.ready_empty.setStyleSheet("color: #666666;")
        ready_box = QGroupBox(self.tr("可生成批次"))
        rb = QVBoxLayout(ready_box)
        rb.addWidget(self.ready_table, 1)
        rrow = QHBoxLayout()
        rrow.addWidget(self.ready_empty)
        rrow.addStretch(1)
        rrow.addWidget(self.build_button)
        rb.addLayout(rrow)

        # 发放批次
        self.batches_model = BatchesModel(self)
        self.batches_table = rows_table(self.batches_model, "batchesTable",
                                        QAbstractItemView.SelectionMode.SingleSelection)
        self.batches_table.horizontalHeader().setSectionResizeMode(BatchesModel.COLUMNS.index("item"),
                                                                   QHeaderView.ResizeMode.Stretch)
        self.batches_table.selectionModel().selectionChanged.connect(lambda *_: self._batch_selected())
        self.approve_button = QPushButton(self.tr("审批…"))
        self.approve_button.setObjectName("approveBatch")
        self.approve_button.setToolTip(self.tr("批次须由生成人以外的另一位工作人员审批（需再次输入密码）"))
        self.approve_button.clicked.connect(self.ask_approve)
        self.encoding_combo = QComboBox()
        self.encoding_combo.setObjectName("bankEncoding")
        self.encoding_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        for code, name in ENCODINGS:
            self.encoding_combo.addItem(self.tr("银行文件编码：{name}").format(name=name), code)
        self.export_button = QPushButton(self.tr("导出银行文件…"))
        self.export_button.setObjectName("exportBankFile")
        self.export_button.clicked.connect(self.ask_export)
        batch_buttons = QHBoxLayout()
        self.batches_count = QLabel()
        self.batches_count.setObjectName("batchesCount")
        batch_buttons.addWidget(self.batches_count, 1)
        batch_buttons.addWidget(self.approve_button)
        batch_buttons.addWidget(self.encoding_combo)
        batch_buttons.addWidget(self.export_button)
        batches_box = QGroupBox(self.tr("发放批次"))
        bb = QVBoxLayout(batches_box)
        bb.addWidget(self.batches_table, 1)
        bb.addLayout(batch_buttons)

        # the selected batch's lines
        self.lines_title = QLabel(self.tr("选择一个批次查看明细"))
        self.lines_title.setObjectName("linesTitle")
        self.lines_title.setWordWrap(True)
        self.lines_table = _table([self.tr("业务参考号"), self.tr("姓名"), self.tr("身份证号"), self.tr("社保卡"),
                                   self.tr("金额（元）"), self.tr("状态"), self.tr("银行原因")], "batchLines")
        lines_box = QGroupBox(self.tr("批次明细"))
        lb = QVBoxLayout(lines_box)
        lb.addWidget(self.lines_title)
        lb.addWidget(self.lines_table, 1)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        for box in (ready_box, batches_box, lines_box):
            self.splitter.addWidget(box)
        self.splitter.setSizes([225, 190, 245])
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 6, 0, 0)
        v.addLayout(top)
        v.addWidget(self.splitter, 1)
        self._update_buttons()

    # -- lists
    def refresh(self) -> None:
        self.net.op(lambda c: c.ready_groups()).success(self._ready_arrived).failure(self._failed).run()
        self.net.op(lambda c: c.batches(limit=200)).success(self._batches_arrived).failure(self._failed).run()
        self.net.op(lambda c: c.entitlement_imports(limit=200)).success(self._imports_arrived).failure(
            lambda _e: None).run()

    def _failed(self, error: BaseException) -> None:
        self.status_label.setStyleSheet("color: #c62828;")
        self.status_label.setText(describe(error))

    def _say(self, text: str) -> None:
        self.status_label.setStyleSheet("")
        self.status_label.setText(text)
        self.status_label.setToolTip(text)
        self.message.emit(text)

    def _ready_arrived(self, answer: dict[str, Any]) -> None:
        self.ready_model.set_items(ready_rows(answer.get("groups") or []))
        self.ready_empty.setVisible(not any(int(g.get("lines") or 0) for g in self.ready_model.items))
        self._update_buttons()

    def _batches_arrived(self, answer: dict[str, Any]) -> None:
        chosen = self.selected_batch().get("id") if self.selected_batch() else None
        self.batches_model.set_items(answer.get("batches") or [])
        total = int(answer.get("total") or len(self.batches_model.items))
        self.batches_count.setText(self.tr("共 {n} 个批次").format(n=total))
        row = next((r for r, b in enumerate(self.batches_model.items) if b.get("id") == chosen), None)
        if row is not None:
            self.batches_table.selectRow(row)
        self._update_buttons()
        self.loaded.emit()

    def _imports_arrived(self, answer: dict[str, Any]) -> None:
        self.departments = sorted({str(i.get("department") or "") for i in answer.get("imports") or []} - {""})

    def selected_group(self) -> dict[str, Any]:
        rows = self.ready_table.selectionModel().selectedRows()
        return self.ready_model.items[rows[0].row()] if rows else {}

    def selected_batch(self) -> dict[str, Any]:
        rows = self.batches_table.selectionModel().selectedRows()
        return self.batches_model.items[rows[0].row()] if rows and rows[0].row() < len(self.batches_model.items) \
            else {}

    def select_batch(self, batch_id: str) -> bool:
        row = next((r for r, b in enumerate(self.batches_model.items) if b.get("id") == batch_id), None)
        if row is None:
            return False
        self.batches_table.selectRow(row)
        return True

    def _update_buttons(self) -> None:
        self.build_button.setEnabled(int(self.selected_group().get("lines") or 0) > 0)
        batch = self.selected_batch()
        state = batch.get("state")
        self.approve_button.setEnabled(state == BatchState.BUILT)
        self.export_button.setEnabled(state in (BatchState.AUTHORISED, BatchState.EXPORTED, BatchState.SETTLED))

    # -- 导入发放名单
    def start_roster_import(self) -> RosterImportDialog:
        dialog = RosterImportDialog(self.departments, self)
        dialog.submitted.connect(lambda path, encoding: self._send_roster(dialog, path, encoding))
        self.roster_dialog = dialog
        dialog.open()
        return dialog

    def _send_roster(self, dialog: RosterImportDialog, path: str, encoding: str) -> None:
        department = dialog.department()
        name = Path(path).name
        (self.long_net.op(lambda c: c.import_entitlements(Path(path).read_bytes(), department, name, encoding))
         .success(lambda answer: self._roster_done(dialog, answer))
         .failure(lambda e: dialog.show_error(_file_error(e))).run())

    def _roster_done(self, dialog: RosterImportDialog, answer: dict[str, Any]) -> None:
        ready, intercepted, refused = (int(answer.get(k) or 0) for k in ("ready", "intercepted", "refused"))
        again = self.tr("（这个文件之前已经导入过，本次未作改动）") if answer.get("already_imported") else ""
        html = self.tr(
            "<b>{dept}</b>：共 {rows} 行{again}<br>"
            "<span style='color:#1a7f37'>可发放 <b>{ready}</b> 行</span>；"
            "<span style='color:#c62828'>拦截 <b>{intercepted}</b> 行</span>（在“支付拦截”中逐条处理）；"
            "<span style='color:#b26a00'>数据有误 <b>{refused}</b> 行</span>（不发放，请部门更正后重报）").format(
            dept=answer.get("department") or dialog.department(), rows=int(answer.get("rows") or 0), again=again,
            ready=ready, intercepted=intercepted, refused=refused)
        rows = [(str(r.get("line") or ""), refusal_text(r).split("：", 1)[-1]) for r in answer.get("refused_lines") or []]
        dialog.show_result(html, rows)
        self._say(self.tr("已导入发放名单：可发放 {r} 行，拦截 {i} 行，数据有误 {x} 行").format(
            r=ready, i=intercepted, x=refused))
        self.roster_imported.emit(answer)
        self.refresh()

    # -- 生成批次
    def build_selected(self) -> None:
        g = self.selected_group()
        if not g:
            return
        item, period, township = str(g.get("item") or ""), str(g.get("period") or ""), str(g.get("township") or "")
        self.build_button.setEnabled(False)
        (self.long_net.op(lambda c: c.build_batch(item, period, township)).success(self._built)
         .failure(self._build_failed).run())

    def _built(self, answer: dict[str, Any]) -> None:
        skipped = answer.get("skipped") or []
        text = self.tr("已生成批次 {id}：{n} 笔，{y} 元，等待另一位工作人员审批").format(
            id=str(answer.get("id") or "")[:8], n=int(answer.get("lines") or 0), y=yuan(answer.get("total_fen")))
        if skipped:
            reasons = "；".join(sorted({message_for(str(s.get("code") or "")) for s in skipped}))
            text += self.tr("；{m} 笔本次未编入：{why}").format(m=len(skipped), why=reasons)
        self._say(text)
        self.batch_built.emit(answer)
        self.refresh()

    def _build_failed(self, error: BaseException) -> None:
        self._failed(error)
        self._update_buttons()

    # -- 审批
    def ask_approve(self) -> DecisionDialog | None:
        b = self.selected_batch()
        if not b:
            return None
        summary = self.tr("审批批次 {id}：{item} {period}，{n} 笔，{y} 元（生成人：{who}）").format(
            id=str(b.get("id") or "")[:8], item=item_name(b.get("item"), b.get("item_name")),
            period=b.get("period") or "", n=int(b.get("lines") or 0), y=yuan(b.get("total_fen")),
            who=b.get("created_by") or "")
        dialog = DecisionDialog("approve_batch", summary, "", self, title=self.tr("审批"), needs_reason=False,
                                needs_password=True, asks_reason=False)
        dialog.resize(520, 200)
        batch_id = str(b["id"])
        dialog.submitted.connect(lambda _a, _r, pw: self._send_approve(batch_id, pw))
        self.approve_dialog = dialog
        dialog.open()
        return dialog

    def _send_approve(self, batch_id: str, password: str) -> None:
        (self.net.op(lambda c: c.approve_batch(batch_id, password)).success(self._approved)
         .failure(self._approve_failed).run())

    def _approved(self, answer: dict[str, Any]) -> None:
        if self.approve_dialog is not None:
            self.approve_dialog.accept()
            self.approve_dialog = None
        self._say(self.tr("批次 {id} 已审批，可以导出银行文件").format(id=str(answer.get("id") or "")[:8]))
        self.batch_approved.emit(answer)
        self.refresh()

    def _approve_failed(self, error: BaseException) -> None:
        if self.approve_dialog is not None:
            self.approve_dialog.show_error(describe(error))
        else:
            self._failed(error)

    # -- 导出银行文件
    def ask_export(self) -> QFileDialog | None:
        b = self.selected_batch()
        if not b:
            return None
        encoding = self.encoding_combo.currentData()
        dialog = QFileDialog(self, self.tr("保存银行代发文件"))
        dialog.setObjectName("bankFileSaveDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("csv")
        dialog.setNameFilter(self.tr("CSV 文件 (*.csv)"))
        dialog.selectFile(f"batch-{b.get('item')}-{b.get('period')}-{str(b.get('id') or '')[:8]}-{encoding}.csv")
        batch_id = str(b["id"])
        dialog.fileSelected.connect(lambda path: self.export_bank_file(batch_id, path, encoding))
        self.save_dialog = dialog
        dialog.open()
        return dialog

    def export_bank_file(self, batch_id: str, path: str, encoding: str = "utf-8") -> None:
        """Download the batch's bank file (the first download exports it) and write it to ``path``."""
        if not path:
            return

        def fetch(c: Any) -> tuple[str, str]:
            import hashlib

            got = c.bank_download(batch_id, encoding)
            # The SHA-256 of the bytes written (what the bank receives); the registry's header, when it
            # arrives, must be the same (the one in the audit chain), else the file is not saved.
            sha = hashlib.sha256(got.data).hexdigest()
            if got.sha256 and got.sha256.lower() != sha:
                raise OSError(0, QCoreApplication.translate("central", "下载的银行文件与登记中心的校验值不一致，请重新导出"))
            _write(path, got.data)
            return path, sha

        self.long_net.op(fetch).success(self._bank_file_saved).failure(self._export_failed).run()

    def _export_failed(self, error: BaseException) -> None:
        if isinstance(error, OSError):
            self.status_label.setStyleSheet("color: #c62828;")
            self.status_label.setText(error.strerror or str(error))
        else:
            self._failed(error)

    def _bank_file_saved(self, saved: tuple[str, str]) -> None:
        path, sha = saved
        self._say(self.tr("银行文件已保存：{path}　SHA-256：{sha}").format(path=path, sha=sha))
        self.bank_file_saved.emit(path, sha)
        self.refresh()

    # -- 导入回盘文件
    def start_results_import(self) -> ResultsImportDialog:
        dialog = ResultsImportDialog(self)
        dialog.submitted.connect(lambda path, encoding: self._send_results(dialog, path, encoding))
        self.results_dialog = dialog
        dialog.open()
        return dialog

    def _send_results(self, dialog: ResultsImportDialog, path: str, encoding: str) -> None:
        name = Path(path).name

        def run(c: Any) -> tuple[dict[str, Any], dict[str, Any]]:
            summary = c.import_results(Path(path).read_bytes(), name, encoding)
            return summary, c.payment_status()

        (self.long_net.op(run).success(lambda got: self._results_done(dialog, *got))
         .failure(lambda e: dialog.show_error(_file_error(e))).run())

    def reconciliation_html(self, summary: dict[str, Any], status: dict[str, Any]) -> str:
        balanced = status.get("balanced")
        if balanced is None:
            balanced = all(int((status.get("issued") or {}).get(k) or 0) == sum(
                int((status.get(p) or {}).get(k) or 0) for p in ("paid", "failed", "pending")) for k in ("count", "fen"))
        check = (f"<span style='color:{BALANCED_COLOUR}'><b>" + self.tr("平衡") + "</b></span>") if balanced else \
            (f"<span style='color:{UNBALANCED_COLOUR}'><b>" + self.tr("不平衡") + "</b></span>")
        again = self.tr("<br>这个回盘文件之前已经导入过，本次未作任何改动。") if summary.get("already_imported") else ""
        return self.tr(
            "本文件：{lines} 行，到账 {credited} 笔，退回 {bounced} 笔，无法入账 {errors} 行{again}<br><br>"
            "全部批次对账：<br>"
            "已到账：{paid}<br>失败：{failed}<br>处理中：{pending}<br>"
            "已发放：{issued}<br>"
            "发放 = 到账 + 失败 + 处理中：{check}").format(
            lines=int(summary.get("lines") or 0), credited=int(summary.get("credited") or 0),
            bounced=int(summary.get("bounced") or 0), errors=int(summary.get("errors") or 0), again=again,
            paid=count_and_yuan(status.get("paid")), failed=count_and_yuan(status.get("failed")),
            pending=count_and_yuan(status.get("pending")), issued=count_and_yuan(status.get("issued")), check=check)

    def _results_done(self, dialog: ResultsImportDialog, summary: dict[str, Any], status: dict[str, Any]) -> None:
        errors = summary.get("error_lines") or summary.get("errors_list") or []
        if not isinstance(errors, list):
            errors = []
        rows = [(str(e.get("line") or ""), _result_error(e)) for e in errors]
        dialog.show_result(self.reconciliation_html(summary, status), rows)
        self.last_reconciliation = {"summary": summary, "status": status}
        self._say(self.tr("已导入回盘文件：到账 {c} 笔，退回 {b} 笔，无法入账 {e} 行").format(
            c=int(summary.get("credited") or 0), b=int(summary.get("bounced") or 0), e=int(summary.get("errors") or 0)))
        self.results_imported.emit({"summary": summary, "status": status})
        self.refresh()
        if self.selected_batch():
            self._batch_selected()

    # -- a batch's lines
    def _batch_selected(self) -> None:
        self._update_buttons()
        b = self.selected_batch()
        if not b:
            self.lines_title.setText(self.tr("选择一个批次查看明细"))
            self.lines_table.setRowCount(0)
            return
        batch_id = str(b["id"])
        self.net.op(lambda c: c.batch(batch_id)).success(self.show_lines).failure(self._failed).run()

    def show_lines(self, d: dict[str, Any]) -> None:
        self.batch_detail = d
        batch = d.get("batch") or {}
        lines = d.get("lines") or []
        total = int(d.get("lines_total") or len(lines))
        title = self.tr("批次 {id}　{item} {period}　{state}　已到账 {paid}　失败 {failed}　处理中 {pending}").format(
            id=str(batch.get("id") or "")[:8], item=item_name(batch.get("item"), batch.get("item_name")),
            period=batch.get("period") or "", state=batch_state_name(batch.get("state")),
            paid=count_and_yuan(d.get("paid")), failed=count_and_yuan(d.get("failed")),
            pending=count_and_yuan(d.get("pending")))
        if total > len(lines):
            title += self.tr("（显示前 {n} 笔，共 {t} 笔）").format(n=len(lines), t=total)
        self.lines_title.setText(title)
        self.lines_table.setRowCount(len(lines))
        for r, ln in enumerate(lines):
            state = ln.get("state")
            reason = str(ln.get("bank_reason") or "")
            cells = [_cell(ln.get("reference") or ""), _cell(ln.get("name") or ""),
                     _cell(ln.get("id_number_masked") or ""), _cell(ln.get("card_masked") or ""),
                     _cell(yuan(ln.get("amount_fen")), right=True),
                     _cell(line_state_name(state), colour=LINE_COLOURS.get(state or "")), _cell(reason)]
            for c, cell in enumerate(cells):
                self.lines_table.setItem(r, c, cell)
        self.lines_loaded.emit(d)


def ready_rows(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per item and period (a batch of every township), then one per township when the lines lie in
    more than one (a batch of that township alone: ``--township``)."""
    out: list[dict[str, Any]] = []
    for g in groups:
        out.append({k: v for k, v in g.items() if k != "townships"} | {"township": ""})
        towns = [t for t in g.get("townships") or [] if t.get("township")]
        if len(g.get("townships") or []) > 1:
            out += [{**t, "item": g.get("item"), "item_name": g.get("item_name"), "period": g.get("period")}
                    for t in towns]
    return out


def _file_error(error: BaseException) -> str:
    """A file the lane could not read is worded like the registry's refusals."""
    if isinstance(error, OSError):
        return QCoreApplication.translate("central", "无法读取文件：{why}").format(why=error.strerror or str(error))
    text = describe(error)
    data = getattr(error, "data", None)
    problems = (data.get("problems") or data.get("rows") or []) if isinstance(data, dict) else []
    if problems:
        text += "\n" + "\n".join(refusal_text(p) for p in problems[:20])
    return text


def _result_error(e: dict[str, Any]) -> str:
    text = message_for(str(e.get("code") or ""), e.get("data") or {})
    reference = str(e.get("reference") or "")
    return f"{text}（{reference}）" if reference else text
