"""The laptop store and the registry's review (protocol v3, store schema version 4) on real SQLite files."""

from __future__ import annotations

from fieldkit import VILLAGE, enrollment_fields, person

from enrollment.records import validate_enrollment
from sync import protocol
from sync.store import REVIEW_COLUMNS, SCHEMA_VERSION, Store, connect, migrate, schema_version

DECIDED_AT = "2026-12-01T09:30:00.000+00:00"


def accept(store: Store, record_id: str, version: int = 1) -> None:
    """Play the registry's answer for a record: sending, then accepted at ``version``."""
    store.mark_sending([record_id])
    assert store.mark_result(record_id, {"record_id": record_id, "status": protocol.ACCEPTED,
                                         "version": version}) == "accepted"


def review(state: str, reason: str | None = None, decided_by: str | None = None,
           decided_at: str | None = None, card_issued_at: str | None = None) -> dict:
    return {"state": state, "reason": reason, "decided_by": decided_by, "decided_at": decided_at,
            "card_issued_at": card_issued_at}


def pull_record(store: Store, record: dict, version: int, rev: dict | None, counter: int | None = None) -> dict:
    """Apply one pulled record change as a v3 registry sends it (``rev`` None: as a v2 registry does)."""
    payload = record["payload"]
    data = {"record_id": record["record_id"], "version": version, "deleted": False, "payload": payload,
            "content_hash": protocol.record_hash(payload, False, record["record_id"])}
    if rev is not None:
        data["review"] = rev
    counter = counter if counter is not None else store.last_counter() + 1
    return store.apply_pull([{"counter": counter, "kind": protocol.KIND_RECORD, "key": record["record_id"],
                              "data": data}], counter)


def test_store_at_version_3_upgrades_to_review_columns(tmp_path):
    """A store written at schema version 3 with a record in it migrates to version 4; the record has no review until a pull brings one."""
    path = tmp_path / "v3.sqlite3"
    db = connect(path)
    assert migrate(db, upto=3) == 3
    db.execute("INSERT INTO records(record_id, state, village_code, name, server_version, created_at, updated_at)"
               " VALUES (?,?,?,?,?,?,?)", ["7f0c3a56-8c55-4b7e-9a43-000000000042", "accepted", VILLAGE, "王明", 1,
                                            "2026-11-01", "2026-11-01"])
    db.conn.commit()
    db.close()

    with Store.open(path) as s:
        assert schema_version(s.db) == SCHEMA_VERSION >= 4
        columns = {c.name for c in s.db["records"].columns}
        assert set(REVIEW_COLUMNS) <= columns
        rec = s.get_record("7f0c3a56-8c55-4b7e-9a43-000000000042")
        assert rec["review"] is None and rec["state"] == "accepted" and rec["name"] == "王明"
        assert s.counts_by_review_state()["none"] == 1


def test_pull_stores_the_review_when_the_version_is_unchanged(tmp_path):
    """A decision arrives in pull with the same version the laptop holds: the record stays accepted at that version and now shows the state and reason."""
    with Store.open(tmp_path / "laptop.sqlite3") as store:
        rid = store.enroll(enrollment_fields(person(30)))
        accept(store, rid, 1)
        rec = store.get_record(rid)
        stats = pull_record(store, rec, 1, review("needs_review"))
        assert stats["reviews"] == 1 and stats["returned"] == 0 and stats["records"] == 0
        assert store.get_record(rid)["review"] == review("needs_review")
        stats = pull_record(store, rec, 1, review("returned", "照片不清楚，请重拍", "central1", DECIDED_AT))
        assert stats["reviews"] == 1 and stats["returned"] == 1
        again = pull_record(store, rec, 1, review("returned", "照片不清楚，请重拍", "central1", DECIDED_AT))
        assert again["reviews"] == 0 and again["returned"] == 0  # nothing new
        rec = store.get_record(rid)
        assert rec["state"] == "accepted" and rec["server_version"] == 1
        assert rec["review"] == review("returned", "照片不清楚，请重拍", "central1", DECIDED_AT)
        assert [r["record_id"] for r in store.list_records(review_state="returned")] == [rid]
        assert store.list_records(review_state="approved") == []
        counts = store.counts_by_review_state()
        assert counts["returned"] == 1 and counts["approved"] == 0 and sum(counts.values()) == 1


def test_pull_stores_the_review_while_a_local_edit_is_pending(tmp_path):
    """A rejection pulled while the cadre has an unsent edit is shown on the record; the edit and its base version are kept."""
    with Store.open(tmp_path / "laptop.sqlite3") as store:
        rid = store.enroll(enrollment_fields(person(31)))
        accept(store, rid, 1)
        server_copy = store.get_record(rid)
        store.edit(rid, {"note": "补充材料"})
        pull_record(store, server_copy, 1, review("rejected", "与他村重复登记", "central1", DECIDED_AT))
        rec = store.get_record(rid)
        assert rec["state"] == "draft" and rec["fields"]["note"] == "补充材料" and rec["base_version"] == 1
        assert rec["review"]["state"] == "rejected" and rec["review"]["reason"] == "与他村重复登记"
        store.queue(rid)
        pull_record(store, server_copy, 1, review("returned", "请补充电话", "central2", DECIDED_AT))
        rec = store.get_record(rid)
        assert rec["state"] == "queued" and rec["review"]["reason"] == "请补充电话"


def test_a_pull_without_review_leaves_the_known_review(tmp_path):
    """A change from a v2 registry (no review) does not erase what the laptop knows of the review."""
    with Store.open(tmp_path / "laptop.sqlite3") as store:
        rid = store.enroll(enrollment_fields(person(32)))
        accept(store, rid, 1)
        rec = store.get_record(rid)
        pull_record(store, rec, 1, review("approved", None, "central1", DECIDED_AT, DECIDED_AT))
        pull_record(store, rec, 1, None)
        assert store.get_record(rid)["review"] == review("approved", None, "central1", DECIDED_AT, DECIDED_AT)


def test_a_pulled_record_from_elsewhere_carries_its_review(tmp_path):
    """A record first seen in pull (another laptop's) is stored with its review, visible in the roster too."""
    with Store.open(tmp_path / "laptop.sqlite3") as store:
        p = person(33)
        store.upsert_residents([{**p, "counter": 1}])
        fields = enrollment_fields(p, record_id="7f0c3a56-8c55-4b7e-9a43-000000000033")
        payload = validate_enrollment(fields)
        pull_record(store, {"record_id": fields["record_id"], "payload": payload}, 3,
                    review("returned", "住址不完整", "central1", DECIDED_AT))
        rec = store.get_record(fields["record_id"])
        assert rec["server_version"] == 3 and rec["review"]["state"] == "returned"
        member = store.households(VILLAGE)[0]["members"][0]
        assert member["review_state"] == "returned" and member["review_reason"] == "住址不完整"


def test_returned_record_corrected_goes_out_as_a_new_version_of_the_same_record(tmp_path):
    """A returned record edited by the cadre queues with base_version = the registry's version and the same record id; once accepted it is "received" again."""
    with Store.open(tmp_path / "laptop.sqlite3") as store:
        rid = store.enroll(enrollment_fields(person(34)))
        accept(store, rid, 1)
        pull_record(store, store.get_record(rid), 1, review("returned", "电话号码有误", "central1", DECIDED_AT))
        store.edit(rid, {"phone": "13900000034"})
        store.queue(rid)
        [item] = [r["item"] for r in store.records_to_send(10)]
        assert item["record_id"] == rid and item["base_version"] == 1 and item["payload"]["phone"] == "13900000034"
        assert store.get_record(rid)["review"]["state"] == "returned"  # until the registry has the new version
        accept(store, rid, 2)
        rec = store.get_record(rid)
        assert rec["server_version"] == 2 and rec["review"] == review("received")
        assert len(store.list_records()) == 1
