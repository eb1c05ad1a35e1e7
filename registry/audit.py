"""The audit trail: an append-only, hash-chained log of every change the registry makes.

Each entry's ``hash`` is ``sha256(prev_hash + canonical_bytes({seq, at, actor, action,
subject, data}))`` with ``prev_hash`` the previous entry's hash (64 zeros for the first), so
editing, deleting or reordering any entry breaks the chain from there on; ``verify`` names
the first entry that does not fit. Triggers (migration 0003) refuse UPDATE and DELETE.
Deleting the newest entries leaves a shorter, intact chain; only a copy of the last hash
kept elsewhere would show that.

Entries never hold an ID number, a telephone number, a name or other free text: subjects are
record ids, village codes or usernames; ``data`` values under personal keys are replaced before
they are written; and free text (a decision's reason, an imported file's name) goes to the
ordinary table ``audit_texts``, with ID and telephone numbers masked (``enrollment.masking``).
The entry's data holds only ``<key>_text_ref`` = SHA-256(salt + text), so the chain still
covers the text: ``check`` recomputes that hash for every text still stored. ``redact_text``
removes a text (and its salt) under PIPL, itself an audited act; ``check`` then reports the
entries that referred to it as redacted, not broken. Entries written before migration 0009
keep their reasons in their data as they were: rewriting them would break the chain.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from enrollment.canonical import canonical_bytes
from enrollment.masking import mask_personal_numbers

from .db import now_iso
from .schema import audit_log, audit_texts, server_counter

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
# A read that returns personal data in bulk (GET /api/review/findings): who, the filters, how many.
FINDINGS_READ = "findings.read"
# A stored text removed under PIPL (subject: its hash; data: the entries that referred to it).
TEXT_REDACTED = "audit.text_redacted"

# The data key suffix of a reference to a stored text: {"reason_text_ref": "<sha256>"}.
TEXT_REF = "_text_ref"
# Why ``check`` found an entry broken.
BROKEN_ENTRY = "entry"                  # the entry's own hash or its link to the previous one
TEXT_ALTERED = "text_altered"           # a referenced text no longer matches its hash
TEXT_MISSING = "text_missing"           # a referenced text's row is gone (deleted, not redacted)
REDACTION_UNAUDITED = "redaction_unaudited"  # a text marked redacted with no audit.text_redacted entry
# Redaction refusals (CLI codes).
E_TEXT_UNKNOWN = "audit.text_unknown"
E_TEXT_ALREADY_REDACTED = "audit.text_already_redacted"

# "reason" too: a reason is free text and belongs in ``texts``, never in the chain.
_DROP_KEYS = {"name", "id_number", "phone", "address", "reason", "password", "password_hash", "payload"}
_BATCH = 1000


class AuditTextError(Exception):
    """A redaction refused: no such text, or already redacted."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _scrub(value: Any) -> Any:
    """Personal values (ID numbers, names, phones, addresses, secrets) replaced by ``***``: a call
    site that passes one by mistake still leaves none in the chain."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in _DROP_KEYS:
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


def text_digest(salt: str, text: str) -> str:
    """What an entry stores for a text: SHA-256 of the salt's bytes then the text's UTF-8."""
    return hashlib.sha256(bytes.fromhex(salt) + text.encode("utf-8")).hexdigest()


def _store_texts(conn: Connection, texts: dict[str, str | None], at: str) -> dict[str, str]:
    """Each non-empty text masked and stored with a fresh salt; the data keys that refer to them."""
    refs = {}
    for key, value in texts.items():
        if not value:
            continue
        masked = mask_personal_numbers(value)
        salt = secrets.token_hex(16)
        digest = text_digest(salt, masked)
        conn.execute(insert(audit_texts).values(sha256=digest, salt=salt, text=masked, created_at=at))
        refs[key + TEXT_REF] = digest
    return refs


def append(conn: Connection, actor: str, action: str, subject: str, data: dict[str, Any] | None = None,
           *, texts: dict[str, str | None] | None = None) -> int:
    """Add one entry inside the caller's transaction; returns its seq.

    ``texts`` (free text such as ``{"reason": …}``) are stored in ``audit_texts``, masked, and
    referred to from ``data`` by hash (``reason_text_ref``); an empty or None text is left out.
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
    clean.update(_store_texts(conn, texts or {}, at))
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


def _row_data(row: Any, expected_seq: int, prev: str) -> dict[str, Any] | None:
    """The entry's data if the entry is intact and linked to ``prev``, else None."""
    if row.seq != expected_seq or row.prev_hash != prev:
        return None
    try:
        data = json.loads(row.data)
        if canonical_bytes(data).decode("utf-8") != row.data:
            return None
        if entry_hash(prev, row.seq, row.at, row.actor, row.action, row.subject, data) != row.hash:
            return None
    except (ValueError, TypeError):
        return None
    return data if isinstance(data, dict) else {}


def text_refs(data: Any) -> list[str]:
    """The hashes of the stored texts an entry's data refers to."""
    if not isinstance(data, dict):
        return []
    return [v for k, v in data.items() if k.endswith(TEXT_REF) and isinstance(v, str)]


@dataclass(frozen=True)
class ChainReport:
    """What ``check`` found: ``ok`` unless an entry is broken (``first_broken_seq``, ``problem``)."""

    ok: bool
    first_broken_seq: int | None
    checked: int
    texts_checked: int = 0
    redacted_seqs: tuple[int, ...] = ()
    problem: str | None = None
    redactions: int = 0  # audit.text_redacted entries


def check(engine: Engine) -> ChainReport:
    """Walk the chain oldest first, and every stored text an entry refers to.

    A changed entry fails its own hash; a deleted one leaves a seq gap (and a prev_hash that
    names a missing entry) at the entry after it; a reordered chain fails the link. A text
    changed in ``audit_texts`` no longer matches the hash its entry holds; a text row deleted is
    missing; a text cleared without an ``audit.text_redacted`` entry is an unaudited redaction.
    A text redacted through ``redact_text`` is reported (``redacted_seqs``), not broken.
    """
    prev, expected, checked, texts_checked = GENESIS, 1, 0, 0
    redacted: list[int] = []
    pending: dict[str, int] = {}  # redacted text -> the first entry referring to it
    audited: set[str] = set()     # texts an audit.text_redacted entry names
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        after = 0
        while True:
            rows = conn.execute(select(audit_log).where(audit_log.c.seq > after)
                                .order_by(audit_log.c.seq).limit(_BATCH)).all()
            if not rows:
                break
            datas = []
            for row in rows:
                data = _row_data(row, expected, prev)
                if data is None:
                    return ChainReport(False, row.seq, checked + len(datas) + 1, texts_checked,
                                       tuple(redacted), BROKEN_ENTRY)
                datas.append(data)
                prev, expected = row.hash, row.seq + 1
            wanted = sorted({h for d in datas for h in text_refs(d)})
            stored = {t.sha256: t for t in conn.execute(
                select(audit_texts).where(audit_texts.c.sha256.in_(wanted)))} if wanted else {}
            for row, data in zip(rows, datas, strict=True):
                checked += 1
                if row.action == TEXT_REDACTED:
                    audited.add(row.subject)
                for digest in text_refs(data):
                    t = stored.get(digest)
                    problem = None
                    if t is None:
                        problem = TEXT_MISSING
                    elif t.redacted_at is not None:
                        if not redacted or redacted[-1] != row.seq:
                            redacted.append(row.seq)
                        pending.setdefault(digest, row.seq)
                    else:
                        texts_checked += 1
                        if t.salt is None or t.text is None or text_digest(t.salt, t.text) != digest:
                            problem = TEXT_ALTERED
                    if problem is not None:
                        return ChainReport(False, row.seq, checked, texts_checked, tuple(redacted), problem)
            after = rows[-1].seq
    unaudited = [seq for digest, seq in pending.items() if digest not in audited]
    if unaudited:
        return ChainReport(False, min(unaudited), checked, texts_checked, tuple(redacted), REDACTION_UNAUDITED)
    return ChainReport(True, None, checked, texts_checked, tuple(redacted), redactions=len(audited))


def verify(engine: Engine) -> tuple[bool, int | None, int]:
    """``check`` as ``(ok, seq of the first broken entry or None, entries checked)``."""
    report = check(engine)
    return report.ok, report.first_broken_seq, report.checked


# ------------------------------------------------------------------------------ reading and redaction

def with_texts(conn: Connection, datas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries' data for staff: each ``<key>_text_ref`` also as ``<key>`` (the stored, masked text;
    None once redacted, with ``<key>_redacted`` true). Older entries' clear reasons stay as they are."""
    wanted = sorted({h for d in datas for h in text_refs(d)})
    stored = {t.sha256: t for t in conn.execute(
        select(audit_texts.c.sha256, audit_texts.c.text, audit_texts.c.redacted_at)
        .where(audit_texts.c.sha256.in_(wanted)))} if wanted else {}
    out = []
    for data in datas:
        data = dict(data) if isinstance(data, dict) else data
        if isinstance(data, dict):
            for key, digest in list(data.items()):
                if not (key.endswith(TEXT_REF) and isinstance(digest, str)):
                    continue
                base, t = key[:-len(TEXT_REF)], stored.get(digest)
                data[base] = None if t is None or t.redacted_at is not None else t.text
                if t is not None and t.redacted_at is not None:
                    data[base + "_redacted"] = True
        out.append(data)
    return out


def redact_text(engine: Engine, digest: str, by: str) -> list[int]:
    """Remove a stored text (and its salt) under PIPL, and audit that; returns the seqs of the
    entries that referred to it. The chain still verifies, reporting those entries as redacted."""
    with engine.begin() as conn:
        row = conn.execute(select(audit_texts).where(audit_texts.c.sha256 == digest)
                           .with_for_update()).first()
        if row is None:
            raise AuditTextError(E_TEXT_UNKNOWN, f"no stored audit text {digest}")
        if row.redacted_at is not None:
            raise AuditTextError(E_TEXT_ALREADY_REDACTED,
                                 f"audit text {digest} was redacted at {row.redacted_at} by {row.redacted_by}")
        at = now_iso()
        conn.execute(update(audit_texts).where(audit_texts.c.sha256 == digest)
                     .values(text=None, salt=None, redacted_at=at, redacted_by=by))
        # The hash is 64 hex characters: a substring match finds exactly the entries naming it.
        seqs = [s for (s,) in conn.execute(select(audit_log.c.seq).where(audit_log.c.data.contains(digest))
                                           .order_by(audit_log.c.seq))]
        append(conn, by, TEXT_REDACTED, digest, {"entries": seqs})
    return seqs
