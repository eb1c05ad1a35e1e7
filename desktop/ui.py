"""Shared look: fonts readable on a 1366×768 village laptop, state names, small widgets."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QLabel

STATES = ("draft", "queued", "sending", "accepted", "needs-attention")

STATE_COLOURS = {
    None: "#666666",
    "draft": "#8a6d00",
    "queued": "#1d5fb4",
    "sending": "#1d5fb4",
    "accepted": "#1a7f37",
    "needs-attention": "#c62828",
}

ERROR_STYLE = "color: #c62828;"


def _t(text: str) -> str:
    return QCoreApplication.translate("ui", text)


def state_name(state: str | None) -> str:
    return {
        None: _t("未登记"),
        "draft": _t("草稿"),
        "queued": _t("待发送"),
        "sending": _t("发送中"),
        "accepted": _t("已接收"),
        "needs-attention": _t("需处理"),
    }.get(state, state or _t("未登记"))


def relation_names() -> dict[str, str]:
    """The domain's relation values are already Chinese; translation hooks for other locales."""
    from enrollment.records import RELATIONS

    return {r: QCoreApplication.translate("relation", r) for r in RELATIONS}


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


def error_label() -> QLabel:
    """The red line under a form field that says what is wrong with it."""
    label = QLabel()
    label.setProperty("role", "fieldError")
    label.setStyleSheet(ERROR_STYLE)
    label.setWordWrap(True)
    label.hide()
    return label
