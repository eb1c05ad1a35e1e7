"""The roster check: is the enrolled person on the enrolling village's roster (花名册, the
``residents`` table imported with ``registry import-roster``)?

Enrolling someone absent from the roster stays allowed (people move, rosters lag), but it is never
cleared automatically: the version gets a finding that a person decides on, ``not_on_roster`` when
the ID number is on no roster, ``roster_other_village`` naming the village whose roster has it.
One indexed query per batch (``residents.id_number IN (…)``) and one for the villages' names.
"""

from __future__ import annotations

from sqlalchemy import select

from ..schema import residents, villages
from . import (
    FLAG,
    NOT_ON_ROSTER,
    ROSTER_OTHER_VILLAGE,
    CheckContext,
    CheckRecord,
    CheckResult,
    Finding,
    RuleCount,
)


def roster(ctx: CheckContext, batch: list[CheckRecord]) -> CheckResult:
    """Each live record's ID number against the residents table."""
    result = CheckResult()
    live = [r for r in batch if not r.deleted]
    count = RuleCount(rule_id=NOT_ON_ROSTER, kind=NOT_ON_ROSTER, compared=len(live))
    result.counts = [count]
    if not live:
        return result
    numbers = sorted({r.id_number for r in live})
    on_roster = dict(ctx.conn.execute(select(residents.c.id_number, residents.c.village_code)
                                      .where(residents.c.id_number.in_(numbers))).all())
    codes = sorted(set(on_roster.values()) | {r.village_code for r in live})
    names = dict(ctx.conn.execute(select(villages.c.code, villages.c.name).where(villages.c.code.in_(codes))).all())
    for r in live:
        home = on_roster.get(r.id_number)
        enrolling = {"village_code": r.village_code, "village_name": names.get(r.village_code, "")}
        if home is None:
            result.add(r.record_id, Finding(NOT_ON_ROSTER, FLAG, {"village": enrolling}))
        elif home != r.village_code:
            result.add(r.record_id, Finding(ROSTER_OTHER_VILLAGE, FLAG, {
                "village": enrolling,
                "roster_village": {"village_code": home, "village_name": names.get(home, "")}}, subject=home))
    return result
