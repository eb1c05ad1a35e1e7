"""The registry's review of a record as the field screens show it (protocol v3): names in Chinese, colours.

The review is the registry's word about a record the laptop sent (received → checked →
needs_review | cleared → approved | rejected | returned), pulled on each sync; it is separate from the
send state (草稿/待发送/…/已接收) the outbox already shows. A returned record (已退回) waits for the
cadre's correction; a rejected one (已驳回) was refused with a reason.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication

from enrollment.records import subsidy_catalogue
from sync import protocol

RETURNED = protocol.REVIEW_RETURNED
REJECTED = protocol.REVIEW_REJECTED
APPROVED = protocol.REVIEW_APPROVED

REVIEW_COLOURS = {
    protocol.REVIEW_RECEIVED: "#555555",
    protocol.REVIEW_CHECKED: "#555555",
    protocol.REVIEW_NEEDS_REVIEW: "#8a6d00",
    protocol.REVIEW_CLEARED: "#1d5fb4",
    APPROVED: "#1a7f37",
    REJECTED: "#c62828",
    RETURNED: "#b45309",
}
# The row of a returned record stands out in the outbox and the roster: it waits for the cadre.
RETURNED_BACKGROUND = "#ffe8c2"


def _t(text: str) -> str:
    return QCoreApplication.translate("review", text)


def review_state_name(state: str | None) -> str:
    """待审核 / 需复核 / 已通过初审 / 已批准 / 已驳回 / 已退回; "" when the registry has not said anything yet."""
    return {
        protocol.REVIEW_RECEIVED: _t("待审核"),
        protocol.REVIEW_CHECKED: _t("待审核"),
        protocol.REVIEW_NEEDS_REVIEW: _t("需复核"),
        protocol.REVIEW_CLEARED: _t("已通过初审"),
        APPROVED: _t("已批准"),
        REJECTED: _t("已驳回"),
        RETURNED: _t("已退回"),
    }.get(state or "", state or "")


def review_summary(review: dict[str, Any] | None) -> str:
    """One line: the state, and for a decision with a reason the reason (已退回：照片不清楚)."""
    if not review or not review.get("state"):
        return ""
    name = review_state_name(review["state"])
    if review["state"] == APPROVED and review.get("card_issued_at"):
        name = _t("已批准，已发卡")
    reason = (review.get("reason") or "").strip()
    return _t("{state}：{reason}").format(state=name, reason=reason) if reason else name


def review_colour(state: str | None) -> str:
    return REVIEW_COLOURS.get(state or "", "#666666")


def is_returned(review: dict[str, Any] | None) -> bool:
    return bool(review) and review.get("state") == RETURNED


def subsidy_names() -> dict[str, str]:
    """Catalogue code → the item's name as people read it (translation hook for other locales)."""
    return {code: QCoreApplication.translate("subsidy", name) for code, name in subsidy_catalogue()}
