"""Enrollment records on this laptop: drafts as typed, validation into the outbox, edits of accepted
records, tombstones, attachments, both versions of a conflict; and the dicts the app reads back."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from enrollment.errors import DomainError
from enrollment.records import ATTACHMENT_KINDS, new_record_id, validate_enrollment
from enrollment.text import pinyin_keys

from .. import protocol
from . import blobs
from .outbox import (
    ACCEPTED,
    CLEAR_ATTENTION,
    CLEAR_ATTENTION_AND_CONFLICT,
    DRAFT,
    QUEUED,
    SENDING,
    STATES,
    move,
)
from .rows import canonical_text, loads, now, one, to_json
from .schema import REVIEW_COLUMNS

E_RECORD_NOT_FOUND = "record.not_found"
E_RECORD_BUSY = "record.sending"          # being sent right now: edit after the sync
E_NO_CONFLICT = "record.no_conflict"
E_ATTACHMENT_KIND = "attachment.kind_invalid"
E_ATTACHMENT_TOO_LARGE = "attachment.too_large"

REVIEW_COLUMN_OF = dict(zip(protocol.REVIEW_KEYS, REVIEW_COLUMNS, strict=True))
_ROW = "SELECT rowid AS seq, * FROM records"


def row_of(db: Any, record_id: str) -> dict:
    row = one(db, f"{_ROW} WHERE record_id = ?", [record_id])
    if row is None:
        raise DomainError(E_RECORD_NOT_FOUND, "record_id")
    return row


def _editable(row: dict) -> None:
    if row["state"] == SENDING:
        raise DomainError(E_RECORD_BUSY, "record_id")


def _set_fields(db: Any, record_id: str, fields: dict, *, base_version: int | None = None, state: str = DRAFT,
                clear: str = CLEAR_ATTENTION, **columns: Any) -> None:
    name = str(fields.get("name") or "")
    full, initials = pinyin_keys(name) if name.strip() else ("", "")
    sets = {"fields": to_json(fields), "village_code": fields.get("village_code"),
            "id_number": str(fields.get("id_number") or "").strip().upper() or None,
            "name": name or None, "pinyin_full": full, "pinyin_initials": initials,
            "payload": None, "content_hash": None, **columns}
    if base_version is not None:
        sets["base_version"] = base_version
    move(db, record_id, state, clear=clear, **sets)


def save_draft(store: Any, fields: dict, record_id: str | None = None) -> str:
    """Whatever is typed (no validation); the record is (back) in state "draft". A missing record is
    created under ``record_id`` (the caller's choice) or a new id."""
    db = store.db
    fields = {k: v for k, v in dict(fields).items() if k != "attachments"}
    with store.transaction():
        if record_id is None or one(db, "SELECT 1 AS x FROM records WHERE record_id = ?", [record_id]) is None:
            record_id = record_id or new_record_id()
            stamp = now()
            db.execute("INSERT INTO records(record_id, state, created_at, updated_at) VALUES (?,?,?,?)",
                       [record_id, DRAFT, stamp, stamp])
            _set_fields(db, record_id, {**fields, "record_id": record_id})
            return record_id
        row = row_of(db, record_id)
        _editable(row)
        # an accepted record edited becomes a draft on the registry's version
        base = row["server_version"] if row["state"] == ACCEPTED else None
        # edited here: from now on one of this laptop's records (发送队列 lists it)
        _set_fields(db, record_id, {**fields, "record_id": record_id}, base_version=base, pulled=0)
    return record_id


def _fill_defaults(store: Any, fields: dict, record_id: str) -> dict:
    out = dict(fields)
    out["record_id"] = record_id
    if not out.get("village_code"):
        villages = store.operator_villages()
        if len(villages) == 1:
            out["village_code"] = villages[0]
    out["attachments"] = [
        {"kind": a["kind"], "sha256": a["sha256"], "size": a["size"], "mime": a["mime"]}
        for a in store.db.query("SELECT kind, sha256, size, mime FROM attachments WHERE record_id = ? "
                                "ORDER BY kind", [record_id])]
    out.pop("schema", None)
    return out


def queue(store: Any, record_id: str) -> dict:
    """Validate the draft → "queued" with its normalised payload (ValidationErrors lists every problem);
    an edit that came back identical to the registry's version is accepted at once."""
    db = store.db
    with store.transaction():
        row = row_of(db, record_id)
        _editable(row)
        if row["deleted"]:
            raise DomainError(E_RECORD_NOT_FOUND, "record_id")
        fields = loads(row["fields"]) or {}
        payload = validate_enrollment(_fill_defaults(store, fields, record_id))
        chash = protocol.record_hash(payload, False, record_id)
        stored = {"payload": canonical_text(payload), "content_hash": chash}
        if row["server_version"] and chash == row["server_hash"]:
            _set_fields(db, record_id, payload, state=ACCEPTED, clear=CLEAR_ATTENTION_AND_CONFLICT,
                        base_version=row["server_version"], **stored)
        else:
            _set_fields(db, record_id, payload, state=QUEUED, **stored)
    return payload


def back_to_draft(db: Any, row: dict) -> None:
    """A change to a queued/accepted record's content: it needs queueing again."""
    if row["state"] == DRAFT:
        return
    base = row["server_version"] if row["state"] == ACCEPTED else None
    _set_fields(db, row["record_id"], loads(row["fields"]) or {}, base_version=base)


def add_attachment(store: Any, record_id: str, kind: str, data: bytes, mime: str) -> str:
    if kind not in ATTACHMENT_KINDS:
        raise DomainError(E_ATTACHMENT_KIND, "attachments", allowed=list(ATTACHMENT_KINDS))
    if len(data) > protocol.BLOB_MAX:
        raise DomainError(E_ATTACHMENT_TOO_LARGE, "attachments", max=protocol.BLOB_MAX)
    db = store.db
    with store.transaction():
        row = row_of(db, record_id)
        _editable(row)
        sha = blobs.put(db, data)
        db.execute("INSERT OR REPLACE INTO attachments(record_id, kind, sha256, size, mime) VALUES (?,?,?,?,?)",
                   [record_id, kind, sha, len(data), mime])
        back_to_draft(db, row)
    return sha


def remove_attachment(store: Any, record_id: str, kind: str) -> None:
    db = store.db
    with store.transaction():
        row = row_of(db, record_id)
        _editable(row)
        db.execute("DELETE FROM attachments WHERE record_id = ? AND kind = ?", [record_id, kind])
        blobs.drop_orphans(db)
        back_to_draft(db, row)


def edit(store: Any, record_id: str, fields: dict) -> None:
    """Fields merged into the record, base_version = the registry's version, back to draft."""
    db = store.db
    with store.transaction():
        row = row_of(db, record_id)
        _editable(row)
        current = loads(row["fields"]) or loads(row["payload"]) or {}
        merged = {**current, **{k: v for k, v in fields.items() if k != "attachments"}}
        base = row["server_version"] if row["state"] == ACCEPTED else None
        _set_fields(db, record_id, merged, base_version=base, pulled=0)   # edited here: this laptop's now


def delete(store: Any, record_id: str) -> None:
    """Never sent → gone; known to the registry → a tombstone queued for sending."""
    db = store.db
    with store.transaction():
        row = row_of(db, record_id)
        _editable(row)
        if not row["server_version"]:
            db.execute("DELETE FROM attachments WHERE record_id = ?", [record_id])
            db.execute("DELETE FROM records WHERE record_id = ?", [record_id])
            blobs.drop_orphans(db)
            return
        base = row["server_version"] if row["state"] == ACCEPTED else (row["base_version"] or row["server_version"])
        move(db, record_id, QUEUED, clear=CLEAR_ATTENTION, deleted=1, payload=None,
             content_hash=protocol.record_hash(None, True, record_id), base_version=base)


def adopt_server_version(db: Any, record_id: str, payload: dict | None, deleted: bool, version: int, chash: str,
                         *, clear: str = "") -> None:
    """The record becomes exactly the registry's version (accepted)."""
    payload = payload or {}
    name = str(payload.get("name") or "") or None
    full, initials = pinyin_keys(name) if name else ("", "")
    known = one(db, "SELECT village_code, id_number, name FROM records WHERE record_id = ?", [record_id]) or {}

    def newer(key: str, value: Any) -> Any:
        return known.get(key) if value is None else value

    move(db, record_id, ACCEPTED, clear=clear,
         fields=to_json(payload) if not deleted else None, payload=None if deleted else canonical_text(payload),
         content_hash=chash, server_hash=chash, base_version=version, server_version=version, deleted=int(deleted),
         village_code=newer("village_code", payload.get("village_code")),
         id_number=newer("id_number", payload.get("id_number")), name=newer("name", name),
         pinyin_full=full, pinyin_initials=initials)
    # The attachments the registry's version names (their bytes stay there unless this laptop has
    # them): an edit of a pulled record keeps them in its payload.
    db.execute("DELETE FROM attachments WHERE record_id = ?", [record_id])
    for att in payload.get("attachments") or []:
        db.execute("INSERT OR REPLACE INTO attachments(record_id, kind, sha256, size, mime) VALUES (?,?,?,?,?)",
                   [record_id, att["kind"], att["sha256"], att["size"], att.get("mime") or ""])
    blobs.drop_orphans(db)


def resolve_conflict(store: Any, record_id: str, keep: str) -> None:
    """keep="mine": re-queue ours on top of the registry's version; "theirs": take the registry's version."""
    if keep not in ("mine", "theirs"):
        raise ValueError("keep must be 'mine' or 'theirs'")
    db = store.db
    with store.transaction():
        row = row_of(db, record_id)
        if row["conflict_version"] is None:
            raise DomainError(E_NO_CONFLICT, "record_id")
        version = row["conflict_version"]
        if keep == "mine":
            move(db, record_id, QUEUED, clear=CLEAR_ATTENTION_AND_CONFLICT, base_version=version)
            return
        payload = loads(row["conflict_payload"])
        deleted = bool(row["conflict_deleted"])
        adopt_server_version(db, record_id, payload, deleted, version,
                             protocol.record_hash(payload, deleted, record_id), clear=CLEAR_ATTENTION_AND_CONFLICT)


# ---- reading back

def review_of(row: dict) -> dict | None:
    """The registry's review as last pulled, or None when no v3 registry has said anything yet."""
    if not row.get("review_state"):
        return None
    return {key: row.get(column) for key, column in REVIEW_COLUMN_OF.items()}


def public(db: Any, row: dict) -> dict:
    attention = None
    if row["attention_code"]:
        attention = {"code": row["attention_code"], "message": row["attention_message"],
                     "data": loads(row["attention_data"]) or {}}
    conflict = None
    if row["conflict_version"] is not None:
        conflict = {"server_payload": loads(row["conflict_payload"]), "server_version": row["conflict_version"],
                    "server_deleted": bool(row["conflict_deleted"])}
    attachments = list(db.query("SELECT kind, sha256, size, mime FROM attachments WHERE record_id = ? ORDER BY kind",
                                [row["record_id"]]))
    return {
        "record_id": row["record_id"], "state": row["state"], "village_code": row["village_code"],
        "id_number": row["id_number"], "name": row["name"],
        "fields": loads(row["fields"]) or {}, "payload": loads(row["payload"]),
        "content_hash": row["content_hash"], "base_version": row["base_version"],
        "server_version": row["server_version"], "deleted": bool(row["deleted"]),
        "attention": attention, "conflict": conflict, "attachments": attachments,
        "review": review_of(row),
        "created_at": row["created_at"], "updated_at": row["updated_at"],
    }


def get_or_none(db: Any, record_id: str) -> dict | None:
    row = one(db, f"{_ROW} WHERE record_id = ?", [record_id])
    return None if row is None else public(db, row)


def for_id_number(db: Any, id_number: str) -> dict | None:
    row = one(db, f"{_ROW} WHERE id_number = ? AND deleted = 0 ORDER BY updated_at DESC LIMIT 1", [id_number])
    return None if row is None else public(db, row)


# Records this laptop made or edited, and anything pending (not those other laptops sent that only arrived
# by pull).
MINE = "(pulled = 0 OR state != 'accepted')"


def list_records(db: Any, state: str | None = None, limit: int | None = None, *,
                 review_state: str | None = None, mine_only: bool = False) -> list[dict]:
    clauses, params = [MINE] if mine_only else [], []
    if state:
        clauses.append("state = ?")
        params.append(state)
    if review_state:
        clauses.append("review_state = ?")
        params.append(review_state)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = f"{_ROW} {where} ORDER BY rowid"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    return [public(db, r) for r in db.query(sql, params)]


def counts_by_state(db: Any, *, mine_only: bool = False) -> dict[str, int]:
    counts = dict.fromkeys(STATES, 0)
    where = f"WHERE {MINE} " if mine_only else ""
    for state, n in db.execute(f"SELECT state, count(*) FROM records {where}GROUP BY state").fetchall():
        counts[state] = n
    return counts


def counts_by_review_state(db: Any) -> dict[str, int]:
    """Live records per review state (zero included); "none": not reviewed by a v3 registry yet."""
    counts = dict.fromkeys((*protocol.REVIEW_STATES, "none"), 0)
    for state, n in db.execute("SELECT coalesce(review_state, 'none'), count(*) FROM records WHERE deleted = 0"
                               " GROUP BY 1").fetchall():
        counts[state] = counts.get(state, 0) + n
    return counts


def to_send(db: Any, limit: int, after_seq: int = 0) -> list[dict]:
    """Queued and sending (interrupted earlier) records, in creation order after ``after_seq``."""
    rows = db.query(
        "SELECT rowid AS seq, record_id, base_version, payload, deleted, content_hash, village_code, id_number"
        " FROM records WHERE state IN (?, ?) AND rowid > ? ORDER BY rowid LIMIT ?",
        [QUEUED, SENDING, int(after_seq), int(limit)])
    out = []
    for r in rows:
        payload = loads(r["payload"])
        item = protocol.push_item(r["record_id"], r["base_version"] or 0, payload, bool(r["deleted"]))
        out.append({**r, "payload": payload, "deleted": bool(r["deleted"]), "item": item})
    return out


def mark_sending(store: Any, record_ids: Iterable[str]) -> None:
    ids = list(record_ids)
    with store.transaction():
        for rid in ids:
            move(store.db, rid, SENDING, only_from=(QUEUED, SENDING))


def local_digest(db: Any) -> tuple[str, int]:
    """protocol.digest over every version the registry holds, as far as this laptop knows."""
    rows = db.execute("SELECT record_id, server_version, server_hash FROM records"
                      " WHERE server_version > 0 AND server_hash IS NOT NULL").fetchall()
    return protocol.digest(rows)
