"""The laptop store's schema version 7 (protocol v5): relations stored as the seven simplified values
become GB/T 4761 codes, with the same bytes and hashes the registry's migration 0012 gives."""

from __future__ import annotations

import json
import uuid

from fieldkit import VILLAGE, enrollment_fields, person

from enrollment import relations
from enrollment.canonical import canonical_bytes, content_hash
from enrollment.records import validate_enrollment
from sync.store import SCHEMA_VERSION, Store, connect, migrate, schema_version


def _legacy_payload(i: int, relation: str) -> dict:
    p = validate_enrollment({**enrollment_fields(person(i)), "record_id": str(uuid.uuid4())})
    return {**p, "relation": relation}


def test_store_at_version_6_maps_relations_to_codes(tmp_path):
    """Records (payload, hash, the server's hash when it was this payload's, typed fields, a kept conflict) and
    residents stored with 户主/子女/配偶 at version 6 read as codes after the upgrade; the registry's 0012 agrees."""
    path = tmp_path / "v6.sqlite3"
    db = connect(path)
    assert migrate(db, upto=6) == 6
    accepted = _legacy_payload(1, "子女")
    queued = _legacy_payload(2, "户主")
    conflict = {**queued, "phone": ""}
    rows = [
        (accepted, "accepted", content_hash(accepted), None),
        (queued, "queued", "f" * 64, json.dumps(conflict, ensure_ascii=False)),  # server holds another version
    ]
    for p, state, server_hash, conflict_payload in rows:
        db.execute("INSERT INTO records(record_id, state, village_code, id_number, name, fields, payload, content_hash,"
                   " server_version, server_hash, conflict_payload, created_at, updated_at)"
                   " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   [p["record_id"], state, VILLAGE, p["id_number"], p["name"], json.dumps(p, ensure_ascii=False),
                    canonical_bytes(p).decode(), content_hash(p), 1, server_hash, conflict_payload, "2026-12-01",
                    "2026-12-01"])
    draft_id = str(uuid.uuid4())
    db.execute("INSERT INTO records(record_id, state, village_code, fields, created_at, updated_at)"
               " VALUES (?,?,?,?,?,?)", [draft_id, "draft", VILLAGE,
                                         json.dumps({"relation": "配偶", "sex": "女", "name": "王"}), "x", "x"])
    for n, (relation, sex) in enumerate((("户主", "男"), ("子女", "女"), ("22", "男"))):
        db.execute("INSERT INTO residents(id_number, name, sex, village_code, household_id, relation)"
                   " VALUES (?,?,?,?,?,?)", [f"R{n}", "王明", sex, VILLAGE, "H1", relation])
    db.conn.commit()
    db.close()

    with Store.open(path) as s:
        assert schema_version(s.db) == SCHEMA_VERSION >= 7
        got = {r["record_id"]: r for r in s.db.query("SELECT * FROM records")}
        child = "20" if accepted["sex"] == "男" else "30"
        new_accepted = {**accepted, "relation": child}
        a = got[accepted["record_id"]]
        assert a["payload"] == canonical_bytes(new_accepted).decode()
        assert a["content_hash"] == a["server_hash"] == content_hash(new_accepted)
        assert json.loads(a["fields"])["relation"] == child
        q = got[queued["record_id"]]
        assert json.loads(q["payload"])["relation"] == "02" and q["content_hash"] == content_hash(
            {**queued, "relation": "02"})
        assert q["server_hash"] == "f" * 64   # the server's other version: its own migration rewrites it
        assert json.loads(q["conflict_payload"])["relation"] == "02"
        assert json.loads(got[draft_id]["fields"])["relation"] == "10"
        assert dict(s.db.execute("SELECT id_number, relation FROM residents").fetchall()) == {
            "R0": "02", "R1": "30", "R2": "22"}
        # The same bytes as the registry's 0012 and the registry's mapping of an old laptop's push.
        assert relations.migrate_payload(accepted) == new_accepted
        assert validate_enrollment(new_accepted) == new_accepted
