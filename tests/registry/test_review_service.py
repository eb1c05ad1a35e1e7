"""Review services in-process on SQLite and PostgreSQL: state rules, resets, queue, dashboard."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from regkit import PASSWORD, VILLAGE_A, VILLAGE_B, resident
from reviewkit import T0, finding, make_operator, plant_card_of_record, push_edit, push_new, route, state_of
from sqlalchemy import insert, select

from registry import review
from registry.clock import FixedClock
from registry.db import iso, open_database
from registry.errors import ApiError
from registry.schema import audit_log, findings, residents
from registry.service import pull
from registry.warnings import WarningLimits

LIMITS = WarningLimits(unhandled_yellow_hours=72, unissued_yellow_hours=48, red_after_hours=72)


@pytest.fixture
def env(registry_db_url):
    engine = open_database(registry_db_url)
    clock = FixedClock(T0)
    cadre = make_operator(engine, "cadre_a", "cadre", VILLAGE_A)
    staff = make_operator(engine, "central", "central")
    make_operator(engine, "issuer", "central")  # hands out cards: the approver may not (separation of duties)
    yield engine, clock, cadre, staff
    engine.dispose()


def _code(excinfo) -> tuple[int, str]:
    return excinfo.value.status, excinfo.value.code


def test_decisions_follow_the_state_rules(env):
    """Approve needs needs_review/cleared, the seen version, the password and staff; reject/return need a reason."""
    engine, clock, cadre, staff = env
    p = push_new(engine, cadre, 1, clock=clock)
    rid = p["record_id"]

    def decide(action, **kw):
        args = {"version": 1, "reason": "核对无误", "password": PASSWORD, "clock": clock, **kw}
        return review.decide(engine, args.pop("operator", staff), rid, action, **args)

    cases = [
        (dict(action="approve"), (409, "review.state_invalid")),              # still received
        (dict(action="approve", operator=cadre), (403, "auth.forbidden")),
        (dict(action="reject", reason="  "), (422, "review.reason_required")),
        (dict(action="return", reason=None), (422, "review.reason_required")),
        (dict(action="return", reason="长" * 201), (422, "review.reason_too_long")),
        (dict(action="reject", password=None), (422, "review.password_required")),
        (dict(action="reject", password="wrong-password"), (401, "auth.bad_credentials")),
        (dict(action="reject", version=2), (409, "review.version_stale")),
        (dict(action="merge"), (422, "review.action_invalid")),
    ]
    for kw, expected in cases:
        with pytest.raises(ApiError) as e:
            decide(**kw)
        assert _code(e) == expected, kw
    with pytest.raises(ApiError) as e:
        review.decide(engine, staff, "00000000-0000-4000-8000-000000000000", "return", version=1, reason="x",
                      clock=clock)
    assert _code(e) == (404, "record.unknown")
    assert state_of(engine, rid).state == "received"

    route(engine, {rid: [finding()]})
    assert state_of(engine, rid).state == "needs_review"
    clock.advance(hours=5)
    out = decide("approve", reason="  人工核实：不是同一人  ")["record"]
    assert out["state"] == "approved" and out["review_reason"] == "人工核实：不是同一人"
    assert out["decided_by"] == "central" and out["decided_at"] == iso(T0 + dt.timedelta(hours=5))
    with pytest.raises(ApiError) as e:
        decide("return")
    assert _code(e) == (409, "review.state_invalid")
    with engine.connect() as conn:
        f = conn.execute(select(findings).where(findings.c.record_id == rid)).one()
        entry = conn.execute(select(audit_log).where(audit_log.c.subject == rid,
                                                     audit_log.c.action == "review.approved")).one()
    assert (f.status, f.resolved_by) == ("resolved", "central")
    assert entry.actor == "central" and "reason" not in json.loads(entry.data)
    with engine.connect() as conn:
        history = review.history(conn, rid)
    assert [h["data"]["reason"] for h in history if h["action"] == "review.approved"] == ["人工核实：不是同一人"]


def test_return_without_password_and_a_new_version_starts_review_again(env):
    """A returned record re-pushed as version 2 is received again, decision cleared, old findings superseded."""
    engine, clock, cadre, staff = env
    p = push_new(engine, cadre, 2, clock=clock)
    rid = p["record_id"]
    route(engine, {rid: [finding(), finding(kind="same_id", severity="flag", subject="other")]})
    returned = review.decide(engine, staff, rid, "return", version=1, reason="照片不清楚", clock=clock)["record"]
    assert returned["state"] == "returned"
    # A finding still open on version 1 (resolution closes them; insert one as a later check would).
    with engine.begin() as conn:
        conn.execute(insert(findings).values(record_id=rid, version=1, kind="demographic", severity="flag",
                                             evidence="{}", status="open", created_at=iso(T0)))
    clock.advance(hours=1)
    push_edit(engine, cadre, p, 1, clock=clock, address="大石村9组")
    row = state_of(engine, rid)
    assert (row.version, row.state, row.state_at) == (2, "received", iso(clock.now()))
    assert (row.review_reason, row.decided_by, row.decided_at, row.card_issued_at) == (None, None, None, None)
    with engine.connect() as conn:
        statuses = sorted(s for (s,) in conn.execute(select(findings.c.status).where(findings.c.record_id == rid)))
    assert statuses == ["resolved", "resolved", "superseded"]
    change = [c for c in pull(engine, cadre, 0, 100)["changes"] if c["key"] == rid][0]
    assert change["data"]["review"] == {"state": "received", "reason": None, "decided_by": None,
                                        "decided_at": None, "card_issued_at": None}


def test_card_issue_only_once_and_only_when_approved(env):
    """Card issue: approved → card_issued_at set once (then 409); any other state → 409; stale version → 409."""
    engine, clock, cadre, staff = env
    rid = push_new(engine, cadre, 3, clock=clock)["record_id"]
    with pytest.raises(ApiError) as e:
        review.mark_card_issued(engine, staff, rid, version=1, clock=clock)
    assert _code(e) == (409, "review.state_invalid")
    route(engine, {rid: []})
    review.decide(engine, staff, rid, "approve", version=1, reason=None, password=PASSWORD, clock=clock)
    with pytest.raises(ApiError) as e:
        review.mark_card_issued(engine, staff, rid, version=3, clock=clock)
    assert _code(e) == (409, "review.version_stale")
    with pytest.raises(ApiError) as e:
        review.mark_card_issued(engine, cadre, rid, version=1, clock=clock)
    assert _code(e) == (403, "auth.forbidden")
    clock.advance(hours=30)
    with pytest.raises(ApiError) as e:  # the approver does not hand out the card too
        review.mark_card_issued(engine, staff, rid, version=1, clock=clock)
    assert _code(e) == (403, "review.approver_issues_card")
    issuer = make_operator(engine, "issuer", "central")
    plant_card_of_record(engine, rid)
    out = review.mark_card_issued(engine, issuer, rid, version=1, clock=clock)["record"]
    assert out["state"] == "approved" and out["card_issued_at"] == iso(clock.now())
    with pytest.raises(ApiError) as e:
        review.mark_card_issued(engine, staff, rid, version=1, clock=clock)
    assert _code(e) == (409, "review.state_invalid")
    review_data = [c for c in pull(engine, cadre, 0, 100)["changes"] if c["key"] == rid][0]["data"]["review"]
    assert review_data["card_issued_at"] == iso(clock.now()) and review_data["state"] == "approved"


def test_bulk_approval_skips_what_is_not_cleared(env):
    """Bulk approval approves the cleared records at their version and skips the rest with a code."""
    engine, clock, cadre, staff = env
    ids = [push_new(engine, cadre, 10 + i, clock=clock)["record_id"] for i in range(4)]
    route(engine, {ids[0]: [], ids[1]: [], ids[2]: [finding()]})  # ids[3] stays received
    with pytest.raises(ApiError) as e:
        review.bulk_approve(engine, staff, [{"record_id": ids[0], "version": 1}], password="nope", clock=clock)
    assert _code(e) == (401, "auth.bad_credentials")
    unknown = "00000000-0000-4000-8000-000000000001"
    out = review.bulk_approve(engine, staff, [
        {"record_id": ids[0], "version": 1}, {"record_id": ids[1], "version": 2},
        {"record_id": ids[2], "version": 1}, {"record_id": ids[3], "version": 1},
        {"record_id": unknown, "version": 1}], password=PASSWORD, clock=clock)
    assert out["approved"] == [ids[0]]
    assert out["skipped"] == [{"record_id": ids[1], "code": "review.version_stale"},
                              {"record_id": ids[2], "code": "review.state_invalid"},
                              {"record_id": ids[3], "code": "review.state_invalid"},
                              {"record_id": unknown, "code": "record.unknown"}]
    assert [state_of(engine, i).state for i in ids] == ["approved", "cleared", "needs_review", "received"]


def test_queue_filters(env):
    """The queue filters by state, finding kind, village, light, resident age and name/ID prefix."""
    engine, clock, cadre, staff = env
    cadre_b = make_operator(engine, "cadre_b", "cadre", VILLAGE_B)
    a1 = push_new(engine, cadre, 21, clock=clock)           # born 1971
    clock.advance(minutes=1)
    a2 = push_new(engine, cadre, 22, clock=clock, name="赵钱孙")  # born 1972
    clock.advance(hours=99)
    b1 = push_new(engine, cadre_b, 53, clock=clock, village=VILLAGE_B)  # born 2003
    route(engine, {a1["record_id"]: [finding(kind="face_match", subject="x")], a2["record_id"]: []})
    now = clock.now()

    def ids(**kw):
        with engine.connect() as conn:
            page = review.queue(conn, review.QueueFilters(**kw), now=now, limits=LIMITS)
        return [it["record_id"] for it in page["items"]], page["total"]

    assert ids() == ([a1["record_id"], a2["record_id"], b1["record_id"]], 3)
    assert ids(states=["cleared"]) == ([a2["record_id"]], 1)
    assert ids(kind="face_match") == ([a1["record_id"]], 1)
    assert ids(village=VILLAGE_B) == ([b1["record_id"]], 1)
    assert ids(light="yellow") == ([a1["record_id"], a2["record_id"]], 2)  # 100 h > 72 h, < 144 h
    assert ids(light="none") == ([b1["record_id"]], 1)
    assert ids(light="red") == ([], 0)
    assert ids(age_max=30) == ([b1["record_id"]], 1)
    assert ids(age_min=50, age_max=60) == ([a1["record_id"], a2["record_id"]], 2)
    assert ids(q="赵钱") == ([a2["record_id"]], 1)
    assert ids(q=a1["id_number"][:14]) == ([a1["record_id"]], 1)
    assert ids(q="%") == ([], 0)
    assert ids(limit=1, offset=1) == ([a2["record_id"]], 3)
    with engine.connect() as conn:
        item = review.queue(conn, review.QueueFilters(kind="face_match"), now=now, limits=LIMITS)["items"][0]
    assert item["finding_kinds"] == ["face_match"] and item["findings_open"] == 1
    assert item["severity"] == "intercept" and item["light"] == "yellow"
    assert item["id_number_masked"].count("*") == 10 and item["age"] == 55 and item["name"] == a1["name"]
    with pytest.raises(ApiError) as e, engine.connect() as conn:
        review.queue(conn, review.QueueFilters(states=["limbo"]), now=now, limits=LIMITS)
    assert _code(e) == (422, "request.invalid")


def test_record_detail_is_audited_and_shows_related_records(env):
    """Opening a record writes record.viewed; the detail carries findings, the related record, versions, history."""
    engine, clock, cadre, staff = env
    other = push_new(engine, cadre, 31, clock=clock)
    p = push_new(engine, cadre, 32, clock=clock)
    route(engine, {p["record_id"]: [finding(kind="same_id", severity="flag", subject=other["record_id"])],
                   other["record_id"]: []})
    with pytest.raises(ApiError) as e:
        review.record_detail(engine, cadre, p["record_id"], clock=clock, limits=LIMITS)
    assert _code(e) == (403, "auth.forbidden")
    d = review.record_detail(engine, staff, p["record_id"], clock=clock, limits=LIMITS)
    assert d["record"]["id_number"] == p["id_number"] and d["record"]["payload"] == p
    assert [f["kind"] for f in d["findings"]] == ["same_id"] and d["findings"][0]["status"] == "open"
    assert list(d["related"]) == [other["record_id"]]
    assert d["related"][other["record_id"]]["id_number"] == other["id_number"]
    assert d["versions"][0]["version"] == 1 and d["reference_photo"] is None
    assert [h["action"] for h in d["history"]][0] == "record.accepted"
    again = review.record_detail(engine, staff, p["record_id"], clock=clock, limits=LIMITS)
    assert [h["action"] for h in again["history"]][-1] == "record.viewed"
    with engine.connect() as conn:
        views = conn.execute(select(audit_log.c.actor).where(audit_log.c.subject == p["record_id"],
                                                             audit_log.c.action == "record.viewed")).all()
    assert [v.actor for v in views] == ["central", "central"]


def test_dashboard_numbers(env):
    """The dashboard counts residents, enrolled people, approvals, cards, states, lights and decision time."""
    engine, clock, cadre, staff = env
    with engine.begin() as conn:
        for i in range(40, 44):
            conn.execute(insert(residents).values(**resident(i), counter=0, updated_at=iso(T0)))
    ps = [push_new(engine, cadre, 40 + i, clock=clock) for i in range(3)]
    route(engine, {ps[0]["record_id"]: [], ps[1]["record_id"]: [], ps[2]["record_id"]: [finding()]})
    clock.advance(hours=2)
    review.decide(engine, staff, ps[0]["record_id"], "approve", version=1, reason=None, password=PASSWORD,
                  clock=clock)
    clock.advance(hours=2)
    review.decide(engine, staff, ps[1]["record_id"], "approve", version=1, reason=None, password=PASSWORD,
                  clock=clock)
    plant_card_of_record(engine, ps[0]["record_id"])
    review.mark_card_issued(engine, make_operator(engine, "issuer", "central"), ps[0]["record_id"], version=1,
                            clock=clock)
    clock.advance(hours=100)
    with engine.connect() as conn:
        d = review.dashboard(conn, now=clock.now(), limits=LIMITS)
    assert (d["residents"], d["enrolled"], d["approved"], d["cards_issued"]) == (4, 3, 2, 1)
    assert d["holding_rate"] == "0.2500"
    assert d["by_state"]["approved"] == 2 and d["by_state"]["needs_review"] == 1
    # ps[1]: approved 100 h ago, no card: yellow (48 h) not red (120 h); ps[2]: 104 h unhandled: yellow.
    assert d["by_light"] == {"none": 1, "yellow": 2, "red": 0}
    assert d["median_hours_to_decision"] == "3.00" and d["decisions"] == 2
    assert d["checks_run"] == 3 and d["check_runs"] == 1
    assert d["rules"] == [{"rule_id": "test_rule", "kind": "dataset_rule", "department": "民政",
                           "dataset": "deaths", "compared": 3, "intercepted": 1, "flagged": 0}]
    assert d["departments"] == [{"department": "民政", "compared": 3, "intercepted": 1, "flagged": 0}]
    assert d["by_village"] == [{"village_code": VILLAGE_A, "village_name": "", "residents": 4, "enrolled": 3,
                               "approved": 2}]   # no name given at this roster import
