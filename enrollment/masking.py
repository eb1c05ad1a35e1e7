"""Mask ID numbers and telephone numbers inside free text (log lines, decision reasons).

One rule for every place text written by people or by code is kept: the laptop's log and crash
reports (``desktop.crash_report``) and the registry's stored audit texts (``registry.audit``).

* resident ID numbers, 18 characters (the last may be X) and the old 15-digit ones, keep the
  first 4 and last 4 characters, as ``mask_id_number`` shows them everywhere else
  (``5109**********1234``): staff can match one to the record in front of them, while the
  birth date and the county are hidden;
* mainland mobile numbers (``1[3-9]`` and 9 digits, with or without ``+86``/``0086`` and
  spaces or hyphens between the 3-4-4 groups) keep the first 3 and last 4 digits
  (``138****5678``), the usual way they are shown in China;
* landlines with an area code (``0838-1234567``, ``(028)12345678``, ``02812345678``) keep the
  area code and the last 4 digits (``0838-***4567``).

Names cannot be told apart from other words, so they are not masked: a stored text that holds
one is removed by redaction (``yikatong registry redact-text``), not by this module.
"""

from __future__ import annotations

import re

from .errors import mask_id_number

# ASCII letters count as part of a word, so a run of digits inside a hexadecimal hash or a record
# id is left alone (a landline also not right after a hyphen: the groups of a UUID).
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXxＸｘ]|\d{15})(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z+])((?:\+|00)?86[ -]?)?(1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?![0-9A-Za-z])")
# Area codes: 3 digits after 01 and 02 (010, 028), 4 digits otherwise (0838).
_AREA = r"0(?:[12]\d|[3-9]\d{2})"
_LANDLINE = re.compile(rf"(?<![0-9A-Za-z-])(\({_AREA}\)|（{_AREA}）|{_AREA})([ -]?)(\d{{7,8}})(?![0-9A-Za-z])")


def _mobile(m: re.Match[str]) -> str:
    return (m.group(1) or "") + m.group(2) + "****" + m.group(4)


def _landline(m: re.Match[str]) -> str:
    local = m.group(3)
    return m.group(1) + m.group(2) + "*" * (len(local) - 4) + local[-4:]


def mask_personal_numbers(text: str) -> str:
    """``text`` with every ID number, mobile and landline number masked; everything else kept."""
    text = _ID_NUMBER.sub(lambda m: mask_id_number(m.group(0)), text)
    text = _MOBILE.sub(_mobile, text)
    return _LANDLINE.sub(_landline, text)
