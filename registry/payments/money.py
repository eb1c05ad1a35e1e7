"""Yuan as people write them ↔ integer fen as the registry keeps them. Never a float."""

from __future__ import annotations

import re

from enrollment.errors import DomainError

AMOUNT_INVALID = "amount.invalid"        # not a yuan amount with at most two decimals, or not positive
_YUAN = re.compile(r"^(0|[1-9][0-9]{0,9})(?:\.([0-9]{1,2}))?$")


def yuan_to_fen(text: str) -> int:
    """``"90"`` → 9000, ``"90.5"`` → 9050, ``"90.50"`` → 9050; anything else (a sign, three decimals,
    a thousands separator, a float's exponent, zero) is ``amount.invalid``."""
    match = _YUAN.match(str(text).strip())
    if not match:
        raise DomainError(AMOUNT_INVALID, "amount", value=str(text)[:32])
    fen = int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))
    if fen <= 0:
        raise DomainError(AMOUNT_INVALID, "amount", value=str(text)[:32])
    return fen


def fen_to_yuan(fen: int) -> str:
    """9000 → ``"90.00"``; the bank file's and the reports' spelling (always two decimals)."""
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def fen_to_words(fen: int) -> str:
    """How the SMS and the self-query page say an amount: 9000 → ``"90"``, 9050 → ``"90.50"``."""
    return str(fen // 100) if fen % 100 == 0 else fen_to_yuan(fen)
