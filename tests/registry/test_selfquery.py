"""The residents' self-query (issue 13, item 6) on a real database, SQLite and PostgreSQL: the public app of
``registry serve-verify`` (TestClient, a fixed clock, the recording SMS gateway) answers the same for an
unknown ID, a wrong card tail, a person without a phone and a known person; a code is sent only to the
registered phone, is hashed at rest, lives 5 minutes and dies after 5 wrong entries; codes are limited per
ID number and per address; every query is audited without a whole ID number; no answer carries a whole
ID, card or phone number. The Playwright test drives the page against a real serve-verify process."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import pytest
from selfquery_fixtures import OUYANG, PEOPLE, QI, UNKNOWN_ID, WU, seed
from sqlalchemy import select
from starlette.testclient import TestClient

from registry import audit
from registry.api import create_app
from registry.clock import FixedClock
from registry.db import open_database
from registry.schema import audit_log, selfquery_codes
from registry.selfquery import routes, service
from registry.sms.file_gateway import read_messages
from registry.sms.gateway import RecordingGateway
from tests.conftest import RegistryProcess

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}
START = dt.datetime(2026, 12, 5, 1, 0, tzinfo=dt.UTC)
# What must never leave in an answer: an 18-character ID (or 15 digits), a card or account number
# (16-19 digits), a mainland mobile number.
ID_PATTERN = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9])")
CARD_PATTERN = re.compile(r"(?<![0-9])[0-9]{16,19}(?![0-9])")
PHONE_PATTERN = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


class Env:
    def __init__(self, url: str) -> None:
        self.engine = open_database(url)
        seed(self.engine)
        self.clock = FixedClock(START)
        self.app = create_app(self.engine, clock=self.clock, public_only=True)
        self.gateway = RecordingGateway()
        self.app.app.state.selfquery_gateway = self.gateway
        self.client = TestClient(self.app)
        self.bodies: list[str] = []

    def post(self, path: str, body: dict, client: TestClient | None = None):
        r = (client or self.client).post(path, json=body)
        self.bodies.append(r.text)
        return r

    def ask(self, id_number: str, card_tail: str, client: TestClient | None = None):
        return self.post(routes.CODE, {"id_number": id_number, "card_tail": card_tail}, client)

    def enter(self, ticket: str, code: str, client: TestClient | None = None):
        return self.post(routes.PAYMENTS, {"ticket": ticket, "code": code}, client)

    def audit_rows(self) -> list:
        with self.engine.connect() as conn:
            return conn.execute(select(audit_log).where(audit_log.c.actor == service.ACTOR)
                                .order_by(audit_log.c.seq)).all()

    def close(self) -> None:
        self.client.close()
        self.engine.dispose()


@pytest.fixture
def env(registry_db_url):
    """The public app on a seeded database; afterwards, every answer body any test received through it is
    scanned for a whole ID, card or phone number."""
    e = Env(registry_db_url)
    yield e
    e.close()
    _assert_nothing_whole(e.bodies)


def _code(r) -> str:
    return r.json()["error"]["code"]


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _assert_nothing_whole(texts: list[str]) -> None:
    for text in texts:
        for pattern in (ID_PATTERN, CARD_PATTERN, PHONE_PATTERN):
            assert not pattern.search(text), (pattern.pattern, text[:300])
        for p in PEOPLE:
            assert p.id_number not in text and p.card_number not in text and (not p.phone or p.phone not in text)


def test_a_known_resident_gets_a_code_by_sms_and_sees_their_payments_masked(env):
    """ID number and card tail of a known resident with a phone: one SMS with a 6-digit code to the
    registered phone; the code shows every payment line (paid, failed with the bank's reason, the retry),
    newest period first, amounts in yuan from fen, dates in Beijing time, the card as ****5341; the code
    then is used up."""
    r = env.ask(QI.id_number, QI.card_tail)
    assert r.status_code == 200, r.text
    ticket = r.json()["ticket"]
    assert [m.phone for m in env.gateway.sent] == [QI.phone]
    sms = env.gateway.sent[0]
    code = sms.params["code"]
    assert re.fullmatch(r"[0-9]{6}", code) and code in sms.text and "5分钟" in sms.text
    shown = env.enter(ticket, code)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["name_masked"] == "漆*学"
    got = [(p["item_name"], p["period"], p["amount_yuan"], p["state_label"], p["reason"], p["card"], p["date"])
           for p in body["payments"]]
    assert sorted(got) == sorted([
        ("困难残疾人生活补贴", "201906", "90.00", "已到账", "", "****5341", "2026-12-03"),
        ("高龄津贴", "201906", "50.50", "发放失败", "户名不符", "****5341", "2026-12-03"),
        ("高龄津贴", "201906", "50.50", "已到账", "", "****5341", "2026-12-03"),
    ])
    assert [p["amount_fen"] for p in body["payments"] if p["item"] == "disability_living"] == [9000]
    assert _code(env.enter(ticket, code)) == "selfquery.code_expired"   # one look per code
    _assert_nothing_whole(env.bodies)


def test_unknown_id_wrong_card_tail_no_phone_and_known_get_the_same_answer(env):
    """Asking for a code answers 200 with the same keys, lengths and message for an unknown ID number, a
    wrong card tail, a resident without a registered phone and a known resident; only the last gets an
    SMS; each request is audited with its real outcome and the ID number masked."""
    cases = [(UNKNOWN_ID, "123456"), (QI.id_number, "000000"), (WU.id_number, WU.card_tail),
             (QI.id_number, QI.card_tail)]
    answers = [env.ask(*case) for case in cases]
    assert {a.status_code for a in answers} == {200}
    shapes = {json.dumps({k: (len(v) if k == "ticket" else v) for k, v in a.json().items()}, sort_keys=True)
              for a in answers}
    assert len(shapes) == 1, shapes
    assert answers[0].json()["message"] == "如果信息正确，验证码已发送到登记的手机"
    assert len({tuple(sorted(a.headers.keys())) for a in answers}) == 1
    assert [m.phone for m in env.gateway.sent] == [QI.phone]
    rows = env.audit_rows()
    assert [json.loads(r.data)["outcome"] for r in rows] == ["no_match", "no_match", "no_phone", "sent"]
    assert [json.loads(r.data)["id"] for r in rows] == [
        UNKNOWN_ID[:4] + "*" * 10 + UNKNOWN_ID[-4:], QI.id_number[:4] + "**********" + QI.id_number[-4:],
        WU.id_number[:4] + "**********" + WU.id_number[-4:], QI.id_number[:4] + "**********" + QI.id_number[-4:]]
    for r in rows:
        assert QI.id_number not in r.data and UNKNOWN_ID not in r.data and r.subject == service.ACTOR
    # Every code tried against a request that named no one is wrong, counted like a real one.
    for a in answers[:3]:
        assert _code(env.enter(a.json()["ticket"], "123456")) == "selfquery.code_wrong"
    assert audit.verify(env.engine)[0]


@pytest.mark.parametrize("real", [True, False], ids=["known", "unknown"])
def test_five_wrong_codes_kill_the_code_and_the_sixth_entry_is_refused(env, real):
    """Each wrong code says how many tries are left (4 … 0); after the fifth the code is dead: the sixth
    entry is refused with selfquery.code_dead even when it is the right code (and the same happens for a
    request that named no one)."""
    ticket = env.ask(*((QI.id_number, QI.card_tail) if real else (UNKNOWN_ID, "654321"))).json()["ticket"]
    right = env.gateway.sent[-1].params["code"] if real else "123456"
    lefts = []
    for _ in range(5):
        r = env.enter(ticket, _wrong(right))
        assert r.status_code == 403 and _code(r) == "selfquery.code_wrong"
        lefts.append(r.json()["error"]["data"]["tries_left"])
    assert lefts == [4, 3, 2, 1, 0]
    sixth = env.enter(ticket, right)
    assert sixth.status_code == 410 and _code(sixth) == "selfquery.code_dead"
    outcomes = [json.loads(r.data)["outcome"] for r in env.audit_rows() if r.action == service.CODE_ENTERED]
    assert outcomes == ["wrong"] * 5 + ["dead"]


def test_a_code_lives_five_minutes(env):
    """The right code entered 5 minutes and 1 second after it was sent is refused as expired."""
    ticket = env.ask(QI.id_number, QI.card_tail).json()["ticket"]
    code = env.gateway.sent[-1].params["code"]
    env.clock.advance(minutes=5, seconds=1)
    r = env.enter(ticket, code)
    assert r.status_code == 410 and _code(r) == "selfquery.code_expired"


def test_codes_are_hashed_at_rest(env):
    """The table keeps neither the code nor the ticket: only SHA-256 of the ticket and an HMAC of the code
    keyed by the ticket."""
    ticket = env.ask(QI.id_number, QI.card_tail).json()["ticket"]
    code = env.gateway.sent[-1].params["code"]
    with env.engine.connect() as conn:
        row = conn.execute(select(selfquery_codes)).one()
    stored = json.dumps([str(v) for v in row])
    assert code not in stored and ticket not in stored
    assert row.ticket_hash == hashlib.sha256(ticket.encode()).hexdigest()
    assert row.code_hash not in (hashlib.sha256(code.encode()).hexdigest(), code)


def test_codes_are_limited_per_id_number_and_per_address(env):
    """Three codes per ID number in an hour, then 429 selfquery.rate_limited with Retry-After, the same for
    an unknown ID; another address is limited by the ID too; twenty requests from one address, then that
    address is refused for any ID; the lock passes with time."""
    for id_number, tail in ((QI.id_number, QI.card_tail), (UNKNOWN_ID, "111111")):
        for _ in range(service.CODES_PER_ID):
            assert env.ask(id_number, tail).status_code == 200
        r = env.ask(id_number, tail)
        assert r.status_code == 429 and _code(r) == "selfquery.rate_limited"
        assert int(r.headers["Retry-After"]) > 0
    with TestClient(env.app, client=("203.0.113.7", 5000)) as other:
        assert env.ask(QI.id_number, QI.card_tail, other).status_code == 429
        sent = len(env.gateway.sent)
        for i in range(service.CODES_PER_ADDRESS):
            assert env.ask(f"51090219800101{i:03d}X", "222222", other).status_code == 200
        r = env.ask(OUYANG.id_number, OUYANG.card_tail, other)
        assert r.status_code == 429 and _code(r) == "selfquery.rate_limited"
        assert len(env.gateway.sent) == sent
        env.clock.advance(hours=1)
        assert env.ask(OUYANG.id_number, OUYANG.card_tail, other).status_code == 200
    assert len(env.gateway.sent) == sent + 1
    assert "rate_limited" in [json.loads(r.data)["outcome"] for r in env.audit_rows()]


def test_wrong_codes_from_one_address_are_locked(env):
    """Twenty wrong codes from one address (over several requests) lock it: the right code is then 429."""
    wrong_left, person = service.WRONG_PER_ADDRESS, 0
    while wrong_left:
        person += 1   # another ID each time: each ID's own limit is 3 codes an hour
        ticket = env.ask(f"51090219550101{person:03d}7", "333333").json()["ticket"]
        for _ in range(min(service.CODE_TRIES, wrong_left)):
            assert _code(env.enter(ticket, "000000")) == "selfquery.code_wrong"
            wrong_left -= 1
    ticket = env.ask(QI.id_number, QI.card_tail).json()["ticket"]
    r = env.enter(ticket, env.gateway.sent[-1].params["code"])
    assert r.status_code == 429 and _code(r) == "selfquery.rate_limited"


def test_a_malformed_request_is_request_invalid_in_the_one_error_shape(env):
    """An ID that is not 18 characters, a tail or code that is not 6 digits: 422 request.invalid naming
    the field, nothing written or sent."""
    for body, path, field in (({"id_number": "51090219610520", "card_tail": "345341"}, routes.CODE, "id_number"),
                              ({"id_number": QI.id_number, "card_tail": "5341"}, routes.CODE, "card_tail"),
                              ({"ticket": "t", "code": "12345"}, routes.PAYMENTS, "code")):
        r = env.post(path, body)
        assert r.status_code == 422 and r.json()["error"]["code"] == "request.invalid"
        assert r.json()["error"]["field"] == field
    assert env.gateway.sent == []


def test_the_page_is_strict_and_the_routes_exist_only_in_the_public_app(env, tmp_path):
    """The page and its assets carry a CSP allowing only this origin, no-store and no-referrer; the staff
    registry's app has no self-query route."""
    for path in (routes.PAGE, routes.APP_JS, routes.APP_CSS):
        r = env.client.get(path)
        assert r.status_code == 200
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert r.headers["cache-control"] == "no-store" and r.headers["referrer-policy"] == "no-referrer"
        assert "http://" not in r.text and "https://" not in r.text   # no CDN, nothing from elsewhere
        env.bodies.append(r.text)
    staff_app = create_app(env.engine, clock=env.clock)
    assert not [r.path for r in staff_app.app.routes
                if getattr(r, "path", "").startswith((routes.PAGE, routes.API_PREFIX))]
    with TestClient(staff_app) as staff:
        assert staff.get(routes.PAGE).status_code == 404
    _assert_nothing_whole(env.bodies)


# ---------------------------------------------------------------------------------------------- browser
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_page_on_a_phone_shows_the_payments_masked_and_refuses_the_sixth_wrong_code(
        registry_db_url, tmp_path, artifacts_dir):
    """Debian Chromium at 390×844 against ``registry serve-verify --sms-gateway file``: ID number and card
    tail, the code read from the SMS file; five wrong codes, then the sixth entry (the right code) is
    refused as dead; a new code shows the payments with the card as ****5341 and no whole number on the
    page. Screenshots: artifacts/screens/selfquery_{ask,code_dead,payments}.png."""
    from playwright.sync_api import sync_playwright

    engine = open_database(registry_db_url)
    seed(engine)
    engine.dispose()
    sms_file = tmp_path / "sms.jsonl"
    public = RegistryProcess(registry_db_url, tmp_path / "public", command="serve-verify",
                             extra_args=["--sms-gateway", "file", "--sms-file", str(sms_file)]).start()
    shots = artifacts_dir / "screens"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))   # a script error (refusals are 4xx, not errors)
            page.goto(public.url + routes.PAGE)
            page.fill("#id-number", QI.id_number)
            page.fill("#card-tail", QI.card_tail)
            page.screenshot(path=str(shots / "selfquery_ask.png"))
            page.click("#ask")
            page.wait_for_selector("#s-code:not([hidden])")
            assert "如果信息正确，验证码已发送到登记的手机" in page.inner_text("#sent-text")
            code = _wait_for_code(sms_file, 1)
            for left in (4, 3, 2, 1):
                page.fill("#code", _wrong(code))
                page.click("#check")
                page.wait_for_function("t => document.getElementById('msg-text').textContent.includes(t)",
                                       arg=f"还可以再试 {left} 次")
            page.fill("#code", _wrong(code))
            page.click("#check")
            page.wait_for_function("() => document.getElementById('msg-text').textContent.includes('失效')")
            page.fill("#code", code)                  # the sixth entry, the right code: refused
            page.click("#check")
            page.wait_for_function("() => document.getElementById('msg-text').textContent.includes('输错次数太多')")
            assert page.is_hidden("#s-list")
            page.screenshot(path=str(shots / "selfquery_code_dead.png"))
            page.click("#again")
            page.fill("#id-number", QI.id_number)
            page.fill("#card-tail", QI.card_tail)
            page.click("#ask")
            page.wait_for_selector("#s-code:not([hidden])")
            page.fill("#code", _wait_for_code(sms_file, 2))
            page.click("#check")
            page.wait_for_selector("#s-list:not([hidden])")
            text = page.inner_text("#s-list")
            assert "漆*学" in text and "****5341" in text and "户名不符" in text and "90.00 元" in text
            assert "困难残疾人生活补贴" in text and "已到账" in text and "发放失败" in text
            assert page.locator("#payments li").count() == 3
            html = page.content()
            _assert_nothing_whole([text, html])
            page.screenshot(path=str(shots / "selfquery_payments.png"), full_page=False)
            assert errors == []
            browser.close()
    finally:
        public.stop()
    assert [m["phone"] for m in read_messages(sms_file)] == [QI.phone, QI.phone]
    log = public.log_path.read_text(encoding="utf-8", errors="replace")
    assert QI.id_number not in log and QI.phone not in log and QI.card_number not in log


def _wait_for_code(path: Path, count: int) -> str:
    """The code of the ``count``-th SMS the registry process wrote to the file gateway (sent after the
    answer, so it may land a moment later)."""
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        messages = read_messages(path)
        if len(messages) >= count:
            return messages[count - 1]["params"]["code"]
        time.sleep(0.05)
    raise AssertionError(f"no SMS number {count} in {path}")


def test_concurrent_wrong_codes_never_count_more_than_five(env):
    """Twelve wrong codes entered at once against one ticket (each its own transaction and thread): exactly
    five are answered code_wrong (4 … 0 left, each once), the other seven code_dead: the row lock (FOR
    UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite) lets no entry slip past the count."""
    from concurrent.futures import ThreadPoolExecutor

    from registry.errors import ApiError

    ticket = env.ask(QI.id_number, QI.card_tail).json()["ticket"]
    wrong = _wrong(env.gateway.sent[-1].params["code"])
    _asking, wrong_throttle = service.throttles(env.clock)

    def enter(i: int) -> tuple[str, int | None]:
        try:
            service.check_code(env.engine, wrong_throttle, ticket, wrong, f"198.51.100.{i}", clock=env.clock)
        except ApiError as e:
            return e.code, e.data.get("tries_left")
        return "shown", None

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(enter, range(12)))
    assert sorted(r for r in results if r[0] == "selfquery.code_wrong") == [
        ("selfquery.code_wrong", n) for n in range(5)]
    assert [r for r in results if r[0] != "selfquery.code_wrong"] == [("selfquery.code_dead", None)] * 7
    with env.engine.connect() as conn:
        assert conn.execute(select(selfquery_codes.c.wrong_count)).scalar() == 5


def test_serve_verify_refuses_a_file_gateway_without_its_file():
    """``serve-verify --sms-gateway file`` without ``--sms-file`` is a usage error (exit 2) before anything
    starts."""
    from tests.conftest import yikatong

    r = yikatong("registry", "serve-verify", "--sms-gateway", "file", "--db", "sqlite:///:memory:")
    assert r.returncode == 2 and r.stderr.startswith("error: usage.invalid_value:"), r.stderr
