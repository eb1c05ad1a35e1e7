"""Payment batches: built from ready lines with their cards re-checked, approved by a second person, and the
bank's 代发 file (same bytes on every rebuild, header totals equal to the lines) — on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import re
import threading

import pytest
from paymentkit import PASSWORD, Env, lines_of, status
from payments_fixtures import (
    ITEM,
    OTHER_VILLAGE,
    PERIOD,
    VILLAGE,
    add_card,
    add_entitlement,
    id_number,
    ready_people,
)
from sqlalchemy import func, insert, select, update

from registry import schema as s
from registry.db import open_database
from registry.errors import ApiError
from registry.payments.batches import BankFileFormat, build_batch
from tests.conftest import yikatong

TOWNSHIP = VILLAGE[:9]


@pytest.fixture
def env(registry_db_url):
    engine = open_database(registry_db_url)
    yield Env(engine)
    engine.dispose()


def _code(excinfo) -> str:
    return excinfo.value.code


def _states(engine, ids) -> list[str]:
    with engine.connect() as conn:
        rows = dict(conn.execute(select(s.entitlements.c.id, s.entitlements.c.state)
                                 .where(s.entitlements.c.id.in_(ids))).all())
    return [rows[i] for i in ids]


def _audit(engine, action: str) -> list[dict]:
    with engine.connect() as conn:
        return [{"subject": r.subject, "actor": r.actor, **json.loads(r.data)} for r in conn.execute(
            select(s.audit_log).where(s.audit_log.c.action == action).order_by(s.audit_log.c.seq))]


def test_a_batch_takes_the_ready_lines_of_its_item_period_and_township_once(env):
    """Only ready lines of the item, period and township go in, each as one at-bank line with a unique bank-safe
    reference; the same selection again is refused with a code instead of an empty batch."""
    here = ready_people(env.engine, 3)
    elsewhere = ready_people(env.engine, 1, start=10, village=OTHER_VILLAGE)
    other_period = ready_people(env.engine, 1, start=20, period="202611")
    with env.engine.begin() as conn:
        card = add_card(conn, id_number(30), "拦截者", "6214830000000030")
        intercepted = add_entitlement(conn, id_number(30), "拦截者", 12000, card_id=card, state="intercepted")
    built = env.build(township=TOWNSHIP)
    assert (built.lines, built.total_fen, built.skipped) == (3, sum(p.amount_fen for p in here), [])
    lines = lines_of(env.engine, built.id)
    assert sorted(ln.entitlement_id for ln in lines) == [p.entitlement_id for p in here]
    assert all(re.fullmatch(r"YK[A-Z2-7]{16}", ln.reference) and ln.state == "at_bank" for ln in lines)
    assert len({ln.reference for ln in lines}) == 3
    assert {ln.pay_key for ln in lines} == {f"{p.id_number}|{ITEM}|{PERIOD}" for p in here}
    assert _states(env.engine, [p.entitlement_id for p in here]) == ["in_batch"] * 3
    assert _states(env.engine, [elsewhere[0].entitlement_id, other_period[0].entitlement_id, intercepted]) == [
        "ready", "ready", "intercepted"]
    status(env.engine, built.id, issued=(3, built.total_fen), pending=(3, built.total_fen), paid=(0, 0),
           intercepted=(1, 12000))
    status(env.engine, issued=(3, built.total_fen), intercepted=(1, 12000))
    assert _audit(env.engine, "payments.batch_built")[0]["lines"] == 3

    with pytest.raises(ApiError) as e:
        env.build(township=TOWNSHIP)
    assert _code(e) == "payments.nothing_to_batch"
    whole = env.build()   # without a township: the other village's line is still ready
    assert [ln.entitlement_id for ln in lines_of(env.engine, whole.id)] == [elsewhere[0].entitlement_id]
    with env.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(s.payment_batches)).scalar() == 2
    for bad, code in ((dict(item="no_such_item"), "subsidies.unknown"), (dict(period="202613"),
                      "payments.period_invalid"), (dict(township="5109"), "payments.township_invalid")):
        with pytest.raises(ApiError) as e:
            env.build(**bad)
        assert _code(e) == code


def test_a_card_that_changed_since_the_check_is_re_checked_at_batch_time(env):
    """A lost card or another holder's name leaves the line ready with its reason; a newer active card of
    the same name is the one paid to."""
    lost, renamed, new_card, fine = ready_people(env.engine, 4)
    with env.engine.begin() as conn:
        conn.execute(update(s.cards).where(s.cards.c.id == lost.card_id).values(status="lost"))
        conn.execute(update(s.cards).where(s.cards.c.id == renamed.card_id).values(name="别人"))
        conn.execute(update(s.cards).where(s.cards.c.id == new_card.card_id).values(status="cancelled"))
        replacement = add_card(conn, new_card.id_number, new_card.name, "6214830099999999",
                               at="2026-12-01T07:00:00.000000Z")
    built = env.build()
    assert sorted(built.skipped, key=lambda x: x["entitlement_id"]) == [
        {"entitlement_id": lost.entitlement_id, "code": "payments.card_not_active"},
        {"entitlement_id": renamed.entitlement_id, "code": "payments.card_name_mismatch"}]
    paid_to = {ln.entitlement_id: ln.card_id for ln in lines_of(env.engine, built.id)}
    assert paid_to == {new_card.entitlement_id: replacement, fine.entitlement_id: fine.card_id}
    assert _states(env.engine, [lost.entitlement_id, renamed.entitlement_id]) == ["ready", "ready"]
    with env.engine.connect() as conn:
        assert conn.execute(select(s.entitlements.c.card_id)
                            .where(s.entitlements.c.id == new_card.entitlement_id)).scalar() == replacement


def test_one_person_item_and_period_is_paid_once_across_departments(env):
    """Two departments' ready lines for the same person, item and period: one line goes in, the other stays
    ready with payments.already_open, and stays out of the next batch too."""
    (p,) = ready_people(env.engine, 1)
    with env.engine.begin() as conn:
        second = add_entitlement(conn, p.id_number, p.name, 9000, card_id=p.card_id, department="民政局")
    built = env.build()
    assert (built.lines, built.skipped) == (1, [{"entitlement_id": second, "code": "payments.already_open"}])
    with pytest.raises(ApiError) as e:
        env.build()
    assert _code(e) == "payments.nothing_to_batch" and e.value.data["skipped"] == {"payments.already_open": 1}


def test_the_databases_refusal_of_a_second_open_line_becomes_a_code_and_builds_nothing(env):
    """An entitlement that already has an open line (written by another path) makes the build fail whole with
    payments.line_conflict: no batch, no line, no state changed."""
    a, b = ready_people(env.engine, 2)
    with env.engine.begin() as conn:
        conn.execute(insert(s.payment_batches).values(id="elsewhere", item=ITEM, period=PERIOD, state="exported",
                                                      lines=1, total_fen=a.amount_fen, created_by="x",
                                                      created_at="2026-12-01T00:00:00.000000Z"))
        conn.execute(insert(s.payment_lines).values(
            reference="YKOTHERPATH", batch_id="elsewhere", entitlement_id=a.entitlement_id, pay_key="other-path",
            card_id=a.card_id, amount_fen=a.amount_fen, state="at_bank", created_at="2026-12-01T00:00:00.000000Z"))
    with pytest.raises(ApiError) as e:
        env.build()
    assert _code(e) == "payments.line_conflict"
    assert _states(env.engine, [a.entitlement_id, b.entitlement_id]) == ["ready", "ready"]
    assert [ln.reference for ln in lines_of(env.engine)] == ["YKOTHERPATH"]
    with env.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(s.payment_batches)).scalar() == 1


def test_only_someone_other_than_the_creator_approves(env):
    """The creator's approval is refused (payments.approver_is_creator, audited); a second person's
    authorises the batch; approving it again is refused by its state."""
    ready_people(env.engine, 2)
    built = env.build()
    with pytest.raises(ApiError) as e:
        from registry.payments.batches import approve_batch
        approve_batch(env.engine, env.maker, built.id, clock=env.clock)
    assert _code(e) == "payments.approver_is_creator"
    assert _audit(env.engine, "payments.approval_refused") == [
        {"subject": built.id, "actor": "maker", "code": "payments.approver_is_creator"}]
    out = env.approve(built.id)
    assert (out["state"], out["created_by"], out["authorised_by"]) == ("authorised", "maker", "checker")
    with pytest.raises(ApiError) as e:
        env.approve(built.id)
    assert _code(e) == "payments.batch_state"
    with pytest.raises(ApiError) as e:
        env.approve("no-such-batch")
    assert _code(e) == "payments.batch_unknown"


def _parse(data: bytes, encoding: str = "utf-8") -> tuple[list[str], list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(data.decode(encoding), newline="")))
    return rows[0], rows[1], rows[2:]


def test_the_bank_file_is_the_same_bytes_on_every_rebuild_and_its_header_adds_up(env, tmp_path):
    """Export: only an approved batch; header count and fen equal the lines; sorted by reference, whole card
    numbers, amounts in yuan; a second export writes identical bytes; the hash is on the batch and in the audit
    chain; an export that would differ (GBK after UTF-8) is refused."""
    people = ready_people(env.engine, 5)
    built = env.build()
    with pytest.raises(ApiError) as e:
        env.export(built.id, tmp_path / "early.csv")
    assert _code(e) == "payments.batch_state" and not (tmp_path / "early.csv").exists()
    env.approve(built.id)
    first = env.export(built.id, tmp_path / "bank.csv")
    data = (tmp_path / "bank.csv").read_bytes()
    summary, titles, rows = _parse(data)
    assert summary == ["H", "5", str(built.total_fen), built.id, ITEM, PERIOD]
    assert int(summary[1]) == len(rows) and int(summary[2]) == sum(round(float(r[3]) * 100) for r in rows)
    assert titles == ["reference", "户名", "卡号", "金额"]
    assert [r[0] for r in rows] == sorted(ln.reference for ln in lines_of(env.engine, built.id))
    by_card = {p.card_number: p for p in people}
    assert all(by_card[r[2]].name == r[1] and r[3] == f"{by_card[r[2]].amount_fen / 100:.2f}" for r in rows)
    assert data.endswith(b"\r\n") and b"\r\n" in data
    import hashlib
    digest = hashlib.sha256(data).hexdigest()
    assert first["sha256"] == digest and first["first_export"] is True
    with env.engine.connect() as conn:
        batch = conn.execute(select(s.payment_batches).where(s.payment_batches.c.id == built.id)).one()
    assert (batch.state, batch.export_sha256) == ("exported", digest)
    assert [(a["subject"], a["sha256"]) for a in _audit(env.engine, "payments.batch_exported")] == [(built.id, digest)]

    again = env.export(built.id, tmp_path / "again.csv")
    assert (tmp_path / "again.csv").read_bytes() == data and again["first_export"] is False
    with pytest.raises(ApiError) as e:
        env.export(built.id, tmp_path / "gbk.csv", encoding="gbk")
    assert _code(e) == "payments.export_mismatch" and not (tmp_path / "gbk.csv").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    status(env.engine, built.id, issued=(5, built.total_fen), pending=(5, built.total_fen))


def test_gbk_export_and_configured_columns(env, tmp_path):
    """A GBK file decodes as GBK; the columns come from the format file (here the account number and fen); a
    name GBK cannot write is refused with the line's reference."""
    people = ready_people(env.engine, 2)
    built = env.build()
    env.approve(built.id)
    fmt_file = tmp_path / "bank_file.json"
    fmt_file.write_text(json.dumps({"summary": ["{count}", "{total_yuan}"], "column_titles": False,
                                    "columns": [{"title": "ref", "field": "reference"},
                                                {"title": "acct", "field": "bank_account"},
                                                {"title": "fen", "field": "amount_fen"}], "line_ending": "\n"}))
    env.export(built.id, tmp_path / "bank.csv", encoding="gbk", fmt=BankFileFormat.load(fmt_file))
    lines = (tmp_path / "bank.csv").read_bytes().decode("gbk").split("\n")
    assert lines[0] == f"2,{built.total_fen // 100}.{built.total_fen % 100:02d}" and lines[-1] == ""
    assert sorted(ln.split(",")[2] for ln in lines[1:-1]) == sorted(str(p.amount_fen) for p in people)

    with env.engine.begin() as conn:
        card = add_card(conn, id_number(50), "王䶮", "6214830000000050")
        add_entitlement(conn, id_number(50), "王䶮", 5000, card_id=card, period="202701")
    rare = env.build(period="202701")
    env.approve(rare.id)
    with pytest.raises(ApiError) as e:
        env.export(rare.id, tmp_path / "rare.csv", encoding="gbk")
    assert _code(e) == "payments.export_encoding"
    assert e.value.data["references"] == [ln.reference for ln in lines_of(env.engine, rare.id)]
    fmt_file.write_text(json.dumps({"summary": ["{secret}"], "columns": [{"title": "r", "field": "reference"}]}))
    with pytest.raises(ApiError) as e:
        BankFileFormat.load(fmt_file)
    assert _code(e) == "payments.bank_file_invalid"


def test_two_batch_commands_at_once_never_put_one_entitlement_in_two_batches(env, backend):
    """Four threads build the same selection at once on PostgreSQL: every entitlement ends in exactly one
    line, and each other build gets a code (nothing to batch, or the database's conflict)."""
    if backend != "postgres":
        pytest.skip("the race needs a server with concurrent writers (SQLite serialises them)")
    people = ready_people(env.engine, 300)
    barrier, outcomes = threading.Barrier(4), []

    def build() -> None:
        barrier.wait()
        try:
            outcomes.append(build_batch(env.engine, env.maker, ITEM, PERIOD, clock=env.clock).lines)
        except ApiError as e:
            outcomes.append(e.code)

    threads = [threading.Thread(target=build) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    lines = lines_of(env.engine)
    assert sorted(ln.entitlement_id for ln in lines) == sorted(p.entitlement_id for p in people)
    assert sum(o for o in outcomes if isinstance(o, int)) == 300
    assert {o for o in outcomes if not isinstance(o, int)} <= {"payments.nothing_to_batch", "payments.line_conflict"}
    assert len(outcomes) == 4
    status(env.engine, issued=(300, sum(p.amount_fen for p in people)))


def test_the_commands_build_approve_export_and_report(env, registry_db_url, tmp_path):
    """Through the real CLI: batch prints the id alone on stdout and, on stderr, the total in 元 and each
    left-out reason in Chinese with its code; the creator's approval is one line with its code, the second
    person's passes, export writes the same bytes twice, status --json balances."""
    *people, lost = ready_people(env.engine, 4)
    with env.engine.begin() as conn:
        conn.execute(update(s.cards).where(s.cards.c.id == lost.card_id).values(status="lost"))

    def run(*args: str, password: str | None = PASSWORD):
        return yikatong("registry", "payments", *args, "--db", registry_db_url,
                        input=None if password is None else password + "\n")

    r = run("batch", "--item", ITEM, "--period", PERIOD, "--as", "maker")
    assert r.returncode == 0, r.stderr
    batch_id = r.stdout.strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", batch_id)
    total = sum(p.amount_fen for p in people)
    assert r.stderr.splitlines() == [
        f"3 line(s), {total // 100}.{total % 100:02d} 元 ({total} fen); left out:",
        "  1 line(s): 此人没有已激活的社保卡，本次不发放（名单行保留待发放） [payments.card_not_active]"], r.stderr
    r = run("batch", "--item", ITEM, "--period", PERIOD, "--as", "maker", "--json")
    assert r.returncode == 1 and r.stderr.startswith("error: payments.nothing_to_batch"), r.stderr
    r = run("approve", batch_id, "--as", "maker")
    assert r.returncode == 1 and r.stderr.strip().splitlines() == [r.stderr.strip()], r.stderr
    assert r.stderr.startswith("error: payments.approver_is_creator")
    r = run("approve", batch_id, "--as", "checker", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["state"] == "authorised", r.stderr
    for name in ("a.csv", "b.csv"):
        r = run("export", batch_id, "-o", str(tmp_path / name), "--json", password=None)
        assert r.returncode == 0, r.stderr
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    out = json.loads(run("status", batch_id, "--json", password=None).stdout)
    assert (out["issued"], out["pending"], out["balanced"]) == ({"count": 3, "fen": total},
                                                                {"count": 3, "fen": total}, True)
