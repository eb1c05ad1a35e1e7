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
        # romanised names; digits and control characters are not part of a name, nor are
        # invisible (default-ignorable) characters such as U+034F or U+200B.
        if _default_ignorable(ord(ch)):
            raise DomainError(NAME_INVALID, "name", character=f"U+{ord(ch):04X}")
        if cat == "Cn" and _cjk_extension(ord(ch)):
            continue  # a CJK extension character newer than this Python's table (Ext. H, I)
        if not (cat.startswith("L") or ch in "·• " or cat == "Mn"):
            # Unassigned (Cn), surrogates (Cs) and the like are named by code point, never echoed.
            shown = ch if cat[0] in "LMNPSZ" else f"U+{ord(ch):04X}"
            raise DomainError(NAME_INVALID, "name", character=shown)
    return name


# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt): characters that render as
# nothing; Python's unicodedata does not expose the property.
_DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)
# The CJK Unified Ideographs extension blocks in planes 2 and 3 (B to I), where a Cn of this
# Python's table may be a character assigned since; the planes' noncharacters are outside them.
_CJK_EXTENSIONS = ((0x20000, 0x2A6DF), (0x2A700, 0x2EE5F), (0x30000, 0x323AF))


def _default_ignorable(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in _DEFAULT_IGNORABLE)


def _cjk_extension(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in _CJK_EXTENSIONS)


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


def is_pinyin_query(query: str) -> bool:
    """Latin letters only (zhangs, zs): a search that may mean a name's pinyin."""
    return bool(query) and query.isascii() and query.isalpha()


def pinyin_matches(name: str, query: str) -> bool:
    """The name's full pinyin or its initials start with the query, as the field roster searches
    (张三: zhang, zhangsan, zs)."""
    q = query.strip().lower()
    full, initials = pinyin_keys(name)
    return bool(q) and (full.startswith(q) or initials.startswith(q))


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
