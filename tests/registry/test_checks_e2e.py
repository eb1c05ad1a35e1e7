"""The issue's fraud cases end to end: a real registry process, its check worker, department datasets
imported by the real CLI, records pushed over HTTP with real face templates from the shared photos.

Runs on SQLite and PostgreSQL (the ``backend`` parameter of tests/registry/conftest.py).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import time
from pathlib import Path

import pytest
from regkit import PASSWORD, VILLAGE_A, VILLAGE_B, Api, item, payload, resident, roster_cli_args

from capture.faces import MODEL_NAME, MODEL_VERSION
from capture.pipeline import template_of
from enrollment.records import FACE_TEMPLATE, FACE_TEMPLATE_MIME
from sync import protocol
from tests import facekit
from tests.conftest import RegistryProcess


@functools.cache
def face(name: str) -> bytes:
    from capture.images import load_image

    return template_of(load_image(facekit.FACES / name), facekit.engine()).to_bytes()


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def env(registry_db_url, tmp_path):
    reg = RegistryProcess(registry_db_url, tmp_path / "reg").start()
    for username, role, villages in (("cadre_a", "cadre", [VILLAGE_A]), ("cadre_b", "cadre", [VILLAGE_B]),
                                     ("boss", "central", [])):
        args = ["add-operator", "--username", username, "--role", role]
        for v in villages:
            args += ["--village", v]
        assert reg.cli(*args, input=PASSWORD + "\n").returncode == 0
    assert reg.cli(*roster_cli_args(tmp_path / "roster")).returncode == 0  # payload(i) people: village A's
    api = Api(reg.url)
    yield reg, api.login("cadre_a", device_id="laptop-a"), api.login("cadre_b", device_id="laptop-b"), \
        api.login("boss", device_id="office")
    reg.stop()


def _upload(api: Api, data: bytes) -> dict:
    sha = hashlib.sha256(data).hexdigest()
    r = api.put_chunk(sha, 0, len(data), data)
    assert r.status_code == 200, r.text
    return {"kind": FACE_TEMPLATE, "sha256": sha, "size": len(data), "mime": FACE_TEMPLATE_MIME}


def _with_face(api: Api, i: int, photo: str, **over) -> dict:
    return payload(i, attachments=[_upload(api, face(photo))],
                   face={"model": MODEL_NAME, "version": MODEL_VERSION, "quality": {}}, **over)


def _wait_checked(boss: Api, ids: list[str], timeout: float = 90) -> dict[str, dict]:
    """The check worker routes pushed records on its own; wait until none of ``ids`` is still received."""
    deadline = time.monotonic() + timeout
    while True:
        states = {}
        for rid in ids:
            r = boss.get(protocol.REVIEW_RECORD.format(record_id=rid))
            assert r.status_code == 200, r.text
            states[rid] = r.json()
        if all(s["record"]["state"] not in ("received", "checked") for s in states.values()):
            return states
        assert time.monotonic() < deadline, {k: v["record"]["state"] for k, v in states.items()}
        time.sleep(0.3)


def _kinds(view: dict) -> set[tuple[str, str]]:
    return {(f["kind"], f["rule"]) for f in view["findings"] if f["status"] == "open"}


def test_fraud_cases_land_in_review_with_their_evidence_and_a_clean_record_is_cleared(env, tmp_path):
    """Same ID in two villages, one face under two ID numbers, a deceased resident and a company owner applying
    for 低保 each land in needs_review with the right finding and evidence; a clean record is cleared."""
    reg, cadre_a, cadre_b, boss = env
    dead, owner = resident(5), resident(6)
    assert reg.cli("import-dataset", "deaths", str(_csv(tmp_path / "deaths.csv", ["id_number", "name", "death_date"],
                                                        [[dead["id_number"], dead["name"], "2026-03-02"]]))
                   ).returncode == 0
    assert reg.cli("import-dataset", "business", str(_csv(
        tmp_path / "business.csv", ["id_number", "name", "company_name", "credit_code", "role"],
        [[owner["id_number"], owner["name"], "遂宁市大石商贸有限公司", "91510903MA6ABCDE1X", "法定代表人"]]))
    ).returncode == 0

    twin_a = payload(1)                                    # the same person enrolled in village A …
    twin_b = payload(1, VILLAGE_B)                         # … and again by another cadre in village B
    face_1 = _with_face(cadre_a, 3, "obama.jpg")           # one face …
    face_2 = _with_face(cadre_a, 4, "obama3.jpg")          # … under a second ID number (another photo)
    deceased = payload(5)
    company = payload(6, subsidies=["dibao"])
    clean = _with_face(cadre_a, 7, "biden.jpg", subsidies=["dibao"])
    results = cadre_a.push([item(p) for p in (twin_a, face_1, face_2, deceased, company, clean)], "laptop-a")
    results += cadre_b.push([item(twin_b)], "laptop-b")
    assert [r["status"] for r in results] == ["accepted"] * 7

    ids = [p["record_id"] for p in (twin_a, twin_b, face_1, face_2, deceased, company, clean)]
    views = _wait_checked(boss, ids)
    state = {rid: v["record"]["state"] for rid, v in views.items()}

    for a, b in ((twin_a, twin_b), (twin_b, twin_a)):
        assert state[a["record_id"]] == "needs_review"
        same = [f for f in views[a["record_id"]]["findings"] if f["kind"] == "same_id"]
        assert [f["subject"] for f in same] == [b["record_id"]]
        assert same[0]["evidence"]["other"]["village_code"] == b["village_code"]

    for mine, other in ((face_1, face_2), (face_2, face_1)):
        assert state[mine["record_id"]] == "needs_review"
        hits = [f for f in views[mine["record_id"]]["findings"] if f["kind"] == "face_match"]
        assert [f["subject"] for f in hits] == [other["record_id"]]
        assert hits[0]["severity"] == "intercept" and float(hits[0]["score"]) <= 0.6
        top = hits[0]["evidence"]["candidates"][0]
        assert top["record_id"] == other["record_id"] and top["id_number"] == other["id_number"]

    assert state[deceased["record_id"]] == "needs_review"
    (death,) = [f for f in views[deceased["record_id"]]["findings"] if f["kind"] == "dataset_rule"]
    assert death["rule"] == "deceased" and death["severity"] == "intercept"
    assert death["evidence"]["rows"][0]["death_date"] == "2026-03-02"

    assert state[company["record_id"]] == "needs_review"
    assert ("dataset_rule", "assist_business_owner") in _kinds(views[company["record_id"]])
    row = [f for f in views[company["record_id"]]["findings"] if f["rule"] == "assist_business_owner"][0]
    assert row["evidence"]["rows"][0]["role"] == "法定代表人" and row["evidence"]["subsidy"] == "dibao"

    assert state[clean["record_id"]] == "cleared"
    assert views[clean["record_id"]]["findings"] == []

    # The numbers the dashboard shows come from the same runs.
    dash = boss.get(protocol.REVIEW_DASHBOARD).json()
    by_rule = {r["rule_id"]: r for r in dash["rules"]}
    assert by_rule["deceased"]["intercepted"] == 1 and by_rule["deceased"]["compared"] == 7
    assert by_rule["assist_business_owner"]["intercepted"] == 1
    assert by_rule["face_match"]["intercepted"] == 2
    # Every routing is in the audit chain, and the chain is intact.
    verified = reg.cli("verify-audit", "--json")
    assert verified.returncode == 0 and json.loads(verified.stdout)["ok"] is True


def test_a_death_recorded_after_approval_sends_the_record_back_to_review(env, tmp_path):
    """`run-checks --all` after a new deaths file re-checks approved records: a resident who died since is
    back in needs_review with the deceased finding, and a second run opens nothing new."""
    reg, cadre_a, _cadre_b, boss = env
    p = payload(9)
    assert cadre_a.push([item(p)], "laptop-a")[0]["status"] == "accepted"
    view = _wait_checked(boss, [p["record_id"]])[p["record_id"]]
    assert view["record"]["state"] == "cleared"
    r = boss.post(protocol.REVIEW_DECISION.format(record_id=p["record_id"]),
                  json={"action": "approve", "version": 1, "reason": "", "password": PASSWORD})
    assert r.status_code == 200 and r.json()["record"]["state"] == "approved"

    person = resident(9)
    assert reg.cli("import-dataset", "deaths", str(_csv(tmp_path / "deaths.csv", ["id_number", "name", "death_date"],
                                                        [[person["id_number"], person["name"], "2026-11-01"]]))
                   ).returncode == 0
    first = reg.cli("run-checks", "--all", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["findings_opened"] == 1
    after = boss.get(protocol.REVIEW_RECORD.format(record_id=p["record_id"])).json()
    assert after["record"]["state"] == "needs_review"
    assert _kinds(after) == {("dataset_rule", "deceased")}
    again = reg.cli("run-checks", "--all", "--json")
    assert json.loads(again.stdout)["findings_opened"] == 0
