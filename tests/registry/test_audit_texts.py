"""Free text stays out of the audit chain: reasons live in audit_texts (masked, by hash), can be redacted, and tampering shows."""

from __future__ import annotations

import json

import pytest
from regkit import PASSWORD, VILLAGE_A, Api, id_number, roster_cli_args, upgrade_to
from reviewkit import T0, finding, make_operator, push_new, route
from sqlalchemy import select, text

from enrollment.errors import mask_id_number
from registry import audit, review
from registry.clock import FixedClock
from registry.db import open_database
from registry.schema import audit_log, audit_texts, records
from sync import protocol
from tests.conftest import yikatong

NAME = "欧阳文静"
OTHER_ID = id_number(77)         # another person's ID number, typed into the reason
MOBILE = "13812345678"
LANDLINE = "0838-6223456"
REASON = f"与{NAME}（身份证{OTHER_ID}，电话{MOBILE}，座机{LANDLINE}）重复登记"


@pytest.fixture
def returned(registry_db_url):
    """A record returned by staff with a reason that holds a name, an ID number and phone numbers."""
    engine = open_database(registry_db_url)
    clock = FixedClock(T0)
    cadre = make_operator(engine, "cadre_a", "cadre", VILLAGE_A)
    staff = make_operator(engine, "central", "central")
    make_operator(engine, "admin", "admin")
    p = push_new(engine, cadre, 1, clock=clock)
    route(engine, {p["record_id"]: [finding()]})
    review.decide(engine, staff, p["record_id"], "return", version=1, reason=REASON, clock=clock)
    yield engine, p["record_id"]
    engine.dispose()


def _raw_audit(engine) -> str:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM audit_log ORDER BY seq")).all()
    return "\n".join("|".join(str(v) for v in row) for row in rows)


def _decision_entry(engine, record_id: str):
    with engine.connect() as conn:
        return conn.execute(select(audit_log).where(audit_log.c.subject == record_id,
                                                    audit_log.c.action == "review.returned")).one()


def _text_of(engine, digest: str):
    with engine.connect() as conn:
        return conn.execute(select(audit_texts).where(audit_texts.c.sha256 == digest)).one()


def redact_cli(db_url: str, digest: str, user: str = "admin", password: str = PASSWORD):
    return yikatong("registry", "redact-text", digest, "--by", user, "--db", db_url, "--json",
                    input=password + "\n")


def test_a_reason_leaves_no_name_id_or_phone_in_the_chain(returned):
    """The raw audit rows hold no name, ID number or phone (not even masked); the text table holds the reason masked; the chain verifies."""
    engine, rid = returned
    raw = _raw_audit(engine)
    for personal in (NAME, OTHER_ID, mask_id_number(OTHER_ID), MOBILE, "138****5678", "6223456", "重复登记"):
        assert personal not in raw
    data = json.loads(_decision_entry(engine, rid).data)
    assert set(data) == {"version", "from", "state", "village_code", "reason_text_ref"}
    stored = _text_of(engine, data["reason_text_ref"])
    assert stored.text == f"与{NAME}（身份证{mask_id_number(OTHER_ID)}，电话138****5678，座机0838-***3456）重复登记"
    assert audit.text_digest(stored.salt, stored.text) == data["reason_text_ref"]
    with engine.connect() as conn:  # the record's own copy of the reason (sent to the laptop) is masked too
        assert conn.execute(select(records.c.review_reason).where(records.c.record_id == rid)
                            ).scalar_one() == stored.text
    report = audit.check(engine)
    assert report.ok and report.texts_checked == 1 and report.redacted_seqs == ()


def test_staff_see_the_reason_in_the_record_history(returned):
    """The record view's history shows the stored (masked) reason next to its reference."""
    engine, rid = returned
    staff = make_operator(engine, "central", "central")
    detail = review.record_detail(engine, staff, rid, clock=FixedClock(T0))
    entry = next(h for h in detail["history"] if h["action"] == "review.returned")
    assert entry["data"]["reason"].startswith(f"与{NAME}（身份证{mask_id_number(OTHER_ID)}")
    assert "reason_redacted" not in entry["data"]


def test_redaction_keeps_the_chain_verifying_and_reports_the_entry(returned, registry_db_url):
    """redact-text (an admin, password again) clears the text and salt, is itself audited, and verify-audit reports the entry as redacted."""
    engine, rid = returned
    entry = _decision_entry(engine, rid)
    digest = json.loads(entry.data)["reason_text_ref"]
    r = redact_cli(registry_db_url, digest, user="central")
    assert r.returncode != 0 and "auth.forbidden" in r.stderr       # central staff may not redact
    r = redact_cli(registry_db_url, digest, password="wrong")
    assert r.returncode != 0 and "auth.bad_credentials" in r.stderr
    assert _text_of(engine, digest).text is not None

    r = redact_cli(registry_db_url, digest)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"sha256": digest, "entries": [entry.seq], "redacted_by": "admin"}
    stored = _text_of(engine, digest)
    assert (stored.text, stored.salt, stored.redacted_by) == (None, None, "admin")
    with engine.connect() as conn:
        last = conn.execute(select(audit_log).order_by(audit_log.c.seq.desc()).limit(1)).one()
    assert (last.actor, last.action, last.subject) == ("admin", audit.TEXT_REDACTED, digest)
    assert json.loads(last.data) == {"entries": [entry.seq]}

    report = audit.check(engine)
    assert report.ok and report.redacted_seqs == (entry.seq,) and report.redactions == 1
    r = yikatong("registry", "verify-audit", "--db", registry_db_url)
    assert r.returncode == 0, r.stderr
    assert "1 with a redacted text" in r.stdout
    r = yikatong("registry", "verify-audit", "--db", registry_db_url, "--json")
    assert json.loads(r.stdout)["redacted_seqs"] == [entry.seq]
    with engine.connect() as conn:
        history = review.history(conn, rid)
    shown = next(h for h in history if h["action"] == "review.returned")["data"]
    assert shown["reason"] is None and shown["reason_redacted"] is True

    r = redact_cli(registry_db_url, digest)
    assert r.returncode != 0 and "audit.text_already_redacted" in r.stderr
    r = redact_cli(registry_db_url, "0" * 64)
    assert r.returncode != 0 and "audit.text_unknown" in r.stderr
    r = yikatong("registry", "audit-texts", rid, "--db", registry_db_url, "--json")
    assert r.returncode == 0, r.stderr
    assert [(t["seq"], t["key"], t["sha256"], t["redacted_by"]) for t in json.loads(r.stdout)["texts"]] == [
        (entry.seq, "reason", digest, "admin")]


@pytest.mark.parametrize("tamper, problem", [
    ("UPDATE audit_texts SET text = '与他人重复登记' WHERE sha256 = :h", audit.TEXT_ALTERED),
    ("DELETE FROM audit_texts WHERE sha256 = :h", audit.TEXT_MISSING),
    ("UPDATE audit_texts SET text = NULL, salt = NULL, redacted_at = '2026-12-01T00:00:00Z', "
     "redacted_by = 'admin' WHERE sha256 = :h", audit.REDACTION_UNAUDITED),
])
def test_tampering_with_a_text_is_detected(returned, registry_db_url, tamper, problem):
    """Changing, deleting or silently clearing a referenced text makes verify-audit name the entry that refers to it."""
    engine, rid = returned
    entry = _decision_entry(engine, rid)
    digest = json.loads(entry.data)["reason_text_ref"]
    with engine.begin() as conn:
        conn.execute(text(tamper), {"h": digest})
    report = audit.check(engine)
    assert (report.ok, report.first_broken_seq, report.problem) == (False, entry.seq, problem)
    r = yikatong("registry", "verify-audit", "--db", registry_db_url, "--json")
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert (out["first_broken_seq"], out["problem"], out["error"]["code"]) == (entry.seq, problem, "audit.broken")


def test_an_approval_without_a_reason_stores_no_text(registry_db_url):
    """Approving with no reason writes no reference and no text row."""
    engine = open_database(registry_db_url)
    clock = FixedClock(T0)
    cadre = make_operator(engine, "cadre_a", "cadre", VILLAGE_A)
    staff = make_operator(engine, "central", "central")
    p = push_new(engine, cadre, 2, clock=clock)
    route(engine, {p["record_id"]: [finding()]})
    review.decide(engine, staff, p["record_id"], "approve", version=1, reason="  ", password=PASSWORD, clock=clock)
    with engine.connect() as conn:
        data = json.loads(conn.execute(select(audit_log.c.data).where(audit_log.c.action == "review.approved"))
                          .scalar_one())
        n_texts = conn.execute(text("SELECT COUNT(*) FROM audit_texts")).scalar_one()
    engine.dispose()
    assert "reason_text_ref" not in data and "reason" not in data and n_texts == 0


def test_findings_reads_are_audited(registry, registry_db_url, tmp_path):
    """Each GET /api/review/findings appends findings.read (who, filters, how many) and no ID number or name."""
    r = registry.cli(*roster_cli_args(tmp_path / "roster"))
    assert r.returncode == 0, r.stderr
    for args in (("cadre_a", "cadre", "--village", VILLAGE_A), ("central", "central")):
        r = registry.cli("add-operator", "--username", args[0], "--role", args[1], *args[2:], input=PASSWORD + "\n")
        assert r.returncode == 0, r.stderr
    api = Api(registry.url)
    cadre, staff = api.login("cadre_a"), api.login("central")
    engine = open_database(registry_db_url)
    try:
        cadre_op = make_operator(engine, "cadre_a", "cadre", VILLAGE_A)
        p = push_new(engine, cadre_op, 3)
        route(engine, {p["record_id"]: [finding(kind="dataset_rule")]})
        r = staff.get(protocol.REVIEW_FINDINGS)
        assert r.status_code == 200, r.text
        found = r.json()["findings"]
        assert p["id_number"] in {f["id_number"] for f in found}
        assert staff.get(protocol.REVIEW_FINDINGS, params={"kind": "same_id", "status": "resolved"}).status_code == 200
        # a kind outside the vocabulary (here an ID number typed into the filter) is refused, not read
        assert staff.get(protocol.REVIEW_FINDINGS, params={"kind": OTHER_ID}).status_code == 422
        assert cadre.get(protocol.REVIEW_FINDINGS).status_code == 403
        with engine.connect() as conn:
            reads = conn.execute(select(audit_log).where(audit_log.c.action == audit.FINDINGS_READ)
                                 .order_by(audit_log.c.seq)).all()
        assert [(e.actor, e.subject) for e in reads] == [("central", "findings")] * 2
        assert [json.loads(e.data) for e in reads] == [
            {"kind": None, "status": "open", "findings": len(found)},
            {"kind": "same_id", "status": "resolved", "findings": 0},
        ]
        raw = _raw_audit(engine)
        assert p["id_number"] not in raw and OTHER_ID not in raw and p["name"] not in raw
        assert audit.verify(engine)[0]
    finally:
        for a in (api, cadre, staff):
            a.close()
        engine.dispose()


def test_a_failed_login_under_no_account_keeps_the_typed_name_out_of_the_chain(registry, registry_db_url):
    """A login as an unknown name (here an ID number) is audited under "?" with the typed name in audit_texts, masked."""
    api = Api(registry.url)
    try:
        r = api.http.post(protocol.LOGIN, json={"username": OTHER_ID, "password": "x" * 12, "device_id": "laptop-1"})
        assert r.status_code == 401, r.text
    finally:
        api.close()
    engine = open_database(registry_db_url)
    try:
        with engine.connect() as conn:
            entry = conn.execute(select(audit_log).where(audit_log.c.action == "auth.login_failed")).one()
            shown = audit.with_texts(conn, [json.loads(entry.data)])[0]
        assert (entry.actor, entry.subject) == ("?", "?")
        assert OTHER_ID not in _raw_audit(engine) and mask_id_number(OTHER_ID) not in _raw_audit(engine)
        assert shown["username"] == mask_id_number(OTHER_ID)
        assert audit.check(engine).ok
    finally:
        engine.dispose()


def test_entries_from_before_0009_keep_their_reason_and_still_verify(registry_db_url):
    """A database at 0007 whose chain holds a reason in clear upgrades with that entry unchanged: it verifies and the history shows it."""

    from enrollment.canonical import canonical_bytes
    from registry.db import make_engine, migrate

    engine = make_engine(registry_db_url)
    upgrade_to(engine, "0007")
    at, data = "2026-11-30T00:00:00.000000Z", {"version": 1, "reason": "请补拍证件照", "state": "returned"}
    digest = audit.entry_hash(audit.GENESIS, 1, at, "central", "review.returned", "r1", data)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_log (seq, at, actor, action, subject, data, prev_hash, hash) "
                          "VALUES (1, :at, 'central', 'review.returned', 'r1', :d, :p, :h)"),
                     {"at": at, "d": canonical_bytes(data).decode("utf-8"), "p": audit.GENESIS, "h": digest})
    migrate(engine)
    try:
        report = audit.check(engine)
        assert (report.ok, report.checked, report.texts_checked) == (True, 1, 0)
        with engine.connect() as conn:
            assert review.history(conn, "r1")[0]["data"]["reason"] == "请补拍证件照"
            assert conn.execute(text("SELECT hash FROM audit_log WHERE seq = 1")).scalar_one() == digest
    finally:
        engine.dispose()
