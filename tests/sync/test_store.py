"""The laptop store on a real SQLite file: migrations, drafts, outbox, roster search, tombstones."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest
from fieldkit import VILLAGE, enrollment_fields, people, person

from enrollment.errors import DomainError, ValidationErrors
from sync import protocol
from sync.store import SCHEMA_VERSION, STATES, Store, connect, migrate, schema_version


def roster(store: Store, rows: list[dict], batch: int = 100) -> None:
    counter = store.last_counter()
    for i in range(0, len(rows), batch):
        changes = []
        for r in rows[i:i + batch]:
            counter += 1
            changes.append({"counter": counter, "kind": protocol.KIND_RESIDENT, "key": r["id_number"], "data": r})
        store.apply_pull(changes, counter)


def accept(store: Store, record_id: str, version: int = 1) -> None:
    """Play the registry's answer for a record: mark it sending, then accepted at ``version``."""
    store.mark_sending([record_id])
    assert store.mark_result(record_id, {"record_id": record_id, "status": protocol.ACCEPTED,
                                         "version": version}) == "accepted"


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "laptop.sqlite3")
    yield s
    s.close()


def test_new_store_is_wal_full_and_current(tmp_path):
    """A new store uses WAL with synchronous=FULL, is at the newest schema version and has a device id."""
    s = Store.open(tmp_path / "a.sqlite3")
    assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert s.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert schema_version(s.db) == SCHEMA_VERSION
    device = s.device_id
    s.close()
    with Store.open(tmp_path / "a.sqlite3") as again:
        assert again.device_id == device


def test_store_at_version_1_upgrades_and_backfills_search_keys(tmp_path):
    """A store written at schema version 1 opens, migrates to the newest version and its residents become searchable by pinyin."""
    path = tmp_path / "old.sqlite3"
    db = connect(path)
    assert migrate(db, upto=1) == 1
    p = person(5)
    db.execute("INSERT INTO residents(id_number, name, sex, birth_date, village_code, household_id, relation,"
               " address, phone, counter) VALUES (?,?,?,?,?,?,?,?,?,?)",
               [p["id_number"], "𠈌明", p["sex"], p["birth_date"], VILLAGE, "H1", "户主", "", "", 1])
    db.conn.commit()
    db.close()

    s = Store.open(path)
    assert schema_version(s.db) == SCHEMA_VERSION
    assert [r["name"] for r in s.search_residents("𠈌m")] == ["𠈌明"]
    assert s.device_id
    s.close()


def test_a_store_newer_than_the_app_is_refused(tmp_path):
    """Opening a store written by a newer app version fails with store.too_new instead of damaging it."""
    path = tmp_path / "new.sqlite3"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(DomainError) as e:
        Store.open(path)
    assert e.value.code == "store.too_new"


def test_draft_autosave_survives_reopen(tmp_path):
    """Whatever was typed into a draft, valid or not, is there after the store is closed and reopened."""
    path = tmp_path / "laptop.sqlite3"
    s = Store.open(path)
    rid = s.save_draft({"name": "𠈌", "id_number": "5109"})
    s.save_draft({"name": "𠈌明", "id_number": "51090319800501"}, rid)
    s.close()
    s = Store.open(path)
    rec = s.get_record(rid)
    assert rec["state"] == "draft"
    assert rec["fields"]["name"] == "𠈌明" and rec["fields"]["id_number"] == "51090319800501"
    s.close()


def test_queue_lists_every_validation_error_and_keeps_the_draft(store):
    """Queueing an invalid draft raises ValidationErrors naming every bad field, and the record stays a draft."""
    p = person(1)
    rid = store.save_draft({**p, "id_number": p["id_number"][:-1] + ("0" if p["id_number"][-1] != "0" else "1"),
                            "phone": "12345", "relation": "邻居"})
    with pytest.raises(ValidationErrors) as e:
        store.queue(rid)
    codes = {x.code for x in e.value.errors}
    assert {"id_number.check_character", "phone.invalid", "relation.unknown", "consent.missing"} <= codes
    assert store.get_record(rid)["state"] == "draft"


def test_queue_normalises_and_hashes_the_payload(store):
    """A queued record carries the normalised payload and protocol.record_hash of it."""
    store.set_meta("operator", {"username": "c", "villages": [{"code": VILLAGE, "name": "大石村"}]})
    p = person(2)
    fields = enrollment_fields(p)
    del fields["village_code"]  # filled from the operator's only village
    rid = store.save_draft({**fields, "id_number": p["id_number"].lower(), "phone": ""})
    payload = store.queue(rid)
    rec = store.get_record(rid)
    assert rec["state"] == "queued" and payload["village_code"] == VILLAGE
    assert payload["id_number"] == p["id_number"] and payload["record_id"] == rid
    assert rec["content_hash"] == protocol.record_hash(payload, False, rid)
    assert store.records_to_send(10)[0]["item"] == protocol.push_item(rid, 0, payload)


def test_enroll_is_one_transaction(store):
    """enroll() with a bad attachment kind leaves nothing behind: no record, no blob."""
    with pytest.raises(DomainError):
        store.enroll(enrollment_fields(person(3)), [("consent_form", b"scan", "image/jpeg"),
                                                    ("selfie", b"x", "image/jpeg")])
    assert store.list_records() == []
    assert store.db.execute("SELECT count(*) FROM blobs").fetchone()[0] == 0


def test_search_by_name_pinyin_initials_and_id_number(store):
    """The roster answers a name substring, a full-pinyin prefix, an initials prefix and an ID-number substring."""
    rows = people(300)
    rows[7]["name"] = "张三丰"
    rows[8]["name"] = "𠈌明"
    roster(store, rows)
    assert store.roster_count() == 300
    assert rows[7]["id_number"] in {r["id_number"] for r in store.search_residents("三丰")}
    assert rows[7]["id_number"] in {r["id_number"] for r in store.search_residents("zhangsanf")}
    assert rows[7]["id_number"] in {r["id_number"] for r in store.search_residents("ZSF")}
    tail = rows[9]["id_number"][-6:]
    assert all(tail in r["id_number"] for r in store.search_residents(tail))
    assert rows[9]["id_number"] in {r["id_number"] for r in store.search_residents(tail)}
    assert len(store.search_residents("z", limit=5)) == 5
    assert store.search_residents("三丰", village_code="510903102299") == []
    found = store.search_residents("𠈌")
    assert [r["name"] for r in found] == ["𠈌明"] or "𠈌明" in [r["name"] for r in found]
    assert store.search_residents("𠈌明")[0]["id_number"] == rows[8]["id_number"]


def test_names_outside_the_bmp_stay_intact(store):
    """𠈌 goes through the roster, a queued payload, the canonical text and search unchanged."""
    p = {**person(4), "name": "𠈌芬"}
    roster(store, [p])
    rid = store.enroll(enrollment_fields(p))
    assert store.get_record(rid)["payload"]["name"] == "𠈌芬"
    raw = store.db.execute("SELECT payload FROM records WHERE record_id = ?", [rid]).fetchone()[0]
    assert "𠈌芬" in raw and "\\u" not in raw
    hit = store.search_residents("𠈌芬")[0]
    assert hit["name"] == "𠈌芬" and hit["enrollment_state"] == "queued" and hit["record_id"] == rid


def test_households_group_members_with_their_head(store):
    """households() groups a village's residents by household, head first named."""
    roster(store, people(8))
    hh = store.households(VILLAGE)
    assert len(hh) == 2 and all(len(h["members"]) == 4 for h in hh)
    assert hh[0]["head_name"] == people(1)[0]["name"]


def test_delete_never_sent_is_gone_and_sent_becomes_a_tombstone(store):
    """Deleting a record the registry never saw removes it (and its blob); deleting an accepted one queues a tombstone."""
    gone = store.enroll(enrollment_fields(person(10)), [("consent_form", b"scan-10", "image/jpeg")])
    store.delete(gone)
    with pytest.raises(DomainError):
        store.get_record(gone)
    assert store.db.execute("SELECT count(*) FROM blobs").fetchone()[0] == 0

    rid = store.enroll(enrollment_fields(person(11)))
    accept(store, rid, version=3)
    store.delete(rid)
    rec = store.get_record(rid)
    assert rec["deleted"] and rec["state"] == "queued" and rec["base_version"] == 3
    assert rec["content_hash"] == protocol.record_hash(None, True, rid)
    item = store.records_to_send(10)[0]["item"]
    assert item["deleted"] is True and item["payload"] is None and item["base_version"] == 3


def test_counts_name_every_state(store):
    """counts_by_state() names all five send states, zero included."""
    assert store.counts_by_state() == dict.fromkeys(STATES, 0)
    store.save_draft({"name": "王"})
    a = store.enroll(enrollment_fields(person(12)))
    store.enroll(enrollment_fields(person(13)))
    accept(store, a)
    assert store.counts_by_state() == {"draft": 1, "queued": 1, "sending": 0, "accepted": 1,
                                       "needs-attention": 0}


def test_edit_of_accepted_record_carries_its_base_version(store):
    """Editing an accepted record puts it back to draft with base_version = the server's version; re-queueing the same content is accepted at once."""
    rid = store.enroll(enrollment_fields(person(14)))
    accept(store, rid, version=2)
    store.edit(rid, {"note": "改过"})
    rec = store.get_record(rid)
    assert rec["state"] == "draft" and rec["base_version"] == 2 and rec["fields"]["note"] == "改过"
    store.queue(rid)
    assert store.records_to_send(10)[0]["item"]["base_version"] == 2
    store.edit(rid, {"note": ""})
    assert store.queue(rid)["note"] == ""
    assert store.get_record(rid)["state"] == "accepted"  # same content as version 2


def test_a_record_being_sent_cannot_be_edited(store):
    """While a record is "sending", edits and deletes are refused with record.sending."""
    rid = store.enroll(enrollment_fields(person(15)))
    store.mark_sending([rid])
    for action in (lambda: store.edit(rid, {"note": "x"}), lambda: store.delete(rid),
                   lambda: store.add_attachment(rid, "id_front", b"x", "image/jpeg")):
        with pytest.raises(DomainError) as e:
            action()
        assert e.value.code == "record.sending"


def test_conflict_keeps_both_versions_and_resolves(store):
    """A conflict answer keeps the laptop's payload and the server's; "theirs" adopts the server's, "mine" re-queues on top of it."""
    rids = [store.enroll(enrollment_fields(person(i))) for i in (16, 17)]
    for rid in rids:
        accept(store, rid, 1)
        store.edit(rid, {"note": "mine"})
        store.queue(rid)
    store.mark_sending(rids)
    server_payloads = {}
    for rid in rids:
        server_payloads[rid] = {**store.get_record(rid)["payload"], "note": "theirs"}
        store.mark_result(rid, {"record_id": rid, "status": protocol.CONFLICT, "version": 2,
                                "error": {"code": protocol.E_CONFLICT, "message": "m", "data": {}},
                                "server": {"version": 2, "payload": server_payloads[rid], "deleted": False}})
    rec = store.get_record(rids[0])
    assert rec["state"] == "needs-attention" and rec["attention"]["code"] == protocol.E_CONFLICT
    assert rec["payload"]["note"] == "mine" and rec["conflict"]["server_payload"]["note"] == "theirs"
    assert rec["conflict"]["server_version"] == 2

    store.resolve_conflict(rids[0], "theirs")
    rec = store.get_record(rids[0])
    assert rec["state"] == "accepted" and rec["payload"]["note"] == "theirs" and rec["server_version"] == 2
    assert rec["conflict"] is None
    store.resolve_conflict(rids[1], "mine")
    rec = store.get_record(rids[1])
    assert rec["state"] == "queued" and rec["base_version"] == 2 and rec["payload"]["note"] == "mine"


def test_refused_answer_keeps_the_servers_reason(store):
    """A refused answer puts that record in needs-attention with the registry's code and message; others are untouched."""
    bad, good = (store.enroll(enrollment_fields(person(i))) for i in (18, 19))
    store.mark_sending([bad, good])
    store.mark_results([
        (bad, {"record_id": bad, "status": protocol.REFUSED,
               "error": {"code": protocol.E_VILLAGE, "message": "not yours", "field": "village_code",
                         "data": {"village_code": VILLAGE}}}),
        (good, {"record_id": good, "status": protocol.UNCHANGED, "version": 1})])
    assert store.get_record(bad)["attention"] == {
        "code": protocol.E_VILLAGE, "message": "not yours", "data": {"village_code": VILLAGE, "field": "village_code"}}
    assert store.get_record(good)["state"] == "accepted"


def test_pull_stores_other_laptops_records_and_keeps_pending_edits(store):
    """A pulled record is stored accepted and editable (its attachments kept); a newer server version does not overwrite a pending local edit."""
    other = enrollment_fields(person(20))
    other["record_id"] = "7f0c3a56-8c55-4b7e-9a43-000000000001"
    other["attachments"] = [{"kind": "consent_form", "sha256": "ab" * 32, "size": 10, "mime": "image/jpeg"}]
    from enrollment.records import validate_enrollment
    payload = validate_enrollment(other)
    chash = protocol.record_hash(payload, False, other["record_id"])
    store.apply_pull([{"counter": 5, "kind": "record", "key": other["record_id"],
                       "data": {"record_id": other["record_id"], "version": 1, "content_hash": chash,
                                "deleted": False, "payload": payload}}], 5)
    rec = store.get_record(other["record_id"])
    assert rec["state"] == "accepted" and rec["server_version"] == 1 and store.last_counter() == 5
    assert store.local_digest() == protocol.digest([(other["record_id"], 1, chash)])

    store.edit(other["record_id"], {"note": "local"})
    newer = {**payload, "note": "elsewhere"}
    store.apply_pull([{"counter": 6, "kind": "record", "key": other["record_id"],
                       "data": {"record_id": other["record_id"], "version": 2,
                                "content_hash": protocol.record_hash(newer, False, other["record_id"]),
                                "deleted": False, "payload": newer}}], 6)
    rec = store.get_record(other["record_id"])
    assert rec["fields"]["note"] == "local" and rec["base_version"] == 1 and store.last_counter() == 6
    assert rec["server_version"] == 2  # the version the registry holds now: what its digest counts
    queued = store.queue(other["record_id"])
    assert queued["attachments"] == payload["attachments"]  # kept, though the bytes are on the registry
    assert store.blobs_to_send() == []


def test_offline_login_uses_the_cached_credential(store):
    """After one online login, the same password logs in offline; a wrong one or an unknown user is refused with its code."""
    op = {"username": "cadre1", "display_name": "李", "role": "cadre", "villages": [{"code": VILLAGE, "name": ""}]}
    store.save_login("http://127.0.0.1:1/", "cadre1", "pw-1", {"token": "t", "expires_at": "2099", "operator": op})
    assert store.registry_url() == "http://127.0.0.1:1" and store.token() == "t"
    store.logout()
    assert store.token() is None
    assert store.offline_login("cadre1", "pw-1")["username"] == "cadre1"
    with pytest.raises(DomainError) as e:
        store.offline_login("cadre1", "wrong")
    assert e.value.code == "auth.bad_credentials"
    with pytest.raises(DomainError) as e:
        store.offline_login("nobody", "pw-1")
    assert e.value.code == "auth.offline_unknown_user"
    assert "pw-1" not in (store.path.read_bytes() + store.path.with_name(store.path.name + "-wal").read_bytes()
                          ).decode("latin-1")


def _face_fields(p: dict) -> dict:
    return enrollment_fields(p, face={"model": "dlib_face_recognition_resnet_model_v1", "version": "1",
                                      "quality": {"pose.yaw": "1.2500"}})


def test_face_templates_lists_live_records_with_a_template(store):
    """face_templates() returns (record id, ID number, name, template bytes) of every live local record with a
    face template, can leave one record out, and forgets a deleted record; card photos read back by kind."""
    a, b, c = people(3)
    rid_a = store.enroll(_face_fields(a), [("card_photo", b"\xff\xd8jpeg-a", "image/jpeg"),
                                           ("face_template", b"template-a", "application/x-yikatong-face-template")])
    rid_b = store.enroll(_face_fields(b), [("face_template", b"template-b", "application/x-yikatong-face-template")])
    store.enroll(enrollment_fields(c))  # no face
    assert store.face_templates() == [(rid_a, a["id_number"], a["name"], b"template-a"),
                                      (rid_b, b["id_number"], b["name"], b"template-b")]
    assert [t[0] for t in store.face_templates(exclude_record_id=rid_a)] == [rid_b]
    assert store.attachment_bytes(rid_a, "card_photo") == b"\xff\xd8jpeg-a"
    assert store.attachment_bytes(rid_b, "card_photo") is None
    payload = store.get_record(rid_a)["payload"]
    assert payload["face"]["model"] == "dlib_face_recognition_resnet_model_v1"
    store.delete(rid_b)
    assert [t[0] for t in store.face_templates()] == [rid_a]


def test_face_template_without_face_info_is_not_queued(store):
    """A template attachment without the payload's face info (model, version) is refused: nothing is stored."""
    p = person(7)
    with pytest.raises(ValidationErrors) as info:
        store.enroll(enrollment_fields(p), [("face_template", b"t", "application/x-yikatong-face-template")])
    assert "face.info_missing" in {e.code for e in info.value.errors}
    assert store.list_records() == [] and store.face_templates() == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_store_files_are_owner_only(tmp_path):
    """The laptop store (roster, bearer token) and its -wal/-shm are 0600 in a 0700 folder; a store an
    older version left 0644 is narrowed when opened (issue 10)."""
    old = os.umask(0o022)
    try:
        path = tmp_path / "laptop" / "store.sqlite3"
        store = Store.open(path)
        store.set_meta("token", "secret-token")
        for suffix in ("", "-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            assert side.exists() and stat.S_IMODE(side.stat().st_mode) == 0o600, suffix
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        store.close()
        for suffix in ("", "-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                os.chmod(side, 0o644)
        os.chmod(path.parent, 0o755)
        Store.open(path).close()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    finally:
        os.umask(old)


def test_send_queue_lists_only_this_laptops_records(store):
    """Records other laptops sent arrive by pull but are not this laptop's 发送队列 (mine_only); a local draft
    is, and so is a pulled record once this laptop edits it."""
    from enrollment.records import validate_enrollment

    other = enrollment_fields(person(21))
    other["record_id"] = "7f0c3a56-8c55-4b7e-9a43-000000000002"
    payload = validate_enrollment(other)
    store.apply_pull([{"counter": 1, "kind": "record", "key": other["record_id"],
                       "data": {"record_id": other["record_id"], "version": 1, "deleted": False, "payload": payload,
                                "content_hash": protocol.record_hash(payload, False, other["record_id"])}}], 1)
    mine = store.save_draft(enrollment_fields(person(22)))
    assert [r["record_id"] for r in store.list_records(mine_only=True)] == [mine]
    assert store.counts_by_state(mine_only=True)["accepted"] == 0
    assert len(store.list_records()) == 2 and store.counts_by_state()["accepted"] == 1

    store.edit(other["record_id"], {"phone": "13800138000"})
    assert {r["record_id"] for r in store.list_records(mine_only=True)} == {mine, other["record_id"]}

