"""Process warnings: records left unhandled, or approved and never issued a card (issue 4).

A record whose current version was received and is not yet decided (states received,
checked, needs_review, cleared) turns yellow ``unhandled_yellow_hours`` after that version
arrived; an approved record with no card turns yellow ``unissued_yellow_hours`` after the
decision. Either turns red ``red_after_hours`` after it turned yellow. Lights are computed
from stored times and a moment ``now`` (a ``registry.clock.Clock`` gives it), never stored,
so they are always current and a test can fix the moment.

The same conditions exist twice: in Python (``light_of``, for one row) and in SQL
(``light_condition``, to filter and count without loading every record); the tests
compare them.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, false, or_, select

import resources
from enrollment.errors import mask_id_number
from enrollment.vocabulary import UNDECIDED, Light, ReviewState

from .db import iso
from .schema import (
    record_versions,
    records,
    villages,
)

LIMITS_PATH = ("review", "warning_limits.json")
LIMITS_INVALID = "warnings.limits_invalid"

NONE, YELLOW, RED = Light.NONE, Light.YELLOW, Light.RED
LIGHTS = tuple(Light)
UNHANDLED, UNISSUED = "unhandled", "unissued"
UNHANDLED_STATES = UNDECIDED


class LimitsError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.code = LIMITS_INVALID


@dataclass(frozen=True)
class WarningLimits:
    unhandled_yellow_hours: float = 72
    unissued_yellow_hours: float = 48
    red_after_hours: float = 72

    @classmethod
    def load(cls, path: str | Path | None = None) -> WarningLimits:
        """The limits from ``resources/review/warning_limits.json``, or from ``path``."""
        p = Path(path) if path else resources.path(*LIMITS_PATH)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise LimitsError(f"cannot read warning limits from {p}: {e}") from None
        values = {}
        for name in cls.__dataclass_fields__:
            if name in data:
                v = data[name]
                if isinstance(v, bool) or not isinstance(v, int | float) or v <= 0:
                    raise LimitsError(f"{name} must be a positive number of hours, not {v!r}")
                values[name] = v
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def yellow_hours(self, reason: str) -> float:
        return self.unhandled_yellow_hours if reason == UNHANDLED else self.unissued_yellow_hours


def _moment(text: str) -> dt.datetime:
    """A stored ISO time (``…Z``); fromisoformat is ~10x faster than strptime, which counts on long lists."""
    return dt.datetime.fromisoformat(text)


def _hours(h: float) -> dt.timedelta:
    return dt.timedelta(hours=h)


def reason_and_since(row: Any) -> tuple[str, str] | tuple[None, None]:
    """Which clock runs for this record, and from when (ISO text): unhandled since the current
    version was received, unissued since the approval; ``(None, None)`` when none runs."""
    if row.deleted:
        return None, None
    if row.state in UNHANDLED_STATES:
        return UNHANDLED, row.received_at
    if row.state == ReviewState.APPROVED and row.card_issued_at is None and row.decided_at:
        return UNISSUED, row.decided_at
    return None, None


def light_of(record_row: Any, now: dt.datetime, limits: WarningLimits) -> str:
    """none, yellow or red for a row with state, deleted, received_at, decided_at, card_issued_at."""
    reason, since = reason_and_since(record_row)
    if reason is None:
        return NONE
    yellow_at = _moment(since) + _hours(limits.yellow_hours(reason))
    if now < yellow_at:
        return NONE
    return RED if now >= yellow_at + _hours(limits.red_after_hours) else YELLOW


def current_version_join():  # noqa: ANN201 - a SQLAlchemy join
    """records joined to their current version's row (its ``received_at`` starts the unhandled clock)."""
    return records.join(record_versions, and_(record_versions.c.record_id == records.c.record_id,
                                              record_versions.c.version == records.c.version))


def light_condition(light: str, now: dt.datetime, limits: WarningLimits):  # noqa: ANN201
    """A WHERE clause (over ``current_version_join``) true exactly where ``light_of`` gives ``light``.

    Times are ISO text of one fixed width, so comparing text compares moments.
    """
    def window(since_col, yellow_h: float):  # noqa: ANN001, ANN202
        yellow_before = iso(now - _hours(yellow_h))  # started at or before this → at least yellow
        red_before = iso(now - _hours(yellow_h + limits.red_after_hours))
        if light == RED:
            return since_col <= red_before
        if light == YELLOW:
            return and_(since_col <= yellow_before, since_col > red_before)
        return since_col > yellow_before

    unhandled = and_(records.c.state.in_(UNHANDLED_STATES),
                     window(record_versions.c.received_at, limits.unhandled_yellow_hours))
    unissued = and_(records.c.state == ReviewState.APPROVED, records.c.card_issued_at.is_(None),
                    records.c.decided_at.is_not(None),
                    window(records.c.decided_at, limits.unissued_yellow_hours))
    live = records.c.deleted.is_(False)
    if light == NONE:
        runs = or_(records.c.state.in_(UNHANDLED_STATES),
                   and_(records.c.state == ReviewState.APPROVED, records.c.card_issued_at.is_(None),
                        records.c.decided_at.is_not(None)))
        return or_(~live, ~runs, unhandled, unissued)
    if light in (YELLOW, RED):
        return and_(live, or_(unhandled, unissued))
    return false()


def warning_item(row: Any, now: dt.datetime, limits: WarningLimits) -> dict[str, Any] | None:
    reason, since = reason_and_since(row)
    if reason is None:
        return None
    start = _moment(since)
    yellow_at = start + _hours(limits.yellow_hours(reason))
    red_at = yellow_at + _hours(limits.red_after_hours)
    if now < yellow_at:
        return None
    light = RED if now >= red_at else YELLOW
    return {
        "record_id": row.record_id, "version": row.version, "village_code": row.village_code,
        "village_name": getattr(row, "village_name", None) or "",
        "id_number_masked": mask_id_number(row.id_number), "state": row.state, "light": light,
        "reason": reason, "since": since, "yellow_at": iso(yellow_at), "red_at": iso(red_at),
        # Whole hours, so a report and a JSON answer show the same number; never a float.
        "hours_open": int((now - start).total_seconds() // 3600),
        "hours_overdue": int((now - yellow_at).total_seconds() // 3600),
        "operator": row.operator,
    }


def warnings(conn: Connection, now: dt.datetime, limits: WarningLimits) -> list[dict[str, Any]]:
    """Every yellow or red record at ``now``: red first, then the longest open first."""
    q = (select(records.c.record_id, records.c.version, records.c.village_code, records.c.id_number,
                records.c.state, records.c.deleted, records.c.decided_at, records.c.card_issued_at,
                records.c.operator, record_versions.c.received_at, villages.c.name.label("village_name"))
         .select_from(current_version_join().outerjoin(villages, villages.c.code == records.c.village_code))
         .where(or_(light_condition(YELLOW, now, limits), light_condition(RED, now, limits))))
    items = [it for it in (warning_item(r, now, limits) for r in conn.execute(q)) if it is not None]
    items.sort(key=lambda it: (it["light"] != RED, it["since"], it["record_id"]))
    return items


def red_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items that go on the escalation report."""
    return [it for it in items if it["light"] == RED]


def write_report_csv(items: list[dict[str, Any]], path: str | Path) -> int:
    """The escalation report (the red items) as CSV; returns the number of rows."""
    from .reports import write_csv

    return write_csv(red_items(items), path)


def write_report_pdf(items: list[dict[str, Any]], path: str | Path, *, at: dt.datetime,
                     limits: WarningLimits | None = None) -> int:
    """The escalation report (the red items) as a PDF in Chinese; returns the number of rows."""
    from .reports import write_pdf

    return write_pdf(red_items(items), path, at=at, limits=limits or WarningLimits.load())
