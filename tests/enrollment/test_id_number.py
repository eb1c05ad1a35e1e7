"""GB 11643-1999 citizen ID numbers: each failure has its own code; region codes only warn."""

from __future__ import annotations

import datetime as dt

import pytest

from enrollment import id_number as idn
from enrollment.errors import DomainError

TODAY = dt.date(2026, 11, 27)


def with_check(first17: str) -> str:
    return first17 + idn.check_character(first17)


def code_of(raw: str) -> str:
    with pytest.raises(DomainError) as info:
        idn.parse(raw, today=TODAY)
    return info.value.code


def test_valid_number_gives_birth_date_sex_and_region():
    """A valid number yields its birth date, the sex from the sequence's parity and the region name."""
    info = idn.parse("11010519491231002X", today=TODAY)
    assert info.birth_date == dt.date(1949, 12, 31)
    assert info.sex == "女"
    assert info.region_name == "朝阳区"
    assert info.warnings == ()


def test_lower_case_x_and_spaces_are_accepted():
    """People type a lower-case x and spaces; the number is normalised, not refused."""
    assert idn.parse(" 110105 19491231 002x ", today=TODAY).number == "11010519491231002X"


def test_odd_sequence_is_male():
    """An odd third-from-last digit means male."""
    assert idn.parse(idn.make("510921", dt.date(1970, 5, 6), 11), today=TODAY).sex == "男"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", idn.EMPTY),
        ("11010519491231002", idn.LENGTH),
        ("1101051949123100211", idn.LENGTH),
        ("11010519491231002A", idn.FORMAT),
        ("1101051949123A002X", idn.FORMAT),
        ("٥١٠٩٠٣١٩٦٨٠٣١٤٠١١٨", idn.FORMAT),   # Arabic-Indic digits: Python's \d would take them
        ("110105194912310021", idn.CHECK),
        (with_check("51090319990230123"), idn.DATE_INVALID),
        (with_check("51090320991231123"), idn.DATE_FUTURE),
        (with_check("51090318000101123"), idn.DATE_TOO_OLD),
    ],
)
def test_each_failure_has_its_own_code(raw, code):
    """Length, format, check character, impossible date, future date and implausible age are distinct codes."""
    assert code_of(raw) == code


@pytest.mark.parametrize("region, born, name", [
    ("510902", 1961, "市中区"),   # 遂宁市中区 1985-2003: numbers were issued from 1984 with the code then current
    ("510903", 1968, "船山区"),   # 船山区 since 2003
    ("510981", 1970, "射洪市"),   # 射洪市 since 2019 (射洪县 before): a number re-issued after the change
    ("510903", 2005, "船山区"),
])
def test_region_current_at_some_time_since_issue_gives_no_warning(region, born, name):
    """A code that existed at any time between max(birth year, 1984) and today is the normal case: no warning."""
    info = idn.parse(idn.make(region, dt.date(born, 6, 1), 123), today=TODAY)
    assert (info.region_name, info.warnings) == (name, ())


def test_region_abolished_before_the_holder_could_be_issued_a_number_warns():
    """110201 昌平县 was abolished in 1982: a holder born in 1970 got a number from 1984 on, so it warns."""
    info = idn.parse(idn.make("110201", dt.date(1970, 1, 1), 123), today=TODAY)
    assert (info.region_name, info.warnings) == ("昌平县", (idn.REGION_ANACHRONISTIC,))


def test_region_abolished_before_a_later_birth_warns():
    """510902 市中区 ended in 2003: someone born in 2010 cannot carry it."""
    info = idn.parse(idn.make("510902", dt.date(2010, 1, 1), 123), today=TODAY)
    assert info.warnings == (idn.REGION_ANACHRONISTIC,)


def test_renamed_county_keeps_old_and_new_codes():
    """510922 射洪县 (before 2019) and 510981 射洪市 (since 2019) are both accepted."""
    old = idn.parse(idn.make("510922", dt.date(1990, 3, 3), 5), today=TODAY)
    new = idn.parse(idn.make("510981", dt.date(2020, 3, 3), 5), today=TODAY)
    assert (old.region_name, old.warnings) == ("射洪县", ())
    assert (new.region_name, new.warnings) == ("射洪市", ())


def test_unknown_region_is_a_warning():
    """A region code absent from the table warns instead of refusing."""
    info = idn.parse(idn.make("519999", dt.date(1990, 1, 1), 1), today=TODAY)
    assert info.warnings == (idn.REGION_UNKNOWN,)
