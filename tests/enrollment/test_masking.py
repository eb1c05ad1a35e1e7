"""ID numbers and telephone numbers in free text are masked; everything else, hashes and record ids included, is kept."""

from __future__ import annotations

import datetime as dt

import pytest

from enrollment import id_number as idn
from enrollment.masking import mask_personal_numbers

ID18 = idn.make("510903", dt.date(1990, 1, 1), 123)


@pytest.mark.parametrize("text, expected", [
    (f"张三 身份证{ID18} 重复", f"张三 身份证{ID18[:4]}**********{ID18[-4:]} 重复"),
    ("旧证510903900101123。", "旧证5109*******1123。"),
    ("号码51090319900101123X，", "号码5109**********123X，"),
    ("号码51090319900101123x", "号码5109**********123x"),
    ("电话13812345678", "电话138****5678"),
    ("电话 +86 138-1234-5678", "电话 +86 138****5678"),
    ("电话0086 13812345678。", "电话0086 138****5678。"),
    ("电话008613812345678。", "电话0086*******5678。"),  # 15 digits in a row: masked as an old ID number
    ("手机 159 1234 5678", "手机 159****5678"),
    ("座机0838-6223456", "座机0838-***3456"),
    ("座机(028)86123456", "座机(028)****3456"),
    ("座机（028）86123456", "座机（028）****3456"),
    ("座机02886123456", "座机028****3456"),
])
def test_personal_numbers_are_masked(text, expected):
    """18- and 15-character ID numbers keep 4+4, mobiles 3+4, landlines their area code and last 4."""
    assert mask_personal_numbers(text) == expected


@pytest.mark.parametrize("text", [
    "record 8e1f2a3b-0123-45678901abcd v2",             # a record id's groups of digits
    "sha256 a13812345678b0c51090319900101123400ffee",    # digits inside a hexadecimal hash
    "village 510903001001, seq=42, port 8765, 2026-12-01 16:42",
    "12345678901234567890",                              # 20 digits: no ID number, no phone
    "12812345678",                                       # 1 then 2: not a mobile prefix
    "",
])
def test_other_text_is_kept(text):
    """Codes, dates, village codes, hashes and record ids are not mistaken for personal numbers."""
    assert mask_personal_numbers(text) == text
