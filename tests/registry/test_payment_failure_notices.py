"""A payment that failed at the bank reaches its village's laptops as a ``payment_failure`` pull change
(protocol v6) and follows the line until it is paid — on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from paymentkit import Env, lines_of, results_file
from payments_fixtures import OTHER_VILLAGE, VILLAGE, correct_card, ready_people
from reviewkit import make_operator

from registry.db import iso, open_database
from registry.payments.results import import_results, reverse_line
from registry.service import pull
from sync import protocol


@pytest.fixture
def env(registry_db_url):
    engine = open_database(registry_db_url)
    yield Env(engine)
    engine.dispose()


def _import(env: Env, path) -> dict:
    env.clock.advance(minutes=1)
    return import_results(env.engine, env.checker, path, clock=env.clock)


def _failures(engine, operator, since: int = 0, client_version: int = protocol.PROTOCOL_VERSION) -> list[dict]:
    out = pull(engine, operator, since, 1000, client_version=client_version)
    return [c for c in out["changes"] if c["kind"] == protocol.KIND_PAYMENT_FAILURE]


def _parsed(change: dict) -> protocol.PulledPaymentFailure:
    parsed = protocol.PullChange.from_wire(change)
    assert parsed.payment_failure is not None
    return parsed.payment_failure


def test_a_bounced_line_reaches_its_village_cadre_with_the_bank_reason_and_nobody_else(env, tmp_path):
    """Only the bounced line (not the credited one) is sent, to the cadre of its village (not another village's,
    not a v5 laptop), with the bank's reason code and words and the card as its last four digits."""
    paid, failed = ready_people(env.engine, 2)
    ready_people(env.engine, 1, start=3, village=OTHER_VILLAGE)
    batch = env.sent(tmp_path / "bank.csv")
    refs = {ln.entitlement_id: ln.reference for ln in lines_of(env.engine, batch)}
    cadre = make_operator(env.engine, "cadre_here", "cadre", VILLAGE)
    elsewhere = make_operator(env.engine, "cadre_there", "cadre", OTHER_VILLAGE)
    assert _failures(env.engine, cadre) == []
    _import(env, results_file(tmp_path / "back.csv", [
        (refs[paid.entitlement_id], "成功", ""), (refs[failed.entitlement_id], "失败", "卡未激活（网点）")]))

    changes = _failures(env.engine, cadre)
    assert [c["key"] for c in changes] == [str(failed.entitlement_id)]
    data = changes[0]["data"]
    assert (data["id_number"], data["name"], data["village_code"], data["amount_fen"], data["state"]) == (
        failed.id_number, failed.name, VILLAGE, failed.amount_fen, "pay_failed")
    assert data["line"]["state"] == "bounced" and data["line"]["reason_code"] == "card_inactive"
    assert data["line"]["bank_reason"] == "卡未激活（网点）"
    assert data["line"]["card"] == "****" + failed.card_number[-4:] and failed.card_number not in str(changes)
    assert _parsed(changes[0]).amount_fen == failed.amount_fen
    assert _failures(env.engine, elsewhere) == []
    assert _failures(env.engine, cadre, client_version=5) == []
    # Nothing new after the change's own counter: the laptop does not see it twice.
    assert _failures(env.engine, cadre, since=changes[0]["counter"]) == []


def test_the_retry_and_its_credit_follow_the_failure_and_a_reversal_is_news_too(env, tmp_path):
    """After the card fix the line is sent again (in_batch, at the bank) and then paid (paid_out, credited), each
    a new change with a higher counter; a reversed credit is sent as well; counters are never shared."""
    person, other = ready_people(env.engine, 2)
    cadre = make_operator(env.engine, "cadre_here", "cadre", VILLAGE)
    first = env.sent(tmp_path / "bank1.csv")
    refs = {ln.entitlement_id: ln.reference for ln in lines_of(env.engine, first)}
    _import(env, results_file(tmp_path / "back1.csv", [(refs[person.entitlement_id], "失败", "户名不符"),
                                                       (refs[other.entitlement_id], "失败", "账户已销户")]))
    bounced = _failures(env.engine, cadre)
    assert sorted(c["data"]["line"]["reason_code"] for c in bounced) == ["account_closed", "name_mismatch"]
    assert len({c["counter"] for c in bounced}) == 2
    seen = max(c["counter"] for c in bounced)

    env.clock.advance(hours=1)
    correct_card(env.engine, person.card_id, iso(env.clock.now()), name=person.name)
    retry = env.sent(tmp_path / "bank2.csv")
    resent = _failures(env.engine, cadre, since=seen)
    assert [(c["key"], c["data"]["state"], c["data"]["line"]["state"]) for c in resent] == [
        (str(person.entitlement_id), "in_batch", "at_bank")]
    seen = resent[0]["counter"]

    (line,) = lines_of(env.engine, retry)
    _import(env, results_file(tmp_path / "back2.csv", [(line.reference, "成功", "")]))
    paid = _failures(env.engine, cadre, since=seen)
    assert [(c["data"]["state"], c["data"]["line"]["state"]) for c in paid] == [("paid_out", "credited")]
    seen = paid[0]["counter"]

    reverse_line(env.engine, env.checker, line.reference, "银行冲正", clock=env.clock)
    reversed_ = _failures(env.engine, cadre, since=seen)
    assert [(c["data"]["state"], c["data"]["line"]["state"]) for c in reversed_] == [("ready", "reversed")]


def test_a_first_time_credit_is_no_news_for_the_laptop(env, tmp_path):
    """Lines paid at the first try never leave the registry as payment_failure changes."""
    people = ready_people(env.engine, 3)
    cadre = make_operator(env.engine, "cadre_here", "cadre", VILLAGE)
    batch = env.sent(tmp_path / "bank.csv")
    _import(env, results_file(tmp_path / "back.csv", [(ln.reference, "成功", "") for ln in lines_of(env.engine, batch)]))
    assert len(people) == 3 and _failures(env.engine, cadre) == []


@pytest.mark.parametrize("bad", [
    {"amount_fen": -1}, {"amount_fen": "90"}, {"state": None}, {"line": "bounced"}, {"line": {"reason_code": "x"}},
])
def test_the_laptop_refuses_a_payment_failure_of_another_shape(bad):
    """A change whose data breaks the v6 shape is refused with protocol.bad_change, not half-kept."""
    data = {"entitlement_id": "7", "id_number": "510902196105200001", "name": "居民1", "village_code": VILLAGE,
            "department": "残联", "item": "disability_living", "period": "202612", "amount_fen": 9001,
            "state": "pay_failed", "updated_at": "2026-12-01T00:00:00Z",
            "line": {"reference": "YK1", "state": "bounced", "reason_code": "other", "bank_reason": None,
                     "settled_at": None, "card": "****0001"}}
    good = {"counter": 9, "kind": protocol.KIND_PAYMENT_FAILURE, "key": "7", "data": data}
    assert _parsed(good).state == "pay_failed"
    with pytest.raises(protocol.BadWireShape) as e:
        protocol.PullChange.from_wire({**good, "data": {**data, **bad}})
    assert e.value.code == protocol.E_BAD_CHANGE
