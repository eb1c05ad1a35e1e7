"""Attachment bytes, addressed by SHA-256: stored once however many records name them, dropped when no
record does, and marked once the registry has all of them (the mark is a note: ``to_send`` asks again
while the record waits to be accepted)."""

from __future__ import annotations

import hashlib
import sqlite3
from typing import Any

from enrollment.errors import DomainError
from enrollment.records import FACE_TEMPLATE

from .. import protocol
from .outbox import QUEUED, SENDING


def put(db: Any, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    db.execute("INSERT OR IGNORE INTO blobs(sha256, size, data, uploaded) VALUES (?,?,?,0)",
               [sha, len(data), sqlite3.Binary(data)])
    return sha


def drop_orphans(db: Any) -> None:
    db.execute("DELETE FROM blobs WHERE sha256 NOT IN (SELECT sha256 FROM attachments)")


def attachment_bytes(db: Any, record_id: str, kind: str) -> bytes | None:
    """None: no such attachment, or a pulled record whose blob stayed on the registry."""
    row = db.execute(
        "SELECT b.data FROM attachments a JOIN blobs b ON b.sha256 = a.sha256"
        " WHERE a.record_id = ? AND a.kind = ?", [record_id, kind]).fetchone()
    return None if row is None else bytes(row[0])


def face_templates(db: Any, exclude_record_id: str | None = None) -> list[tuple[str, str, str, bytes]]:
    """(record_id, id_number, name, template bytes) of every live record here with a face template: what a
    new face is compared with before it is saved (the local duplicate check)."""
    rows = db.execute(
        "SELECT r.record_id, r.id_number, r.name, b.data FROM records r"
        " JOIN attachments a ON a.record_id = r.record_id AND a.kind = ?"
        " JOIN blobs b ON b.sha256 = a.sha256"
        " WHERE r.deleted = 0 AND r.record_id IS NOT ? ORDER BY r.rowid",
        [FACE_TEMPLATE, exclude_record_id]).fetchall()
    return [(rid, idno or "", name or "", bytes(data)) for rid, idno, name, data in rows]


def to_send(db: Any) -> list[tuple[str, int]]:
    """Blobs of queued/sending records, also those uploaded before: the registry removes a blob no record
    names after a grace period, and answers "complete" only to its uploader (blobs completed before its
    migration 0008 have none), so the status is asked again until the record is accepted, and a blob
    that is not there for this cadre goes up again."""
    rows = db.execute(
        "SELECT DISTINCT b.sha256, b.size FROM blobs b JOIN attachments a ON a.sha256 = b.sha256"
        " JOIN records r ON r.record_id = a.record_id"
        " WHERE r.state IN (?, ?) ORDER BY b.sha256", [QUEUED, SENDING]).fetchall()
    return [(sha, size) for sha, size in rows]


def blob_bytes(db: Any, sha256: str) -> bytes:
    row = db.execute("SELECT data FROM blobs WHERE sha256 = ?", [sha256]).fetchone()
    if row is None:
        raise DomainError(protocol.E_BLOB_MISSING, "sha256")
    return bytes(row[0])


def mark_uploaded(db: Any, sha256: str) -> None:
    db.execute("UPDATE blobs SET uploaded = 1 WHERE sha256 = ?", [sha256])
