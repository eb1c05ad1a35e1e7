"""The SMS outbox: one message per paid line, exactly once, through a real HTTP stub gateway that times out,
answers 500 and then 200; cadres told of bounced lines; two senders at once; no personal data in logs."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from smskit import QI, VILLAGE, Person, Seed, person
from sqlalchemy import select
from werkzeug import Response

from enrollment import error_codes
from enrollment.errors import DomainError
from registry.clock import FixedClock
from registry.config import SmsSettings
from registry.db import open_database
from registry.schema import sms_outbox
from registry.sms import outbox
from registry.sms import templates as sms_templates
from registry.sms.adapters import aliyun, gateway_from_settings, tencent
from registry.sms.adapters.http import HttpGateway
from registry.sms.gateway import RecordingGateway, Sent, SmsMessage
from tests.conftest import ROOT

START = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
SUINING = ("【遂宁一卡通】漆明学您好,您第201906期困难残疾人生活补贴已获批准,金额90元,"
           "已发放到尾号为5341的社会保障卡,请注意查收。")


@pytest.fixture
def engine(registry_db_url):
    engine = open_database(registry_db_url)
    yield engine
    engine.dispose()


def seed(engine, build) -> dict:
    with engine.begin() as conn:
        return build(Seed(conn))


def enqueue(engine, clock) -> outbox.EnqueueResult:
    with engine.begin() as conn:
        return outbox.enqueue_settled(conn, now=outbox.iso(clock.now()))


def rows(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(select(sms_outbox).order_by(sms_outbox.c.id)).all()


def test_the_default_template_is_the_suining_wording(engine):
    """A credited line of 90 yuan for 漆明学 on a card ending 5341 becomes exactly the SMS Suining sent."""
    seed(engine, lambda s: s.line(QI, amount_fen=9000))
    clock, gateway = FixedClock(START), RecordingGateway()
    out = outbox.run(engine, gateway, clock=clock, actor="cli")
    assert (out["sent"], out["left"]) == (1, 0)
    (message,) = gateway.sent
    assert message.text == SUINING
    assert message.phone == QI.roster_phone and message.template == "credited"
    assert message.params["amount"] == "90" and message.params["card_tail"] == "5341"


def test_amount_with_fen_and_the_item_name_from_the_templates_file(engine):
    """90.50 yuan reads "90.50", and an item the templates file renames is called by that name."""
    seed(engine, lambda s: s.line(QI, amount_fen=9050, item="dibao"))
    gateway = RecordingGateway()
    outbox.run(engine, gateway, clock=FixedClock(START), actor="cli")
    assert "第201906期城乡最低生活保障金已获批准,金额90.50元" in gateway.sent[0].text


def test_enqueue_twice_adds_nothing_and_a_missing_phone_is_given_up_and_counted(engine):
    """The second enqueue adds no row; a resident with no phone anywhere gets a given-up row (sms.no_phone);
    the enrolled record's phone wins over the roster's."""
    seed(engine, lambda s: [s.line(person(1)), s.line(person(2, roster_phone="")),
                            s.line(person(3, record_phone="13800000003"))])
    clock = FixedClock(START)
    first = enqueue(engine, clock)
    assert (first.credited, first.no_phone) == (3, 1)
    again = enqueue(engine, clock)
    assert len(rows(engine)) == 3 and again.credited == 0
    by_line = {r.payment_line_id: r for r in rows(engine)}
    assert by_line[2].state == "sms_gave_up" and by_line[2].last_error == error_codes.SMS_NO_PHONE
    assert by_line[2].phone is None
    assert by_line[3].phone == "13800000003" and by_line[1].phone == person(1).roster_phone
    with engine.connect() as conn:
        status = outbox.status(conn)
    assert status["totals"] == {"sms_to_send": 2, "sms_sent": 0, "sms_gave_up": 1}
    assert status["gave_up_reasons"] == {"sms.no_phone": 1}


def test_a_bounced_line_tells_each_cadre_of_the_village_and_not_the_resident(engine):
    """A bounced line gets one row per cadre of its village (a cadre without a phone: given up), none for the
    resident and none for another village's cadre; the message names the bank's reason."""
    def build(s: Seed) -> dict:
        return {"with": s.cadre("cadre_1", phone="13700000001"), "without": s.cadre("cadre_2"),
                "other": s.cadre("cadre_3", village="510903102202", phone="13700000003"),
                "line": s.line(QI, state="bounced", bank_reason="账户已销户")}
    ids = seed(engine, build)
    gateway = RecordingGateway()
    out = outbox.run(engine, gateway, clock=FixedClock(START), actor="cli")
    assert out["enqueued"] == {"credited": 0, "bounced": 2, "no_phone": 1}
    recipients = {r.recipient: r for r in rows(engine)}
    assert set(recipients) == {f"operator:{ids['with']}", f"operator:{ids['without']}"}
    assert recipients[f"operator:{ids['without']}"].last_error == "sms.no_phone"
    (message,) = gateway.sent
    assert message.phone == "13700000001" and "resident" not in recipients
    assert message.text.startswith("【遂宁一卡通】石溪村漆明学第201906期困难残疾人生活补贴90元发放失败(账户已销户)")


class StubGateway:
    """A local HTTP SMS gateway (pytest-httpserver): the first request hangs past the client's read timeout
    (and sends nothing), the second answers 500, every later one 200 and counts the message as sent."""

    def __init__(self, httpserver, *, hang: float = 1.0, script: tuple[str, ...] = ("hang", "500")) -> None:
        self.delivered: Counter[str] = Counter()
        self.requests = 0
        self.script = list(script)
        self.hang = hang
        self.lock = threading.Lock()
        httpserver.expect_request("/sms", method="POST").respond_with_handler(self.handle)
        self.url = httpserver.url_for("/sms")

    def handle(self, request) -> Response:
        body = json.loads(request.data)
        assert request.headers["Authorization"] == "Bearer stub-token"
        assert request.headers["Idempotency-Key"] == body["id"]
        with self.lock:
            self.requests += 1
            step = self.script.pop(0) if self.script else "200"
        if step == "hang":
            time.sleep(self.hang)
            return Response("gateway timeout", status=504)
        if step.isdigit() and step != "200":
            return Response(json.dumps({"error": "boom"}), status=int(step), content_type="application/json")
        with self.lock:
            self.delivered[body["id"]] += 1
        return Response(json.dumps({"message_id": f"gw-{body['id']}"}), content_type="application/json")


def http_gateway(stub: StubGateway) -> HttpGateway:
    return HttpGateway(stub.url, "stub-token", timeout=(1.0, 0.3))


def test_timeout_500_then_200_sends_each_credited_line_exactly_once(engine, httpserver):
    """Through a stub gateway that times out, then answers 500, then 200: repeated send-pending runs send
    every credited line's message exactly once; the failed ones wait for their backoff, then go."""
    seed(engine, lambda s: [s.line(person(i)) for i in range(1, 6)])
    stub, clock = StubGateway(httpserver), FixedClock(START)
    gateway = http_gateway(stub)
    first = outbox.run(engine, gateway, clock=clock, actor="cli")
    assert (first["sent"], first["failed"], first["gave_up"], first["left"]) == (3, 2, 0, 2)
    failed = {r.id: r for r in rows(engine) if r.state == "sms_to_send"}
    assert sorted(r.last_error for r in failed.values()) == ["sms.gateway_error", "sms.timeout"]
    assert all(r.attempts == 1 and r.claim is None for r in failed.values())
    again = outbox.run(engine, gateway, clock=clock, actor="cli")  # nothing is due before the backoff ends
    assert (again["sent"], again["left"]) == (0, 2)
    clock.advance(seconds=outbox.backoff_seconds(1))
    third = outbox.run(engine, gateway, clock=clock, actor="cli")
    assert (third["sent"], third["left"]) == (2, 0)
    for _ in range(2):
        clock.advance(hours=2)
        assert outbox.run(engine, gateway, clock=clock, actor="cli")["sent"] == 0
    final = rows(engine)
    assert [r.state for r in final] == ["sms_sent"] * 5
    assert stub.delivered == Counter({str(r.id): 1 for r in final})
    assert {r.gateway_ref for r in final} == {f"gw-{r.id}" for r in final}
    assert sorted(r.attempts for r in final) == [1, 1, 1, 2, 2]
    assert stub.requests == 7


def test_a_refused_message_gives_up_at_once_and_a_failing_one_after_max_attempts(engine, httpserver):
    """A 400 is not retried (sms.refused); 500s are retried with a growing backoff and given up on the
    max_attempts-th failure (sms.gateway_error)."""
    seed(engine, lambda s: [s.line(person(1)), s.line(person(2))])
    stub, clock = StubGateway(httpserver, script=("400",) + ("500",) * 10), FixedClock(START)
    gateway = http_gateway(stub)
    outbox.run(engine, gateway, clock=clock, actor="cli", max_attempts=3, concurrency=1)
    r1, r2 = rows(engine)
    assert (r1.state, r1.last_error) == ("sms_gave_up", "sms.refused")
    assert (r2.state, r2.attempts, r2.next_attempt_at) == ("sms_to_send", 1, outbox.iso(START + dt.timedelta(seconds=60)))
    clock.advance(seconds=60)
    outbox.run(engine, gateway, clock=clock, actor="cli", max_attempts=3, concurrency=1)
    assert rows(engine)[1].next_attempt_at == outbox.iso(clock.now() + dt.timedelta(seconds=120))
    clock.advance(seconds=120)
    out = outbox.run(engine, gateway, clock=clock, actor="cli", max_attempts=3, concurrency=1)
    assert (out["gave_up"], out["left"]) == (1, 0)
    assert (rows(engine)[1].state, rows(engine)[1].last_error, rows(engine)[1].attempts) == \
           ("sms_gave_up", "sms.gateway_error", 3)
    assert stub.delivered == Counter()


class SlowRecorder:
    """Records the outbox ids it is given, slowly enough that two senders overlap."""

    name = "slow"
    max_send_seconds = 5.0

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.lock = threading.Lock()

    def send(self, message: SmsMessage) -> Sent:
        time.sleep(0.002)
        with self.lock:
            self.ids.append(message.out_id)
        return Sent(self.name, f"slow-{message.out_id}")


def test_two_senders_at_once_send_each_row_once(engine, registry_db_url):
    """Two send-pending runs at once, each on its own connections (FOR UPDATE SKIP LOCKED on PostgreSQL,
    BEGIN IMMEDIATE on SQLite), together send every row exactly once."""
    seed(engine, lambda s: [s.line(person(i)) for i in range(1, 121)])
    clock = FixedClock(START)
    enqueue(engine, clock)
    gateway = SlowRecorder()
    results: list[outbox.SendResult] = []
    barrier = threading.Barrier(2)

    def sender() -> None:
        own = open_database(registry_db_url)
        barrier.wait()
        results.append(outbox.send_pending(own, gateway, clock=clock, batch_size=7))
        own.dispose()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(map(int, gateway.ids)) == [r.id for r in rows(engine)]  # each once, none missing
    assert sum(r.sent for r in results) == 120 and all(r.sent > 0 for r in results)
    assert all(r.state == "sms_sent" for r in rows(engine))



class ClaimWatcher:
    """Records each outbox id it is given and how many claims the database holds while it sends; one send
    in five is slow, so a claim's last sends are still in flight when the next batch could start."""

    name = "watcher"
    max_send_seconds = 5.0
    max_concurrency = 4

    def __init__(self, engine) -> None:  # noqa: ANN001
        self.engine, self.ids, self.claims_held = engine, [], []
        self.lock = threading.Lock()

    def send(self, message: SmsMessage) -> Sent:
        with self.engine.connect() as conn:
            held = len(set(conn.execute(select(sms_outbox.c.claim).where(sms_outbox.c.claim.is_not(None)))
                           .scalars()))
        time.sleep(0.05 if int(message.out_id) % 5 == 0 else 0.002)
        with self.lock:
            self.ids.append(message.out_id)
            self.claims_held.append(held)
        return Sent(self.name, f"w-{message.out_id}")


def test_the_next_batch_is_claimed_while_sends_are_in_flight_and_each_row_goes_once(engine):
    """A sender claims its next batch while the last sends of the previous one are still in flight (two
    claims held at once), and still sends every row exactly once, each recorded under its own claim."""
    seed(engine, lambda s: [s.line(person(i)) for i in range(1, 41)])
    clock = FixedClock(START)
    enqueue(engine, clock)
    gateway = ClaimWatcher(engine)
    result = outbox.send_pending(engine, gateway, clock=clock, batch_size=6)
    assert sorted(map(int, gateway.ids)) == [r.id for r in rows(engine)]  # each once, none missing
    assert (result.sent, result.lease_lost, result.left) == (40, 0, 0)
    assert max(gateway.claims_held) >= 2
    assert all(r.state == "sms_sent" and r.claim is None and r.gateway_ref == f"w-{r.id}" for r in rows(engine))

def test_a_sender_that_died_after_claiming_leaves_its_rows_due_when_the_lease_ends(engine):
    """Rows claimed by a sender that never answered are not sent by another until the lease ends, then are."""
    seed(engine, lambda s: [s.line(person(i)) for i in range(1, 4)])
    clock = FixedClock(START)
    enqueue(engine, clock)
    token, claimed = outbox._claim(engine, clock.now(), 10, lease=120)
    assert len(claimed) == 3
    gateway = RecordingGateway()
    assert outbox.send_pending(engine, gateway, clock=clock).sent == 0
    clock.advance(seconds=121)
    assert outbox.send_pending(engine, gateway, clock=clock).sent == 3
    assert len(gateway.sent) == 3


def test_no_phone_name_or_id_number_in_any_log_line(engine, httpserver, caplog):
    """Sending, failing and giving up log outbox ids and codes, never a phone, a name or an ID number."""
    people = [person(1), person(2, roster_phone=""), QI]
    seed(engine, lambda s: [s.line(p) for p in people] + [s.cadre("c1", phone="13700000001"),
                                                         s.line(person(4), state="bounced")])
    stub = StubGateway(httpserver, script=("hang", "500", "400"))
    caplog.set_level(logging.DEBUG)
    clock = FixedClock(START)
    for _ in range(3):
        outbox.run(engine, http_gateway(stub), clock=clock, actor="cli")
        clock.advance(hours=1)
    assert "sms outbox=" in caplog.text  # the sender does log
    secrets = [x for p in [*people, person(4)] for x in (p.id_number, p.name, p.roster_phone, p.card_number) if x]
    secrets += ["13700000001", "stub-token"]
    for record in caplog.records:
        line = record.getMessage()
        assert not [s for s in secrets if s in line], line


def test_an_sdk_gateway_without_its_sdk_is_a_clear_error(tmp_path):
    """Choosing Aliyun or Tencent without their SDK installed is sms.sdk_missing naming the extra, in the
    API and at the command line."""
    tpl = sms_templates.load()
    for name, extra in (("aliyun", "sms-aliyun"), ("tencent", "sms-tencent")):
        with pytest.raises(DomainError) as e:
            gateway_from_settings(SmsSettings(gateway=name), tpl)
        assert e.value.code == error_codes.SMS_SDK_MISSING and e.value.data["package"] == f"yikatong[{extra}]"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "YIKATONG_SMS_GATEWAY": "aliyun"}
    r = subprocess.run([sys.executable, "-m", "cli.main", "registry", "sms", "send-pending",
                        "--db", f"sqlite:///{tmp_path / 'r.sqlite3'}"], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 1 and r.stderr.startswith("error: sms.sdk_missing"), r.stderr


def test_no_gateway_chosen_is_not_configured_and_a_secret_is_never_in_a_repr():
    """Without YIKATONG_SMS_GATEWAY nothing is sent (sms.not_configured); the HTTP gateway needs its URL;
    the settings' repr shows no token."""
    tpl = sms_templates.load()
    with pytest.raises(DomainError) as e:
        gateway_from_settings(SmsSettings.from_env({}), tpl)
    assert e.value.code == error_codes.SMS_NOT_CONFIGURED
    with pytest.raises(DomainError) as e:
        gateway_from_settings(SmsSettings.from_env({"YIKATONG_SMS_GATEWAY": "http"}), tpl)
    assert e.value.data["setting"] == "YIKATONG_SMS_HTTP_URL"
    settings = SmsSettings.from_env({"YIKATONG_SMS_GATEWAY": "http", "YIKATONG_SMS_HTTP_URL": "http://gw/sms",
                                     "YIKATONG_SMS_HTTP_TOKEN": "s3cret-token", "YIKATONG_SMS_TIMEOUT": "2,5"})
    assert settings.timeout == (2.0, 5.0) and "s3cret-token" not in repr(settings)
    gateway = gateway_from_settings(settings, tpl)
    assert gateway.max_send_seconds == 7.0 and "s3cret-token" not in repr(gateway)


def test_gateway_error_codes_map_to_retry_or_not():
    """Aliyun's and Tencent's codes: system errors and flow control are retried, a bad number or an
    unapproved template is not, an unknown code is refused rather than resent."""
    cases = [(aliyun.classify, "isp.SYSTEM_ERROR", "sms.gateway_error", True),
             (aliyun.classify, "isv.BUSINESS_LIMIT_CONTROL", "sms.rate_limited", True),
             (aliyun.classify, "isv.MOBILE_NUMBER_ILLEGAL", "sms.phone_invalid", False),
             (aliyun.classify, "isv.SMS_TEMPLATE_ILLEGAL", "sms.template_invalid", False),
             (aliyun.classify, "isv.SOMETHING_NEW", "sms.refused", False),
             (tencent.classify, "InternalError.Timeout", "sms.gateway_error", True),
             (tencent.classify, "LimitExceeded.PhoneNumberDailyLimit", "sms.rate_limited", True),
             (tencent.classify, "FailedOperation.PhoneNumberInBlacklist", "sms.phone_blocked", False),
             (tencent.classify, "InvalidParameterValue.IncorrectPhoneNumber", "sms.phone_invalid", False),
             (tencent.classify, "FailedOperation.Unknown", "sms.refused", False)]
    for classify, code, ours, retry in cases:
        failure = classify(code)
        assert (failure.code, failure.retry) == (ours, retry), code
    assert tencent.e164("13912345678") == "+8613912345678"


def test_command_line_send_pending_status_receipt_and_cadre_phone(registry_db_url, tmp_path):
    """registry set-operator-phone, sms send-pending --json (recording gateway), sms status --json and
    sms receipt FILE, against one database."""
    engine = open_database(registry_db_url)
    seed(engine, lambda s: [s.line(QI), s.cadre("cadre_1"), s.line(person(7), state="bounced")])
    engine.dispose()

    def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "cli.main", "registry", *args, "--db", registry_db_url],
                              cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                              capture_output=True, text=True, timeout=120)

    r = cli("set-operator-phone", "nobody", "13700000001")
    assert r.returncode == 1 and r.stderr.startswith("error: operator.unknown"), r.stderr
    r = cli("set-operator-phone", "cadre_1", "137-0000-0001", "--json")
    assert r.returncode == 0 and json.loads(r.stdout) == {"username": "cadre_1", "phone_set": True}, r.stderr
    assert "13700000001" not in r.stdout
    r = cli("sms", "send-pending", "--json", "--limit", "1", env={"YIKATONG_SMS_GATEWAY": "recording"})
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert (out["enqueued"], out["sent"], out["left"]) == ({"credited": 1, "bounced": 1, "no_phone": 0}, 1, 1)
    r = cli("sms", "send-pending", "--json", "--gateway", "recording")
    assert (json.loads(r.stdout)["sent"], json.loads(r.stdout)["left"]) == (1, 0)
    receipts = tmp_path / "receipts.csv"
    receipts.write_text("message_id,status\nrec-1,delivered\nnot-ours,failed\n", encoding="utf-8")
    r = cli("sms", "receipt", str(receipts), "--gateway", "recording", "--json")
    assert json.loads(r.stdout) == {"recorded": 1, "unchanged": 0, "unknown": 1}, r.stderr
    r = cli("sms", "status", "--json")
    status = json.loads(r.stdout)
    assert status["totals"] == {"sms_to_send": 0, "sms_sent": 2, "sms_gave_up": 0}
    assert status["receipts"] == {"delivered": 1, "none": 1}
    assert status["by_kind"] == {"bounced": {"sms_sent": 1}, "credited": {"sms_sent": 1}}
    r = cli("sms", "send-pending")
    assert r.returncode == 1 and r.stderr.startswith("error: sms.not_configured"), r.stderr


def test_command_line_status_names_why_messages_were_given_up(registry_db_url):
    """sms status without --json prints each given-up reason in Chinese with its code and count."""
    engine = open_database(registry_db_url)
    seed(engine, lambda s: [s.line(QI), s.line(person(8, roster_phone=""))])
    engine.dispose()

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "cli.main", "registry", "sms", *args, "--db", registry_db_url],
                              cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                              capture_output=True, text=True, timeout=120)

    r = cli("send-pending", "--gateway", "recording")
    assert r.returncode == 0, r.stderr
    r = cli("status")
    assert r.returncode == 0, r.stderr
    first, *reasons = r.stdout.splitlines()
    assert first.startswith("to send 0, sent 1, gave up 1; receipts: none 1;"), r.stdout
    assert reasons == ["  gave up 1: 没有可用的手机号（花名册和登记记录中都没有），短信未发送 [sms.no_phone]"], r.stdout


def test_a_template_file_missing_a_variable_is_refused(tmp_path):
    """A template whose text uses a variable its params do not list is sms.templates_invalid."""
    bad = tmp_path / "t.json"
    bad.write_text(json.dumps({"templates": {"c": {"text": "{name}{amount}", "params": ["name"]}},
                               "default": {"credited": "c", "bounced": "c"}}), encoding="utf-8")
    with pytest.raises(DomainError) as e:
        sms_templates.load(bad)
    assert e.value.code == error_codes.SMS_TEMPLATES_INVALID


def test_migration_0016_keeps_outbox_rows_and_their_guards(registry_db_url):
    """An outbox row written under 0014 survives 0016 (the SMS migration) as the resident's row; the state CHECK and the new
    unique key (line, kind, recipient) hold afterwards (SQLite rebuilds the table)."""
    from regkit import upgrade_to
    from sqlalchemy import insert, text, update
    from sqlalchemy.exc import IntegrityError

    from registry.db import make_engine, migrate

    engine = make_engine(registry_db_url)
    upgrade_to(engine, "0014")
    with engine.begin() as conn:
        line = Seed(conn).line(QI)
        conn.execute(text("INSERT INTO sms_outbox (payment_line_id, kind, phone, template, params, state, "
                          "attempts, created_at) VALUES (:l, 'credited', '13912345678', 'credited', '{}', "
                          "'sms_to_send', 0, :t)"), {"l": line, "t": "2026-12-01T00:00:00.000000Z"})
    migrate(engine)
    (row,) = rows(engine)
    assert (row.payment_line_id, row.recipient, row.state, row.claim) == (line, "resident", "sms_to_send", None)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(update(sms_outbox).values(state="sms_lost"))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(sms_outbox).values(payment_line_id=line, kind="credited", recipient="resident",
                                               template="credited", params="{}", state="sms_to_send",
                                               created_at="2026-12-01T00:00:00.000000Z"))
    with engine.begin() as conn:  # another recipient of the same line and kind is a row of its own
        conn.execute(insert(sms_outbox).values(payment_line_id=line, kind="credited", recipient="operator:1",
                                               template="credited", params="{}", state="sms_to_send",
                                               created_at="2026-12-01T00:00:00.000000Z"))
    engine.dispose()


def test_seed_people_are_distinct():
    """The kit's people differ in every personal value (the log test relies on it)."""
    people: list[Person] = [person(i) for i in range(1, 5)] + [QI]
    assert len({p.id_number for p in people}) == len({p.card_number for p in people}) == 5
    assert VILLAGE
