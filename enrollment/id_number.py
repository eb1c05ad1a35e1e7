"""Citizen ID numbers (GB 11643-1999).

``python-stdnum`` supplies the checksum, the date parsing and the region table (GB/T 2260 with
each code's years). Its ``validate`` refuses a region code that did not exist in the birth year,
which turns away nearly everyone born before their county's code: numbers were first issued in
1984, with the code current at issue (someone born in 1961 in 遂宁 carries 510902, a code of
1985-2003). Here a code is fine when it existed at any time from max(birth year, 1984) to today;
a code that never existed or was abolished before then is a *warning* the cadre confirms, never a
refusal.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field

from stdnum import numdb
from stdnum.cn import ric

from .errors import DomainError

# ASCII digits only (Python's \d also takes other scripts' digits); shared with the API's request schemas.
FORMAT_PATTERN = "^[0-9]{17}[0-9X]$"
_FORMAT = re.compile(FORMAT_PATTERN)

# Stable codes, one per failure (see desktop/errors.py for the wording).
EMPTY = "id_number.empty"
LENGTH = "id_number.length"
FORMAT = "id_number.format"
CHECK = "id_number.check_character"
DATE_INVALID = "id_number.birth_date_invalid"
DATE_FUTURE = "id_number.birth_date_future"
DATE_TOO_OLD = "id_number.birth_date_too_old"
REGION_UNKNOWN = "id_number.region_unknown"
REGION_ANACHRONISTIC = "id_number.region_anachronistic"

_OLDEST_YEAR = 1880


@dataclass(frozen=True)
class IdNumberInfo:
    number: str
    birth_date: dt.date
    sex: str  # "男" or "女"
    region_code: str
    region_name: str | None
    # Codes of warnings (not refusals) the cadre must confirm: unknown / anachronistic region.
    warnings: tuple[str, ...] = field(default_factory=tuple)


def normalize(raw: str) -> str:
    """Strip spaces and accept a lower-case x, which people type."""
    return re.sub(r"\s+", "", raw or "").upper()


def parse(raw: str, *, today: dt.date | None = None) -> IdNumberInfo:
    """Validate fully and return what the number says; raise DomainError with its own code."""
    number = normalize(raw)
    if not number:
        raise DomainError(EMPTY, "id_number")
    if len(number) != 18:
        raise DomainError(LENGTH, "id_number", length=len(number))
    if not _FORMAT.match(number):
        raise DomainError(FORMAT, "id_number")
    if number[-1] != ric.calc_check_digit(number):
        raise DomainError(CHECK, "id_number")
    try:
        # stdnum's get_birth_date does the same after cleaning the number again character by character,
        # which was half of the time of reading a million-line payment roster.
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:  # 19990231, month 13
        raise DomainError(DATE_INVALID, "id_number") from exc
    today = today or dt.date.today()
    if birth > today:
        raise DomainError(DATE_FUTURE, "id_number")
    if birth.year < _OLDEST_YEAR:
        raise DomainError(DATE_TOO_OLD, "id_number", year=birth.year)
    sex = "男" if int(number[16]) % 2 == 1 else "女"
    region_name, warnings = _region(number[:6], birth.year, today.year)
    return IdNumberInfo(number, birth, sex, number[:6], region_name, warnings)


# Numbers were first issued in 1984, each with the region code current at issue (not at birth).
FIRST_ISSUE_YEAR = 1984


@functools.lru_cache(maxsize=8192)
def _county(code: str) -> str | None:
    """numdb's county entry for a region code: a linear search of a large table (~2 ms), cached because a
    roster or a payment file repeats a few thousand codes over up to a million lines."""
    results = numdb.get("cn/loc").info(code)
    return {k: v for _part, props in results for k, v in props.items()}.get("county")


@functools.lru_cache(maxsize=65536)
def _region(code: str, birth_year: int, this_year: int) -> tuple[str | None, tuple[str, ...]]:
    """The code's name and its warning: none when the code existed at some time between the first
    year the holder could have been issued a number (max(birth year, 1984)) and today; unknown when
    the table has no such code; anachronistic when it existed only outside that window (abolished
    before the holder could be issued a number). Spans are numdb's "[start-end]name", either end open.
    Cached: a million-line payment roster repeats a few thousand codes and a hundred birth years."""
    county = _county(code)
    if not county:
        return None, (REGION_UNKNOWN,)
    first = max(birth_year, FIRST_ISSUE_YEAR)
    names = []
    for entry in county.split(","):
        if not entry.startswith("["):
            return entry, ()
        span, name = entry[1:].split("]")
        start, end = span.split("-")
        names.append(name)
        if (not start or int(start) <= this_year) and (not end or int(end) >= first):
            return name, ()
    return (names[-1] if names else None), (REGION_ANACHRONISTIC,)


def check_character(first17: str) -> str:
    """The check character for 17 digits (used by demo-data and test generators)."""
    return ric.calc_check_digit(first17 + "0")


def make(region: str, birth: dt.date, sequence: int) -> str:
    """Build a valid number: region (6) + YYYYMMDD + 3-digit sequence + check."""
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + check_character(body)
