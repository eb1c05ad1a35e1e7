"""Child process: a fresh QApplication set up as the app's start sets it up, then every text and tooltip
of Qt's own file dialog (open and save), as JSON lines on stdout."""

from __future__ import annotations

import json

from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QToolButton,
    QWidget,
)

from desktop.app import _install_translations

app = QApplication([])
_install_translations(app)
texts: list[str] = []
for mode in (QFileDialog.AcceptMode.AcceptOpen, QFileDialog.AcceptMode.AcceptSave):
    dialog = QFileDialog(None, "督办报告")
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog)   # Qt's own dialog, the one a Linux laptop shows
    dialog.setAcceptMode(mode)
    dialog.show()
    for widget in dialog.findChildren(QWidget):
        if isinstance(widget, (QPushButton, QLabel, QToolButton)) and widget.text():
            texts.append(widget.text())
        if widget.toolTip():
            texts.append(widget.toolTip())
    dialog.close()
box = QMessageBox(QMessageBox.Icon.Question, "x", "x", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
texts += [b.text() for b in box.buttons()]
print(json.dumps(texts, ensure_ascii=False))
