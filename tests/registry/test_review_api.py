"""The /api/review/* endpoints on a real registry process (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from urllib.parse import quote

import pytest
from pypdf import PdfReader
from regkit import PASSWORD, VILLAGE_A, VILLAGE_B, Api, item, payload, roster_cli_args
from reviewkit import finding, plant_card_of_record, route, run_real_checks
from sqlalchemy import select

from enrollment.errors import mask_id_number
from registry.db import open_database, parse_iso
from registry.schema import audit_log, findings
from sync import protocol

NAMES = ["张子健", "欧阳文静", "司马光耀", "诸葛明亮", "上官婉儿", "东方朔风", "皇甫嵩岳", "慕容复兴"]


@pytest.fixture
def review_env(registry, registry_db_url, tmp_path):
    r = registry.cli(*roster_cli_args(tmp_path / "roster"))  # payload(i) people are on village A's roster
    assert r.returncode == 0, r.stderr
    for args in (("cadre_a", "cadre", "--village", VILLAGE_A), ("central", "central"), ("admin", "admin")):
        r = registry.cli("add-operator", "--username", args[0], "--role", args[1], *args[2:], input=PASSWORD + "\n")
        assert r.returncode == 0, r.stderr
    engine = open_database(registry_db_url)
    api = Api(registry.url)
    cadre, staff = api.login("cadre_a"), api.login("central")
    yield registry, engine, cadre, staff
    for a in (api, cadre, staff):
        a.close()
    engine.dispose()


def push(cadre: Api, i: int, **over) -> dict:
    p = payload(i, VILLAGE_A, name=NAMES[i % len(NAMES)], **over)
    r = cadre.push_one(item(p))
    assert r["status"] == "accepted", r
    return p


def error(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field", "data"}, body
    assert body["error"]["code"] == code, body
    return body["error"]


def decision(staff: Api, rid: str, **body):
    return staff.post(protocol.REVIEW_DECISION.format(record_id=rid), json=body)


def test_decision_reaches_the_laptop_and_a_new_version_is_reviewed_again(review_env):
    """A rejection with reason shows in the cadre's next pull; the corrected version 2 is received again, not a duplicate."""
    _reg, engine, cadre, staff = review_env
    p1, p2 = push(cadre, 1), push(cadre, 2)
    r1, r2 = p1["record_id"], p2["record_id"]
    route(engine, {r1: [finding(deceased="1")], r2: []})
    _, since = cadre.pull_all()

    q = staff.get(protocol.REVIEW_QUEUE).json()
    assert q["total"] == 2 and {i["record_id"]: i["state"] for i in q["items"]} == {r1: "needs_review",
                                                                                      r2: "cleared"}
    assert parse_iso(q["server_time"])
    first = next(i for i in q["items"] if i["record_id"] == r1)
    assert first["finding_kinds"] == ["dataset_rule"] and first["severity"] == "intercept"
    assert first["id_number_masked"] == mask_id_number(p1["id_number"])

    detail = staff.get(protocol.REVIEW_RECORD.format(record_id=r1)).json()
    assert detail["record"]["id_number"] == p1["id_number"] and detail["findings"][0]["evidence"] == {"deceased": "1"}
    assert detail["history"][-1]["action"] == "record.viewed" and detail["history"][-1]["actor"] == "central"

    error(decision(staff, r1, action="reject", version=1, reason="已死亡"), 422, "review.password_required")
    error(decision(staff, r1, action="reject", version=1, reason="已死亡", password="wrong-one"),
          401, "auth.bad_credentials")
    error(decision(staff, r1, action="reject", version=2, reason="已死亡", password=PASSWORD),
          409, "review.version_stale")
    error(decision(staff, r1, action="reject", version=1, reason="", password=PASSWORD),
          422, "review.reason_required")
    r = decision(staff, r1, action="reject", version=1, reason="民政数据显示已死亡", password=PASSWORD)
    assert r.status_code == 200, r.text
    assert r.json()["record"]["state"] == "rejected" and r.json()["record"]["decided_by"] == "central"
    error(decision(staff, r1, action="approve", version=1, password=PASSWORD), 409, "review.state_invalid")
    ret = decision(staff, r2, action="return", version=1, reason="请补拍照片")
    assert ret.status_code == 200 and ret.json()["record"]["state"] == "returned"

    changes, _ = cadre.pull_all(since)
    got = {c["key"]: c for c in changes}
    assert set(got) == {r1, r2} and all(c["counter"] > since for c in changes)
    assert got[r1]["data"]["review"]["state"] == "rejected"
    assert got[r1]["data"]["review"]["reason"] == "民政数据显示已死亡"
    assert got[r2]["data"]["review"] == {**got[r2]["data"]["review"], "state": "returned", "reason": "请补拍照片",
                                         "decided_by": "central", "card_issued_at": None}

    # The cadre corrects the returned record: version 2 of the same record, received again.
    fixed = payload(2, VILLAGE_A, record_id=r2, name=NAMES[2], address="大石村2组新址")
    res = cadre.push_one(item(fixed, base_version=1))
    assert (res["status"], res["version"]) == ("accepted", 2)
    # "received", or already "cleared" if the server's own check worker got to it first.
    q = staff.get(protocol.REVIEW_QUEUE, params={"state": ["received", "cleared"]}).json()
    assert [(i["record_id"], i["version"], i["findings_open"]) for i in q["items"]] == [(r2, 2, 0)]
    assert cadre.digest_count() == 2
    back = {c["key"]: c for c in cadre.pull_all(since)[0]}[r2]["data"]
    assert back["version"] == 2 and back["review"]["state"] in ("received", "cleared")
    assert back["review"]["reason"] is None and back["review"]["decided_by"] is None


def test_an_edit_before_the_decision_supersedes_the_open_findings(review_env):
    """A record in needs_review edited on the laptop comes back received, its version-1 findings superseded."""
    _reg, engine, cadre, staff = review_env
    p = push(cadre, 3)
    route(engine, {p["record_id"]: [finding(), finding(kind="same_id", severity="flag", subject="x")]})
    assert staff.get(protocol.REVIEW_FINDINGS).json()["findings"][0]["id_number"] == p["id_number"]
    cadre.push_one(item(payload(3, VILLAGE_A, record_id=p["record_id"], name=NAMES[3], phone="13900000003"), 1))
    with engine.connect() as conn:
        statuses = [s for (s,) in conn.execute(select(findings.c.status)
                                                .where(findings.c.record_id == p["record_id"]))]
    assert statuses == ["superseded", "superseded"]
    assert staff.get(protocol.REVIEW_FINDINGS).json()["findings"] == []
    sup = staff.get(protocol.REVIEW_FINDINGS, params={"status": "superseded", "kind": "same_id"}).json()
    assert [(f["record_id"], f["version"], f["kind"]) for f in sup["findings"]] == [(p["record_id"], 1, "same_id")]


def test_bulk_approval_card_issue_and_dashboard(review_env):
    """Bulk approval approves the cleared records only; card issue and the dashboard follow; every step audited."""
    _reg, engine, cadre, staff = review_env
    ps = [push(cadre, 10 + i) for i in range(3)]
    ids = [p["record_id"] for p in ps]
    route(engine, {ids[0]: [], ids[1]: [], ids[2]: [finding()]})
    body = {"items": [{"record_id": i, "version": 1} for i in ids], "password": PASSWORD}
    error(staff.post(protocol.REVIEW_BULK_APPROVE, json={**body, "password": None}), 422, "review.password_required")
    r = staff.post(protocol.REVIEW_BULK_APPROVE, json=body)
    assert r.status_code == 200, r.text
    assert r.json() == {"approved": ids[:2], "skipped": [{"record_id": ids[2], "code": "review.state_invalid"}]}

    # The approver does not hand out the card too (separation of duties): another staff member does.
    error(staff.post(protocol.REVIEW_CARD_ISSUED.format(record_id=ids[0]), json={"version": 1}),
          403, "review.approver_issues_card")
    issuer = Api(_reg.url).login("admin")
    plant_card_of_record(engine, ids[0])
    card = issuer.post(protocol.REVIEW_CARD_ISSUED.format(record_id=ids[0]), json={"version": 1})
    issuer.close()
    assert card.status_code == 200 and card.json()["record"]["card_issued_at"]
    error(staff.post(protocol.REVIEW_CARD_ISSUED.format(record_id=ids[0]), json={"version": 1}),
          409, "review.state_invalid")
    error(staff.post(protocol.REVIEW_CARD_ISSUED.format(record_id=ids[2]), json={"version": 1}),
          409, "review.state_invalid")

    d = staff.get(protocol.REVIEW_DASHBOARD).json()
    assert (d["enrolled"], d["approved"], d["cards_issued"]) == (3, 2, 1)
    assert d["by_state"]["approved"] == 2 and d["by_state"]["needs_review"] == 1
    assert d["by_light"] == {"none": 3, "yellow": 0, "red": 0} and d["median_hours_to_decision"] is not None
    with engine.connect() as conn:
        actions = [a for (a,) in conn.execute(select(audit_log.c.action).where(audit_log.c.subject.in_(ids))
                                              .order_by(audit_log.c.seq))
                   if a.startswith("review.approved") or a == "review.card_issued"]
    assert actions == ["review.approved", "review.approved", "review.card_issued"]


def test_warnings_and_escalation_reports_at_a_moment(review_env):
    """Warnings turn yellow after 72 h and red after 144 h unhandled; the CSV and PDF reports list the red ones."""
    _reg, engine, cadre, staff = review_env
    p = push(cadre, 4)
    received = parse_iso(staff.get(protocol.REVIEW_QUEUE).json()["items"][0]["received_at"])

    def at(hours: float) -> str:
        return (received + dt.timedelta(hours=hours)).isoformat()

    def lights(hours: float) -> list[str]:
        r = staff.get(protocol.REVIEW_WARNINGS, params={"at": at(hours)})
        assert r.status_code == 200, r.text
        return [i["light"] for i in r.json()["items"]]

    assert lights(71.9) == [] and lights(72) == ["yellow"] and lights(143.9) == ["yellow"]
    assert lights(144) == ["red"]
    body = staff.get(protocol.REVIEW_WARNINGS, params={"at": at(150)}).json()
    assert body["limits"] == {"unhandled_yellow_hours": 72, "unissued_yellow_hours": 48, "red_after_hours": 72}
    it = body["items"][0]
    assert (it["record_id"], it["reason"], it["hours_open"], it["operator"]) == (p["record_id"], "unhandled", 150,
                                                                                  "cadre_a")

    csv_r = staff.get(protocol.REVIEW_REPORT_CSV, params={"at": at(150)})
    assert csv_r.status_code == 200 and csv_r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(csv_r.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["村", "记录", "身份证号"] and rows[1][1] == p["record_id"]
    assert rows[1][2] == mask_id_number(p["id_number"]) and rows[1][4] == "受理超时" and rows[1][6] == "78"
    pdf = staff.get(protocol.REVIEW_REPORT_PDF, params={"at": at(150)})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "一卡通 预警升级报告" in text and "报送：纪委" in text and mask_id_number(p["id_number"]) in text
    assert p["id_number"] not in text
    quiet = staff.get(protocol.REVIEW_REPORT_CSV, params={"at": at(100)}).content.decode("utf-8-sig")
    assert len(quiet.strip().splitlines()) == 1  # yellow is not escalated
    error(staff.get(protocol.REVIEW_WARNINGS, params={"at": "yesterday"}), 422, "request.invalid")


ENDPOINTS = [
    ("get", protocol.REVIEW_QUEUE, None),
    ("get", protocol.REVIEW_RECORD, None),
    ("post", protocol.REVIEW_DECISION, {"action": "return", "version": 1, "reason": "x"}),
    ("post", protocol.REVIEW_BULK_APPROVE, {"items": [], "password": PASSWORD}),
    ("post", protocol.REVIEW_CARD_ISSUED, {"version": 1}),
    ("post", protocol.REVIEW_RUN_CHECKS, {}),
    ("get", protocol.REVIEW_FINDINGS, None),
    ("get", protocol.REVIEW_WARNINGS, None),
    ("get", protocol.REVIEW_REPORT_CSV, None),
    ("get", protocol.REVIEW_REPORT_PDF, None),
    ("get", protocol.REVIEW_DASHBOARD, None),
]


def test_every_review_endpoint_refuses_cadres_and_strangers_in_the_one_shape(review_env):
    """Each review endpoint: no token → 401 auth.missing, a cadre → 403 auth.forbidden, bad input → its code."""
    _reg, _engine, cadre, staff = review_env
    rid = push(cadre, 5)["record_id"]
    anonymous = Api(cadre.base_url)
    try:
        for method, path, body in ENDPOINTS:
            url = path.format(record_id=rid)
            kw = {"json": body} if body is not None else {}
            error(getattr(anonymous, method)(url, **kw), 401, "auth.missing")
            error(getattr(cadre, method)(url, **kw), 403, "auth.forbidden")
    finally:
        anonymous.close()
    unknown = "00000000-0000-4000-8000-00000000abcd"
    error(staff.get(protocol.REVIEW_RECORD.format(record_id=unknown)), 404, "record.unknown")
    error(decision(staff, unknown, action="return", version=1, reason="x"), 404, "record.unknown")
    error(decision(staff, rid, action="merge", version=1, reason="x"), 422, "review.action_invalid")
    error(decision(staff, rid, action="return", version=1, reason="长" * 201), 422, "review.reason_too_long")
    error(decision(staff, rid, action="return", reason="x"), 422, "request.invalid")
    error(staff.post(protocol.REVIEW_DECISION.format(record_id=rid), content=b"{not json",
                     headers={"Content-Type": "application/json"}), 400, "request.malformed_json")
    error(staff.post(protocol.REVIEW_CARD_ISSUED.format(record_id=rid), json={"version": 1}),
          409, "review.state_invalid")
    error(staff.post(protocol.REVIEW_CARD_ISSUED.format(record_id=rid), json={}), 422, "request.invalid")
    error(staff.post(protocol.REVIEW_BULK_APPROVE, json={"items": "all"}), 422, "request.invalid")
    error(staff.get(protocol.REVIEW_QUEUE, params={"state": "limbo"}), 422, "request.invalid")
    error(staff.get(protocol.REVIEW_QUEUE, params={"light": "blue"}), 422, "request.invalid")
    error(staff.get(protocol.REVIEW_QUEUE, params={"limit": 501}), 422, "request.invalid")
    error(staff.get(protocol.REVIEW_FINDINGS, params={"status": "closed"}), 422, "request.invalid")
    error(staff.get(protocol.REVIEW_REPORT_PDF, params={"at": "soon"}), 422, "request.invalid")


def test_run_checks_endpoint_answers_the_runs_summary(review_env):
    """POST run-checks (staff only) runs the server's checks now and answers the run's summary."""
    _reg, _engine, cadre, staff = review_env
    rid = push(cadre, 6)["record_id"]
    r = staff.post(protocol.REVIEW_RUN_CHECKS, json={})
    assert r.status_code == 200, r.text
    summary = r.json()
    assert {"checked", "needs_review", "cleared", "findings_opened", "run_id"} <= set(summary)
    # Either this run or the worker woken by the push checked the record: it is cleared either way.
    state = staff.get(protocol.REVIEW_QUEUE, params={"state": "cleared"}).json()["items"]
    assert [i["record_id"] for i in state] == [rid]


def test_real_checks_send_a_same_id_pair_to_review_with_each_other_as_evidence(review_env):
    """The same ID enrolled in two villages: both records need review with a same_id finding naming the other."""
    reg, engine, cadre, staff = review_env
    r = reg.cli("add-operator", "--username", "cadre_b", "--role", "cadre", "--village", VILLAGE_B,
                input=PASSWORD + "\n")
    assert r.returncode == 0, r.stderr
    cadre_b = Api(reg.url).login("cadre_b", device_id="laptop-2")
    try:
        mine = push(cadre, 7)
        twin = payload(7, VILLAGE_B, name=NAMES[7], address="石桥村1组")
        assert cadre_b.push_one(item(twin))["status"] == "accepted"
        clean = push(cadre, 8)
    finally:
        cadre_b.close()
    run_real_checks(engine, [mine["record_id"], twin["record_id"], clean["record_id"]])

    q = staff.get(protocol.REVIEW_QUEUE, params={"kind": "same_id"}).json()
    assert {i["record_id"] for i in q["items"]} == {mine["record_id"], twin["record_id"]}
    assert all(i["state"] == "needs_review" for i in q["items"])
    cleared = staff.get(protocol.REVIEW_QUEUE, params={"state": "cleared"}).json()["items"]
    assert [i["record_id"] for i in cleared] == [clean["record_id"]]
    d = staff.get(protocol.REVIEW_RECORD.format(record_id=mine["record_id"])).json()
    same = [f for f in d["findings"] if f["kind"] == "same_id"]
    assert [f["subject"] for f in same] == [twin["record_id"]]
    assert d["related"][twin["record_id"]]["village_code"] == VILLAGE_B
    # Keep the first enrollment, reject the duplicate; the evidence stays with the resolved findings.
    ok = decision(staff, mine["record_id"], action="approve", version=1, reason="保留本村登记", password=PASSWORD)
    assert ok.status_code == 200, ok.text
    no = decision(staff, twin["record_id"], action="reject", version=1, reason="重复登记", password=PASSWORD)
    assert no.status_code == 200, no.text
    assert staff.get(protocol.REVIEW_FINDINGS, params={"kind": "same_id"}).json()["findings"] == []
    resolved = staff.get(protocol.REVIEW_FINDINGS, params={"kind": "same_id", "status": "resolved"}).json()
    assert {f["record_id"] for f in resolved["findings"]} == {mine["record_id"], twin["record_id"]}


def test_the_queue_search_text_stays_out_of_the_registry_log(review_env):
    """A name or ID-number search in the queue is masked in the access log (personal data never in logs)."""
    reg, _engine, cadre, staff = review_env
    p = push(cadre, 9)
    for text in (p["name"][:2], p["id_number"][:10]):
        r = staff.get(protocol.REVIEW_QUEUE, params={"q": text, "state": ["received", "cleared"]})
        assert r.status_code == 200 and r.json()["total"] == 1, r.text
    log = reg.log_path.read_text(encoding="utf-8", errors="replace")
    assert "q=***" in log
    encoded = quote(p["name"][:2])
    assert p["id_number"][:10] not in log and encoded not in log and p["name"][:2] not in log
