"""The issue's review round trip with a real registry process: a central decision reaches the cadre's
laptop on the next sync with its reason, and the corrected record goes back as a new version of the
same record (docs/review-api.md §1 and §4)."""

from __future__ import annotations

import json

from fieldkit import enrollment_fields, open_laptop, person, setup_registry, yikatong

from sync import protocol
from sync.client import SyncClient
from sync.http import RegistryHttp
from sync.store import Store

CENTRAL = "central1"
CENTRAL_PASSWORD = "central-password-1"
RETURN_REASON = "手机号码与本人不符，请核实后重新提交"
REJECT_REASON = "此人已在他村登记，不予受理"
UNDECIDED = (protocol.REVIEW_RECEIVED, protocol.REVIEW_NEEDS_REVIEW, protocol.REVIEW_CLEARED)


def sync(store: Store) -> dict:
    client = SyncClient(store, max_retries=2)
    try:
        report = client.run()
    finally:
        client.close()
    assert report.ok, report.to_dict()
    return report.to_dict()


def central_session(registry) -> RegistryHttp:
    """A central operator logged in at the registry over HTTP (as the central workspace does)."""
    done = registry.cli("add-operator", "--username", CENTRAL, "--role", "central", input=CENTRAL_PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    http = RegistryHttp(registry.url)
    login = http.request("POST", protocol.LOGIN, json={"username": CENTRAL, "password": CENTRAL_PASSWORD,
                                                       "device_id": "central-desk-1"})
    http.close()
    return RegistryHttp(registry.url, login["token"])


def decide(central: RegistryHttp, record_id: str, action: str, reason: str) -> dict:
    """Open the record as a reviewer does (its current version), then decide on that version with the password."""
    seen = central.request("GET", protocol.REVIEW_RECORD.format(record_id=record_id))["record"]
    answer = central.request("POST", protocol.REVIEW_DECISION.format(record_id=record_id), json={
        "action": action, "version": seen["version"], "reason": reason, "password": CENTRAL_PASSWORD})
    return answer["record"]


def test_returned_record_is_corrected_and_comes_back_as_version_2_of_the_same_record(registry, tmp_path):
    """A return and a rejection made centrally show on the laptop after its next sync with their reasons; the
    corrected returned record is pushed as version 2 of the same record id and the registry reviews it afresh."""
    setup_registry(registry, tmp_path)
    laptop = open_laptop(registry, tmp_path / "laptop.sqlite3")
    try:
        returned_id = laptop.enroll(enrollment_fields(person(3), phone="13900000003", subsidies=["dibao"]))
        rejected_id = laptop.enroll(enrollment_fields(person(7)))
        first = sync(laptop)
        assert first["accepted"] == 2
        for rid in (returned_id, rejected_id):
            rec = laptop.get_record(rid)
            assert rec["state"] == "accepted" and rec["server_version"] == 1
            assert rec["review"]["state"] in UNDECIDED and rec["review"]["reason"] is None

        central = central_session(registry)
        try:
            after = decide(central, returned_id, protocol.ACTION_RETURN, RETURN_REASON)
            assert after["state"] == protocol.REVIEW_RETURNED and after["version"] == 1
            assert after["payload"]["subsidies"] == ["dibao"]
            assert decide(central, rejected_id, protocol.ACTION_REJECT, REJECT_REASON)["state"] == "rejected"

            # The laptop's next sync: same versions, new review states with their reasons.
            second = sync(laptop)
            assert second["accepted"] == 0 and second["pulled"] >= 2
            assert second["reviews_changed"] == 2 and second["returned"] == 1
            rec = laptop.get_record(returned_id)
            assert rec["state"] == "accepted" and rec["server_version"] == 1
            assert rec["review"]["state"] == "returned" and rec["review"]["reason"] == RETURN_REASON
            assert rec["review"]["decided_by"] == CENTRAL and rec["review"]["decided_at"]
            rej = laptop.get_record(rejected_id)["review"]
            assert rej["state"] == "rejected" and rej["reason"] == REJECT_REASON

            # The cadre corrects the returned record; it goes out with base_version 1, same record id.
            laptop.edit(returned_id, {"phone": "13900000033"})
            laptop.queue(returned_id)
            [item] = [r["item"] for r in laptop.records_to_send(10)]
            assert item["record_id"] == returned_id and item["base_version"] == 1
            third = sync(laptop)
            assert third["accepted"] == 1 and third["conflicts"] == 0
            rec = laptop.get_record(returned_id)
            assert rec["server_version"] == 2 and rec["payload"]["phone"] == "13900000033"
            assert rec["review"]["state"] in UNDECIDED and rec["review"]["reason"] is None

            detail = central.request("GET", protocol.REVIEW_RECORD.format(record_id=returned_id))
            assert detail["record"]["version"] == 2 and detail["record"]["state"] in UNDECIDED
            assert detail["record"]["review_reason"] is None and detail["record"]["payload"]["phone"] == "13900000033"
            assert [v["version"] for v in detail["versions"]] == [1, 2]
            assert any(h["action"] == "review.returned" for h in detail["history"])
            queue = central.request("GET", protocol.REVIEW_QUEUE, params={"q": person(3)["id_number"][:14],
                                                                          "state": list(protocol.REVIEW_STATES)})
            assert [i["record_id"] for i in queue["items"]] == [returned_id]  # a new version, not a duplicate
        finally:
            central.close()
    finally:
        laptop.close()

    status = yikatong("field", "status", "--store", str(tmp_path / "laptop.sqlite3"), "--json", "--review")
    assert status.returncode == 0, status.stderr
    counts = json.loads(status.stdout)
    assert counts["accepted"] == 2 and counts["review"]["rejected"] == 1 and counts["review"]["returned"] == 0
