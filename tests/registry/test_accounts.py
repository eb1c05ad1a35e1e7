"""Accounts (issue 10 item 5): wrong-password back-off and lockout, failed logins audited,
logout, device id bound to the token. Against real registry processes (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from regkit import PASSWORD, VILLAGE_A, Api, item, payload
from sqlalchemy import text

from enrollment import error_codes
from registry.clock import FixedClock
from registry.db import open_database
from registry.errors import ApiError
from registry.throttle import Throttle, ThrottleLimits, address_key, user_key
from sync import protocol
from tests.conftest import RegistryProcess

# ------------------------------------------------------------------ the throttle, on an injected clock

def test_throttle_locks_after_n_failures_grows_and_unlocks_when_the_clock_moves():
    clock = FixedClock(dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC))
    t = Throttle(ThrottleLimits(max_failures=5, window=900, lock=60, max_lock=3600), clock)
    keys = (user_key("central"), address_key("10.0.0.1"))
    for _ in range(4):
        assert t.failure(*keys) is False
        t.check(*keys)  # not locked yet
    assert t.failure(*keys) is True
    with pytest.raises(ApiError) as exc:
        t.check(*keys)
    assert exc.value.code == error_codes.AUTH_LOCKED and exc.value.status == 429
    assert exc.value.data["retry_after"] == 60
    clock.advance(seconds=59)
    assert t.retry_after(*keys) == 1
    clock.advance(seconds=2)
    t.check(*keys)  # unlocked
    for _ in range(5):
        t.failure(*keys)
    assert t.retry_after(*keys) == 120  # the second lock doubles


def test_throttle_window_success_and_address_limit():
    clock = FixedClock(dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC))
    t = Throttle(ThrottleLimits(max_failures=3, address_max_failures=5, window=900, lock=60), clock)
    u, a = user_key("cadre"), address_key("10.0.0.2")
    t.failure(u, a)
    t.failure(u, a)
    clock.advance(seconds=901)  # those two fell out of the window
    t.failure(u, a)
    t.failure(u, a)
    assert t.retry_after(u) == 0
    t.success(u)  # a right password resets the account, not the address
    t.failure(u, a)
    t.failure(u, a)
    assert t.retry_after(u) == 0  # 2 since the reset
    assert t.retry_after(a) == 0  # 4 in the window
    t.failure(user_key("other"), a)
    assert t.retry_after(a) == 60  # the address's fifth failure in its window
    # Other accounts from the same address are held too.
    with pytest.raises(ApiError):
        t.check(user_key("someone-else"), a)


# ------------------------------------------------------------------ against a real registry process

@pytest.fixture
def small_limits(registry_db_url, tmp_path):
    reg = RegistryProcess(registry_db_url, tmp_path, extra_args=[
        "--login-max-failures", "3", "--login-lock", "600"]).start()
    for args in (("cadre_a", "cadre", "--village", VILLAGE_A), ("central", "central"), ("central2", "central")):
        r = reg.cli("add-operator", "--username", args[0], "--role", args[1], *args[2:], input=PASSWORD + "\n")
        assert r.returncode == 0, r.stderr
    yield reg
    reg.stop()


def _login(api: Api, username: str, password: str, device_id: str = "laptop-1"):
    return api.http.post(protocol.LOGIN, json={"username": username, "password": password,
                                               "device_id": device_id})


def _audit(db_url: str) -> list:
    engine = open_database(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT seq, actor, action, subject, data FROM audit_log ORDER BY seq")).all()
    finally:
        engine.dispose()


def test_login_locks_after_n_wrong_passwords_with_retry_after(small_limits, registry_db_url):
    """3 wrong passwords, then the right one: 429 auth.locked with Retry-After; failures audited."""
    api = Api(small_limits.url)
    secret = "wrong-" + uuid.uuid4().hex
    for _ in range(3):
        assert _login(api, "cadre_a", secret).status_code == 401
    r = _login(api, "cadre_a", PASSWORD)
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == error_codes.AUTH_LOCKED
    assert 590 <= int(r.headers["Retry-After"]) <= 600
    assert r.json()["error"]["data"]["retry_after"] == int(r.headers["Retry-After"])
    failed = [e for e in _audit(registry_db_url) if e.action == "auth.login_failed"]
    assert len(failed) == 3 and {e.subject for e in failed} == {"cadre_a"}
    assert json.loads(failed[0].data)["client"] == "127.0.0.1"
    assert json.loads(failed[-1].data)["locked"] is True
    everything = " ".join(str(tuple(e)) for e in _audit(registry_db_url))
    assert secret not in everything and PASSWORD not in everything
    assert small_limits.cli("verify-audit").returncode == 0
    api.close()


def test_decision_password_reentry_is_throttled_too(small_limits):
    """Wrong passwords re-entered for a decision count like logins and lock the account."""
    api = Api(small_limits.url)
    staff = api.login("central")
    cadre = api.login("cadre_a")
    p = payload(1, VILLAGE_A)
    assert cadre.push_one(item(p))["status"] == protocol.ACCEPTED
    url = protocol.REVIEW_DECISION.format(record_id=p["record_id"])
    for _ in range(3):
        r = staff.post(url, json={"action": "approve", "version": 1, "password": "wrong-password"})
        assert r.status_code == 401, r.text
    r = staff.post(url, json={"action": "approve", "version": 1, "password": PASSWORD})
    assert r.status_code == 429 and r.json()["error"]["code"] == error_codes.AUTH_LOCKED
    assert int(r.headers["Retry-After"]) > 0
    assert _login(api, "central", PASSWORD).status_code == 429
    for a in (api, staff, cadre):
        a.close()


def test_logout_revokes_the_token(small_limits, registry_db_url):
    api = Api(small_limits.url)
    cadre = api.login("cadre_a")
    assert cadre.get(protocol.ME).status_code == 200
    assert cadre.post(protocol.LOGOUT).status_code == 200
    r = cadre.get(protocol.ME)
    assert r.status_code == 401 and r.json()["error"]["code"] == error_codes.AUTH_INVALID
    assert any(e.action == "auth.logged_out" for e in _audit(registry_db_url))
    for a in (api, cadre):
        a.close()


def test_push_with_another_device_id_is_refused(small_limits):
    api = Api(small_limits.url)
    cadre = api.login("cadre_a", device_id="laptop-1")
    r = cadre.post(protocol.PUSH, json={"device_id": "laptop-2", "records": [item(payload(2, VILLAGE_A))]})
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == error_codes.DEVICE_MISMATCH
    assert cadre.push_one(item(payload(3, VILLAGE_A)))["status"] == protocol.ACCEPTED
    for a in (api, cadre):
        a.close()


@pytest.mark.parametrize("device_id", ["lap\x00top", "laptop\u202e1", "laptop\n2", "lap\u200btop"])
def test_login_refuses_control_and_bidi_characters_in_the_device_id(small_limits, device_id):
    api = Api(small_limits.url)
    r = _login(api, "cadre_a", PASSWORD, device_id=device_id)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == error_codes.DEVICE_ID_INVALID
    api.close()


def test_disable_and_enable_operator_from_the_cli(small_limits, registry_db_url):
    """disable-operator refuses the operator's live token at once and new logins; enable-operator
    lets them in again; both are in the audit chain."""
    api = Api(small_limits.url)
    cadre = api.login("cadre_a")
    r = small_limits.cli("disable-operator", "cadre_a")
    assert r.returncode == 0, r.stderr
    assert "disabled" in r.stdout
    r = cadre.get(protocol.ME)
    assert r.status_code == 403 and r.json()["error"]["code"] == error_codes.OPERATOR_DISABLED
    r = _login(api, "cadre_a", PASSWORD)
    assert r.status_code == 403 and r.json()["error"]["code"] == error_codes.OPERATOR_DISABLED
    r = small_limits.cli("enable-operator", "cadre_a")
    assert r.returncode == 0, r.stderr
    assert cadre.get(protocol.ME).status_code == 200
    assert _login(api, "cadre_a", PASSWORD).status_code == 200
    r = small_limits.cli("disable-operator", "nobody")
    assert r.returncode == 1 and r.stderr.startswith("error: operator.unknown"), r.stderr
    actions = [(e.action, e.subject) for e in _audit(registry_db_url)]
    assert ("operator.disabled", "cadre_a") in actions and ("operator.enabled", "cadre_a") in actions
    assert small_limits.cli("verify-audit").returncode == 0
    for a in (api, cadre):
        a.close()
