"""Delivery reports pushed by the SMS gateway to the public process (``POST /api/sms/receipts`` on
``registry serve-verify``), on SQLite and PostgreSQL: recorded through the same function as ``registry
sms receipt FILE``, once (a repeated push changes nothing), unknown message ids counted; the shared secret
compared, the route absent without one; every refusal in the one error shape."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
from smskit import QI, Seed, person
from sqlalchemy import func, select
from starlette.testclient import TestClient

from registry.api import create_app
from registry.clock import FixedClock
from registry.config import Settings, SmsSettings
from registry.db import open_database
from registry.launcher import RegistryProcess
from registry.schema import audit_log, sms_outbox
from registry.sms import outbox, receipt_routes
from registry.sms.gateway import RecordingGateway
from sync import protocol

START = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
SECRET = "receipt-secret-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {SECRET}"}


class Env:
    """Two credited lines sent through the recording gateway (message ids rec-1, rec-2), and the public
    app with the given SMS settings."""

    def __init__(self, url: str, sms: SmsSettings) -> None:
        self.engine = open_database(url)
        with self.engine.begin() as conn:
            seed = Seed(conn)
            seed.line(QI)
            seed.line(person(2))
        self.clock = FixedClock(START)
        outbox.run(self.engine, RecordingGateway(), clock=self.clock, actor="cli")
        self.client = TestClient(create_app(self.engine, Settings(sms=sms), clock=self.clock, public_only=True))

    def push(self, body: object, headers: dict | None = None) -> httpx.Response:
        return self.client.post(protocol.SMS_RECEIPTS, content=json.dumps(body),
                                headers={"Content-Type": "application/json", **AUTH, **(headers or {})})

    def receipts(self) -> dict[str, tuple]:
        with self.engine.connect() as conn:
            return {r.gateway_ref: (r.receipt, r.receipt_at)
                    for r in conn.execute(select(sms_outbox.c.gateway_ref, sms_outbox.c.receipt, sms_outbox.c.receipt_at))}

    def audit_entries(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(audit_log)
                                .where(audit_log.c.action == outbox.SMS_RECEIPTS)).scalar()

    def close(self) -> None:
        self.client.close()
        self.engine.dispose()


@pytest.fixture
def env(registry_db_url):
    e = Env(registry_db_url, SmsSettings(gateway="recording", receipt_secret=SECRET))
    yield e
    e.close()


def _code(r: httpx.Response) -> str:
    return r.json()["error"]["code"]


def test_pushed_receipts_are_recorded_once_and_unknown_ids_are_counted(env):
    """A push of two reports of ours and one unknown id records the two (delivered_at in UTC, the other
    at the clock's now) and counts the unknown; the same push again changes no row and adds no audit entry."""
    push = [{"message_id": "rec-1", "status": "delivered", "delivered_at": "2026-12-01T16:05:00+08:00"},
            {"message_id": "rec-2", "status": "FAILED", "delivered_at": None, "gateway_extra": "ignored"},
            {"message_id": "not-ours", "status": "delivered"}]
    r = env.push(push)
    assert r.status_code == 200, r.text
    assert r.json() == {"recorded": 2, "unchanged": 0, "unknown": 1}
    after_first = env.receipts()
    assert after_first == {"rec-1": ("delivered", "2026-12-01T08:05:00.000000Z"),
                           "rec-2": ("failed", "2026-12-01T08:00:00.000000Z")}
    assert env.audit_entries() == 1
    env.clock.advance(hours=1)
    r = env.push(push)
    assert r.json() == {"recorded": 0, "unchanged": 2, "unknown": 1}
    assert env.receipts() == after_first and env.audit_entries() == 1


def test_a_changed_report_is_recorded_again(env):
    """A later report with another status for the same message replaces the first (a gateway corrects itself)."""
    env.push([{"message_id": "rec-1", "status": "failed"}])
    r = env.push([{"message_id": "rec-1", "status": "delivered", "delivered_at": "2026-12-01T09:00:00Z"}])
    assert r.json() == {"recorded": 1, "unchanged": 0, "unknown": 0}
    assert env.receipts()["rec-1"] == ("delivered", "2026-12-01T09:00:00.000000Z")


@pytest.mark.parametrize("headers", [{"Authorization": ""}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": f"Basic {SECRET}"}, {"Authorization": f"Bearer {SECRET}x"}])
def test_a_push_without_the_secret_is_refused_and_records_nothing(env, headers):
    """No secret, a wrong one, another scheme or a longer one: 401 sms.receipt_unauthorized, nothing recorded."""
    r = env.push([{"message_id": "rec-1", "status": "delivered"}], headers)
    assert r.status_code == 401 and _code(r) == "sms.receipt_unauthorized", r.text
    assert env.receipts()["rec-1"] == (None, None)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("sms", [SmsSettings(gateway="recording"), SmsSettings(receipt_secret=SECRET)],
                         ids=["no-secret", "no-gateway"])
def test_without_a_secret_or_a_gateway_the_route_is_absent(registry_db_url, sms):
    """With no receipt secret (or no gateway whose reports to take) the route answers exactly as a path
    that does not exist: 404 request.not_found."""
    e = Env(registry_db_url, sms)
    try:
        r = e.push([{"message_id": "rec-1", "status": "delivered"}])
        absent = e.client.post("/api/sms/nothing-here", json=[], headers=AUTH)
        assert (r.status_code, r.json()) == (absent.status_code, absent.json()) == (404, absent.json())
        assert _code(r) == protocol.E_NOT_FOUND
        assert e.receipts()["rec-1"] == (None, None)
    finally:
        e.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("body", "status", "code", "field"), [
    (b"{not json", 400, protocol.E_MALFORMED, None),
    ({"message_id": "rec-1", "status": "delivered"}, 422, protocol.E_INVALID, None),       # not a list
    ([{"message_id": "rec-1", "status": "read"}], 422, protocol.E_INVALID, "0.status"),
    ([{"message_id": "", "status": "delivered"}], 422, protocol.E_INVALID, "0.message_id"),
    ([{"message_id": 7, "status": "delivered"}], 422, protocol.E_INVALID, "0.message_id"),
    ([{"message_id": "rec-1", "status": "delivered", "delivered_at": "2026-12-01 16:05:00"}], 422,
     protocol.E_INVALID, "0.delivered_at"),                                                 # no zone
    ([{"message_id": "rec-1", "status": "delivered", "delivered_at": "yesterday"}], 422, protocol.E_INVALID,
     "0.delivered_at"),
    ([{"message_id": f"m{i}", "status": "delivered"} for i in range(receipt_routes.MAX_RECEIPTS + 1)], 422,
     "sms.receipt_invalid", "receipts"),
    (b"[" + b" " * receipt_routes.MAX_BODY + b"]", 413, protocol.E_TOO_LARGE, None),
], ids=["malformed", "object", "status", "empty-id", "number-id", "naive-time", "bad-time", "too-many", "too-big"])
def test_a_push_of_the_wrong_shape_is_refused_whole_in_the_one_error_shape(env, body, status, code, field):
    """A body that is not JSON, not a list, a report with a bad field, more than MAX_RECEIPTS reports or more
    than MAX_BODY bytes: refused whole with the one error shape, nothing recorded."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = env.client.post(protocol.SMS_RECEIPTS, content=raw, headers={"Content-Type": "application/json", **AUTH})
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert set(error) == {"code", "message", "field", "data"} and error["code"] == code
    if field is not None:
        assert error["field"] == field
    assert env.receipts()["rec-1"] == (None, None)


def test_the_command_line_file_and_the_push_share_one_record(env, tmp_path):
    """A report recorded from a pushed request is 'unchanged' when the same report comes in the file
    (``registry sms receipt``'s reader feeds the same function)."""
    from cli.sms_cmds import read_receipts

    env.push([{"message_id": "rec-1", "status": "delivered"}])
    file = tmp_path / "r.csv"
    file.write_text("message_id,status\nrec-1,delivered\nrec-2,delivered\n", encoding="utf-8")
    out = outbox.record_receipts(env.engine, "recording", read_receipts(str(file)), clock=env.clock, actor="cli")
    assert out == {"recorded": 1, "unchanged": 1, "unknown": 0}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_real_serve_verify_process_takes_receipts_with_the_secret_from_the_environment(
        registry_db_url, tmp_path, monkeypatch):
    """``registry serve-verify`` started with YIKATONG_SMS_GATEWAY and YIKATONG_SMS_RECEIPT_SECRET records a
    pushed report; without the secret it answers 401; the secret never reaches its log."""
    e = Env(registry_db_url, SmsSettings())
    e.close()
    monkeypatch.setenv("YIKATONG_SMS_GATEWAY", "recording")
    monkeypatch.setenv("YIKATONG_SMS_RECEIPT_SECRET", SECRET)
    proc = RegistryProcess(registry_db_url, tmp_path, command="serve-verify").start()
    try:
        with httpx.Client(base_url=proc.url, timeout=30) as http:
            r = http.post(protocol.SMS_RECEIPTS, json=[{"message_id": "rec-2", "status": "delivered"}], headers=AUTH)
            assert r.status_code == 200 and r.json() == {"recorded": 1, "unchanged": 0, "unknown": 0}, r.text
            r = http.post(protocol.SMS_RECEIPTS, json=[{"message_id": "rec-1", "status": "delivered"}])
            assert r.status_code == 401 and _code(r) == "sms.receipt_unauthorized"
    finally:
        proc.stop()
    engine = open_database(registry_db_url)
    with engine.connect() as conn:
        got = dict(conn.execute(select(sms_outbox.c.gateway_ref, sms_outbox.c.receipt)).all())
    engine.dispose()
    assert got == {"rec-1": None, "rec-2": "delivered"}
    assert SECRET not in proc.log_path.read_text(encoding="utf-8", errors="replace")
