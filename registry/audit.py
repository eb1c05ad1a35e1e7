"""The audit trail: an append-only, hash-chained log of every change the registry makes.

Each entry's ``hash`` is ``sha256(prev_hash + canonical_bytes({seq, at, actor, action,
subject, data}))`` with ``prev_hash`` the previous entry's hash (64 zeros for the first), so
editing, deleting or reordering any entry breaks the chain from there on; ``verify`` names
the first entry that does not fit. Triggers (migration 0003) refuse UPDATE and DELETE.
Deleting the newest entries leaves a shorter, intact chain; only a copy of the last hash
kept elsewhere would show that.

Entries never hold an ID number or a name in clear: subjects are record ids, village codes
or usernames, and ``data`` values under personal keys are masked before they are written.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from enrollment.canonical import canonical_bytes
from enrollment.errors import mask_id_number

from .db import now_iso
from .schema import audit_log, server_counter

GENESIS = "0" * 64
SYSTEM, CLI = "system", "cli"

RECORD_ACCEPTED = "record.accepted"
RECORD_DELETED = "record.deleted"  # a tombstone accepted
RECORD_CONFLICT = "record.conflict"
ROSTER_IMPORTED = "roster.imported"
OPERATOR_ADDED = "operator.added"
OPERATOR_DISABLED = "operator.disabled"
OPERATOR_ENABLED = "operator.enabled"
# Central review (registry.review): every decision, card issue and staff view of a full record.
REVIEW_APPROVED = "review.approved"
REVIEW_REJECTED = "review.rejected"
REVIEW_RETURNED = "review.returned"
REVIEW_CARD_ISSUED = "review.card_issued"
RECORD_VIEWED = "record.viewed"
# Blobs: a staff download of a blob (subject: its SHA-256), and a garbage collection's counts.
BLOB_DOWNLOADED = "blob.downloaded"
BLOBS_COLLECTED = "blobs.collected"
# Separation of duties: a refused push by staff, a refused decision or card issue (data: the code).
PUSH_REFUSED = "push.refused"
REVIEW_REFUSED = "review.refused"

_ID_KEYS = {"id_number"}
_DROP_KEYS = {"name", "phone", "address", "password", "password_hash", "payload"}
_BATCH = 1000


def _scrub(value: Any) -> Any:
    """Personal values masked (ID numbers) or replaced (names, phones, addresses, secrets)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in _ID_KEYS:
                out[k] = mask_id_number(v) if isinstance(v, str) else v
            elif k in _DROP_KEYS:
                out[k] = "***"
            else:
                out[k] = _scrub(v)
        return out
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def entry_hash(prev_hash: str, seq: int, at: str, actor: str, action: str, subject: str,
               data: Any) -> str:
    body = canonical_bytes({"seq": seq, "at": at, "actor": actor, "action": action,
                            "subject": subject, "data": data})
    return hashlib.sha256(prev_hash.encode("ascii") + body).hexdigest()


def append(conn: Connection, actor: str, action: str, subject: str, data: dict[str, Any] | None = None
           ) -> int:
    """Add one entry inside the caller's transaction; returns its seq.

    Appends are serialised: on PostgreSQL by the ``server_counter`` row lock (the one every
    writing transaction already takes), on SQLite by ``BEGIN IMMEDIATE``.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(select(server_counter.c.id).where(server_counter.c.id == 1).with_for_update())
    last = conn.execute(select(audit_log.c.seq, audit_log.c.hash)
                        .order_by(audit_log.c.seq.desc()).limit(1)).first()
    seq, prev = (1, GENESIS) if last is None else (last.seq + 1, last.hash)
    at = now_iso()
    clean = _scrub(dict(data or {}))
    text = canonical_bytes(clean).decode("utf-8")
    conn.execute(insert(audit_log).values(
        seq=seq, at=at, actor=actor, action=action, subject=subject, data=text, prev_hash=prev,
        hash=entry_hash(prev, seq, at, actor, action, subject, clean)))
    return seq


def append_many(conn: Connection, entries: list[tuple[str, str, str, dict[str, Any] | None]]) -> None:
    """Add several entries ``(actor, action, subject, data)`` in order, in one INSERT (a check run's
    batch): the same chain as calling ``append`` for each, without a read per entry."""
    if not entries:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(select(server_counter.c.id).where(server_counter.c.id == 1).with_for_update())
    last = conn.execute(select(audit_log.c.seq, audit_log.c.hash)
                        .order_by(audit_log.c.seq.desc()).limit(1)).first()
    seq, prev = (0, GENESIS) if last is None else (last.seq, last.hash)
    at = now_iso()
    rows = []
    for actor, action, subject, data in entries:
        seq += 1
        clean = _scrub(dict(data or {}))
        digest = entry_hash(prev, seq, at, actor, action, subject, clean)
        rows.append({"seq": seq, "at": at, "actor": actor, "action": action, "subject": subject,
                     "data": canonical_bytes(clean).decode("utf-8"), "prev_hash": prev, "hash": digest})
        prev = digest
    conn.execute(insert(audit_log), rows)


def _row_ok(row: Any, expected_seq: int, prev: str) -> bool:
    if row.seq != expected_seq or row.prev_hash != prev:
        return False
    try:
        data = json.loads(row.data)
        if canonical_bytes(data).decode("utf-8") != row.data:
            return False
        return entry_hash(prev, row.seq, row.at, row.actor, row.action, row.subject, data) == row.hash
    except (ValueError, TypeError):
        return False


def verify(engine: Engine) -> tuple[bool, int | None, int]:
    """Walk the chain oldest first: ``(ok, seq of the first broken entry or None, entries checked)``.

    A changed entry fails its own hash; a deleted one leaves a seq gap (and a prev_hash that
    names a missing entry) at the entry after it; a reordered chain fails the link.
    """
    prev, expected, checked = GENESIS, 1, 0
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        after = 0
        while True:
            rows = conn.execute(select(audit_log).where(audit_log.c.seq > after)
                                .order_by(audit_log.c.seq).limit(_BATCH)).all()
            if not rows:
                return True, None, checked
            for row in rows:
                checked += 1
                if not _row_ok(row, expected, prev):
                    return False, row.seq, checked
                prev, expected = row.hash, row.seq + 1
            after = rows[-1].seq
