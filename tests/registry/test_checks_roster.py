"""The roster check (SQLite and PostgreSQL): a resident on no roster, or on another village's roster,
is accepted but lands in needs_review with a finding naming the other village; bulk approval never
takes such a record."""

from __future__ import annotations

import pytest
from regkit import PASSWORD, VILLAGE_A, VILLAGE_B, resident, write_roster
from reviewkit import T0, make_operator, push_new, run_real_checks, state_of
from sqlalchemy import select, update

from enrollment.vocabulary import FindingKind, ReviewState
from registry import review
from registry.clock import FixedClock
from registry.db import open_database
from registry.roster import import_roster
from registry.schema import findings, records


@pytest.fixture
def env(registry_db_url, tmp_path):
    engine = open_database(registry_db_url)
    import_roster(engine, write_roster(tmp_path / "a.csv", [resident(i, VILLAGE_A) for i in (1, 2)]),
                  VILLAGE_A, village_name="大石村")
    import_roster(engine, write_roster(tmp_path / "b.csv", [resident(i, VILLAGE_B) for i in (11, 12)]),
                  VILLAGE_B, village_name="小河村")
    cadre = make_operator(engine, "cadre_a", "cadre", VILLAGE_A)
    staff = make_operator(engine, "central", "central")
    yield engine, cadre, staff
    engine.dispose()


def _findings(engine, record_id: str) -> list:
    with engine.connect() as conn:
        return conn.execute(select(findings).where(findings.c.record_id == record_id)).all()


def test_residents_off_the_villages_roster_need_a_person(env):
    """On the roster: cleared. On no roster: not_on_roster. On village B's roster, enrolled under A:
    roster_other_village naming B (code and name). Both in needs_review; bulk approval skips them."""
    engine, cadre, staff = env
    clock = FixedClock(T0)
    home = push_new(engine, cadre, 1, clock=clock)["record_id"]
    nowhere = push_new(engine, cadre, 7, clock=clock)["record_id"]           # on no roster
    elsewhere = push_new(engine, cadre, 11, clock=clock)["record_id"]        # on village B's roster
    run_real_checks(engine, [home, nowhere, elsewhere])

    assert state_of(engine, home).state == ReviewState.CLEARED and _findings(engine, home) == []
    (f,) = _findings(engine, nowhere)
    assert (state_of(engine, nowhere).state, f.kind, f.status) == (ReviewState.NEEDS_REVIEW,
                                                                   FindingKind.NOT_ON_ROSTER, "open")
    (g,) = _findings(engine, elsewhere)
    assert (state_of(engine, elsewhere).state, g.kind, g.subject) == (ReviewState.NEEDS_REVIEW,
                                                                      FindingKind.ROSTER_OTHER_VILLAGE, VILLAGE_B)
    detail = review.record_detail(engine, staff, elsewhere)["findings"][0]
    assert detail["evidence"] == {"village": {"village_code": VILLAGE_A, "village_name": "大石村"},
                                  "roster_village": {"village_code": VILLAGE_B, "village_name": "小河村"}}

    out = review.bulk_approve(engine, staff, [{"record_id": r, "version": 1} for r in (home, nowhere, elsewhere)],
                              password=PASSWORD, clock=clock)
    assert out["approved"] == [home]
    assert {s["record_id"] for s in out["skipped"]} == {nowhere, elsewhere}


def test_bulk_approval_never_takes_a_record_with_an_open_finding_whatever_its_state(env):
    """The explicit guard: even a record marked cleared is skipped while its version has an open finding."""
    engine, cadre, staff = env
    clock = FixedClock(T0)
    rid = push_new(engine, cadre, 8, clock=clock)["record_id"]
    run_real_checks(engine, [rid])
    with engine.begin() as conn:  # as if something had routed it wrongly
        conn.execute(update(records).where(records.c.record_id == rid).values(state=ReviewState.CLEARED))
    out = review.bulk_approve(engine, staff, [{"record_id": rid, "version": 1}], password=PASSWORD, clock=clock)
    assert out == {"approved": [], "skipped": [{"record_id": rid, "code": "review.state_invalid"}]}
    assert state_of(engine, rid).state == ReviewState.CLEARED
