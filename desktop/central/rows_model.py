"""A read-only table of dict rows (the review queue, the remote verifications): the list, its size and its
columns; each view's model says only what a cell shows (``data``) and its headers."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex
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
