"""The registry's review of a record as the field screens show it (protocol v3): names in Chinese, colours.

The review is the registry's word about a record the laptop sent (received → checked →
needs_review | cleared → approved | rejected | returned), pulled on each sync; it is separate from the
send state (草稿/待发送/…/已送达) the outbox already shows. A returned record (已退回) waits for the
cadre's correction; a rejected one (已驳回) was refused with a reason. Every name comes from
``enrollment.vocabulary``, so the laptop, the central workspace and the reports say the same thing.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from PySide6.QtCore import QCoreApplication

from enrollment.records import subsidy_catalogue
from enrollment.vocabulary import ReviewState

RETURNED = ReviewState.RETURNED
REJECTED = ReviewState.REJECTED
APPROVED = ReviewState.APPROVED

REVIEW_COLOURS = {
    ReviewState.RECEIVED: "#555555",
    ReviewState.CHECKED: "#555555",
    ReviewState.NEEDS_REVIEW: "#8a6d00",
    ReviewState.CLEARED: "#1d5fb4",
    APPROVED: "#1a7f37",
    REJECTED: "#c62828",
    RETURNED: "#b45309",
}
# The row of a returned record stands out in the outbox and the roster: it waits for the cadre.
RETURNED_BACKGROUND = "#ffe8c2"


def _t(text: str) -> str:
    return QCoreApplication.translate("review", text)


def vocabulary_name(value: str | None, enum: type[StrEnum]) -> str:
    """The one Chinese name of a vocabulary value, through tr(); an unknown value comes back as it is."""
    try:
        return QCoreApplication.translate("vocabulary", enum(value).label)
    except ValueError:
        return value or ""


def review_state_name(state: str | None) -> str:
    """The review state's name; "" when the registry has not said anything yet."""
    return vocabulary_name(state, ReviewState)


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
