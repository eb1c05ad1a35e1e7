"""The laptop store: one SQLite file (sqlite-utils), WAL, ``synchronous=FULL``.

Tables
------
``meta``         key → JSON value: device id, registry URL, cached credentials, token, pull counter.
``residents``    the village roster as pulled from the registry, with pinyin search keys.
``records``      enrollment records: the outbox with an explicit send state per record
                 (``draft → queued → sending → accepted | needs-attention``), tombstones,
                 the last version the server accepted, both versions of a conflict, and the
                 registry's review of the record as last pulled (schema version 4: review_state,
                 review_reason, review_decided_by, review_decided_at, review_card_issued_at),
                 which is independent of the send state: a returned record is "accepted" here
                 (the registry holds it) and its review says 已退回 with the reason.
``verifications`` remote verification requests as last pulled (schema version 5, protocol v4),
                 keyed by request id: state, city, method, expiry, outcome and reason codes.
``payment_failures`` the village's payments that failed at the bank (schema version 9, protocol v6), keyed
                 by roster line: item, period, fen, the line's state and the bank's reason code and words.
``attachments``  (record, kind) → blob SHA-256; ``blobs`` holds the bytes, addressed by SHA-256.
``video_checks``  the cadre's offline video checks (schema version 6, issue 11 item 4): request, clip
                 SHA-256 (the clip itself is a 0600 file in the store's clip folder, ``<store>-clips/``),
                 the local decision, digits heard, who checked and when, the send state
                 (``pending → sent | refused``) and the registry's answer. ``verifications`` also keeps
                 each request's ``video_challenge`` (digits and actions) from version 6 on.

Schema versions live in ``PRAGMA user_version``; :data:`MIGRATIONS` lists one function per
version and :func:`migrate` applies the missing ones, each in its own transaction
(``sync/local/schema.py``).

``Store`` owns the connection and the transactions; each job is a module of ``sync/local``
(credentials, roster, outbox states, records, blobs, pull, push results) that it delegates to.
Pull changes and push answers are parsed strictly (``protocol.PullChange`` / ``PushResult``)
before anything is written.

Every multi-step write happens in one ``BEGIN IMMEDIATE`` transaction. A ``Store`` is used
from one thread; several ``Store`` objects (the desktop's and a sync thread's) may share a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import sqlite_utils

from enrollment.errors import DomainError
from enrollment.private_files import private_sqlite

from . import protocol
from .local import (
    blobs,
    credentials,
    payment_failures,
    pull,
    push_results,
    records,
    roster,
    verifications,
    video_checks,
)
from .local.credentials import E_BAD_CREDENTIALS, E_OFFLINE_UNKNOWN_USER  # noqa: F401 - the store's codes
from .local.outbox import (  # noqa: F401 - the send states are part of the store's API
    ACCEPTED,
    DRAFT,
    NEEDS_ATTENTION,
    QUEUED,
    SENDING,
    STATES,
    needs_attention,
)
from .local.records import (  # noqa: F401
    E_ATTACHMENT_KIND,
    E_ATTACHMENT_TOO_LARGE,
    E_NO_CONFLICT,
    E_RECORD_BUSY,
    E_RECORD_NOT_FOUND,
)
from .local.rows import one
from .local.schema import (  # noqa: F401 - tests and tools migrate and inspect files through sync.store
    MIGRATIONS,
    REVIEW_COLUMNS,
    SCHEMA_VERSION,
    connect,
    migrate,
    schema_version,
)

E_VILLAGE_REQUIRED = "village_code.required"


class Store:
    def __init__(self, db: sqlite_utils.Database, path: Path) -> None:
        self.db = db
        self.path = path

    # -- lifecycle
    @classmethod
    def open(cls, path: str | Path) -> Store:
        path = Path(path)
        # Owner only (0600, its folder 0700): the store keeps the roster and the bearer token.
        private_sqlite(path)
        db = connect(path)
        migrate(db)
        store = cls(db, path)
        if store.get_meta("device_id") is None:
            with store.transaction():
                if store.get_meta("device_id") is None:
                    store.set_meta("device_id", str(uuid.uuid4()))
        return store

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.db.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction (``BEGIN IMMEDIATE``); nested calls join the outer one."""
        conn = self.db.conn
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def checkpoint(self) -> None:
        self.db.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _one(self, sql: str, params: Iterable[Any] = ()) -> dict | None:
        return one(self.db, sql, params)

    # -- meta
    @property
    def device_id(self) -> str:
        return self.get_meta("device_id")

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return default if row is None else json.loads(row[0])

    def set_meta(self, key: str, value: Any) -> None:
        with self.transaction():
            if value is None:
                self.db.execute("DELETE FROM meta WHERE key = ?", [key])
            else:
                self.db.execute("INSERT INTO meta(key, value) VALUES (?, ?) "
                                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                                [key, json.dumps(value, ensure_ascii=False)])

    # -- session (sync/local/credentials.py)
    def save_login(self, registry_url: str, username: str, password: str, login_response: dict) -> None:
        """Cache the operator, an argon2 hash of the password (offline login), the token and its expiry."""
        credentials.save_login(self, registry_url, username, password, login_response)

    def offline_login(self, username: str, password: str) -> dict:
        return credentials.offline_login(self, username, password)

    def operator(self) -> dict | None:
        return self.get_meta("operator")

    def registry_url(self) -> str | None:
        return self.get_meta("registry_url")

    def set_registry_url(self, url: str) -> None:
        self.set_meta("registry_url", url.rstrip("/"))

    def token(self) -> str | None:
        return self.get_meta("token")

    def token_expires_at(self) -> str | None:
        return self.get_meta("token_expires_at")

    def logout(self) -> None:
        credentials.logout(self)

    def operator_villages(self) -> list[str]:
        return credentials.operator_villages(self)

    # -- roster (sync/local/roster.py)
    def upsert_residents(self, residents: Iterable[dict], counter: int | None = None) -> int:
        return roster.upsert_residents(self, residents, counter)

    def search_residents(self, query: str, village_code: str | None = None, limit: int = 200) -> list[dict]:
        """Name substring, full-pinyin prefix, initials prefix, ID-number substring; at most ``limit`` rows."""
        return roster.search_residents(self, query, village_code, limit)

    def households(self, village_code: str) -> list[dict]:
        return roster.households(self, village_code)

    def household_heads(self, village_code: str | None, household_ids: list[str]) -> dict[str, str]:
        """household_id → its head's name (for naming search hits by their household's head)."""
        return roster.household_heads(self, village_code, household_ids)

    def roster_count(self) -> int:
        return roster.roster_count(self)

    def resident(self, id_number: str) -> dict | None:
        return roster.resident(self, id_number)

    # -- records (sync/local/records.py; the named steps an enrollment takes: sync/enrollment_ops.py)
    def save_draft(self, fields: dict, record_id: str | None = None) -> str:
        """Autosave whatever is typed (no validation); the record is (back) in state "draft"."""
        return records.save_draft(self, fields, record_id)

    def queue(self, record_id: str) -> dict:
        """Validate the draft → "queued" with its normalised payload; ValidationErrors lists every problem."""
        return records.queue(self, record_id)

    def enroll(self, fields: dict, attachments: Iterable[tuple[str, bytes, str]] = ()) -> str:
        """Validate, store, attach and queue in one transaction; nothing is kept if anything fails.
        Kept for the tests and fixtures that build outboxes; the steps are ``enrollment_ops``'."""
        from . import enrollment_ops

        return enrollment_ops.enroll(self, fields, attachments).record_id

    def add_attachment(self, record_id: str, kind: str, data: bytes, mime: str) -> str:
        return records.add_attachment(self, record_id, kind, data, mime)

    def remove_attachment(self, record_id: str, kind: str) -> None:
        records.remove_attachment(self, record_id, kind)

    def attachment_bytes(self, record_id: str, kind: str) -> bytes | None:
        return blobs.attachment_bytes(self.db, record_id, kind)

    def face_templates(self, exclude_record_id: str | None = None) -> list[tuple[str, str, str, bytes]]:
        return blobs.face_templates(self.db, exclude_record_id)

    def edit(self, record_id: str, fields: dict) -> None:
        records.edit(self, record_id, fields)

    def delete(self, record_id: str) -> None:
        records.delete(self, record_id)

    def get_record(self, record_id: str) -> dict:
        return records.public(self.db, records.row_of(self.db, record_id))

    def get_record_or_none(self, record_id: str) -> dict | None:
        return records.get_or_none(self.db, record_id)

    def record_for_id_number(self, id_number: str) -> dict | None:
        return records.for_id_number(self.db, id_number)

    def list_records(self, state: str | None = None, limit: int | None = None, *,
                     review_state: str | None = None, mine_only: bool = False) -> list[dict]:
        """``mine_only``: only records this laptop made or edited (发送队列), not other laptops' pulled ones."""
        return records.list_records(self.db, state, limit, review_state=review_state, mine_only=mine_only)

    def counts_by_state(self, *, mine_only: bool = False) -> dict[str, int]:
        return records.counts_by_state(self.db, mine_only=mine_only)

    def counts_by_review_state(self) -> dict[str, int]:
        return records.counts_by_review_state(self.db)

    def resolve_conflict(self, record_id: str, keep: str) -> None:
        records.resolve_conflict(self, record_id, keep)

    # -- used by the sync client
    def last_counter(self) -> int:
        return int(self.get_meta("last_counter", 0))

    def apply_pull(self, changes: Iterable[dict | protocol.PullChange], last_counter: int) -> dict[str, int]:
        """Apply one pull batch and its checkpoint (the new counter) in one transaction, then WAL-checkpoint.

        Every change is parsed first (``protocol.PullChange``): any other shape raises
        ``protocol.BadWireShape`` (``protocol.bad_change``) and nothing of the batch is applied.
        ``reviews`` counts the records whose review changed, ``returned`` those that became returned.
        """
        stats = pull.apply(self, pull.parse(changes), last_counter)
        self.checkpoint()
        return stats

    def keep_verification(self, verification: protocol.PulledVerification, counter: int) -> None:
        """A pulled remote verification request (v4); called by the pull inside its transaction."""
        with self.transaction():
            verifications.keep(self.db, verification, counter)

    def verifications_for(self, id_number: str) -> list[dict]:
        """This resident's remote verification requests as last pulled, newest first."""
        return verifications.for_id_number(self.db, id_number)

    def latest_verifications(self, id_numbers: list[str] | None = None) -> dict[str, dict]:
        """The newest remote verification request per resident (id_number → request)."""
        return verifications.latest_by_id_number(self.db, id_numbers)

    def payment_failures(self, village_codes: list[str] | None = None) -> list[dict]:
        """The village's payments that failed at the bank as last pulled (protocol v6): those that still need
        the resident's help first (``needs_help``), then newest first."""
        return payment_failures.listed(self.db, village_codes)

    def payment_failures_needing_help(self) -> int:
        return payment_failures.count_needing_help(self.db)

    def verification(self, request: str) -> dict | None:
        """One remote verification request as last pulled (None if this laptop has not pulled it)."""
        return verifications.get(self.db, request)

    # -- offline video checks (sync/local/video_checks.py; the steps: sync/verification_ops.py)
    @property
    def clip_folder(self) -> Path:
        return video_checks.clip_folder(self.path)

    def record_video_check(self, *, request: str, id_number: str, clip: bytes, suffix: str,
                           decision: dict[str, Any], digits_heard: bool, checked_by: str | None) -> dict:
        """Copy the clip into the clip folder and record the check as ``pending``; the row."""
        sha, name = video_checks.copy_clip(self.clip_folder, clip, suffix)
        with self.transaction():
            check_id = video_checks.insert(self.db, request=request, id_number=id_number, clip_sha256=sha,
                                           clip_size=len(clip), clip_file=name, decision=decision,
                                           digits_heard=digits_heard, checked_by=checked_by)
        return video_checks.get(self.db, check_id)

    def video_check(self, check_id: str) -> dict | None:
        return video_checks.get(self.db, check_id)

    def video_checks_to_send(self) -> list[dict]:
        return video_checks.to_send(self.db)

    def video_clip_bytes(self, check: dict) -> bytes:
        """The recorded clip's bytes; ``blob.missing`` when its file is gone or no longer matches."""
        try:
            data = (self.clip_folder / check["clip_file"]).read_bytes()
        except OSError:
            raise DomainError(protocol.E_BLOB_MISSING, "clip_file") from None
        if hashlib.sha256(data).hexdigest() != check["clip_sha256"]:
            raise DomainError(protocol.E_BLOB_MISSING, "clip_file")
        return data

    def mark_video_check_sent(self, check_id: str, answer: dict[str, Any]) -> None:
        with self.transaction():
            video_checks.mark_sent(self.db, check_id, answer)

    def mark_video_check_refused(self, check_id: str, code: str, message: str) -> None:
        with self.transaction():
            video_checks.mark_refused(self.db, check_id, code, message)

    def video_checks_for(self, id_number: str) -> list[dict]:
        return video_checks.for_id_number(self.db, id_number)

    def latest_video_checks(self, id_numbers: list[str] | None = None) -> dict[str, dict]:
        return video_checks.latest_by_id_number(self.db, id_numbers)

    def face_template_for(self, id_number: str) -> bytes | None:
        """The resident's face template on this laptop (their record's), or None."""
        from enrollment.records import FACE_TEMPLATE

        record = self.record_for_id_number(id_number)
        return None if record is None else self.attachment_bytes(record["record_id"], FACE_TEMPLATE)

    def records_to_send(self, limit: int, after_seq: int = 0) -> list[dict]:
        return records.to_send(self.db, limit, after_seq)

    def mark_sending(self, record_ids: Iterable[str]) -> None:
        records.mark_sending(self, record_ids)

    def mark_result(self, record_id: str, result: dict | protocol.PushResult) -> str | None:
        """Apply the registry's answer for one record; returns the new state (None when ignored)."""
        return self.mark_results([(record_id, result)])[0]

    def mark_results(self, results: Iterable[tuple[str, dict | protocol.PushResult]]) -> list[str | None]:
        """Apply a push batch's answers in one transaction; the new state per record (None = ignored).
        Every answer is parsed first (``protocol.PushResult``): another shape raises ``protocol.BadWireShape``
        (``protocol.bad_push_result``) and no answer of the batch is applied."""
        parsed = push_results.parse(results)
        with self.transaction():
            return [push_results.apply(self.db, rid, result) for rid, result in parsed]

    def mark_attention(self, record_id: str, code: str, message: str, data: dict | None = None) -> None:
        """Put a record in needs-attention with a reason that did not come from a push answer."""
        with self.transaction():
            needs_attention(self.db, record_id, code, message, data)

    def blobs_to_send(self) -> list[tuple[str, int]]:
        return blobs.to_send(self.db)

    def blob_bytes(self, sha256: str) -> bytes:
        return blobs.blob_bytes(self.db, sha256)

    def mark_blob_uploaded(self, sha256: str) -> None:
        with self.transaction():
            blobs.mark_uploaded(self.db, sha256)

    def local_digest(self) -> tuple[str, int]:
        """protocol.digest over every record version the server has accepted (as far as this laptop knows)."""
        return records.local_digest(self.db)
