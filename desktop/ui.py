"""Shared look: fonts readable on a 1366×768 village laptop, state names, small widgets."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QLabel

from enrollment.vocabulary import SendState

from .review_labels import vocabulary_name

STATES = tuple(SendState)

STATE_COLOURS = {
    None: "#666666",
    SendState.DRAFT: "#8a6d00",
    SendState.QUEUED: "#1d5fb4",
    SendState.SENDING: "#1d5fb4",
    SendState.ACCEPTED: "#1a7f37",
    SendState.NEEDS_ATTENTION: "#c62828",
}

ERROR_STYLE = "color: #c62828;"


def _t(text: str) -> str:
    return QCoreApplication.translate("ui", text)


def yuan(fen: Any) -> str:
    """Integer fen → 元 as people read it: 9000 → ``90.00``, 123456789 → ``1,234,567.89`` (no float)."""
    n = int(fen or 0)
    sign = "-" if n < 0 else ""
    n = abs(n)
    return f"{sign}{n // 100:,}.{n % 100:02d}"


def state_name(state: str | None) -> str:
    """The send state's name; 未登记 for a resident with no record on this laptop."""
    return vocabulary_name(state, SendState) if state else _t("未登记")


def relation_name(value: str | None) -> str:
    """A stored relation as people read it: the GB/T 4761 name of its code (长子 for 22); a value
    stored before issue 12 (户主, 子女 ...) is shown as it is."""
    from enrollment import relations

    return QCoreApplication.translate("relation", relations.name(value))


def apply_style(app: QApplication) -> None:
    """A CJK font at a size a village laptop's screen reads comfortably."""
    font = QFont()
    font.setFamilies(["Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", "Noto Serif CJK SC",
                      "WenQuanYi Micro Hei", "SimSun", "sans-serif"])
    font.setPointSize(11)
    app.setFont(font)
    app.setStyleSheet(
        "QPushButton { padding: 5px 14px; }"
        "QLineEdit, QComboBox { padding: 3px; }"
        "QLabel[role='fieldError'] { color: #c62828; }"
        "QLabel[role='title'] { font-size: 16pt; font-weight: bold; }"
    )


# Qt's own strings (file dialogs, message-box buttons, context menus), shipped with PySide6.
QT_CATALOGUES = ("qtbase", "qt")


# Strings Qt 6 reworded (an accelerator added) that the Chinese catalogue shipped with PySide6 lacks.
QT_CATALOGUE_GAPS = {
    ("QFileDialog", "&Look in:"): "查找范围(&L)：",
    ("QFileDialog", "Files of &type:"): "文件类型(&T)：",
}


class _QtCatalogueGaps(QTranslator):
    def translate(self, context: str, source: str, disambiguation: str | None = None,
                  n: int = -1) -> str | None:
        # None (a null string) lets Qt ask the next catalogue; "" would blank every other string.
        return QT_CATALOGUE_GAPS.get((context, source))

    def isEmpty(self) -> bool:  # noqa: N802 - Qt's name
        return False


def install_qt_chinese(app: QCoreApplication) -> list[str]:
    """Load Qt's Simplified Chinese catalogues whatever the machine's locale (a laptop set to English or
    LANG=C still shows 打开/保存/取消 in Qt's file dialogs); returns the catalogues loaded."""
    folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    loaded = []
    for catalogue in QT_CATALOGUES:
        translator = QTranslator(app)
        if translator.load(QLocale(QLocale.Language.Chinese, QLocale.Country.China), catalogue, "_", folder):
            app.installTranslator(translator)
            loaded.append(catalogue)
    app.installTranslator(_QtCatalogueGaps(app))
    # Number and date formats, and the dialogs' own locale, follow the app's language, not the machine's.
    QLocale.setDefault(QLocale(QLocale.Language.Chinese, QLocale.Country.China))
    return loaded


def error_label() -> QLabel:
    """The red line under a form field that says what is wrong with it."""
    label = QLabel()
    label.setProperty("role", "fieldError")
    label.setStyleSheet(ERROR_STYLE)
    label.setWordWrap(True)
    label.hide()
    return label
