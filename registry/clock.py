"""Server time, injectable: warnings and review timestamps read a ``Clock``, so tests fix the moment."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current moment, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FixedClock:
    """Always the same moment (tests, and ``yikatong registry warnings --at``); ``advance`` moves it."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = _utc(at)

    def now(self) -> dt.datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += dt.timedelta(**delta)


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("a clock's moment must carry a timezone")
    return moment.astimezone(dt.UTC)


def parse_moment(text: str) -> dt.datetime:
    """An ISO-8601 moment from a user (``2026-12-01T08:00:00Z``, ``…+08:00``); no zone means UTC."""
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


# The moments a user may ask the warnings and their reports about: years 1 and 9999 overflow
# their date arithmetic, and nothing before 1970 or after 9000 is a real question.
MOMENT_MIN = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MOMENT_MAX = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)


def moment_in_range(moment: dt.datetime) -> bool:
    return MOMENT_MIN <= moment <= MOMENT_MAX
