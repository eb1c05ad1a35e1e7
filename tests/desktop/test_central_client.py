"""sync.central.CentralClient against a real registry process: every answer in the contract's shape,
failures as the same typed errors the field client raises."""

from __future__ import annotations

import pytest
from central_helpers import CADRE_PASSWORD, CENTRAL_PASSWORD, card_jpeg, setup_central
from regkit import Api

from sync.central import CentralClient, QueueFilter
from sync.http import ApiError, TransportError


@pytest.fixture
def central(registry, tmp_path):
    return setup_central(registry, tmp_path)


def _client(central, username: str = "central1", password: str = CENTRAL_PASSWORD) -> CentralClient:
    api = Api(central.url).login(username, password)
    token = api.token
    api.close()
    return CentralClient.connect(central.url, token)


def test_queue_record_blob_dashboard_and_reports(central):
    """The client's reads: a filtered queue, a full record with the related record of its finding, the
    card photo's exact bytes, the dashboard, warnings and both report files."""
    client = _client(central)
    try:
        assert client.queue()["total"] == 5
        same = client.queue(QueueFilter(kind="same_id"))
        assert {i["record_id"] for i in same["items"]} == {central.ids["dup_a"], central.ids["dup_b"]}
        assert client.queue({"q": "张建"})["items"][0]["record_id"] == central.ids["clean1"]
        detail = client.record(central.ids["dup_a"])
        assert detail["record"]["id_number"] == central.payloads["dup_a"]["id_number"]
        assert [f["kind"] for f in detail["findings"]] == ["same_id"]
        assert central.ids["dup_b"] in detail["related"]
        photo = central.payloads["dup_a"]["attachments"][0]
        assert client.blob(photo["sha256"]) == card_jpeg("obama.jpg")
        assert client.dashboard()["enrolled"] == 4
        assert client.findings(kind="dataset_rule")["findings"][0]["record_id"] == central.ids["dead"]
        later = "2030-01-01T00:00:00Z"
        assert len(client.warnings(later)["items"]) == 5
        assert client.report_pdf(later).startswith(b"%PDF")
        assert client.report_csv(later).startswith(b"\xef\xbb\xbf")   # UTF-8 with BOM, for Excel
    finally:
        client.close()


def test_decisions_and_their_refusals_are_typed_errors(central):
    """Refusals come back as ApiError with the contract's codes (no reason, no password, stale version,
    unknown record, a cadre's token); an unreachable registry is a TransportError; a valid return works."""
    client = _client(central)
    rid = central.ids["dead"]
    try:
        with pytest.raises(ApiError) as e:
            client.decide(rid, "reject", 1, "", CENTRAL_PASSWORD)
        assert e.value.code == "review.reason_required"
        with pytest.raises(ApiError) as e:
            client.decide(rid, "approve", 1, "")
        assert e.value.code == "review.password_required"
        with pytest.raises(ApiError) as e:
            client.decide(rid, "approve", 1, "", "wrong-password")
        assert (e.value.status, e.value.code) == (401, "auth.bad_credentials")
        with pytest.raises(ApiError) as e:
            client.decide(rid, "return", 7, "请补拍证件照")
        assert (e.value.status, e.value.code) == (409, "review.version_stale")
        with pytest.raises(ApiError) as e:
            client.record("00000000-0000-4000-8000-000000000000")
        assert (e.value.status, e.value.code) == (404, "record.unknown")
        answer = client.decide(rid, "return", 1, "请补拍证件照")
        assert answer["record"]["state"] == "returned" and answer["record"]["review_reason"] == "请补拍证件照"
        with pytest.raises(ApiError) as e:
            client.card_issued(rid, 1)
        assert (e.value.status, e.value.code) == (409, "review.state_invalid")
    finally:
        client.close()
    cadre = _client(central, "cadre_a", CADRE_PASSWORD)
    try:
        with pytest.raises(ApiError) as e:
            cadre.queue()
        assert (e.value.status, e.value.code) == (403, "auth.forbidden")
    finally:
        cadre.close()
    nowhere = CentralClient.connect("http://127.0.0.1:9", "token")
    with pytest.raises(TransportError):
        nowhere.dashboard()
    nowhere.close()
