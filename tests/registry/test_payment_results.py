"""The bank's return file (回盘): applied once by its hash, bad lines kept as error rows, failed lines retried
only after a card fix, reversals reopen; issued = paid + failed + pending after every step — on SQLite and
PostgreSQL."""

from __future__ import annotations

import json

import pytest
from paymentkit import PASSWORD, Env, lines_of, results_file, status
from payments_fixtures import add_card, correct_card, ready_people
from sqlalchemy import func, select, update

from registry import schema as s
from registry.db import iso, open_database
from registry.errors import ApiError
from registry.payments.results import import_results, reverse_line
from tests.conftest import yikatong


@pytest.fixture
def env(registry_db_url):
    engine = open_database(registry_db_url)
    yield Env(engine)
    engine.dispose()


def _import(env: Env, path) -> dict:
    env.clock.advance(minutes=1)
    return import_results(env.engine, env.checker, path, clock=env.clock)


def _snapshot(engine) -> tuple:
    with engine.connect() as conn:
        return (tuple(conn.execute(select(s.payment_lines).order_by(s.payment_lines.c.id))),
                tuple(conn.execute(select(s.entitlements.c.id, s.entitlements.c.state).order_by(s.entitlements.c.id))),
                tuple(conn.execute(select(s.payment_batches).order_by(s.payment_batches.c.id))),
                conn.execute(select(func.count()).select_from(s.audit_log)).scalar(),
                conn.execute(select(func.count()).select_from(s.result_errors)).scalar())


def _entitlement_state(engine, entitlement_id: int) -> str:
    with engine.connect() as conn:
        return conn.execute(select(s.entitlements.c.state).where(s.entitlements.c.id == entitlement_id)).scalar()


def test_results_credit_and_bounce_lines_and_the_same_file_twice_changes_nothing(env, tmp_path):
    """成功 lines are credited (paid_out), 失败 lines bounced with the mapped reason and the bank's words
    (pay_failed); the batch settles; the same file again answers the first summary and changes nothing."""
    people = ready_people(env.engine, 5)
    batch = env.sent(tmp_path / "bank.csv")
    total = sum(p.amount_fen for p in people)
    status(env.engine, batch, issued=(5, total), pending=(5, total))
    refs = {ln.entitlement_id: ln.reference for ln in lines_of(env.engine, batch)}
    p = [refs[x.entitlement_id] for x in people]
    path = results_file(tmp_path / "back.csv", [(p[0], "成功", ""), (p[1], "成功", ""), (p[2], "成功", ""),
                                                (p[3], "失败", "户名不符"), (p[4], "失败", "系统繁忙请重试")])
    out = _import(env, path)
    assert (out["lines"], out["credited"], out["bounced"], out["errors"], out["already_imported"]) == (5, 3, 2, 0, False)
    by_ref = {ln.reference: ln for ln in lines_of(env.engine, batch)}
    assert [by_ref[r].state for r in p] == ["credited"] * 3 + ["bounced"] * 2
    assert (by_ref[p[3]].reason_code, by_ref[p[3]].bank_reason) == ("name_mismatch", "户名不符")
    assert (by_ref[p[4]].reason_code, by_ref[p[4]].bank_reason) == ("other", "系统繁忙请重试")
    assert [_entitlement_state(env.engine, x.entitlement_id) for x in people] == ["paid_out"] * 3 + ["pay_failed"] * 2
    paid = sum(x.amount_fen for x in people[:3])
    out_status = status(env.engine, batch, issued=(5, total), paid=(3, paid), failed=(2, total - paid),
                        pending=(0, 0))
    assert out_status["batch"]["state"] == "settled"

    before = _snapshot(env.engine)
    again = _import(env, path)
    assert again["already_imported"] is True and again["notice"] == "payments.results_already_imported"
    assert {k: again[k] for k in ("import_id", "credited", "bounced", "errors")} == {
        k: out[k] for k in ("import_id", "credited", "bounced", "errors")}
    assert _snapshot(env.engine) == before


def test_bad_lines_become_error_rows_and_the_rest_is_applied(env, tmp_path):
    """An unknown reference, a wrong amount, a bad amount, a duplicate, a bad status, a line of a batch not yet
    exported, a short row and a line that already has its result each become a result_errors row with its
    code; the good lines are applied and the batch settles only when no line is left at the bank."""
    people = ready_people(env.engine, 4)
    batch = env.sent(tmp_path / "bank.csv")
    refs = {ln.entitlement_id: ln for ln in lines_of(env.engine, batch)}
    a, b, c, d = (refs[x.entitlement_id] for x in people)
    (late,) = ready_people(env.engine, 1, start=40, period="202701")
    unexported = env.build(period="202701")
    late_ref = lines_of(env.engine, unexported.id)[0].reference

    def yuan(fen: int) -> str:
        return f"{fen // 100}.{fen % 100:02d}"

    rows = [(a.reference, "成功", "", yuan(a.amount_fen)),
            ("YKNOSUCHREFERENCE", "成功", "", "1.00"),
            (b.reference, "成功", "", yuan(b.amount_fen + 1)),
            (c.reference, "成功", "", "九十"),
            (a.reference, "失败", "账户冻结", yuan(a.amount_fen)),
            (d.reference, "处理中", "", yuan(d.amount_fen)),
            (late_ref, "成功", "", yuan(late.amount_fen)),
            (d.reference, "成功")]
    first = _import(env, results_file(tmp_path / "back1.csv", rows, header="reference,status,reason,amount"))
    codes = [(x["line"], x["code"]) for x in first["error_lines"]]
    assert codes == [(3, "result.reference_unknown"), (4, "result.amount_mismatch"), (5, "result.amount_invalid"),
                     (6, "result.duplicate_line"), (7, "result.status_invalid"), (8, "result.batch_not_exported"),
                     (9, "result.row_length")]
    assert first["error_lines"][1]["data"] == {"file_fen": b.amount_fen + 1, "line_fen": b.amount_fen}
    assert (first["credited"], first["bounced"], first["errors"], first["lines"]) == (1, 0, 7, 8)
    with env.engine.connect() as conn:
        stored = conn.execute(select(s.result_errors.c.code).order_by(s.result_errors.c.line)).scalars().all()
    assert stored == [code for _line, code in codes]
    assert [ln.state for ln in lines_of(env.engine, batch) if ln.reference in (b.reference, c.reference,
                                                                                d.reference)] == ["at_bank"] * 3
    st = status(env.engine, batch, paid=(1, a.amount_fen), pending=(3, b.amount_fen + c.amount_fen + d.amount_fen))
    assert st["batch"]["state"] == "exported"

    second = _import(env, results_file(tmp_path / "back2.csv", [
        (b.reference, "成功", ""), (c.reference, "失败", "账户已销户"), (d.reference, "失败", "卡未激活"),
        (a.reference, "失败", "账户冻结")]))
    assert (second["credited"], second["bounced"]) == (1, 2)
    assert [(x["code"], x["data"]) for x in second["error_lines"]] == [("result.line_settled", {"state": "credited"})]
    by_ref = {ln.reference: ln for ln in lines_of(env.engine, batch)}
    assert (by_ref[c.reference].reason_code, by_ref[d.reference].reason_code) == ("account_closed", "card_inactive")
    st = status(env.engine, batch, paid=(2, a.amount_fen + b.amount_fen), failed=(2, c.amount_fen + d.amount_fen),
                pending=(0, 0))
    assert st["batch"]["state"] == "settled"
    status(env.engine, issued=(5, sum(x.amount_fen for x in people) + late.amount_fen),
           pending=(1, late.amount_fen))


def test_a_bounced_line_is_retried_only_after_the_card_is_corrected_and_is_paid_once(env, tmp_path):
    """A bounced entitlement waits (payments.awaiting_card_fix) until its card row is updated after the bounce
    or another active card appears; then a later batch takes it and it is paid exactly once."""
    fixed_later, new_card = ready_people(env.engine, 2)
    first = env.sent(tmp_path / "bank1.csv")
    refs = {ln.entitlement_id: ln.reference for ln in lines_of(env.engine, first)}
    _import(env, results_file(tmp_path / "back1.csv", [(refs[fixed_later.entitlement_id], "失败", "户名不符"),
                                                       (refs[new_card.entitlement_id], "失败", "账户已销户")]))
    with pytest.raises(ApiError) as e:
        env.build()
    assert e.value.code == "payments.nothing_to_batch"
    assert e.value.data["skipped"] == {"payments.awaiting_card_fix": 2}

    env.clock.advance(hours=1)
    correct_card(env.engine, fixed_later.card_id, iso(env.clock.now()), name=fixed_later.name)
    with env.engine.begin() as conn:
        conn.execute(update(s.cards).where(s.cards.c.id == new_card.card_id).values(status="cancelled"))
        replacement = add_card(conn, new_card.id_number, new_card.name, "6214830077777777", at=iso(env.clock.now()))
    retry = env.sent(tmp_path / "bank2.csv")
    retry_lines = {ln.entitlement_id: ln for ln in lines_of(env.engine, retry)}
    assert retry_lines[new_card.entitlement_id].card_id == replacement
    assert retry_lines[fixed_later.entitlement_id].card_id == fixed_later.card_id
    _import(env, results_file(tmp_path / "back2.csv", [(ln.reference, "成功", "") for ln in retry_lines.values()]))
    for person in (fixed_later, new_card):
        assert _entitlement_state(env.engine, person.entitlement_id) == "paid_out"
        states = sorted(ln.state for ln in lines_of(env.engine) if ln.entitlement_id == person.entitlement_id)
        assert states == ["bounced", "credited"]
    total = fixed_later.amount_fen + new_card.amount_fen
    status(env.engine, issued=(4, 2 * total), paid=(2, total), failed=(2, total), pending=(0, 0))
    with pytest.raises(ApiError) as e:
        env.build()
    assert e.value.code == "payments.nothing_to_batch"


def test_a_reversal_reopens_the_entitlement_for_a_later_batch(env, tmp_path):
    """A credited line reversed (with its reason, audited) makes its entitlement ready again and a later batch
    pays it; a line not credited, or unknown, is refused with a code."""
    (person, other) = ready_people(env.engine, 2)
    batch = env.sent(tmp_path / "bank.csv")
    refs = {ln.entitlement_id: ln.reference for ln in lines_of(env.engine, batch)}
    ref = refs[person.entitlement_id]
    _import(env, results_file(tmp_path / "back.csv", [(ref, "成功", ""), (refs[other.entitlement_id], "失败", "")]))
    out = reverse_line(env.engine, env.checker, ref, "银行退回：账户异常，冲正 身份证510902196105200001",
                       clock=env.clock)
    assert (out["state"], out["entitlement_state"]) == ("reversed", "ready")
    assert _entitlement_state(env.engine, person.entitlement_id) == "ready"
    with env.engine.connect() as conn:
        entry = conn.execute(select(s.audit_log).where(s.audit_log.c.action == "payments.line_reversed")).one()
        text = conn.execute(select(s.audit_texts.c.text)).scalars().all()
    assert entry.subject == ref and "reason_text_ref" in json.loads(entry.data)
    assert not any("510902196105200001" in t for t in text) and "510902196105200001" not in entry.data
    status(env.engine, batch, paid=(0, 0), failed=(2, person.amount_fen + other.amount_fen))
    for bad_ref, code in ((ref, "payments.line_state"), (refs[other.entitlement_id], "payments.line_state"),
                          ("YKNONE", "payments.line_unknown")):
        with pytest.raises(ApiError) as e:
            reverse_line(env.engine, env.checker, bad_ref, "x", clock=env.clock)
        assert e.value.code == code
    with pytest.raises(ApiError) as e:
        reverse_line(env.engine, env.checker, ref, "  ", clock=env.clock)
    assert e.value.code == "payments.reason_required"
    again = env.build()
    assert [ln.entitlement_id for ln in lines_of(env.engine, again.id)] == [person.entitlement_id]


def test_the_commands_import_results_twice_and_reverse(env, registry_db_url, tmp_path):
    """Through the real CLI: import-results applies a GBK return file, the same file again exits 0 saying it
    was already imported, and reverse reopens a line."""
    (person,) = ready_people(env.engine, 1)
    batch = env.sent(tmp_path / "bank.csv")
    ref = lines_of(env.engine, batch)[0].reference
    path = results_file(tmp_path / "back.csv", [(ref, "成功", "")], encoding="gbk")

    def run(*args: str):
        return yikatong("registry", "payments", *args, "--db", registry_db_url, input=PASSWORD + "\n")

    r = run("import-results", str(path), "--encoding", "gbk", "--as", "checker", "--json")
    assert r.returncode == 0, r.stderr
    assert (json.loads(r.stdout)["credited"], json.loads(r.stdout)["already_imported"]) == (1, False)
    r = run("import-results", str(path), "--encoding", "gbk", "--as", "checker")
    assert r.returncode == 0 and r.stdout.startswith("payments.results_already_imported"), r.stdout + r.stderr
    r = run("import-results", str(path), "--as", "checker")   # same bytes: the hash decides, not the encoding
    assert r.returncode == 0 and "payments.results_already_imported" in r.stdout
    unknown = results_file(tmp_path / "unknown.csv", [("NO-SUCH-REF", "成功", "")])
    r = run("import-results", str(unknown), "--as", "checker")   # an error row, named in Chinese with its code
    assert r.returncode == 0 and ("  line 2 NO-SUCH-REF: 回盘中的业务参考号在登记中心找不到 [result.reference_unknown]"
                                  in r.stdout.splitlines()), r.stdout + r.stderr
    r = run("import-results", str(tmp_path / "missing.csv"), "--as", "checker")
    assert r.returncode == 1 and r.stderr.startswith("error: payments.file_unreadable"), r.stderr
    r = run("reverse", ref, "--reason", "银行冲正", "--as", "checker", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["state"] == "reversed", r.stderr
    assert _entitlement_state(env.engine, person.entitlement_id) == "ready"
    status(env.engine, batch, failed=(1, person.amount_fen), paid=(0, 0))
