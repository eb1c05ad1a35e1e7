"""The transitions ``enrollment.vocabulary`` describes are the ones the registry makes: every
decision tried from every state, the checks run on a record in every state, and a new version
pushed over every state."""

from __future__ import annotations

import pytest
from regkit import PASSWORD, VILLAGE_A
from reviewkit import T0, finding, make_operator, push_edit, push_new, stand_in_check, state_of
from sqlalchemy import update

from enrollment.vocabulary import (
    CHECK_ROUTES,
    DECISION_FROM,
    DECISION_TARGET,
    NEW_VERSION_STATE,
    Action,
    ReviewState,
    transitions,
)
from registry.checks import CheckConfig
from registry.checks.runner import run_checks
from registry.clock import FixedClock
from registry.db import open_database
from registry.errors import ApiError
from registry.review import decide
from registry.schema import records
from sync import protocol


@pytest.fixture
def env(registry_db_url):
    engine = open_database(registry_db_url)
    cadre = make_operator(engine, "cadre_a", "cadre", VILLAGE_A)
    central = make_operator(engine, "central", "central")
    yield engine, cadre, central
    engine.dispose()


def _put(engine, record_id: str, state: ReviewState) -> None:
    with engine.begin() as conn:
        conn.execute(update(records).where(records.c.record_id == record_id).values(state=state))


def test_every_decision_from_every_state(env):
    engine, cadre, central = env
    clock = FixedClock(T0)
    for i, (state, action) in enumerate(((s, a) for s in ReviewState for a in Action), 1):
        rid = push_new(engine, cadre, i, clock=clock)["record_id"]
        _put(engine, rid, state)
        reason = None if action == Action.APPROVE else "照片不清楚"
        try:
            decide(engine, central, rid, action, version=1, reason=reason, password=PASSWORD, clock=clock)
        except ApiError as e:
            assert e.code == protocol.E_REVIEW_STATE and state not in DECISION_FROM[action], (state, action)
            assert state_of(engine, rid).state == state
        else:
            assert state in DECISION_FROM[action], (state, action)
            assert state_of(engine, rid).state == DECISION_TARGET[action]


@pytest.mark.parametrize("with_finding", [True, False])
def test_the_checks_route_every_state_as_described(env, with_finding):
    engine, cadre, _central = env
    clock = FixedClock(T0)
    for i, state in enumerate(ReviewState, 1):
        if state == ReviewState.CHECKED:
            continue  # never stored: the runner passes through it inside its transaction
        rid = push_new(engine, cadre, i, clock=clock)["record_id"]
        _put(engine, rid, state)
        run_checks(engine, config=CheckConfig(), rules=None, face_index=None, now=T0, actor="test",
                   record_ids=[rid], checks=[stand_in_check({rid: [finding()] if with_finding else []})])
        after = state_of(engine, rid).state
        if state in CHECK_ROUTES:
            assert after in CHECK_ROUTES[state], (state, after)
            expected = ReviewState.NEEDS_REVIEW if with_finding else (
                ReviewState.APPROVED if state == ReviewState.APPROVED else ReviewState.CLEARED)
            assert after == expected, (state, after)
        else:
            assert after == state, state  # rejected and returned wait for the cadre's new version


def test_a_new_version_starts_again_at_received_from_every_state(env):
    engine, cadre, _central = env
    clock = FixedClock(T0)
    for i, state in enumerate(ReviewState, 1):
        p = push_new(engine, cadre, i, clock=clock)
        _put(engine, p["record_id"], state)
        push_edit(engine, cadre, p, 1, clock=clock, address=f"第{i}组")
        row = state_of(engine, p["record_id"])
        assert row.version == 2 and row.state == NEW_VERSION_STATE, state


def test_the_transition_table_holds_exactly_these_moves():
    moves = transitions()
    assert all(NEW_VERSION_STATE in moves[s] for s in ReviewState if s != NEW_VERSION_STATE)
    assert moves[ReviewState.RECEIVED] >= {ReviewState.CHECKED, ReviewState.NEEDS_REVIEW, ReviewState.CLEARED}
    assert moves[ReviewState.REJECTED] == moves[ReviewState.RETURNED] == {ReviewState.RECEIVED}
    assert moves[ReviewState.APPROVED] == {ReviewState.RECEIVED, ReviewState.NEEDS_REVIEW}
