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
``attachments``  (record, kind) → blob SHA-256; ``blobs`` holds the bytes, addressed by SHA-256.

Schema versions live in ``PRAGMA user_version``; :data:`MIGRATIONS` lists one function per
version and :func:`migrate` applies the missing ones, each in its own transaction.

Every multi-step write happens in one ``BEGIN IMMEDIATE`` transaction. A ``Store`` is used
from one thread; several ``Store`` objects (the desktop's and a sync thread's) may share a file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import sqlite_utils
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from enrollment.canonical import canonical_bytes
from enrollment.errors import DomainError
from enrollment.records import ATTACHMENT_KINDS, FACE_TEMPLATE, new_record_id, validate_enrollment
from enrollment.text import pinyin_keys

from . import protocol

DRAFT, QUEUED, SENDING, ACCEPTED, NEEDS_ATTENTION = "draft", "queued", "sending", "accepted", "needs-attention"
STATES = (DRAFT, QUEUED, SENDING, ACCEPTED, NEEDS_ATTENTION)

# Error codes raised by the store (wording lives in desktop/errors.py).
E_OFFLINE_UNKNOWN_USER = "auth.offline_unknown_user"
E_BAD_CREDENTIALS = "auth.bad_credentials"
E_RECORD_NOT_FOUND = "record.not_found"
E_RECORD_BUSY = "record.sending"          # being sent right now: edit after the sync
E_NO_CONFLICT = "record.no_conflict"
E_ATTACHMENT_KIND = "attachment.kind_invalid"
E_ATTACHMENT_TOO_LARGE = "attachment.too_large"
E_VILLAGE_REQUIRED = "village_code.required"

_RECORD_FIELDS_KEEP = ("record_id", "schema")
# protocol.REVIEW_KEYS → the records columns that keep them (schema version 4)
REVIEW_COLUMNS = ("review_state", "review_reason", "review_decided_by", "review_decided_at", "review_card_issued_at")
_REVIEW_COLUMN_OF = dict(zip(protocol.REVIEW_KEYS, REVIEW_COLUMNS, strict=True))

_PH = PasswordHasher()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _canonical_text(value: Any) -> str:
    return canonical_bytes(value).decode("utf-8")


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _review_of(row: dict) -> dict | None:
    """The registry's review of a record as last pulled ({state, reason, decided_by, decided_at,
    card_issued_at}), or None when no v3 registry has said anything about it yet."""
    if not row.get("review_state"):
        return None
    return {key: row.get(column) for key, column in _REVIEW_COLUMN_OF.items()}


def _next_prefix(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix`` (binary order)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


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
        "state": DRAFT, "base_version": 0, "server_version": 0, "deleted": 0,
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


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_m1_initial, _m2_pinyin_search, _m3_village_search,
                                                             _m4_review]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(db: sqlite_utils.Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite_utils.Database, upto: int | None = None) -> int:
    """Apply the missing migrations (each with its ``user_version`` bump in one transaction)."""
    target = SCHEMA_VERSION if upto is None else upto
    current = schema_version(db)
    if current > SCHEMA_VERSION:
        raise DomainError("store.too_new", None, version=current, supported=SCHEMA_VERSION)
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


# ---------------------------------------------------------------------------------------- the store

class Store:
    def __init__(self, db: sqlite_utils.Database, path: Path) -> None:
        self.db = db
        self.path = path

    # -- lifecycle
    @classmethod
    def open(cls, path: str | Path) -> Store:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
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
        rows = list(self.db.query(sql, list(params)))
        return rows[0] if rows else None

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

    # -- session
    def save_login(self, registry_url: str, username: str, password: str, login_response: dict) -> None:
        """Cache the operator, an argon2 hash of the password (offline login), the token and its expiry."""
        operator = dict(login_response.get("operator") or {})
        operator.setdefault("username", username)
        credential = _PH.hash(password)
        with self.transaction():
            creds = self.get_meta("credentials", {})
            creds[username] = {"hash": credential, "operator": operator}
            self.set_meta("credentials", creds)
            self.set_meta("registry_url", registry_url.rstrip("/"))
            self.set_meta("username", username)
            self.set_meta("operator", operator)
            self.set_meta("token", login_response.get("token"))
            self.set_meta("token_expires_at", login_response.get("expires_at"))

    def offline_login(self, username: str, password: str) -> dict:
        creds = self.get_meta("credentials", {})
        entry = creds.get(username)
        if entry is None:
            raise DomainError(E_OFFLINE_UNKNOWN_USER, "username")
        try:
            _PH.verify(entry["hash"], password)
        except (VerificationError, InvalidHashError):
            raise DomainError(E_BAD_CREDENTIALS, "password") from None
        with self.transaction():
            if self.get_meta("username") != username:
                self.set_meta("token", None)
                self.set_meta("token_expires_at", None)
            self.set_meta("username", username)
            self.set_meta("operator", entry["operator"])
        return entry["operator"]

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
        with self.transaction():
            self.set_meta("token", None)
            self.set_meta("token_expires_at", None)

    def operator_villages(self) -> list[str]:
        op = self.operator() or {}
        return [v["code"] if isinstance(v, dict) else str(v) for v in op.get("villages") or []]

    # -- roster
    _RESIDENT_COLS = ("id_number", "name", "sex", "birth_date", "village_code", "household_id",
                      "relation", "address", "phone")

    def upsert_residents(self, residents: Iterable[dict], counter: int | None = None) -> int:
        n = 0
        with self.transaction():
            for r in residents:
                full, initials = pinyin_keys(r["name"])
                values = [r.get(c) or "" for c in self._RESIDENT_COLS]
                self.db.execute(
                    "INSERT INTO residents(id_number, name, sex, birth_date, village_code, household_id,"
                    " relation, address, phone, counter, pinyin_full, pinyin_initials)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id_number) DO UPDATE SET"
                    " name=excluded.name, sex=excluded.sex, birth_date=excluded.birth_date,"
                    " village_code=excluded.village_code, household_id=excluded.household_id,"
                    " relation=excluded.relation, address=excluded.address, phone=excluded.phone,"
                    " counter=excluded.counter, pinyin_full=excluded.pinyin_full,"
                    " pinyin_initials=excluded.pinyin_initials",
                    [*values, r.get("counter", counter), full, initials])
                n += 1
        return n

    def search_residents(self, query: str, village_code: str | None = None, limit: int = 200) -> list[dict]:
        """Name substring, full-pinyin prefix, initials prefix, ID-number substring; at most ``limit`` rows.

        The query's shape picks the plan, and every plan either walks an index in order with a
        LIMIT or scans with a LIMIT (never sorting a whole table): digits (and X) take ID-number
        prefixes from the primary key, then other substrings; letters take the two pinyin
        indexes as prefix ranges; anything else (Chinese characters, 𠈌) takes name prefixes from
        the name index, then other substrings. Prefix matches come first.
        """
        q = (query or "").strip()
        limit = max(1, int(limit))
        cols = ", ".join(self._RESIDENT_COLS)
        vclause, vparams = (" AND village_code = ?", [village_code]) if village_code else ("", [])

        def run(where: str, params: list, order: str | None, n: int) -> list[dict]:
            sql = f"SELECT {cols}, pinyin_full FROM residents WHERE {where}{vclause}"
            if order:
                sql += f" ORDER BY {order}"
            return list(self.db.query(sql + " LIMIT ?", [*params, *vparams, n]))

        def merge(*groups: list[dict]) -> list[dict]:
            seen: set[str] = set()
            out = []
            for group in groups:
                for r in group:
                    if r["id_number"] not in seen:
                        seen.add(r["id_number"])
                        out.append(r)
            return out[:limit]

        if not q:
            rows = run("1", [], "village_code, household_id", limit)
        elif re.fullmatch(r"[0-9]+[xX]?", q):
            qu = q.upper()
            rows = run("id_number >= ? AND id_number < ?", [qu, _next_prefix(qu)], "id_number", limit)
            if len(rows) < limit:
                inner = run("instr(id_number, ?) > 1", [qu], None, limit - len(rows))
                rows = merge(rows, sorted(inner, key=lambda r: r["id_number"]))
        elif re.fullmatch(r"[A-Za-z]+", q):
            ql = q.lower()
            hi = _next_prefix(ql)
            full = run("pinyin_full >= ? AND pinyin_full < ?", [ql, hi], "pinyin_full", limit)
            initials = run("pinyin_initials >= ? AND pinyin_initials < ?", [ql, hi], "pinyin_initials", limit)
            rows = merge(sorted(merge(full, initials), key=lambda r: (r["pinyin_full"], r["id_number"])))
        else:
            prefix = run("name >= ? AND name < ?", [q, _next_prefix(q)], "name", limit)
            groups = [prefix]
            if re.search(r"[A-Za-z]", q):  # 𠈌m: a character then the pinyin being typed
                ql = q.lower()
                groups.append(run("pinyin_full >= ? AND pinyin_full < ?", [ql, _next_prefix(ql)],
                                  "pinyin_full", limit))
            if sum(len(g) for g in groups) < limit:
                inner = run("instr(name, ?) > 1", [q], None, limit)
                groups.append(sorted(inner, key=lambda r: (len(r["name"]), r["pinyin_full"] or "", r["id_number"])))
            rows = merge(*groups)
        for r in rows:
            r.pop("pinyin_full", None)
        return self._with_enrollment_state(rows)

    def _with_enrollment_state(self, rows: list[dict]) -> list[dict]:
        if not rows:
            return rows
        ids = [r["id_number"] for r in rows]
        states: dict[str, tuple[str, str, str | None, str | None]] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for rec in self.db.query(
                    "SELECT id_number, state, record_id, review_state, review_reason FROM records"
                    f" WHERE deleted = 0 AND id_number IN ({marks}) ORDER BY updated_at", chunk):
                states[rec["id_number"]] = (rec["state"], rec["record_id"], rec["review_state"], rec["review_reason"])
        for r in rows:
            state, rid, review_state, review_reason = states.get(r["id_number"], (None, None, None, None))
            r["enrollment_state"], r["record_id"] = state, rid
            r["review_state"], r["review_reason"] = review_state, review_reason
        return rows

    def households(self, village_code: str) -> list[dict]:
        cols = ", ".join(self._RESIDENT_COLS)
        rows = self._with_enrollment_state(list(self.db.query(
            f"SELECT {cols} FROM residents WHERE village_code = ? ORDER BY household_id, id_number",
            [village_code])))
        out: dict[str, dict] = {}
        for r in rows:
            hh = out.setdefault(r["household_id"], {"household_id": r["household_id"], "head_name": None,
                                                     "members": []})
            hh["members"].append(r)
            if r["relation"] == "户主" and hh["head_name"] is None:
                hh["head_name"] = r["name"]
        for hh in out.values():
            if hh["head_name"] is None:
                hh["head_name"] = hh["members"][0]["name"]
        return list(out.values())

    def roster_count(self) -> int:
        return self.db.execute("SELECT count(*) FROM residents").fetchone()[0]

    def resident(self, id_number: str) -> dict | None:
        cols = ", ".join(self._RESIDENT_COLS)
        return self._one(f"SELECT {cols} FROM residents WHERE id_number = ?", [id_number])

    # -- records
    def _row(self, record_id: str) -> dict:
        row = self._one("SELECT rowid AS seq, * FROM records WHERE record_id = ?", [record_id])
        if row is None:
            raise DomainError(E_RECORD_NOT_FOUND, "record_id")
        return row

    def _editable(self, row: dict) -> None:
        if row["state"] == SENDING:
            raise DomainError(E_RECORD_BUSY, "record_id")

    def _set_fields(self, record_id: str, fields: dict, *, base_version: int | None = None,
                    state: str = DRAFT) -> None:
        name = str(fields.get("name") or "")
        full, initials = pinyin_keys(name) if name.strip() else ("", "")
        sets = {"fields": _json(fields), "village_code": fields.get("village_code"),
                "id_number": str(fields.get("id_number") or "").strip().upper() or None,
                "name": name or None, "pinyin_full": full, "pinyin_initials": initials,
                "state": state, "payload": None, "content_hash": None, "updated_at": _now(),
                "attention_code": None, "attention_message": None, "attention_data": None}
        if base_version is not None:
            sets["base_version"] = base_version
        assign = ", ".join(f"{k} = ?" for k in sets)
        self.db.execute(f"UPDATE records SET {assign} WHERE record_id = ?", [*sets.values(), record_id])

    def save_draft(self, fields: dict, record_id: str | None = None) -> str:
        """Autosave whatever is typed (no validation); the record is (back) in state "draft"."""
        fields = {k: v for k, v in dict(fields).items() if k != "attachments"}
        with self.transaction():
            if record_id is None or self._one("SELECT 1 AS x FROM records WHERE record_id = ?",
                                              [record_id]) is None:
                record_id = record_id or new_record_id()
                now = _now()
                self.db.execute("INSERT INTO records(record_id, state, created_at, updated_at) VALUES (?,?,?,?)",
                                [record_id, DRAFT, now, now])
                self._set_fields(record_id, {**fields, "record_id": record_id})
                return record_id
            row = self._row(record_id)
            self._editable(row)
            base = row["server_version"] if row["state"] == ACCEPTED else None
            self._set_fields(record_id, {**fields, "record_id": record_id}, base_version=base)
        return record_id

    def _fill_defaults(self, fields: dict, record_id: str) -> dict:
        out = dict(fields)
        out["record_id"] = record_id
        if not out.get("village_code"):
            villages = self.operator_villages()
            if len(villages) == 1:
                out["village_code"] = villages[0]
        out["attachments"] = [
            {"kind": a["kind"], "sha256": a["sha256"], "size": a["size"], "mime": a["mime"]}
            for a in self.db.query("SELECT kind, sha256, size, mime FROM attachments WHERE record_id = ? "
                                   "ORDER BY kind", [record_id])]
        out.pop("schema", None)
        return out

    def queue(self, record_id: str) -> dict:
        """Validate the draft → state "queued" with its normalised payload; ValidationErrors lists every problem.

        An edited accepted record whose payload came back identical is accepted again at once.
        """
        with self.transaction():
            row = self._row(record_id)
            self._editable(row)
            if row["deleted"]:
                raise DomainError(E_RECORD_NOT_FOUND, "record_id")
            fields = _loads(row["fields"]) or {}
            payload = validate_enrollment(self._fill_defaults(fields, record_id))
            chash = protocol.record_hash(payload, False, record_id)
            state = QUEUED
            if row["server_version"] and chash == row["server_hash"]:
                state = ACCEPTED  # nothing changed since the version the server holds
            self._set_fields(record_id, payload, state=state)
            self.db.execute("UPDATE records SET payload = ?, content_hash = ? WHERE record_id = ?",
                            [_canonical_text(payload), chash, record_id])
            if state == ACCEPTED:
                self.db.execute("UPDATE records SET base_version = server_version, conflict_payload = NULL,"
                                " conflict_version = NULL, conflict_deleted = NULL WHERE record_id = ?", [record_id])
        return payload

    def enroll(self, fields: dict, attachments: Iterable[tuple[str, bytes, str]] = ()) -> str:
        """Validate, store, attach and queue in one transaction; nothing is kept if anything fails.
        Kept for the tests and fixtures that build outboxes; the steps are ``enrollment_ops``'."""
        from . import enrollment_ops

        return enrollment_ops.enroll(self, fields, attachments).record_id

    def add_attachment(self, record_id: str, kind: str, data: bytes, mime: str) -> str:
        if kind not in ATTACHMENT_KINDS:
            raise DomainError(E_ATTACHMENT_KIND, "attachments", allowed=list(ATTACHMENT_KINDS))
        if len(data) > protocol.BLOB_MAX:
            raise DomainError(E_ATTACHMENT_TOO_LARGE, "attachments", max=protocol.BLOB_MAX)
        sha = hashlib.sha256(data).hexdigest()
        with self.transaction():
            row = self._row(record_id)
            self._editable(row)
            self.db.execute("INSERT OR IGNORE INTO blobs(sha256, size, data, uploaded) VALUES (?,?,?,0)",
                            [sha, len(data), sqlite3.Binary(data)])
            self.db.execute("INSERT OR REPLACE INTO attachments(record_id, kind, sha256, size, mime) "
                            "VALUES (?,?,?,?,?)", [record_id, kind, sha, len(data), mime])
            self._back_to_draft(row)
        return sha

    def attachment_bytes(self, record_id: str, kind: str) -> bytes | None:
        """The bytes of one attachment of a record, or None (no such attachment, or a pulled record whose
        blob stayed on the registry)."""
        row = self.db.execute(
            "SELECT b.data FROM attachments a JOIN blobs b ON b.sha256 = a.sha256"
            " WHERE a.record_id = ? AND a.kind = ?", [record_id, kind]).fetchone()
        return None if row is None else bytes(row[0])

    def face_templates(self, exclude_record_id: str | None = None) -> list[tuple[str, str, str, bytes]]:
        """(record_id, id_number, name, template bytes) of every live record on this laptop with a face
        template: what a new face is compared with before it is saved (the local duplicate check)."""
        rows = self.db.execute(
            "SELECT r.record_id, r.id_number, r.name, b.data FROM records r"
            " JOIN attachments a ON a.record_id = r.record_id AND a.kind = ?"
            " JOIN blobs b ON b.sha256 = a.sha256"
            " WHERE r.deleted = 0 AND r.record_id IS NOT ? ORDER BY r.rowid",
            [FACE_TEMPLATE, exclude_record_id]).fetchall()
        return [(rid, idno or "", name or "", bytes(data)) for rid, idno, name, data in rows]

    def remove_attachment(self, record_id: str, kind: str) -> None:
        with self.transaction():
            row = self._row(record_id)
            self._editable(row)
            self.db.execute("DELETE FROM attachments WHERE record_id = ? AND kind = ?", [record_id, kind])
            self._drop_orphan_blobs()
            self._back_to_draft(row)

    def _back_to_draft(self, row: dict) -> None:
        """A change to a queued/accepted record's content: it needs queueing again."""
        if row["state"] == DRAFT:
            return
        fields = _loads(row["fields"]) or {}
        base = row["server_version"] if row["state"] == ACCEPTED else None
        self._set_fields(row["record_id"], fields, base_version=base)

    def _drop_orphan_blobs(self) -> None:
        self.db.execute("DELETE FROM blobs WHERE sha256 NOT IN (SELECT sha256 FROM attachments)")

    def edit(self, record_id: str, fields: dict) -> None:
        """Change a record (typically an accepted one): fields merged, base_version = server version, "draft"."""
        with self.transaction():
            row = self._row(record_id)
            self._editable(row)
            current = _loads(row["fields"]) or _loads(row["payload"]) or {}
            merged = {**current, **{k: v for k, v in fields.items() if k != "attachments"}}
            base = row["server_version"] if row["state"] == ACCEPTED else None
            self._set_fields(record_id, merged, base_version=base)

    def delete(self, record_id: str) -> None:
        """Never sent → gone; known to the server → a tombstone queued for sending."""
        with self.transaction():
            row = self._row(record_id)
            self._editable(row)
            if not row["server_version"]:
                self.db.execute("DELETE FROM attachments WHERE record_id = ?", [record_id])
                self.db.execute("DELETE FROM records WHERE record_id = ?", [record_id])
                self._drop_orphan_blobs()
                return
            self.db.execute(
                "UPDATE records SET deleted = 1, payload = NULL, content_hash = ?, state = ?, base_version = ?,"
                " attention_code = NULL, attention_message = NULL, attention_data = NULL, updated_at = ?"
                " WHERE record_id = ?",
                [protocol.record_hash(None, True, record_id), QUEUED,
                 row["server_version"] if row["state"] == ACCEPTED else (row["base_version"] or row["server_version"]),
                 _now(), record_id])

    def _public(self, row: dict) -> dict:
        attention = None
        if row["attention_code"]:
            attention = {"code": row["attention_code"], "message": row["attention_message"],
                         "data": _loads(row["attention_data"]) or {}}
        conflict = None
        if row["conflict_version"] is not None:
            conflict = {"server_payload": _loads(row["conflict_payload"]),
                        "server_version": row["conflict_version"],
                        "server_deleted": bool(row["conflict_deleted"])}
        attachments = list(self.db.query(
            "SELECT kind, sha256, size, mime FROM attachments WHERE record_id = ? ORDER BY kind",
            [row["record_id"]]))
        return {
            "record_id": row["record_id"], "state": row["state"], "village_code": row["village_code"],
            "id_number": row["id_number"], "name": row["name"],
            "fields": _loads(row["fields"]) or {}, "payload": _loads(row["payload"]),
            "content_hash": row["content_hash"], "base_version": row["base_version"],
            "server_version": row["server_version"], "deleted": bool(row["deleted"]),
            "attention": attention, "conflict": conflict, "attachments": attachments,
            "review": _review_of(row),
            "created_at": row["created_at"], "updated_at": row["updated_at"],
        }

    def get_record(self, record_id: str) -> dict:
        return self._public(self._row(record_id))

    def get_record_or_none(self, record_id: str) -> dict | None:
        row = self._one("SELECT rowid AS seq, * FROM records WHERE record_id = ?", [record_id])
        return None if row is None else self._public(row)

    def record_for_id_number(self, id_number: str) -> dict | None:
        row = self._one("SELECT rowid AS seq, * FROM records WHERE id_number = ? AND deleted = 0 "
                        "ORDER BY updated_at DESC LIMIT 1", [id_number])
        return None if row is None else self._public(row)

    def list_records(self, state: str | None = None, limit: int | None = None, *,
                     review_state: str | None = None) -> list[dict]:
        clauses, params = [], []
        if state:
            clauses.append("state = ?")
            params.append(state)
        if review_state:
            clauses.append("review_state = ?")
            params.append(review_state)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT rowid AS seq, * FROM records {where} ORDER BY rowid"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [self._public(r) for r in self.db.query(sql, params)]

    def counts_by_state(self) -> dict[str, int]:
        counts = dict.fromkeys(STATES, 0)
        for state, n in self.db.execute("SELECT state, count(*) FROM records GROUP BY state").fetchall():
            counts[state] = n
        return counts

    def counts_by_review_state(self) -> dict[str, int]:
        """Live records per registry review state (protocol.REVIEW_STATES, zero included); "none" counts
        the records no v3 registry has reviewed yet (never sent, or sent before protocol v3)."""
        counts = dict.fromkeys((*protocol.REVIEW_STATES, "none"), 0)
        for state, n in self.db.execute(
                "SELECT coalesce(review_state, 'none'), count(*) FROM records WHERE deleted = 0"
                " GROUP BY 1").fetchall():
            counts[state] = counts.get(state, 0) + n
        return counts

    def resolve_conflict(self, record_id: str, keep: str) -> None:
        """keep="mine": re-queue ours on top of the server's version; "theirs": take the server's version."""
        if keep not in ("mine", "theirs"):
            raise ValueError("keep must be 'mine' or 'theirs'")
        with self.transaction():
            row = self._row(record_id)
            if row["conflict_version"] is None:
                raise DomainError(E_NO_CONFLICT, "record_id")
            clear = ("conflict_payload = NULL, conflict_version = NULL, conflict_deleted = NULL,"
                     " attention_code = NULL, attention_message = NULL, attention_data = NULL, updated_at = ?")
            version = row["conflict_version"]
            if keep == "mine":
                self.db.execute(f"UPDATE records SET state = ?, base_version = ?, {clear} WHERE record_id = ?",
                                [QUEUED, version, _now(), record_id])
                return
            payload = _loads(row["conflict_payload"])
            deleted = bool(row["conflict_deleted"])
            chash = protocol.record_hash(payload, deleted, record_id)
            self._store_server_version(record_id, payload, deleted, version, chash)
            self.db.execute(f"UPDATE records SET {clear} WHERE record_id = ?", [_now(), record_id])

    def _store_server_version(self, record_id: str, payload: dict | None, deleted: bool, version: int,
                              chash: str) -> None:
        """The record becomes exactly the server's version (accepted)."""
        payload = payload or {}
        name = str(payload.get("name") or "") or None
        full, initials = pinyin_keys(name) if name else ("", "")
        self.db.execute(
            "UPDATE records SET fields = ?, payload = ?, content_hash = ?, server_hash = ?, state = ?,"
            " base_version = ?, server_version = ?, deleted = ?, village_code = coalesce(?, village_code),"
            " id_number = coalesce(?, id_number), name = coalesce(?, name), pinyin_full = ?, pinyin_initials = ?,"
            " updated_at = ? WHERE record_id = ?",
            [_json(payload) if not deleted else None, None if deleted else _canonical_text(payload), chash, chash,
             ACCEPTED, version, version, int(deleted), payload.get("village_code"), payload.get("id_number"),
             name, full, initials, _now(), record_id])
        # The attachments the server's version names (their bytes stay on the registry unless this
        # laptop has them): an edit of a pulled record keeps them in its payload.
        self.db.execute("DELETE FROM attachments WHERE record_id = ?", [record_id])
        for att in payload.get("attachments") or []:
            self.db.execute("INSERT OR REPLACE INTO attachments(record_id, kind, sha256, size, mime) VALUES (?,?,?,?,?)",
                            [record_id, att["kind"], att["sha256"], att["size"], att.get("mime") or ""])
        self._drop_orphan_blobs()

    # -- used by the sync client
    def last_counter(self) -> int:
        return int(self.get_meta("last_counter", 0))

    def apply_pull(self, changes: list[dict], last_counter: int) -> dict[str, int]:
        """Apply one pull batch and its checkpoint (the new counter) in one transaction, then WAL-checkpoint.

        Residents are upserted. A record from the server is stored as accepted when this laptop
        has no pending change of it; a pending local edit is kept (its push decides: a stale
        base becomes a conflict shown to the cadre). The registry's review of each pulled record is
        kept either way; ``reviews`` counts the records whose review changed, ``returned`` those that
        became returned (the cadre has to correct them).
        """
        stats = {"residents": 0, "records": 0, "reviews": 0, "returned": 0}
        with self.transaction():
            residents = []
            for ch in changes:
                kind = ch.get("kind")
                if kind == protocol.KIND_RESIDENT:
                    data = ch.get("resident") or ch.get("data") or ch
                    residents.append({**data, "counter": ch.get("counter")})
                elif kind == protocol.KIND_RECORD:
                    stats["records"] += self._apply_pulled_record(ch.get("data") or ch.get("record") or ch, stats)
            if residents:
                stats["residents"] = self.upsert_residents(residents)
            self.set_meta("last_counter", int(last_counter))
        self.checkpoint()
        return stats

    def _apply_pulled_record(self, rec: dict, stats: dict[str, int]) -> int:
        record_id = rec["record_id"]
        version = int(rec["version"])
        deleted = bool(rec.get("deleted"))
        payload = None if deleted else rec.get("payload")
        chash = rec.get("content_hash") or protocol.record_hash(payload, deleted, record_id)
        row = self._one("SELECT * FROM records WHERE record_id = ?", [record_id])
        if row is None:
            now = _now()
            self.db.execute("INSERT INTO records(record_id, state, created_at, updated_at) VALUES (?,?,?,?)",
                            [record_id, ACCEPTED, now, now])
            self._store_server_version(record_id, payload, deleted, version, chash)
            self._store_review(record_id, None, rec.get("review"), stats)
            return 1
        if version >= (row["server_version"] or 0):
            # The review changes without a new version (a check, a decision, the card issued) and
            # concerns the registry's record whatever this laptop has pending: always kept.
            self._store_review(record_id, row, rec.get("review"), stats)
        if version <= (row["server_version"] or 0):
            return 0
        if row["state"] == ACCEPTED:
            self._store_server_version(record_id, payload, deleted, version, chash)
            return 1
        # A pending local change is kept (its push meets the newer version as a conflict); the
        # laptop only notes which version the registry now holds, and a shown conflict is refreshed.
        self.db.execute("UPDATE records SET server_version = ?, server_hash = ? WHERE record_id = ?",
                        [version, chash, record_id])
        if row["conflict_version"] is not None:
            self.db.execute("UPDATE records SET conflict_payload = ?, conflict_version = ?, conflict_deleted = ?"
                            " WHERE record_id = ?", [_json(payload), version, int(deleted), record_id])
        return 0

    def _store_review(self, record_id: str, row: dict | None, review: Any, stats: dict[str, int]) -> None:
        """Keep a pulled record's ``review`` (protocol v3); a v2 registry sends none and nothing changes."""
        if not isinstance(review, dict) or not isinstance(review.get("state"), str):
            return
        values = [None if review.get(key) is None else str(review[key]) for key in protocol.REVIEW_KEYS]
        before = [None if row is None else row.get(column) for column in REVIEW_COLUMNS]
        if values == before:
            return
        assign = ", ".join(f"{_REVIEW_COLUMN_OF[key]} = ?" for key in protocol.REVIEW_KEYS)
        self.db.execute(f"UPDATE records SET {assign} WHERE record_id = ?", [*values, record_id])
        stats["reviews"] += 1
        if values[0] == protocol.REVIEW_RETURNED and before[0] != protocol.REVIEW_RETURNED:
            stats["returned"] += 1

    def records_to_send(self, limit: int, after_seq: int = 0) -> list[dict]:
        """Queued and sending (interrupted earlier) records, in creation order after ``after_seq``."""
        rows = self.db.query(
            "SELECT rowid AS seq, record_id, base_version, payload, deleted, content_hash, village_code, id_number"
            " FROM records WHERE state IN (?, ?) AND rowid > ? ORDER BY rowid LIMIT ?",
            [QUEUED, SENDING, int(after_seq), int(limit)])
        out = []
        for r in rows:
            payload = _loads(r["payload"])
            item = protocol.push_item(r["record_id"], r["base_version"] or 0, payload, bool(r["deleted"]))
            out.append({**r, "payload": payload, "deleted": bool(r["deleted"]), "item": item})
        return out

    def mark_sending(self, record_ids: Iterable[str]) -> None:
        ids = list(record_ids)
        with self.transaction():
            for rid in ids:
                self.db.execute("UPDATE records SET state = ?, updated_at = ? WHERE record_id = ? AND state IN (?, ?)",
                                [SENDING, _now(), rid, QUEUED, SENDING])

    def mark_result(self, record_id: str, result: dict) -> str | None:
        """Apply the server's answer for one record; returns the new state (None when ignored)."""
        return self.mark_results([(record_id, result)])[0]

    def mark_results(self, results: Iterable[tuple[str, dict]]) -> list[str | None]:
        """Apply a push batch's answers in one transaction; the new state per record (None = ignored).

        Only a record in "sending" takes an answer; accepted/unchanged only when the answer's
        content hash (if given) is the one this laptop sent.
        """
        with self.transaction():
            return [self._apply_result(rid, result) for rid, result in results]

    def _apply_result(self, record_id: str, result: dict) -> str | None:
        status = result.get("status")
        row = self._one("SELECT * FROM records WHERE record_id = ?", [record_id])
        if row is None or row["state"] != SENDING:
            return None
        sent_hash = result.get("content_hash")
        if sent_hash and row["content_hash"] and sent_hash != row["content_hash"] and status in (
                protocol.ACCEPTED, protocol.UNCHANGED):
            return None  # an answer about some other content: not ours to accept
        now = _now()
        if status in (protocol.ACCEPTED, protocol.UNCHANGED):
            version = int(result.get("version") or result.get("server_version") or 0)
            if status == protocol.ACCEPTED and version > (row["server_version"] or 0):
                # A new version starts the registry's review again (docs/review-api.md §1): the decision
                # shown so far was about an older version. The next pull brings the registry's own word.
                self.db.execute(
                    "UPDATE records SET review_state = ?, review_reason = NULL, review_decided_by = NULL,"
                    " review_decided_at = NULL, review_card_issued_at = NULL WHERE record_id = ?",
                    [protocol.REVIEW_RECEIVED, record_id])
            self.db.execute(
                "UPDATE records SET state = ?, server_version = ?, base_version = ?, server_hash = content_hash,"
                " attention_code = NULL, attention_message = NULL, attention_data = NULL,"
                " conflict_payload = NULL, conflict_version = NULL, conflict_deleted = NULL, updated_at = ?"
                " WHERE record_id = ?", [ACCEPTED, version, version, now, record_id])
            return ACCEPTED
        if status == protocol.CONFLICT:
            err = result.get("error") or {}
            server = result.get("server") or {}
            sv = result.get("server_version", server.get("version"))
            sp = result.get("server_payload", server.get("payload"))
            sd = result.get("server_deleted", server.get("deleted", False))
            sh = server.get("content_hash")
            if sv is not None and sh:  # the version the registry holds now (what its digest counts)
                self.db.execute("UPDATE records SET server_version = ?, server_hash = ? WHERE record_id = ?",
                                [int(sv), sh, record_id])
            self.db.execute(
                "UPDATE records SET state = ?, attention_code = ?, attention_message = ?, attention_data = ?,"
                " conflict_payload = ?, conflict_version = ?, conflict_deleted = ?, updated_at = ?"
                " WHERE record_id = ?",
                [NEEDS_ATTENTION, err.get("code") or protocol.E_CONFLICT,
                 err.get("message") or "the record was changed elsewhere; both versions are kept",
                 _json(err.get("data") or {}), _json(sp), None if sv is None else int(sv), int(bool(sd)),
                 now, record_id])
            return NEEDS_ATTENTION
        err = result.get("error") or {}
        self.db.execute(
            "UPDATE records SET state = ?, attention_code = ?, attention_message = ?, attention_data = ?,"
            " updated_at = ? WHERE record_id = ?",
            [NEEDS_ATTENTION, err.get("code") or "record.refused", err.get("message") or "",
             _json({**(err.get("data") or {}), **({"field": err["field"]} if err.get("field") else {})}),
             now, record_id])
        return NEEDS_ATTENTION

    def mark_attention(self, record_id: str, code: str, message: str, data: dict | None = None) -> None:
        """Put a record in needs-attention with a reason that did not come from a push answer."""
        with self.transaction():
            self.db.execute(
                "UPDATE records SET state = ?, attention_code = ?, attention_message = ?, attention_data = ?,"
                " updated_at = ? WHERE record_id = ?",
                [NEEDS_ATTENTION, code, message, _json(data or {}), _now(), record_id])

    def blobs_to_send(self) -> list[tuple[str, int]]:
        """Blobs of queued/sending records the server has not confirmed yet."""
        rows = self.db.execute(
            "SELECT DISTINCT b.sha256, b.size FROM blobs b JOIN attachments a ON a.sha256 = b.sha256"
            " JOIN records r ON r.record_id = a.record_id"
            " WHERE b.uploaded = 0 AND r.state IN (?, ?) ORDER BY b.sha256", [QUEUED, SENDING]).fetchall()
        return [(sha, size) for sha, size in rows]

    def blob_bytes(self, sha256: str) -> bytes:
        row = self.db.execute("SELECT data FROM blobs WHERE sha256 = ?", [sha256]).fetchone()
        if row is None:
            raise DomainError(protocol.E_BLOB_MISSING, "sha256")
        return bytes(row[0])

    def mark_blob_uploaded(self, sha256: str) -> None:
        with self.transaction():
            self.db.execute("UPDATE blobs SET uploaded = 1 WHERE sha256 = ?", [sha256])

    def local_digest(self) -> tuple[str, int]:
        """protocol.digest over every record version the server has accepted (as far as this laptop knows)."""
        rows = self.db.execute(
            "SELECT record_id, server_version, server_hash FROM records"
            " WHERE server_version > 0 AND server_hash IS NOT NULL").fetchall()
        return protocol.digest(rows)
