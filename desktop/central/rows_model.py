"""A read-only table of dict rows (the review queue, the remote verifications, the payment lists): the list, its
size, its columns and the answers every model gives alike; each view's model says only its headers
(``headers``), a cell's text (``display``) and its colour, alignment or tooltip (``styled``)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget


class RowsModel(QAbstractTableModel):
    COLUMNS: tuple[str, ...] = ()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.items: list[dict[str, Any]] = []
        self.village_names: dict[str, str] = {}   # code → name, for the 村 column

    def set_items(self, items: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.items = list(items)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headers(self) -> tuple[str, ...]:
        """The columns' titles, translated (each model writes them with ``self.tr`` so they are extracted)."""
        return self.COLUMNS

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.headers()[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.items):
            return None
        item = self.items[index.row()]
        if role == Qt.ItemDataRole.UserRole:
            return item
        col = self.COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.display(item, col)
        return self.styled(item, col, role)

    def display(self, item: dict[str, Any], col: str) -> str:
        return str(item.get(col) or "")

    def village(self, code: Any) -> str:
        """A village's name for the 村 column (its code when the name is not known)."""
        code = str(code or "")
        return self.village_names.get(code) or code

    def styled(self, item: dict[str, Any], col: str, role: int) -> Any:
        """A cell's colour, alignment, icon or tooltip for ``role``; None for the view's default."""
        return None


def rows_table(model: RowsModel, object_name: str, selection: QAbstractItemView.SelectionMode) -> QTableView:
    """The view every central list uses: whole rows selected, nothing edited in place, alternating rows,
    no row numbers, columns fitted to their text (a view stretches the one that takes the room left)."""
    table = QTableView()
    table.setObjectName(object_name)
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(selection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.verticalHeader().hide()
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return table
