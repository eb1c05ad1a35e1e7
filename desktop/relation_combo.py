"""与户主关系 as the household register writes it: the GB/T 4761-2008 list, searchable.

Each item reads 长子（22）. The combo is editable: typing 长子, 长 or 22 pops up the items that
contain it; a word that is no item (老婆, 儿子) is kept as typed and the domain
(``enrollment.relations``) turns it into its code on save, or names it in a relation.unknown error.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import QComboBox, QCompleter, QWidget

from enrollment import relations


def item_text(code: str) -> str:
    return f"{QCoreApplication.translate('relation', relations.name(code))}（{code}）"


class RelationCombo(QComboBox):
    # The cadre changed the value (picked, completed or typed): the form autosaves.
    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setMaxVisibleItems(15)
        for code, _name in relations.codes():
            self.addItem(item_text(code), code)
        self.lineEdit().setPlaceholderText(
            QCoreApplication.translate("relation", "输入名称或代码，如 长子 或 22"))
        completer = QCompleter(self.model(), self)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        completer.setMaxVisibleItems(12)
        self.setCompleter(completer)
        self.setCurrentIndex(-1)
        self.activated.connect(lambda _i: self.edited.emit())
        completer.activated.connect(lambda _t: self.edited.emit())
        self.lineEdit().textEdited.connect(lambda _t: self.edited.emit())

    def value(self) -> str:
        """The code of the item shown, else the text as typed (22, 老婆, an old 子女): the domain reads it
        with the resident's sex, or names it in relation.unknown."""
        text = self.currentText().strip()
        index = self.findText(text, Qt.MatchFlag.MatchExactly)
        return str(self.itemData(index)) if index >= 0 else text

    def set_value(self, value: str | None) -> None:
        """Show a stored value: a code selects its item; anything else (an old value, a draft's
        typing) stays as text for the domain to read."""
        index = self.findData(value or "") if value else -1
        self.setCurrentIndex(index)
        if index < 0:
            self.setEditText(value or "")
