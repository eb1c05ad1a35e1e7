"""Relations as the household register writes them (GB/T 4761-2008), in the registry: roster import,
migration 0012 of stored records and residents, and a laptop older than protocol v5 still syncing."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from regkit import VILLAGE_A, id_number, payload, raw_item, upgrade_to, write_roster
from sqlalchemy import text

from enrollment import error_codes, relations
from enrollment.canonical import canonical_bytes, content_hash
from enrollment.roster_csv import CsvFileError
from registry.db import make_engine, migrate, open_database
from registry.roster import import_roster
from sync import protocol
from tests.conftest import yikatong

# A household as the register writes it, the relation as people type it or as its two-digit code.
REGISTER = [("户主", "02"), ("妻", "12"), ("长子", "22"), ("次女", "33"), ("儿媳", "38"), ("孙子", "41"),
            ("母亲", "52"), ("22", "22"), ("老婆", "12")]


def _register_rows() -> list[dict[str, str]]:
    rows = []
    for i, (relation, _code) in enumerate(REGISTER):
        number = id_number(i, dt.date(1940 + 7 * i, 3, 1 + i), region="510903")
        rows.append({"id_number": number, "name": f"蒋建{'国民华明芳英伟军丽'[i]}", "sex": "男" if int(number[16]) % 2 else "女",
                     "birth_date": "", "household_id": "H0001", "relation": relation, "address": "大石村1组",
                     "phone": ""})
    return rows


def test_register_roster_imports_with_standard_codes(registry_db_url, tmp_path):
    """A roster with 长子, 次女, 妻, 儿媳, 孙子, 母亲 and the code 22 imports through the CLI; each resident keeps the code."""
    rows = _register_rows()
    path = write_roster(tmp_path / "roster.csv", rows)
    done = yikatong("registry", "import-roster", "--db", registry_db_url, str(path), "--village", VILLAGE_A)
    assert done.returncode == 0, done.stderr
    engine = open_database(registry_db_url)
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT id_number, relation FROM residents")).all())
    engine.dispose()
    assert [stored[r["id_number"]] for r in rows] == [code for _word, code in REGISTER]


def test_unknown_relation_is_a_row_error_naming_the_value_at_its_line(registry_db_url, tmp_path):
    """A relation no table knows (邻居) refuses the file with relation.unknown at the file's line, naming 邻居; nothing is imported."""
    rows = _register_rows()
    rows[3]["relation"] = "邻居"
    path = write_roster(tmp_path / "roster.csv", rows)
    engine = open_database(registry_db_url)
    migrate(engine)
    with pytest.raises(CsvFileError) as refused:
        import_roster(engine, path, VILLAGE_A)
    assert [(r.line, r.code, r.field, r.data) for r in refused.value.rows] == [
        (5, relations.UNKNOWN, "relation", {"relation": "邻居"})]  # line 1 is the header
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM residents")).scalar() == 0
    engine.dispose()


def _legacy(p: dict, relation: str) -> dict:
    """A payload as a protocol-v4 laptop queued it: one of the seven simplified relations."""
    return {**p, "relation": relation}


def test_upgrade_from_0011_maps_stored_relations_to_codes(registry_db_url):
    """Records, their versions, conflicts and residents stored with the seven old values get the code
    (子女 by sex) and payloads their recomputed hash; residents a new pull counter; codes stay."""
    engine = make_engine(registry_db_url)
    upgrade_to(engine, "0011")
    now = "2026-12-01T00:00:00.000000Z"
    son = _legacy(payload(3), "子女")
    daughter = _legacy(payload(4), "子女")
    son["sex"], daughter["sex"] = "男", "女"   # (the ID number's sex is not what the migration reads)
    head = _legacy(payload(6), "户主")
    coded = payload(7)                        # already a code: untouched
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO villages (code, name, created_at) VALUES (:v, '大石村', :t)"), {"v": VILLAGE_A, "t": now})
        for n, p in enumerate((son, daughter, head, coded), start=1):
            values = {"id": p["record_id"], "n": p["id_number"], "h": content_hash(p), "t": now, "c": n,
                      "p": canonical_bytes(p).decode()}
            conn.execute(text(
                "INSERT INTO records (record_id, village_code, id_number, version, content_hash, payload, deleted,"
                " operator, device_id, state, counter, created_at, updated_at, state_at) VALUES"
                " (:id, '510903102201', :n, 1, :h, :p, false, 'a', 'd', 'approved', :c, :t, :t, :t)"), values)
            conn.execute(text(
                "INSERT INTO record_versions (record_id, version, content_hash, payload, deleted, operator, device_id,"
                " counter, received_at) VALUES (:id, 1, :h, :p, false, 'a', 'd', :c, :t)"), values)
        conn.execute(text(
            "INSERT INTO conflicts (record_id, base_version, server_version, content_hash, payload, deleted, operator,"
            " device_id, received_at) VALUES (:id, 0, 1, :h, :p, false, 'a', 'd', :t)"),
            {"id": head["record_id"], "h": content_hash(head), "p": canonical_bytes(head).decode(), "t": now})
        for i, (relation, sex) in enumerate((("户主", "男"), ("子女", "女"), ("孙子女", "男"), ("32", "女"))):
            conn.execute(text(
                "INSERT INTO residents (id_number, village_code, name, sex, birth_date, household_id, relation,"
                " address, phone, counter, updated_at) VALUES (:n, '510903102201', '王明', :s, '1970-01-01', 'H1',"
                " :r, '', '', :c, :t)"), {"n": f"R{i}", "s": sex, "r": relation, "c": 10 + i, "t": now})
        conn.execute(text("UPDATE server_counter SET value = 13 WHERE id = 1"))
    migrate(engine)
    with engine.connect() as conn:
        current = {r.record_id: r for r in conn.execute(text("SELECT record_id, version, content_hash, payload, state"
                                                              " FROM records"))}
        versions = {r.record_id: r for r in conn.execute(text("SELECT record_id, content_hash, payload"
                                                               " FROM record_versions"))}
        conflict = conn.execute(text("SELECT content_hash, payload FROM conflicts")).one()
        residents = {r.id_number: (r.relation, r.counter) for r in conn.execute(text(
            "SELECT id_number, relation, counter FROM residents"))}
        counter = conn.execute(text("SELECT value FROM server_counter WHERE id = 1")).scalar()
    engine.dispose()
    for p, code in ((son, "20"), (daughter, "30"), (head, "02"), (coded, coded["relation"])):
        expected = {**p, "relation": code}
        for row in (current[p["record_id"]], versions[p["record_id"]]):
            assert json.loads(row.payload) == expected
            assert row.payload == canonical_bytes(expected).decode() and row.content_hash == content_hash(expected)
        assert current[p["record_id"]].version == 1 and current[p["record_id"]].state == "approved"
    assert current[coded["record_id"]].content_hash == content_hash(coded)
    assert json.loads(conflict.payload)["relation"] == "02" and conflict.content_hash == content_hash(
        {**head, "relation": "02"})
    assert residents == {"R0": ("02", 14), "R1": ("30", 15), "R2": ("40", 16), "R3": ("32", 13)}
    assert counter == 16


def test_migration_table_is_the_data_files_legacy_table():
    """Migration 0012 and the laptop store's version 7 freeze the same old→code table as resources/relations."""
    import importlib

    from sync.local import schema as laptop
    m0012 = importlib.import_module("registry.migrations.versions.0012_relation_codes")
    for old in relations.table().legacy:
        for sex in ("男", "女"):
            assert m0012.code_of(old, sex) == laptop._m7_code(old, sex) == relations.legacy_code(old, sex)


def test_old_laptop_pushing_a_simplified_relation_still_syncs(shared):
    """A protocol-v4 laptop's 子女 is stored as sent (version 1, the hash it knows: a resend is unchanged) and
    as code 20/30 in version 2, which its pull brings and its digest then agrees with; a v5 laptop's 子女 is refused."""
    village = "510903102299"
    shared.add_operator("cadre_old_laptop", "cadre", village)
    cadre = shared.login("cadre_old_laptop", device_id="old-laptop")
    v4 = {protocol.VERSION_HEADER: "4"}
    sent = _legacy(payload(11, village=village, record_id=str(uuid.uuid4())), "子女")
    code = "20" if sent["sex"] == "男" else "30"
    item = raw_item(sent)

    def push(headers: dict[str, str]) -> dict:
        r = cadre.post(protocol.PUSH, json={"device_id": "old-laptop", "records": [item]}, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()["results"][0]

    refused = push({})
    assert refused["status"] == protocol.REFUSED and refused["error"]["code"] == error_codes.RECORD_NOT_NORMALIZED
    first = push(v4)
    assert (first["status"], first["version"]) == (protocol.ACCEPTED, 1)
    assert push(v4)["status"] == protocol.UNCHANGED   # the answer was lost: the resend changes nothing

    r = cadre.get(protocol.PULL, params={"since": 0, "limit": 1000}, headers=v4)
    assert r.status_code == 200 and not r.json()["more"]
    changes = r.json()["changes"]
    record = [c["data"] for c in changes if c["kind"] == protocol.KIND_RECORD and c["key"] == sent["record_id"]]
    assert len(record) == 1 and record[0]["version"] == 2
    assert record[0]["payload"] == {**sent, "relation": code}
    assert record[0]["content_hash"] == content_hash({**sent, "relation": code})
    local, count = protocol.digest([(sent["record_id"], 2, record[0]["content_hash"])])
    r = cadre.post(protocol.DIGEST, json={"digest": local, "count": count}, headers=v4)
    assert r.status_code == 200 and r.json()["match"] is True

