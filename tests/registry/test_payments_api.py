"""The central staff's payments API (docs/payments/central-api.md) on a real registry process, driven through
``sync.central.CentralClient`` over HTTP, on SQLite and PostgreSQL: the demo's rosters imported (the same file
twice), the interception queue with its findings, one line's audited detail, decisions with the password
re-checked, a batch built, refused to its creator and approved by a second person, the bank file downloaded twice
byte-identically, the bank's results imported twice, and the status and dashboard figures against what the
database holds, counted here independently."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import Counter
from decimal import Decimal

import pytest
from argon2 import PasswordHasher
from payments_fixtures import correct_card
from regkit import PASSWORD, Api
from reviewkit import make_operator
from sqlalchemy import func, select

from registry import auth, openapi
from registry import schema as s
from registry.datasets import import_dataset
from registry.db import open_database
from registry.payments.cards import import_cards
from registry.roster import import_roster
from sync import protocol as p
from sync.central import CentralClient
from sync.http import ApiError, RegistryHttp
from tests.conftest import ROOT

DEMO = ROOT / "resources" / "demo"
VILLAGE = "510903102201"
ITEM, PERIOD = "elderly_allowance", "202612"
CIVIL, DISABLED = "民政局", "残联"
ID_NUMBER = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")


def _roster(department: str) -> bytes:
    return (DEMO / f"entitlements_{department}.csv").read_bytes()


@pytest.fixture
def payments_registry(registry, registry_db_url, monkeypatch):
    """A registry process with the demo's village roster, department datasets and cards, two central operators
    (``central`` builds, ``issuer`` approves) and a cadre; yields (registry, engine, central, issuer)."""
    # TEST-ONLY: the registry process verifies with the cheap argon2 of YIKATONG_TEST_FAST_ARGON2, which this
    # process imported registry.auth too early to get.
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
    engine = open_database(registry_db_url)
    import_roster(engine, DEMO / f"roster_{VILLAGE}.csv", VILLAGE, village_name="大石村")
    for kind in ("deaths", "business", "vehicles", "courts"):
        import_dataset(engine, kind, DEMO / "datasets" / f"{kind}.csv")
    import_cards(engine, DEMO / "cards.csv")
    for username in ("central", "issuer"):
        make_operator(engine, username, "central")
    make_operator(engine, "cadre_a", "cadre", VILLAGE)
    api = Api(registry.url)
    clients = [CentralClient(RegistryHttp(registry.url), api.login(u).token) for u in ("central", "issuer")]
    yield registry, engine, *clients
    for c in clients:
        c.close()
    api.close()
    engine.dispose()


def _refused(call, status: int, code: str) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call()
    assert (caught.value.status, caught.value.code) == (status, code), caught.value.to_error()
    return caught.value


def _described(method: str, path: str, answer: dict) -> dict:
    """The answer parses strictly as the API description's schema for the operation (registry.openapi)."""
    openapi.ANSWERS[(method, path)].model_validate_json(json.dumps(answer), strict=True)
    return answer


def _rows(engine, table, *where):
    with engine.connect() as conn:
        return conn.execute(select(table).where(*where)).all()


def _line_id(engine, name: str) -> int:
    (row,) = _rows(engine, s.entitlements, s.entitlements.c.name == name, s.entitlements.c.department == CIVIL)
    return row.id


def _fen(lines) -> int:
    return sum(int(x.amount_fen) for x in lines)


def test_payments_flow_through_the_central_client(payments_registry):
    """Rosters, interceptions, decisions, a batch, its bank file and the bank's results through the HTTP client:
    each answer equals what the database holds, the same file twice changes nothing, the creator cannot approve."""
    _registry, engine, central, issuer = payments_registry
    items = {i["code"]: i for i in _described("get", p.PAYMENT_ITEMS, central.payment_items())["items"]}
    assert items[ITEM]["department"] == CIVIL and items[ITEM]["standard_fen"] == 50000

    # --- rosters: the same file twice is one import
    civil = _described("post", p.PAYMENT_ENTITLEMENT_IMPORTS,
                      central.import_entitlements(_roster(CIVIL), CIVIL, f"entitlements_{CIVIL}.csv"))
    assert (civil["ready"], civil["intercepted"], civil["refused"], civil["already_imported"]) == (5, 7, 0, False)
    again = central.import_entitlements(_roster(CIVIL), CIVIL, f"entitlements_{CIVIL}.csv")
    assert again["already_imported"] is True and again["import_id"] == civil["import_id"]
    assert (again["ready"], again["intercepted"]) == (5, 7)
    disabled = central.import_entitlements(_roster(DISABLED), DISABLED, f"entitlements_{DISABLED}.csv")
    assert disabled["refused"] == 1 and disabled["refused_lines"][0]["code"] == "entitlement.period"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(s.entitlement_imports)).scalar_one() == 2
        assert conn.execute(select(func.count()).select_from(s.entitlements)).scalar_one() == 12 + 5
    imports = _described("get", p.PAYMENT_ENTITLEMENT_IMPORTS, central.entitlement_imports())
    assert imports["total"] == 2 and [i["department"] for i in imports["imports"]] == [DISABLED, CIVIL]
    assert (imports["imports"][1]["ready"], imports["imports"][1]["intercepted"]) == (5, 7)
    # A file no line of which can be paid is refused whole, every line listed, nothing stored.
    bad = "id_number,name,item,period,amount\n510902193505202085,杨小红,elderly_allowance,2026-12,300\n"
    refusal = _refused(lambda: central.import_entitlements(bad.encode(), CIVIL, "bad.csv"), 422,
                       "entitlement.all_lines_refused")
    assert [p["code"] for p in refusal.data["problems"]] == ["entitlement.period"]
    _refused(lambda: central.import_entitlements(b"a,b\n1,2\n", CIVIL, "other.csv"), 422, "entitlement.columns")
    assert central.entitlement_imports()["total"] == 2

    # --- the interception queue: every intercepted line, oldest first, masked, with its findings
    intercepted = _rows(engine, s.entitlements, s.entitlements.c.state == "intercepted")
    queue = _described("get", p.PAYMENT_INTERCEPTIONS, central.interceptions())
    assert queue["total"] == len(intercepted) == len(queue["items"])
    assert [i["entitlement_id"] for i in queue["items"]] == sorted(r.id for r in intercepted)
    assert not ID_NUMBER.search(json.dumps(queue, ensure_ascii=False))
    by_name = {i["name"]: i for i in queue["items"]}
    assert [(f["kind"], f["rule"]) for f in by_name["赵欣怡"]["findings"]] == [("payment_rule", "deceased")]
    assert by_name["漆明学"]["findings"][0]["kind"] == "duplicate_payment"
    assert by_name["赵欣怡"]["id_number_masked"] == "5109**********2447"
    civil_only = central.interceptions(department=CIVIL)
    assert civil_only["total"] == sum(1 for r in intercepted if r.department == CIVIL)
    assert {i["department"] for i in civil_only["items"]} == {CIVIL}

    # --- one line in full: the whole ID number, its evidence; the read is in the audit chain
    dead = _line_id(engine, "赵欣怡")
    detail = _described("get", p.PAYMENT_ENTITLEMENT, central.entitlement(dead))
    assert detail["id_number"] == "510902192003012447" and detail["card"]["card_number_masked"].startswith("****")
    (finding,) = detail["findings"]
    assert finding["evidence"]["rows"] and finding["evidence"]["rule"]["id"] == "deceased"
    viewed = _rows(engine, s.audit_log, s.audit_log.c.action == "entitlement.viewed")
    assert [(a.actor, a.subject) for a in viewed] == [("central", f"entitlement:{dead}")]
    assert "510902192003012447" not in viewed[0].data
    _refused(lambda: central.entitlement(999_999), 404, "entitlement.unknown")

    # --- decisions: the password re-checked (a wrong one changes nothing), a reason kept in the history
    _refused(lambda: central.decide_entitlement(dead, "reject", "已死亡", "wrong-password"), 401,
             "auth.bad_credentials")
    assert _rows(engine, s.entitlements, s.entitlements.c.id == dead)[0].state == "intercepted"
    decided = _described("post", p.PAYMENT_DECISION,
                        central.decide_entitlement(dead, "reject", "户籍已注销（死亡）", PASSWORD))
    assert (decided["state"], decided["decided_by"], decided["findings_resolved"]) == ("not_paid", "central",
                                                                                         ["payment_rule"])
    assert [h["reason"] for h in central.entitlement(dead)["history"] if h["action"] == "entitlement.rejected"] \
        == ["户籍已注销（死亡）"]
    _refused(lambda: central.decide_entitlement(dead, "release", "再看", PASSWORD), 409, "entitlement.state_invalid")
    # 漆明学 is owed by 民政局's ready line too: releasing 残联's would pay twice.
    twice = by_name["漆明学"]["entitlement_id"]
    _refused(lambda: central.decide_entitlement(twice, "release", "核实", PASSWORD), 409,
             "entitlement.duplicate_open")
    assert [i["entitlement_id"] for i in central.interceptions(status="decided")["items"]] == [dead]
    assert central.interceptions()["total"] == len(intercepted) - 1

    # --- what a batch can be built from, counted here from the lines
    ready = _rows(engine, s.entitlements, s.entitlements.c.state == "ready")
    expected = Counter()
    for r in ready:
        expected[(r.item, r.period, "lines")] += 1
        expected[(r.item, r.period, "fen")] += int(r.amount_fen)
    groups = _described("get", p.PAYMENT_READY, central.ready_groups())["groups"]
    assert {(g["item"], g["period"], "lines"): g["lines"] for g in groups} | \
        {(g["item"], g["period"], "fen"): g["total_fen"] for g in groups} == dict(expected)
    group = next(g for g in groups if (g["item"], g["period"]) == (ITEM, PERIOD))
    assert group["retries"] == 0 and sum(t["lines"] for t in group["townships"]) == group["lines"]

    # --- a batch: built by one, refused to its creator, approved by another
    built = _described("post", p.PAYMENT_BATCHES, central.build_batch(ITEM, PERIOD))
    lines = _rows(engine, s.payment_lines, s.payment_lines.c.batch_id == built["id"])
    assert (built["lines"], built["total_fen"]) == (len(lines), _fen(lines)) and len(lines) == group["lines"]
    _refused(lambda: central.approve_batch(built["id"], PASSWORD), 403, "payments.approver_is_creator")
    _refused(lambda: issuer.approve_batch(built["id"], "wrong-password"), 401, "auth.bad_credentials")
    _refused(lambda: issuer.bank_file(built["id"]), 409, "payments.batch_state")
    approved = _described("post", p.PAYMENT_BATCH_APPROVE, issuer.approve_batch(built["id"], PASSWORD))
    assert (approved["state"], approved["authorised_by"]) == ("authorised", "issuer")
    _refused(lambda: central.build_batch(ITEM, PERIOD), 409, "payments.nothing_to_batch")

    # --- the bank file twice: the same bytes, its SHA-256 the one in the audit chain
    first = central.bank_download(built["id"])
    second = central.bank_download(built["id"])
    assert first.data == second.data and first.sha256 == second.sha256 == hashlib.sha256(first.data).hexdigest()
    assert first.file_name == f"batch-{ITEM}-{PERIOD}-{built['id'][:8]}.csv"
    (exported,) = _rows(engine, s.audit_log, s.audit_log.c.action == "payments.batch_exported",
                        s.audit_log.c.subject == built["id"])
    assert json.loads(exported.data)["sha256"] == first.sha256
    assert central.bank_file(built["id"]) == first.data
    _refused(lambda: central.bank_file(built["id"], encoding="gbk"), 409, "payments.export_mismatch")
    table = list(csv.reader(io.StringIO(first.data.decode("utf-8"))))
    references = [row[0] for row in table[2:]]
    assert sorted(references) == sorted(x.reference for x in lines)

    # --- the bank's results, twice; an unknown reference kept as an error row
    outcome = [(ref, "失败", "账户已销户") if i == 0 else (ref, "成功", "") for i, ref in enumerate(references)]
    answer = "reference,status,reason\r\n" + "".join(",".join(o) + "\r\n" for o in
                                                      [*outcome, ("YKNOTAREFERENCE0000", "成功", "")])
    result = _described("post", p.PAYMENT_RESULT_IMPORTS, central.import_results(answer.encode(), "回盘.csv"))
    assert (result["credited"], result["bounced"], result["errors"], result["balanced"]) == (
        len(references) - 1, 1, 1, True)
    before = central.payment_status()
    repeat = _described("post", p.PAYMENT_RESULT_IMPORTS, central.import_results(answer.encode(), "回盘.csv"))
    assert repeat["already_imported"] is True and repeat["import_id"] == result["import_id"]
    assert central.payment_status() == before
    listed = _described("get", p.PAYMENT_RESULT_IMPORTS, central.result_imports())
    assert listed["total"] == 1 and (listed["imports"][0]["paid"], listed["imports"][0]["failed"],
                                     listed["imports"][0]["errors"]) == (len(references) - 1, 1, 1)
    errors = _described("get", p.PAYMENT_RESULT_ERRORS, central.result_errors(result["import_id"]))["errors"]
    assert [(e["reference"], e["code"]) for e in errors] == [("YKNOTAREFERENCE0000", "result.reference_unknown")]
    _refused(lambda: central.result_errors(999_999), 404, "payments.result_import_unknown")

    # --- the batch and the status against the lines as stored
    lines = _rows(engine, s.payment_lines, s.payment_lines.c.batch_id == built["id"])
    credited = [x for x in lines if x.state == "credited"]
    bounced = [x for x in lines if x.state == "bounced"]
    batch = _described("get", p.PAYMENT_BATCH, central.batch(built["id"]))
    assert batch["batch"]["state"] == "settled" and batch["lines_total"] == len(lines)
    assert (batch["paid"], batch["failed"], batch["pending"]) == (
        {"count": len(credited), "fen": _fen(credited)}, {"count": 1, "fen": _fen(bounced)}, {"count": 0, "fen": 0})
    failed_line = next(x for x in batch["lines"] if x["state"] == "bounced")
    assert (failed_line["bank_reason_code"], failed_line["bank_reason"]) == ("account_closed", "账户已销户")
    names = {r.name for r in _rows(engine, s.entitlements)}
    assert not ID_NUMBER.search(json.dumps(batch, ensure_ascii=False))
    assert not names & {x["name"] for x in batch["lines"]} and all("*" in x["name"] for x in batch["lines"])
    listed_batches = _described("get", p.PAYMENT_BATCHES, central.batches())
    assert listed_batches["total"] == 1 and listed_batches["batches"][0]["paid"]["count"] == len(credited)
    assert central.batches(state="built")["total"] == 0

    # --- the failed line waits for corrected card data; once the card is corrected it is a retry
    waiting = next(g for g in central.ready_groups()["groups"] if (g["item"], g["period"]) == (ITEM, PERIOD))
    assert (waiting["lines"], waiting["retries"], waiting["awaiting_card_fix"]) == (0, 0, 1)
    correct_card(engine, bounced[0].card_id, "2099-01-01T00:00:00.000000Z")
    retry = next(g for g in central.ready_groups()["groups"] if (g["item"], g["period"]) == (ITEM, PERIOD))
    assert (retry["lines"], retry["total_fen"], retry["retries"], retry["awaiting_card_fix"]) == (
        1, _fen(bounced), 1, 0)

    # --- the dashboard's figures, counted here from the rows
    all_lines = _rows(engine, s.payment_lines)
    entitlements = _rows(engine, s.entitlements)
    still = [e for e in entitlements if e.state == "intercepted"]
    board = _described("get", p.PAYMENT_DASHBOARD, central.payment_dashboard())
    totals = board["totals"]
    assert totals["paid"] == {"count": len(credited), "fen": _fen(credited)}
    assert totals["failed"] == {"count": len(bounced), "fen": _fen(bounced)}
    assert totals["pending"] == {"count": 0, "fen": 0}
    assert totals["intercepted"] == {"count": len(still), "fen": _fen(still)}
    rate = Decimal(len(credited)) / Decimal(len(credited) + len(bounced))
    assert totals["success_rate"] == str(rate.quantize(Decimal("0.0001")))
    assert board["by_item"] == [{"item": ITEM, "item_name": "高龄津贴", "paid_count": len(credited),
                                 "paid_fen": _fen(credited), "failed_count": 1, "failed_fen": _fen(bounced)}]
    department = {d["department"]: d for d in board["by_department"]}
    assert department[CIVIL]["paid_count"] == len(credited) and department[CIVIL]["paid_fen"] == _fen(credited)
    assert {d: department[d]["intercepted_count"] for d in department} == dict(Counter(e.department for e in still))
    stats = _rows(engine, s.payment_rule_stats)
    assert sorted((r["rule"], r["department"], r["compared"], r["intercepted"]) for r in board["rules"]) == sorted(
        (r.rule_id, r.department, r.compared, r.intercepted) for r in stats)
    assert len(all_lines) == len(lines)
    status = _described("get", p.PAYMENT_STATUS, central.payment_status())
    assert status["balanced"] is True and status["issued"] == {"count": len(lines), "fen": _fen(lines)}


def test_a_cadre_is_refused_every_payments_call(payments_registry):
    """A cadre's token on the payments client's calls: 403 auth.forbidden, nothing imported."""
    registry, engine, _central, _issuer = payments_registry
    api = Api(registry.url)
    cadre = CentralClient(RegistryHttp(registry.url), api.login("cadre_a").token)
    try:
        _refused(cadre.payment_items, 403, "auth.forbidden")
        _refused(lambda: cadre.import_entitlements(_roster(CIVIL), CIVIL, "r.csv"), 403, "auth.forbidden")
        _refused(cadre.payment_dashboard, 403, "auth.forbidden")
        assert not _rows(engine, s.entitlement_imports)
    finally:
        cadre.close()
        api.close()
