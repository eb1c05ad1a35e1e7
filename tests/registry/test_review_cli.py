"""``yikatong registry findings|decide|mark-issued|warnings|dashboard`` through the real CLI."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from pypdf import PdfReader
from regkit import PASSWORD, VILLAGE_A, Api
from reviewkit import T0, finding, make_operator, plant_card, push_new, route, state_of

from enrollment.errors import mask_id_number
from registry.clock import FixedClock
from registry.db import open_database
from registry.launcher import RegistryProcess
from sync import protocol
from tests.conftest import yikatong


def reg(db_url: str, command: str, *args: str, input: str | None = None):
    return yikatong("registry", command, "--db", db_url, *args, input=input)


def one_line_error(r, code: str, exit_code: int = 1) -> None:
    assert r.returncode == exit_code, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {code}"), r.stderr


@pytest.fixture
def env(registry_db_url):
    engine = open_database(registry_db_url)
    clock = FixedClock(T0)
    cadre = make_operator(engine, "cadre_a", "cadre", VILLAGE_A)
    make_operator(engine, "central", "central")
    make_operator(engine, "issuer", "central")  # hands out cards: the approver may not (separation of duties)
    yield engine, clock, cadre
    engine.dispose()


def test_findings_and_decisions_from_the_command_line(env, registry_db_url):
    """findings --json lists open findings with full ID numbers; decide checks role, password and reason; mark-issued follows."""
    engine, clock, cadre = env
    flagged = push_new(engine, cadre, 1, clock=clock)
    clean = push_new(engine, cadre, 2, clock=clock)
    route(engine, {flagged["record_id"]: [finding(deceased="1"), finding(kind="same_id", severity="flag",
                                                                        subject=clean["record_id"])],
                   clean["record_id"]: []})
    r = reg(registry_db_url, "findings", "--json")
    assert r.returncode == 0, r.stderr
    found = json.loads(r.stdout)["findings"]
    assert {(f["record_id"], f["id_number"], f["kind"]) for f in found} == {
        (flagged["record_id"], flagged["id_number"], "dataset_rule"),
        (flagged["record_id"], flagged["id_number"], "same_id")}
    only = json.loads(reg(registry_db_url, "findings", "--json", "--kind", "same_id").stdout)["findings"]
    assert [f["subject"] for f in only] == [clean["record_id"]]

    rid = flagged["record_id"]
    one_line_error(reg(registry_db_url, "decide", rid, "reject", "--reason", "已死亡", "--as", "cadre_a",
                       input=PASSWORD + "\n"), "auth.forbidden")
    one_line_error(reg(registry_db_url, "decide", rid, "reject", "--reason", "已死亡", "--as", "central",
                       input="not-the-password\n"), "auth.bad_credentials")
    one_line_error(reg(registry_db_url, "decide", rid, "reject", "--as", "central", input=PASSWORD + "\n"),
                   "review.reason_required")
    one_line_error(reg(registry_db_url, "decide", rid, "approve", "--as", "central", input="\n"),
                   "auth.password_empty", 2)
    one_line_error(reg(registry_db_url, "decide", "00000000-0000-4000-8000-000000000009", "return", "--reason", "x",
                       "--as", "central", input=PASSWORD + "\n"), "record.unknown")
    r = reg(registry_db_url, "decide", rid, "reject", "--reason", "民政：已死亡", "--as", "central", "--json",
            input=PASSWORD + "\n")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)["record"]
    assert (out["state"], out["review_reason"], out["decided_by"]) == ("rejected", "民政：已死亡", "central")
    assert PASSWORD not in r.stdout + r.stderr
    assert json.loads(reg(registry_db_url, "findings", "--json").stdout)["findings"] == []

    one_line_error(reg(registry_db_url, "mark-issued", clean["record_id"], "--as", "central", input=PASSWORD + "\n"),
                   "review.state_invalid")
    r = reg(registry_db_url, "decide", clean["record_id"], "approve", "--as", "central", input=PASSWORD + "\n")
    assert r.returncode == 0 and "approved: state approved" in r.stdout, r.stderr
    assert mask_id_number(clean["id_number"]) in r.stdout and clean["id_number"] not in r.stdout
    one_line_error(reg(registry_db_url, "mark-issued", clean["record_id"], "--as", "central", input=PASSWORD + "\n"),
                   "review.approver_issues_card")
    one_line_error(reg(registry_db_url, "mark-issued", clean["record_id"], "--as", "issuer", input=PASSWORD + "\n"),
                   "review.card_missing")  # the card bank has made no card yet (registry import-cards)
    card = plant_card(engine, clean["id_number"], card_number="6217853100000005341")
    r = reg(registry_db_url, "mark-issued", clean["record_id"], "--as", "issuer", "--json", input=PASSWORD + "\n")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["card"]["card_number_masked"] == "****5341" and card not in r.stdout
    assert state_of(engine, clean["record_id"]).card_issued_at is not None

    d = json.loads(reg(registry_db_url, "dashboard", "--json").stdout)
    assert (d["enrolled"], d["approved"], d["cards_issued"]) == (2, 1, 1)
    assert d["by_state"]["rejected"] == 1
    assert {r["rule_id"]: r["compared"] for r in d["rules"]}["test_rule"] == 2


def test_warnings_at_a_moment_with_limits_and_reports(env, registry_db_url, tmp_path):
    """warnings --at gives the lights at that moment; --limits FILE changes them; --report writes the red ones."""
    engine, clock, cadre = env
    p = push_new(engine, cadre, 3, clock=clock)

    def warn(hours: float, *extra: str) -> dict:
        r = reg(registry_db_url, "warnings", "--json", "--at", (T0 + dt.timedelta(hours=hours)).isoformat(), *extra)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    assert warn(71)["items"] == []
    assert [i["light"] for i in warn(72)["items"]] == ["yellow"]
    assert [i["light"] for i in warn(144)["items"]] == ["red"]
    limits = tmp_path / "limits.json"
    limits.write_text('{"unhandled_yellow_hours": 1, "red_after_hours": 1}', encoding="utf-8")
    short = warn(2, "--limits", str(limits))
    assert [i["light"] for i in short["items"]] == ["red"] and short["limits"]["unhandled_yellow_hours"] == 1

    pdf = tmp_path / "escalation.pdf"
    out = warn(150, "--report", str(pdf))
    assert out["report"] == {"path": str(pdf), "rows": 1}
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "一卡通 预警升级报告" in text and mask_id_number(p["id_number"]) in text
    r = reg(registry_db_url, "warnings", "--at", "2026-12-07T12:00:00+08:00", "--report", str(tmp_path / "e.csv"))
    assert r.returncode == 0 and "0 yellow, 1 red" in r.stdout, r.stderr
    assert p["record_id"] in (tmp_path / "e.csv").read_text(encoding="utf-8-sig")

    one_line_error(reg(registry_db_url, "warnings", "--at", "next week"), "usage.invalid_value", 2)
    for far in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"):  # once an OverflowError traceback
        one_line_error(reg(registry_db_url, "warnings", "--at", far, "--report", str(tmp_path / "far.pdf")),
                       "usage.invalid_value", 2)
    one_line_error(reg(registry_db_url, "warnings", "--report", str(tmp_path / "x.txt")), "usage.invalid_value", 2)
    limits.write_text('{"unhandled_yellow_hours": "soon"}', encoding="utf-8")
    one_line_error(reg(registry_db_url, "warnings", "--limits", str(limits)), "warnings.limits_invalid")


def test_serve_takes_warning_limits_from_a_file(env, registry_db_url, tmp_path):
    """serve --warning-limits FILE: the API's warnings use those limits; a bad file stops serve with its code."""
    limits = tmp_path / "limits.json"
    limits.write_text('{"unhandled_yellow_hours": 5, "unissued_yellow_hours": 6, "red_after_hours": 7}',
                      encoding="utf-8")
    proc = RegistryProcess(registry_db_url, tmp_path / "srv", extra_args=["--warning-limits", str(limits)]).start()
    try:
        api = Api(proc.url).login("central")
        body = api.get(protocol.REVIEW_WARNINGS).json()
        assert body["limits"] == {"unhandled_yellow_hours": 5, "unissued_yellow_hours": 6, "red_after_hours": 7}
        api.close()
    finally:
        proc.stop()
    limits.write_text("{", encoding="utf-8")
    one_line_error(reg(registry_db_url, "serve", "--port", "0", "--warning-limits", str(limits)),
                   "warnings.limits_invalid")
