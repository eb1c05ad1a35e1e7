"""Separation of duties on a real registry process (SQLite and PostgreSQL): only a village's cadres
push; nobody decides on a record they created or edited; the approver does not also mark the card
issued unless the registry runs with ``--allow-approver-issues-card``. Every refusal is audited."""

from __future__ import annotations

import json

import pytest
from regkit import PASSWORD, VILLAGE_A, VILLAGE_B, Api, item, payload, roster_cli_args
from reviewkit import plant_card_of_record, push_edit, route
from sqlalchemy import select

from enrollment import error_codes as codes
from registry.auth import Operator
from registry.db import open_database
from registry.launcher import RegistryProcess
from registry.schema import audit_log
from sync import protocol


@pytest.fixture
def duties_env(registry, registry_db_url, tmp_path):
    r = registry.cli(*roster_cli_args(tmp_path / "roster"))  # payload(i) people are on village A's roster
    assert r.returncode == 0, r.stderr
    for args in (("cadre_a", "cadre", "--village", VILLAGE_A), ("cadre_b", "cadre", "--village", VILLAGE_B),
                 ("central", "central"), ("admin", "admin")):
        r = registry.cli("add-operator", "--username", args[0], "--role", args[1], *args[2:], input=PASSWORD + "\n")
        assert r.returncode == 0, r.stderr
    engine = open_database(registry_db_url)
    api = Api(registry.url)
    logged = {u: api.login(u) for u in ("cadre_a", "cadre_b", "central", "admin")}
    yield registry, engine, logged
    for a in (api, *logged.values()):
        a.close()
    engine.dispose()


def error(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code, r.text
    return r.json()["error"]


def audited(engine, actor: str, action: str) -> list[dict]:
    with engine.connect() as conn:
        return [json.loads(d) for (d,) in conn.execute(
            select(audit_log.c.data).where(audit_log.c.actor == actor, audit_log.c.action == action)
            .order_by(audit_log.c.seq))]


def cadre_push(api: Api, i: int, village: str = VILLAGE_A) -> dict:
    p = payload(i, village)
    r = api.push_one(item(p))
    assert r["status"] == protocol.ACCEPTED, r
    return p


def decide(api: Api, rid: str, action: str = "approve", version: int = 1, **body):
    return api.post(protocol.REVIEW_DECISION.format(record_id=rid),
                    json={"action": action, "version": version, "password": PASSWORD, **body})


def card(api: Api, rid: str, version: int = 1):
    return api.post(protocol.REVIEW_CARD_ISSUED.format(record_id=rid), json={"version": version})


def test_only_the_villages_cadres_push(duties_env):
    """Central staff and admins cannot push at all (403 record.push_cadre_only, audited, nothing stored);
    a cadre of another village has the record refused village.not_assigned."""
    _reg, engine, who = duties_env
    p = payload(1, VILLAGE_A)
    for staff in ("central", "admin"):
        e = error(who[staff].post(protocol.PUSH, json={"device_id": "laptop-1", "records": [item(p)]}),
                  403, codes.PUSH_CADRE_ONLY)
        assert e["data"]["role"] == staff
        assert [(d["code"], d["records"]) for d in audited(engine, staff, "push.refused")] == [
            (codes.PUSH_CADRE_ONLY, 1)]
    r = who["cadre_b"].push_one(item(p))
    assert r["status"] == protocol.REFUSED and r["error"]["code"] == codes.VILLAGE_NOT_ASSIGNED
    assert who["cadre_a"].digest_count() == 0
    assert who["cadre_a"].push_one(item(p))["status"] == protocol.ACCEPTED


def test_nobody_decides_on_a_record_they_created_or_edited(duties_env):
    """A record whose versions name a staff member (written when staff could still push) is refused to
    that member for every decision and bulk approval, audited; another staff member decides it."""
    _reg, engine, who = duties_env
    p = cadre_push(who["cadre_a"], 2)
    rid = p["record_id"]
    # Version 2 by "central" as it was stored before this rule: through the service, as a cadre would.
    legacy = Operator(id=0, username="central", role="cadre", display_name="", villages=[{"code": VILLAGE_A}])
    push_edit(engine, legacy, p, 1, address="大石村9组")
    route(engine, {rid: []})
    view = who["central"].get(protocol.REVIEW_RECORD.format(record_id=rid)).json()
    assert view["blocked"] == {"decide": codes.REVIEW_OWN_RECORD, "card_issued": codes.REVIEW_OWN_RECORD}
    assert who["admin"].get(protocol.REVIEW_RECORD.format(record_id=rid)).json()["blocked"] == {
        "decide": None, "card_issued": None}
    for action, extra in (("approve", {}), ("reject", {"reason": "x"}), ("return", {"reason": "x"})):
        error(decide(who["central"], rid, action, version=2, **extra), 403, codes.REVIEW_OWN_RECORD)
    bulk = who["central"].post(protocol.REVIEW_BULK_APPROVE, json={
        "items": [{"record_id": rid, "version": 2}], "password": PASSWORD})
    assert bulk.json() == {"approved": [], "skipped": [{"record_id": rid, "code": codes.REVIEW_OWN_RECORD}]}
    refused = audited(engine, "central", "review.refused")
    assert [(d["step"], d["code"], d["version"]) for d in refused] == [
        ("approve", codes.REVIEW_OWN_RECORD, 2), ("reject", codes.REVIEW_OWN_RECORD, 2),
        ("return", codes.REVIEW_OWN_RECORD, 2), ("approve", codes.REVIEW_OWN_RECORD, 2)]
    ok = decide(who["admin"], rid, version=2)
    assert ok.status_code == 200 and ok.json()["record"]["decided_by"] == "admin", ok.text


def test_the_approver_does_not_mark_the_card_issued(duties_env):
    """By default the approver's card issue is refused (audited) and another staff member's goes through."""
    _reg, engine, who = duties_env
    rid = cadre_push(who["cadre_a"], 3)["record_id"]
    route(engine, {rid: []})
    assert decide(who["admin"], rid).status_code == 200
    # the record view tells the workspace beforehand which step is closed to whom
    assert who["admin"].get(protocol.REVIEW_RECORD.format(record_id=rid)).json()["blocked"] == {
        "decide": None, "card_issued": codes.REVIEW_APPROVER_ISSUES_CARD}
    assert who["central"].get(protocol.REVIEW_RECORD.format(record_id=rid)).json()["blocked"] == {
        "decide": None, "card_issued": None}
    e = error(card(who["admin"], rid), 403, codes.REVIEW_APPROVER_ISSUES_CARD)
    assert e["data"]["decided_by"] == "admin"
    assert [(d["step"], d["code"]) for d in audited(engine, "admin", "review.refused")] == [
        ("card_issued", codes.REVIEW_APPROVER_ISSUES_CARD)]
    assert audited(engine, "admin", "review.card_issued") == []
    plant_card_of_record(engine, rid)
    r = card(who["central"], rid)
    assert r.status_code == 200 and r.json()["record"]["card_issued_at"], r.text


def test_the_policy_may_let_the_approver_mark_the_card_issued(duties_env, registry_db_url, tmp_path):
    """``registry serve --allow-approver-issues-card``: the approver marks the card issued."""
    _reg, engine, who = duties_env
    rid = cadre_push(who["cadre_a"], 4)["record_id"]
    route(engine, {rid: []})
    assert decide(who["admin"], rid).status_code == 200
    lenient = RegistryProcess(registry_db_url, tmp_path / "lenient",
                              extra_args=["--allow-approver-issues-card"]).start()
    try:
        admin = Api(lenient.url).login("admin")
        plant_card_of_record(engine, rid)
        assert admin.get(protocol.REVIEW_RECORD.format(record_id=rid)).json()["blocked"]["card_issued"] is None
        r = card(admin, rid)
        assert r.status_code == 200 and r.json()["record"]["card_issued_at"], r.text
        admin.close()
    finally:
        lenient.stop()
    assert audited(engine, "admin", "review.refused") == []
