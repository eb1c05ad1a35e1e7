"""The audit trail: pushes, imports and new operators land in a hash-chained, append-only log that verify-audit checks."""

from __future__ import annotations

import json

import pytest
from regkit import PASSWORD, VILLAGE_A, item, payload, resident, write_roster
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from enrollment.errors import mask_id_number
from registry import audit
from registry.auth import add_operator, load_operator
from registry.db import open_database
from registry.roster import import_roster
from registry.service import push
from sync import protocol
from tests.conftest import yikatong

_TRIGGERS = {
    "sqlite": ["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"],
    "postgresql": ["DROP TRIGGER audit_log_no_update_delete ON audit_log"],
}


def verify_cli(db_url: str, *args: str):
    return yikatong("registry", "verify-audit", "--db", db_url, *args)


def _populate(db_url: str, tmp_path):
    """An operator, a roster import and pushes (new, update, conflict, tombstone): 7 entries."""
    engine = open_database(db_url)
    with engine.begin() as conn:
        op_id = add_operator(conn, username="cadre_a", password=PASSWORD, role="cadre", village_codes=[VILLAGE_A])
    rows = [resident(i) for i in range(4)]
    import_roster(engine, write_roster(tmp_path / "roster.csv", rows), VILLAGE_A)
    with engine.connect() as conn:
        operator = load_operator(conn, op_id)
    p1, p2 = payload(1), payload(2)
    results = push(engine, operator, "laptop-1", [item(p1), item(p2)])
    assert [r["status"] for r in results] == [protocol.ACCEPTED] * 2
    changed = {**p1, "phone": "13900000001"}
    assert push(engine, operator, "laptop-1", [item(changed, 1)])[0]["status"] == protocol.ACCEPTED
    stale = {**p1, "phone": "13900000002"}
    assert push(engine, operator, "laptop-2", [item(stale, 1)])[0]["status"] == protocol.CONFLICT
    # The same conflicting attempt again is not a new event.
    assert push(engine, operator, "laptop-2", [item(stale, 1)])[0]["status"] == protocol.CONFLICT
    tomb = protocol.push_item(p2["record_id"], 1, None, deleted=True)
    assert push(engine, operator, "laptop-1", [tomb])[0]["status"] == protocol.ACCEPTED
    personal = [r["id_number"] for r in rows] + [p1["id_number"], p2["id_number"]]
    names = [r["name"] for r in rows] + [r["address"] for r in rows]
    return engine, personal + names, (p1, p2)


def _entries(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(text("SELECT * FROM audit_log ORDER BY seq")).all()


def test_pushes_and_import_are_chained_and_verify(registry_db_url, tmp_path):
    """Each operator added, roster import and accepted, conflicting or deleting push appends one linked entry; verify-audit passes."""
    engine, personal, (p1, p2) = _populate(registry_db_url, tmp_path)
    entries = _entries(engine)
    assert [(e.seq, e.actor, e.action, e.subject) for e in entries] == [
        (1, "cli", audit.OPERATOR_ADDED, "cadre_a"),
        (2, "cli", audit.ROSTER_IMPORTED, VILLAGE_A),
        (3, "cadre_a", audit.RECORD_ACCEPTED, p1["record_id"]),
        (4, "cadre_a", audit.RECORD_ACCEPTED, p2["record_id"]),
        (5, "cadre_a", audit.RECORD_ACCEPTED, p1["record_id"]),
        (6, "cadre_a", audit.RECORD_CONFLICT, p1["record_id"]),
        (7, "cadre_a", audit.RECORD_DELETED, p2["record_id"]),
    ]
    assert entries[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:], strict=False))
    assert json.loads(entries[0].data) == {"role": "cadre", "villages": [VILLAGE_A]}
    roster_data = json.loads(entries[1].data)
    file_ref = roster_data.pop("file_text_ref")  # a file name is free text: stored outside the chain
    assert roster_data == {"rows": 4, "added": 4, "updated": 0, "unchanged": 0}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT text FROM audit_texts WHERE sha256 = :h"), {"h": file_ref}
                            ).scalar_one() == "roster.csv"
    assert json.loads(entries[4].data)["version"] == 2
    assert json.loads(entries[5].data)["server_version"] == 2

    # No full ID number, name, address or password anywhere in the log.
    dump = "\n".join("|".join(str(v) for v in e) for e in entries)
    for secret in [*personal, PASSWORD]:
        assert secret not in dump
    assert "id_number" not in json.loads(entries[2].data)  # the record id is the subject; no ID number at all
    assert mask_id_number(p1["id_number"]) not in dump

    assert audit.verify(engine) == (True, None, 7)
    r = verify_cli(registry_db_url)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "audit chain intact: 7 entries, 1 text(s)"
    r = verify_cli(registry_db_url, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["ok"] is True
    engine.dispose()


def test_direct_update_and_delete_are_refused(registry_db_url, tmp_path):
    """The registry's own database user cannot UPDATE or DELETE audit rows (nor TRUNCATE on PostgreSQL): a trigger refuses."""
    engine, _, _ = _populate(registry_db_url, tmp_path)
    before = _entries(engine)
    statements = ["UPDATE audit_log SET data = '{}' WHERE seq = 2", "DELETE FROM audit_log WHERE seq = 2",
                  "DELETE FROM audit_log"]
    if engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_log")
    for sql in statements:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))
    assert _entries(engine) == before
    assert audit.verify(engine) == (True, None, 7)
    engine.dispose()


def _drop_triggers(engine) -> None:
    """What an attacker with the database file (or the owner's password) can do."""
    with engine.begin() as conn:
        for sql in _TRIGGERS[engine.dialect.name]:
            conn.execute(text(sql))


def _assert_broken_at(db_url: str, seq: int) -> None:
    r = verify_cli(db_url)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [f"error: audit.broken: first broken entry seq={seq}"]
    r = verify_cli(db_url, "--json")
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert out["ok"] is False and out["first_broken_seq"] == seq
    assert out["error"]["code"] == "audit.broken"


def test_edited_row_is_named(registry_db_url, tmp_path):
    """With the trigger dropped, editing an entry's data directly makes verify-audit name that entry's seq."""
    engine, _, _ = _populate(registry_db_url, tmp_path)
    _drop_triggers(engine)
    with engine.begin() as conn:
        data = json.loads(conn.execute(text("SELECT data FROM audit_log WHERE seq = 2")).scalar_one())
        data["added"] = 40
        conn.execute(text("UPDATE audit_log SET data = :d WHERE seq = 2"),
                     {"d": json.dumps(data, sort_keys=True, separators=(",", ":"))})
    assert audit.verify(engine)[:2] == (False, 2)
    _assert_broken_at(registry_db_url, 2)
    engine.dispose()


def test_deleted_middle_row_is_named(registry_db_url, tmp_path):
    """With the trigger dropped, deleting a middle entry makes verify-audit name the entry after the gap."""
    engine, _, _ = _populate(registry_db_url, tmp_path)
    _drop_triggers(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 4"))
    assert audit.verify(engine)[:2] == (False, 5)
    _assert_broken_at(registry_db_url, 5)
    engine.dispose()


def test_reordered_and_renumbered_chain_is_named(registry_db_url, tmp_path):
    """Swapping two entries' contents, or deleting one and renumbering the rest to close the gap, is detected."""
    engine, _, _ = _populate(registry_db_url, tmp_path)
    _drop_triggers(engine)
    cols = "at, actor, action, subject, data, prev_hash, hash"
    with engine.begin() as conn:
        a = conn.execute(text(f"SELECT {cols} FROM audit_log WHERE seq = 3")).one()._asdict()
        b = conn.execute(text(f"SELECT {cols} FROM audit_log WHERE seq = 4")).one()._asdict()
        sets = ", ".join(f"{c} = :{c}" for c in a)
        conn.execute(text(f"UPDATE audit_log SET {sets} WHERE seq = 3"), b)
        conn.execute(text(f"UPDATE audit_log SET {sets} WHERE seq = 4"), a)
    assert audit.verify(engine)[:2] == (False, 3)
    with engine.begin() as conn:  # put them back, then delete 6 and renumber 7 as 6
        conn.execute(text(f"UPDATE audit_log SET {sets} WHERE seq = 3"), a)
        conn.execute(text(f"UPDATE audit_log SET {sets} WHERE seq = 4"), b)
    assert audit.verify(engine) == (True, None, 7)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 6"))
        conn.execute(text("UPDATE audit_log SET seq = 6 WHERE seq = 7"))
    assert audit.verify(engine)[:2] == (False, 6)
    engine.dispose()
