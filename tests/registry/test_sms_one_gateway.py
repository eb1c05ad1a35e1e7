"""One SMS gateway for the whole registry (issue 13): the outbox and the self-query page's codes both go
through the gateway the settings choose (``registry.sms.adapters.gateway_from_settings``), so a county
configures its provider once; ``registry serve-verify`` takes it from YIKATONG_SMS_* like ``registry sms
send-pending``, its --sms-gateway/--sms-file flags overriding them."""

from __future__ import annotations

import datetime as dt
import json
import time

import httpx
import pytest
from selfquery_fixtures import QI, seed
from starlette.testclient import TestClient

from registry.api import create_app
from registry.clock import FixedClock
from registry.config import Settings, SmsSettings
from registry.db import open_database
from registry.launcher import RegistryProcess
from registry.selfquery import routes
from registry.sms import outbox
from registry.sms.adapters import gateway_from_settings
from registry.sms.file_gateway import FileGateway, read_messages
from registry.sms.gateway import RecordingGateway
from tests.conftest import ROOT

START = dt.datetime(2026, 12, 5, 1, 0, tzinfo=dt.UTC)
CODE_TEXT = "【遂宁一卡通】您的补贴查询验证码是{code}，5分钟内有效。工作人员不会向您索要验证码，请勿告诉他人。"


def _ask(client: TestClient) -> None:
    r = client.post(routes.CODE, json={"id_number": QI.id_number, "card_tail": QI.card_tail})
    assert r.status_code == 200, r.text


def test_the_outbox_and_the_self_query_page_send_through_the_one_configured_gateway(registry_db_url, tmp_path):
    """With the file gateway chosen once in the settings, the public app's code and the outbox's payment
    messages land in the same file, each with its template (the code's text from templates.json)."""
    sms = SmsSettings(gateway="file", file=str(tmp_path / "sms.jsonl"))
    engine = open_database(registry_db_url)
    try:
        seed(engine)
        clock = FixedClock(START)
        app = create_app(engine, Settings(sms=sms), clock=clock, public_only=True)
        assert isinstance(app.app.state.selfquery_gateway, FileGateway)
        with TestClient(app) as client:
            _ask(client)   # the code goes out as a background task, before the client returns
        out = outbox.run(engine, gateway_from_settings(sms), clock=clock, actor="cli")
    finally:
        engine.dispose()
    assert out["gateway"] == "file" and out["sent"] >= 1, out
    messages = read_messages(sms.file)
    code, *payments = messages
    assert code["template"] == "selfquery_code" and code["phone"] == QI.phone
    assert code["text"] == CODE_TEXT.format(code=code["params"]["code"])
    assert len(payments) == out["sent"] and {m["template"] for m in payments} <= {"credited", "bounced"}
    assert "漆明学您好" in next(m["text"] for m in payments if m["phone"] == QI.phone)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_no_gateway_chosen_sends_no_code_and_the_page_answers_the_same(registry_db_url):
    """Without YIKATONG_SMS_GATEWAY the public app has no gateway (no code is sent) and still answers."""
    engine = open_database(registry_db_url)
    try:
        seed(engine)
        app = create_app(engine, Settings(), clock=FixedClock(START), public_only=True)
        assert app.app.state.selfquery_gateway is None
        with TestClient(app) as client:
            _ask(client)
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("has_code_template", [True, False], ids=["county-template", "packaged-template"])
def test_the_code_uses_the_countys_templates_file_when_it_has_the_template(registry_db_url, tmp_path,
                                                                            has_code_template):
    """A templates file (YIKATONG_SMS_TEMPLATES) with its own selfquery_code gives the code's SMS its
    wording and gateway template code; one without it falls back to the packaged wording."""
    packaged = json.loads((ROOT / "resources" / "sms" / "templates.json").read_text(encoding="utf-8"))
    if has_code_template:
        packaged["templates"]["selfquery_code"] = {"text": "【安居区】查询验证码{code}，{minutes}分钟有效。",
                                                   "params": ["code", "minutes"], "aliyun": "SMS_990000003"}
    else:
        del packaged["templates"]["selfquery_code"]
    file = tmp_path / "templates.json"
    file.write_text(json.dumps(packaged, ensure_ascii=False), encoding="utf-8")
    engine = open_database(registry_db_url)
    try:
        seed(engine)
        app = create_app(engine, Settings(sms=SmsSettings(gateway="recording", templates=str(file))),
                         clock=FixedClock(START), public_only=True)
        gateway = app.app.state.selfquery_gateway
        assert isinstance(gateway, RecordingGateway)
        with TestClient(app) as client:
            _ask(client)
    finally:
        engine.dispose()
    (message,) = gateway.sent
    expected = "【安居区】查询验证码{code}，5分钟有效。" if has_code_template else CODE_TEXT
    assert message.template == "selfquery_code" and message.text == expected.format(code=message.params["code"])


def _wait_for_messages(path, count: int) -> list[dict]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if len(messages := read_messages(path)) >= count:
            return messages
        time.sleep(0.05)
    return read_messages(path)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_serve_verify_takes_the_gateway_from_the_environment_and_a_flag_overrides_it(
        registry_db_url, tmp_path, monkeypatch):
    """``registry serve-verify`` with only YIKATONG_SMS_GATEWAY=file and YIKATONG_SMS_FILE sends the code
    to that file; started with ``--sms-gateway none`` it overrides the environment and sends nothing."""
    engine = open_database(registry_db_url)
    seed(engine)
    engine.dispose()
    sms_file = tmp_path / "sms.jsonl"
    monkeypatch.setenv("YIKATONG_SMS_GATEWAY", "file")
    monkeypatch.setenv("YIKATONG_SMS_FILE", str(sms_file))
    for name, extra in (("env", []), ("none", ["--sms-gateway", "none"])):
        proc = RegistryProcess(registry_db_url, tmp_path / name, command="serve-verify", extra_args=extra).start()
        try:
            with httpx.Client(base_url=proc.url, timeout=30) as http:
                r = http.post(routes.CODE, json={"id_number": QI.id_number, "card_tail": QI.card_tail})
                assert r.status_code == 200, r.text
            if name == "env":
                assert [m["phone"] for m in _wait_for_messages(sms_file, 1)] == [QI.phone]
        finally:
            proc.stop()   # a graceful stop: the answer's background send has run by now
    assert [m["template"] for m in read_messages(sms_file)] == ["selfquery_code"]
