"""Names, phone numbers and search keys.

Names may hold characters outside the BMP (𠈌, 𡒄): everything here works on code
points, never on UTF-16 units, and never drops a character it cannot romanise.
"""

from __future__ import annotations

import re
import unicodedata

from .errors import DomainError

NAME_EMPTY = "name.empty"
NAME_TOO_LONG = "name.too_long"
NAME_INVALID = "name.invalid_character"
PHONE_INVALID = "phone.invalid"

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_NAME_MAX = 30


def normalize_name(raw: str) -> str:
    name = unicodedata.normalize("NFC", (raw or "").strip())
    if not name:
        raise DomainError(NAME_EMPTY, "name")
    if len(name) > _NAME_MAX:
        raise DomainError(NAME_TOO_LONG, "name", max=_NAME_MAX)
    for ch in name:
        cat = unicodedata.category(ch)
        # Letters of any plane, the middle dot of minority names (·), and spaces inside
        # romanised names; digits and control characters are not part of a name.
        if not (cat.startswith("L") or ch in "·• " or cat == "Mn"):
            if cat == "Cn" and ord(ch) > 0xFFFF:
                continue  # rare CJK extension characters not yet in this Python's table
            raise DomainError(NAME_INVALID, "name", character=ch)
    return name


def normalize_mobile(raw: str | None) -> str:
    """Empty stays empty (phone is optional); otherwise an 11-digit mainland mobile number."""
    phone = re.sub(r"[\s-]", "", raw or "")
    if phone.startswith("+86"):
        phone = phone[3:]
    if not phone:
        return ""
    if not _MOBILE.match(phone):
        raise DomainError(PHONE_INVALID, "phone")
    return phone


def pinyin_keys(name: str) -> tuple[str, str]:
    """(full pinyin, initials) for search: 张三 → ("zhangsan", "zs").

    A character pypinyin does not know is kept as itself in both, so a search by the
    character still works for rare names.
    """
    # Imported here: its phrase tables cost ~0.25 s, which the app's start should not pay.
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(name, style=Style.NORMAL, errors=lambda chars: list(chars))
    full = "".join(syllables).lower()
    initials = "".join(s[0] for s in syllables if s).lower()
    return full, initials
