"""One line of a department's payment roster as read from its file (``entitlements.read_roster``) and checked
(``checks.check_roster``): its own module so that both can name it."""

from __future__ import annotations

from dataclasses import dataclass, field

from enrollment.roster_csv import RowError


@dataclass
class RosterLine:
    line: int
    id_number: str
    name: str
    item: str
    period: str
    amount_fen: int
    problems: list[RowError] = field(default_factory=list)   # none for a good line


__all__ = ["RosterLine"]
