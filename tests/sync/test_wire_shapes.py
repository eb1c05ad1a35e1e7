"""Pull changes and push results are parsed strictly (protocol.PullChange / PushResult): another shape is
refused with its code and nothing of the batch is applied."""

from __future__ import annotations

import pytest
from fieldkit import enrollment_fields, person

from sync import protocol
from sync.client import SyncClient
from sync.store import Store


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "laptop.sqlite3")
    yield s
    s.close()


def _resident_change(counter: int, p: dict) -> dict:
    return {"counter": counter, "kind": protocol.KIND_RESIDENT, "key": p["id_number"], "data": p}


def _record_data(rid: str, payload: dict, **extra) -> dict:
    return {"record_id": rid, "version": 1, "deleted": False, "payload": payload,
            "content_hash": protocol.record_hash(payload, False, rid), **extra}


def test_the_registrys_own_shapes_parse_and_unknown_keys_are_ignored():
    """What registry/service.py sends parses; keys a newer protocol adds are ignored, as older laptops
    ignored ``review`` when v3 added it."""
    p = person(1)
    change = protocol.PullChange.from_wire({**_resident_change(3, p), "added_in_v9": 1})
    assert change.resident is not None and change.resident.name == p["name"] and change.record is None
    rec = protocol.PullChange.from_wire({"counter": 4, "kind": "record", "key": "r1", "data": _record_data(
        "r1", {"name": "x"}, state="received", operator="c1", device_id="d",
        review={"state": "returned", "reason": "照片模糊", "decided_by": "c", "decided_at": "t",
                "card_issued_at": None})}).record
    assert rec is not None and rec.review is not None and rec.review.values()[:2] == ("returned", "照片模糊")
    result = protocol.PushResult.from_wire({"record_id": "r1", "status": "conflict", "version": 2, "counter": 9,
                                            "error": {"code": protocol.E_CONFLICT, "message": "m", "field": None,
                                                      "data": {"base_version": 1}},
                                            "server": {"version": 2, "content_hash": "h", "payload": {"a": 1},
                                                       "deleted": False}})
    assert result.server == protocol.ServerVersion(2, {"a": 1}, False, "h")
    with pytest.raises(AttributeError):
        result.status = "accepted"  # type: ignore[misc]


@pytest.mark.parametrize("bad", [
    {"counter": 2, "kind": "resident", "key": "k", "resident": person(2)},      # the old tolerated key
    {"counter": 2, "kind": "resident", "key": "k", "data": {"name": "x"}},       # no id_number
    {"counter": 2, "kind": "record", "key": "k", "record": {}},                  # no data
    {"counter": 2, "kind": "record", "key": "r", "data": {"record_id": "r", "version": 1, "deleted": False,
                                                          "payload": {}}},       # no content_hash
    {"counter": 2, "kind": "record", "key": "r", "data": _record_data("r", {}, review={"state": 3})},
    {"counter": "2", "kind": "resident", "key": "k", "data": person(2)},         # counter not a number
    {"counter": 2, "kind": "household", "key": "k", "data": {}},                 # unknown kind
    ["not", "an", "object"],
])
def test_a_malformed_change_refuses_the_whole_batch(store, bad):
    """One malformed change in a batch: protocol.bad_change, and neither the good change before it nor
    the batch's counter is applied."""
    with pytest.raises(protocol.BadWireShape) as e:
        store.apply_pull([_resident_change(1, person(1)), bad], 2)
    assert e.value.code == protocol.E_BAD_CHANGE and e.value.data["index"] == 1
    assert store.roster_count() == 0 and store.last_counter() == 0


@pytest.mark.parametrize("bad", [
    {"status": "ok", "version": 1},                                             # unknown status
    {"status": protocol.ACCEPTED},                                              # no version
    {"status": protocol.ACCEPTED, "version": True},                             # a bool is no version
    {"status": protocol.CONFLICT, "version": 2, "server_version": 2, "server_payload": {}},   # old aliases
    {"status": protocol.REFUSED},                                               # no reason
    {"status": protocol.REFUSED, "error": {"message": "no code"}},
])
def test_a_malformed_push_result_applies_no_answer_of_the_batch(store, bad):
    """One malformed answer: protocol.bad_push_result, and every record of the batch stays "sending" (sent
    again next time; the registry answers "unchanged" for a repeat)."""
    good, other = (store.enroll(enrollment_fields(person(i))) for i in (5, 6))
    store.mark_sending([good, other])
    with pytest.raises(protocol.BadWireShape) as e:
        store.mark_results([(good, {"record_id": good, "status": protocol.ACCEPTED, "version": 1}), (other, bad)])
    assert e.value.code == protocol.E_BAD_PUSH_RESULT and e.value.data["record_id"] == other
    assert [store.get_record(r)["state"] for r in (good, other)] == ["sending", "sending"]


class _Registry:
    """Answers the client's requests from a table; a pull answer in another shape."""

    def __init__(self, pull_answer: dict) -> None:
        self.pull_answer = pull_answer

    def request(self, method: str, path: str, **_kw):
        if path == protocol.HEALTH:
            return {"status": "ok", "protocol_version": protocol.PROTOCOL_VERSION, "min_protocol_version": 1}
        if path == protocol.PULL:
            return self.pull_answer
        raise AssertionError(path)

    def close(self) -> None:
        pass


def test_the_client_reports_a_malformed_pull_with_its_code(store):
    """A sync meeting a pull in another shape stops with error_code protocol.bad_change; the counter stays."""
    store.set_meta("token", "t")
    bad = {"changes": [{"counter": 1, "kind": "resident", "key": "k", "resident": person(1)}],
           "last_counter": 1, "more": False}
    client = SyncClient(store, _Registry(bad), sleep=lambda _s: None)
    report = client.run()
    assert report.error_code == protocol.E_BAD_CHANGE and not report.ok
    assert store.last_counter() == 0 and store.roster_count() == 0
