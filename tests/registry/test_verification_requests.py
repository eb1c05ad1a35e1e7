"""Remote verification requests on the registry (docs/verification-api.md): creation by the village's
cadre or staff, the token kept only as a hash, expiry to manual with a finding, the pull to laptops."""

from __future__ import annotations

import hashlib
import json

import pytest
from regkit import VILLAGE_A, resident
from sqlalchemy import select
from verifykit import PUBLIC_URL, Env, code

from enrollment.vocabulary import FindingKind, VerificationState
from registry.schema import audit_log, findings, verification_requests
from registry.verification import request_store
from registry.verification.sweeper import VerificationSweeper
from sync import protocol


@pytest.fixture
def env(registry_db_url):
    e = Env(registry_db_url)
    yield e
    e.close()


def test_a_created_request_gives_link_qr_and_sms_once_and_stores_only_the_tokens_hash(env):
    """The answer carries the token, its link, an SVG QR code and an SMS text naming no one; the database
    holds the token's SHA-256 and never the token, and the audit entry names no resident."""
    r = env.create(city="东莞")
    assert r.status_code == 200, r.text
    body = r.json()
    token = body["token"]
    assert len(token) >= 32 and body["link"] == f"{PUBLIC_URL}/verify?t={token}"
    assert body["qr_svg"].startswith("<svg") and body["request"]["state"] == VerificationState.SENT
    assert body["request"]["attempts_left"] == 3 and body["request"]["city"] == "东莞"
    assert body["link"] in body["sms_text"] and "您" in body["sms_text"]
    name = resident(7)["name"]
    assert name not in body["sms_text"] and env.id_number not in body["sms_text"]
    with env.engine.connect() as conn:
        row = conn.execute(select(verification_requests)).one()
        dump = json.dumps([str(v) for v in row]) + json.dumps(
            [str(v) for a in conn.execute(select(audit_log)).all() for v in a], ensure_ascii=False)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in dump and env.id_number[-6:] not in dump.replace(row.id_number, "")
    assert name not in dump


def test_a_cadre_asks_only_about_residents_of_their_villages(env):
    """Cadre B gets the same 404 for village A's resident as for an unknown number; staff may ask."""
    assert code(env.create("cadre_b")) == "verify.resident_unknown"
    r = env.client.post(protocol.VERIFICATIONS, json={"id_number": "11010519491231002X"},
                        headers=env.bearer("cadre_a"))
    assert (r.status_code, code(r)) == (404, "verify.resident_unknown")
    assert env.create("central").status_code == 200


def test_a_resident_on_the_roster_without_a_record_can_be_asked_for(env, tmp_path):
    """A roster resident with no enrolled record gets a request (without a record id)."""
    from regkit import id_number, import_test_roster

    import_test_roster(env.engine, tmp_path, VILLAGE_A, range(20, 22))
    r = env.client.post(protocol.VERIFICATIONS, json={"id_number": id_number(20)}, headers=env.bearer("cadre_a"))
    assert r.status_code == 200, r.text
    assert r.json()["request"]["record_id"] is None and r.json()["request"]["village_code"] == VILLAGE_A


def test_an_expired_link_moves_to_manual_with_a_finding_and_refuses_unlocking(env):
    """Past its 72 h, the sweeper moves the request to manual (outcome expired) and opens a
    verification_manual finding on the resident's record; the link answers 410 verify.expired."""
    token = env.link_token()
    env.clock.advance(hours=71, minutes=59)
    assert VerificationSweeper(env.engine, clock=env.clock).run_once() == 0
    env.clock.advance(minutes=1)
    assert VerificationSweeper(env.engine, clock=env.clock).run_once() == 1
    with env.engine.connect() as conn:
        row = conn.execute(select(verification_requests)).one()
        found = conn.execute(select(findings.c.kind, findings.c.record_id, findings.c.subject)).all()
    assert row.state == VerificationState.MANUAL and json.loads(row.result)["outcome"] == "expired"
    assert found == [(FindingKind.VERIFICATION_MANUAL, env.record["record_id"], row.id)]
    r = env.unlock(token)
    assert (r.status_code, code(r)) == (410, "verify.expired")


def test_expiry_is_applied_lazily_when_the_link_is_opened(env):
    """Without a sweeper run, opening an expired link moves it to manual and answers verify.expired."""
    token = env.link_token()
    env.clock.advance(hours=73)
    assert code(env.unlock(token)) == "verify.expired"
    with env.engine.connect() as conn:
        assert conn.execute(select(verification_requests.c.state)).scalar() == VerificationState.MANUAL
        assert conn.execute(select(findings.c.kind)).scalar() == FindingKind.VERIFICATION_MANUAL


def test_the_list_filters_by_state_and_by_the_cadres_villages(env):
    """GET /api/verifications?state= lists the caller's villages' requests; cadre B sees none of A's."""
    env.link_token()
    listed = env.client.get(protocol.VERIFICATIONS, params={"state": "sent"}, headers=env.bearer("cadre_a")).json()
    assert [v["state"] for v in listed["verifications"]] == ["sent"]
    assert env.client.get(protocol.VERIFICATIONS, params={"state": "passed"},
                          headers=env.bearer("cadre_a")).json()["verifications"] == []
    assert env.client.get(protocol.VERIFICATIONS, headers=env.bearer("cadre_b")).json()["verifications"] == []
    assert len(env.client.get(protocol.VERIFICATIONS, headers=env.bearer("central")).json()["verifications"]) == 1


def _pull(env, username, version=protocol.PROTOCOL_VERSION):
    headers = {**env.bearer(username), protocol.VERSION_HEADER: str(version)}
    r = env.client.get(protocol.PULL, params={"since": 0}, headers=headers)
    assert r.status_code == 200, r.text
    return [c for c in r.json()["changes"] if c["kind"] == protocol.KIND_VERIFICATION]


def test_the_pull_delivers_requests_to_the_villages_cadre_only_and_not_to_older_clients(env):
    """A v4 laptop of village A receives the request (and again after each state change); village B's
    cadre receives nothing; a v3 laptop, whose parser refuses unknown kinds, is never sent one."""
    token = env.link_token()
    [change] = _pull(env, "cadre_a")
    assert change["data"]["state"] == "sent" and "token" not in json.dumps(change)
    parsed = protocol.PullChange.from_wire(change)
    assert parsed.verification.request == change["key"] and parsed.verification.attempts_left == 3
    assert _pull(env, "cadre_b") == []
    assert _pull(env, "cadre_a", version=3) == []
    env.unlock(token)
    [change2] = _pull(env, "cadre_a")
    assert change2["data"]["state"] == "opened" and change2["counter"] > change["counter"]


def test_the_laptop_client_call_creates_a_request_on_a_real_registry(registry, registry_db_url, monkeypatch):
    """sync.verification_ops creates and lists requests through RegistryHttp against a registry process."""
    from argon2 import PasswordHasher
    from regkit import PASSWORD
    from reviewkit import make_operator, push_new

    from registry import auth
    from registry.db import open_database
    from sync.http import RegistryHttp
    from sync.verification_ops import create_verification, list_verifications

    # TEST-ONLY: hashes the registry process (YIKATONG_TEST_FAST_ARGON2) verifies quickly.
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
    engine = open_database(registry_db_url)
    cadre = make_operator(engine, "cadre_a", "cadre", VILLAGE_A)
    record = push_new(engine, cadre, 7)
    engine.dispose()
    with RegistryHttp(registry.url) as http:
        http.token = http.request("POST", protocol.LOGIN, json={"username": "cadre_a", "password": PASSWORD,
                                                                  "device_id": "laptop-1"})["token"]
        created = create_verification(http, record["id_number"], city="深圳")
        assert created.link.endswith("/verify?t=" + created.token) and created.request["city"] == "深圳"
        assert [v["request"] for v in list_verifications(http, "sent")] == [created.request["request"]]


def test_expire_due_leaves_active_requests_alone(env):
    """Only requests past their expiry move; a passed one never does."""
    env.link_token()
    assert request_store.expire_due(env.engine, env.clock) == 0
    with env.engine.connect() as conn:
        assert conn.execute(select(verification_requests.c.state)).scalar() == VerificationState.SENT


