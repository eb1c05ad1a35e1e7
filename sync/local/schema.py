"""The laptop store's tables, their versioned migrations (``PRAGMA user_version``) and the pragmas.

Each migration is history: it keeps the literal values it was written with (a renamed constant
must not change what version 1 created), and :func:`migrate` applies the missing ones, each with
its ``user_version`` bump in one transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlite_utils

from enrollment import error_codes
from enrollment.canonical import canonical_bytes, content_hash
from enrollment.errors import DomainError
from enrollment.text import pinyin_keys

# protocol.REVIEW_KEYS → the records columns that keep them (schema version 4)
REVIEW_COLUMNS = ("review_state", "review_reason", "review_decided_by", "review_decided_at", "review_card_issued_at")


# ---------------------------------------------------------------------------------------- migrations

def _m1_initial(db: sqlite_utils.Database) -> None:
    """Version 1: meta, roster, records outbox, attachments, blobs."""
    db["meta"].create({"key": str, "value": str}, pk="key")
    db["residents"].create({
        "id_number": str, "name": str, "sex": str, "birth_date": str, "village_code": str,
        "household_id": str, "relation": str, "address": str, "phone": str, "counter": int,
    }, pk="id_number", not_null={"name", "village_code"})
    db["residents"].create_index(["village_code", "household_id"])
    db["records"].create({
        "record_id": str, "village_code": str, "id_number": str, "name": str,
        "fields": str,            # raw fields as typed (autosave), JSON
        "payload": str,           # canonical normalised payload once queued, JSON; NULL for a draft
        "content_hash": str,      # protocol.record_hash of what is (to be) sent
        "state": str, "base_version": int, "server_version": int,
        "server_hash": str,       # content hash of server_version (what the digest covers)
        "deleted": int,
        "attention_code": str, "attention_message": str, "attention_data": str,
        "conflict_payload": str, "conflict_version": int, "conflict_deleted": int,
        "created_at": str, "updated_at": str,
    }, pk="record_id", not_null={"state"}, defaults={
        "state": "draft", "base_version": 0, "server_version": 0, "deleted": 0,
    })
    db["records"].create_index(["state"])
    db["records"].create_index(["id_number"])
    db["records"].create_index(["village_code"])
    db["blobs"].create({"sha256": str, "size": int, "data": bytes, "uploaded": int}, pk="sha256",
                       defaults={"uploaded": 0})
    db["attachments"].create({"record_id": str, "kind": str, "sha256": str, "size": int, "mime": str},
                             pk=("record_id", "kind"))
    db["attachments"].create_index(["sha256"])


def _m2_pinyin_search(db: sqlite_utils.Database) -> None:
    """Version 2: pinyin search keys (full + initials) on residents and records, indexed, backfilled."""
    for table in ("residents", "records"):
        db[table].add_column("pinyin_full", str)
        db[table].add_column("pinyin_initials", str)
        rows = list(db.execute(f"SELECT rowid, name FROM {table} WHERE name IS NOT NULL").fetchall())
        for rowid, name in rows:
            full, initials = pinyin_keys(name)
            db.execute(f"UPDATE {table} SET pinyin_full = ?, pinyin_initials = ? WHERE rowid = ?",
                       (full, initials, rowid))
    db["residents"].create_index(["pinyin_full"])
    db["residents"].create_index(["pinyin_initials"])
    db["residents"].create_index(["name"])


def _m3_village_search(db: sqlite_utils.Database) -> None:
    """Version 3: the roster is searched within one village: (village, key) indexes for each search key."""
    for key in ("pinyin_full", "pinyin_initials", "name", "id_number"):
        db["residents"].create_index(["village_code", key])


def _m4_review(db: sqlite_utils.Database) -> None:
    """Version 4 (protocol v3): the registry's review of each record, as last pulled: state, reason, who
    decided and when, when the card was issued. NULL until a v3 registry says something about the record."""
    for column in REVIEW_COLUMNS:
        db["records"].add_column(column, str)
    db["records"].create_index(["review_state"])


def _m5_verifications(db: sqlite_utils.Database) -> None:
    """Version 5 (protocol v4): remote verification requests as last pulled, keyed by the request id;
    outcome and reasons copied out of the result so the roster can show them without parsing JSON."""
    db["verifications"].create({
        "request": str, "id_number": str, "village_code": str, "record_id": str, "city": str, "method": str,
        "state": str, "created_at": str, "expires_at": str, "updated_at": str, "attempts_left": int,
        "outcome": str, "reasons": str, "result": str, "counter": int,
    }, pk="request", not_null={"id_number", "state", "counter"})
    db["verifications"].create_index(["id_number", "created_at"])


def _m6_video_checks(db: sqlite_utils.Database) -> None:
    """Version 6 (issue 11, the offline video path): each request's video challenge as last pulled (JSON,
    NULL from a registry before its migration 0011), and the cadre's video checks: the clip (a copy in the
    store's folder, by its SHA-256), the local decision, whether the digits were heard, who checked and
    when, the send state (pending → sent | refused) and the registry's answer or refusal."""
    db["verifications"].add_column("video_challenge", str)
    db["video_checks"].create({
        "check_id": str, "request": str, "id_number": str,
        "clip_sha256": str, "clip_size": int, "clip_file": str,   # clip_file: name inside the store's clip folder
        "local_passed": int, "local_reasons": str, "local_decision": str,
        "digits_heard": int, "checked_by": str, "checked_at": str,
        "send_state": str, "sent_at": str,
        "answer_result": str, "answer_state": str, "answer": str,
        "error_code": str, "error_message": str,
    }, pk="check_id", not_null={"request", "id_number", "clip_sha256", "clip_size", "clip_file", "local_passed",
                                "digits_heard", "checked_at", "send_state"},
        defaults={"send_state": "pending"})
    db["video_checks"].create_index(["send_state", "checked_at"])
    db["video_checks"].create_index(["id_number", "checked_at"])


# Version 7's table, frozen: the seven pre-issue-12 relations → GB/T 4761 code (子女 by sex).
_M7_LEGACY = {"户主": "02", "配偶": "10", "父母": "50", "孙子女": "40", "兄弟姐妹": "70", "其他": "80"}
_M7_CHILD = {"男": "20", "女": "30"}


def _m7_code(value: Any, sex: Any) -> str | None:
    if value == "子女":
        return _M7_CHILD["男"] if sex == "男" else _M7_CHILD["女"]
    return _M7_LEGACY.get(value) if isinstance(value, str) else None


def _m7_relation_codes(db: sqlite_utils.Database) -> None:
    """Version 7 (protocol v5, issue 12): relations become GB/T 4761 codes, as the registry's migration
    0012 does: each record's payload (content hash recomputed over the canonical bytes; the server
    hash too where it was the hash of this same payload, i.e. the record is the registry's version),
    its typed fields, the server's version kept beside a conflict, and the roster's residents."""
    for row in db.execute("SELECT record_id, fields, payload, content_hash, server_hash, conflict_payload"
                          " FROM records").fetchall():
        record_id, fields, payload, chash, server_hash, conflict = row
        changes: dict[str, Any] = {}
        if payload:
            obj = json.loads(payload)
            code = _m7_code(obj.get("relation"), obj.get("sex"))
            if code is not None:
                obj["relation"] = code
                changes["payload"] = canonical_bytes(obj).decode("utf-8")
                changes["content_hash"] = content_hash(obj)
                if server_hash is not None and server_hash == chash:
                    changes["server_hash"] = changes["content_hash"]
        for column, text in (("fields", fields), ("conflict_payload", conflict)):
            obj = json.loads(text) if text else None
            code = _m7_code(obj.get("relation"), obj.get("sex")) if isinstance(obj, dict) else None
            if code is not None:
                obj["relation"] = code
                changes[column] = json.dumps(obj, ensure_ascii=False, sort_keys=True)
        if changes:
            db.execute(f"UPDATE records SET {', '.join(f'{k} = ?' for k in changes)} WHERE record_id = ?",
                       [*changes.values(), record_id])
    for id_number, relation, sex in db.execute("SELECT id_number, relation, sex FROM residents").fetchall():
        code = _m7_code(relation, sex)
        if code is not None:
            db.execute("UPDATE residents SET relation = ? WHERE id_number = ?", [code, id_number])


def _m8_pulled_records(db: sqlite_utils.Database) -> None:
    """Version 8: ``records.pulled`` is 1 for a record another laptop made that arrived by pull and that this
    laptop never edited, so 发送队列 lists only this laptop's own records. Records already here keep 0: the
    store cannot tell them apart afterwards (the next pull marks new ones)."""
    db["records"].add_column("pulled", int, not_null_default=0)


def _m9_payment_failures(db: sqlite_utils.Database) -> None:
    """Version 9 (protocol v6): the village's payments that failed at the bank, as last pulled, keyed by the
    roster line's id; the latest payment line's state and the bank's reason copied out for the list."""
    db["payment_failures"].create({
        "entitlement_id": str, "id_number": str, "name": str, "village_code": str, "department": str,
        "item": str, "period": str, "amount_fen": int, "state": str, "line_state": str, "reason_code": str,
        "bank_reason": str, "card": str, "settled_at": str, "updated_at": str, "data": str, "counter": int,
    }, pk="entitlement_id", not_null={"id_number", "state", "amount_fen", "counter"})
    db["payment_failures"].create_index(["id_number"])


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_m1_initial, _m2_pinyin_search, _m3_village_search,
                                                             _m4_review, _m5_verifications, _m6_video_checks,
                                                             _m7_relation_codes, _m8_pulled_records,
                                                             _m9_payment_failures]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(db: sqlite_utils.Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite_utils.Database, upto: int | None = None) -> int:
    """Apply the missing migrations (each with its ``user_version`` bump in one transaction)."""
    target = SCHEMA_VERSION if upto is None else upto
    current = schema_version(db)
    if current > SCHEMA_VERSION:
        raise DomainError(error_codes.STORE_TOO_NEW, None, version=current, supported=SCHEMA_VERSION)
    while current < target:
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[current](db)
            current += 1
            db.conn.execute(f"PRAGMA user_version = {current}")
            db.conn.execute("COMMIT")
        except BaseException:
            db.conn.execute("ROLLBACK")
            raise
    return current


def connect(path: str | Path) -> sqlite_utils.Database:
    """Open the SQLite file with the store's pragmas (no migrations)."""
    conn = sqlite3.connect(str(path), timeout=30)
    db = sqlite_utils.Database(conn)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return db
