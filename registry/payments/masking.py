"""What a card, an account, an ID number or a name looks like outside the bank file: the last four
digits of a card (``****5341``, as the bank's own SMS says it), never a whole number."""

from __future__ import annotations


def mask_tail(number: str, keep: int = 4) -> str:
    """``"6214830012345341"`` → ``"****5341"``; a number too short to mask is all stars."""
    digits = str(number or "").strip()
    return "****" + digits[-keep:] if len(digits) > keep + 2 else "****"


def mask_id_number(id_number: str) -> str:
    """``"510902196105202039"`` → ``"5109**********2039"`` (the queue's spelling)."""
    s = str(id_number or "")
    return s[:4] + "*" * (len(s) - 8) + s[-4:] if len(s) >= 12 else "*" * len(s)


def mask_name(name: str) -> str:
    """For a public notice: ``"漆明学"`` → ``"漆*学"``, ``"吴慧"`` → ``"吴*"``, ``"欧阳小明"`` → ``"欧**明"``."""
    chars = list(str(name or "").strip())
    if len(chars) <= 1:
        return "*" * len(chars)
    if len(chars) == 2:
        return chars[0] + "*"
    return chars[0] + "*" * (len(chars) - 2) + chars[-1]
