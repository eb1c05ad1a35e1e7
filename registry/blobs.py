"""Blobs: resumable uploads owned by their uploader, what each caller may know, and garbage collection.

A blob is named by the SHA-256 of its bytes. An upload in progress belongs to the operator and the
device that started it (``blob_uploads``, keyed by sha256 + operator + device): another uploader of
the same hash has an upload of their own, so a wrong size or wrong bytes from one never block
another (issue 10: a cadre could squat on someone else's hash). When the last byte arrives and the
bytes hash to the name, the upload becomes the complete blob (or joins it, if someone completed it
first) and the uploader is remembered in ``blob_uploaders``.

Nothing here answers "does this hash exist?" to someone who has not shown the bytes: the status,
an upload's answer and a push's ``blob.missing`` check treat a complete blob as present for the
caller only when the caller *knows* it: they uploaded it, or a record in a village they may see
names it (the same rule as reading it, ``read``). Anyone else uploads the bytes again; finishing
proves they hold them.

Garbage collection (``collect_garbage``; ``yikatong registry gc-blobs`` and the server's
``BlobSweeper``): a partial upload whose last chunk is older than the partial TTL is removed, and a
complete blob is removed once no record version (deleted records' history included: central staff
may need it), no kept conflict, no reference photo and no verification clip whose evidence is still
kept names it, and its grace period has passed
since the last time an uploader completed it or was told it is complete.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from enrollment import error_codes
from sync import protocol

from . import audit
from .auth import Operator
from .clock import Clock, SystemClock
from .config import DEFAULT_BLOB_GC_INTERVAL, DEFAULT_BLOB_GRACE, DEFAULT_BLOB_PARTIAL_TTL
from .db import iso
from .errors import ApiError
from .periodic import Periodic
from .schema import (
    blob_chunks,
    blob_upload_chunks,
    blob_uploaders,
    blob_uploads,
    blobs,
    conflicts,
    record_attachments,
    records,
    reference_templates,
    server_counter,
    verification_attempts,
)

log = logging.getLogger("registry.blobs")

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def check_sha256(value: str) -> str:
    if not _SHA256.match(value or ""):
        raise ApiError(422, protocol.E_INVALID, "a blob is named by its SHA-256 in lower-case hex",
                       field="sha256")
    return value


def _stamp(clock: Clock | None) -> str:
    return iso((clock or SystemClock()).now())


# ------------------------------------------------------------------------------ who knows what

def _visible_to(operator: Operator, shas: list[str]) -> Any:
    """The hashes among ``shas`` that some record version in a village ``operator`` may see names."""
    q = select(record_attachments.c.sha256).where(record_attachments.c.sha256.in_(shas))
    if not operator.sees_all:
        q = (q.join(records, records.c.record_id == record_attachments.c.record_id)
             .where(records.c.village_code.in_(sorted(operator.village_codes))))
    return q


def known(conn: Connection, operator: Operator, shas: Iterable[str], *, lock: bool = False) -> set[str]:
    """The complete blobs among ``shas`` that ``operator`` knows: they uploaded it, or a record in one
    of their villages (any village, for central staff) names it. ``lock`` holds the blob rows against
    garbage collection until the caller's transaction ends (PostgreSQL; SQLite writers queue anyway)."""
    wanted = sorted(set(shas))
    if not wanted:
        return set()
    q = select(blobs.c.sha256).where(blobs.c.sha256.in_(wanted), blobs.c.complete.is_(True))
    if lock:
        q = q.with_for_update(read=True)
    complete = set(conn.execute(q).scalars())
    if not complete:
        return set()
    names = sorted(complete)
    mine = set(conn.execute(select(blob_uploaders.c.sha256).where(
        blob_uploaders.c.sha256.in_(names), blob_uploaders.c.operator == operator.username)).scalars())
    rest = sorted(complete - mine)
    seen = set(conn.execute(_visible_to(operator, rest)).scalars()) if rest else set()
    return mine | seen


def missing(conn: Connection, operator: Operator, shas: Iterable[str]) -> list[str]:
    """For a push: the attachments that are not complete blobs this operator knows (sorted). The
    known ones stay locked against collection until the push's transaction ends."""
    wanted = sorted(set(shas))
    have = known(conn, operator, wanted, lock=True)
    return [h for h in wanted if h not in have]


# ------------------------------------------------------------------------------ status and upload

def status(engine: Engine, operator: Operator, device_id: str, wanted: list[tuple[str, int]], *,
           clock: Clock | None = None) -> list[dict[str, Any]]:
    """Per asked blob: ``received`` and ``complete`` as this caller sees them: a blob they know is
    complete; otherwise the bytes of their own upload from this device, or 0 (whatever anyone else
    holds). ``size`` is added when the caller's own upload or known blob has another size."""
    names = sorted({check_sha256(h) for h, _ in wanted})
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        have = {sha: size for sha, size in conn.execute(
            select(blobs.c.sha256, blobs.c.size).where(blobs.c.sha256.in_(sorted(known(conn, operator, names)))))}
        own = {r.sha256: r for r in conn.execute(select(blob_uploads).where(
            blob_uploads.c.sha256.in_(names), blob_uploads.c.operator == operator.username,
            blob_uploads.c.device_id == device_id))}
        mine = set(conn.execute(select(blob_uploaders.c.sha256).where(
            blob_uploaders.c.sha256.in_(sorted(have)), blob_uploaders.c.operator == operator.username)).scalars())
    if mine:
        # Told "complete", the laptop pushes the record next: its grace period starts again now.
        with engine.begin() as conn:
            conn.execute(update(blob_uploaders).where(
                blob_uploaders.c.sha256.in_(sorted(mine)), blob_uploaders.c.operator == operator.username)
                .values(confirmed_at=_stamp(clock)))
    out = []
    for sha, size in wanted:
        if sha in have:
            entry: dict[str, Any] = {"sha256": sha, "received": have[sha], "complete": True}
            actual = have[sha]
        elif sha in own:
            entry = {"sha256": sha, "received": own[sha].received, "complete": False}
            actual = own[sha].size
        else:
            entry, actual = {"sha256": sha, "received": 0, "complete": False}, size
        if actual != size:
            entry["size"] = actual
        out.append(entry)
    return out


def _drop_upload(conn: Connection, key: Any) -> None:
    conn.execute(delete(blob_upload_chunks).where(*_chunk_key(key)))
    conn.execute(delete(blob_uploads).where(*_upload_key(key)))


def _upload_key(key: tuple[str, str, str]) -> list[Any]:
    sha, who, device = key
    return [blob_uploads.c.sha256 == sha, blob_uploads.c.operator == who, blob_uploads.c.device_id == device]


def _chunk_key(key: tuple[str, str, str]) -> list[Any]:
    sha, who, device = key
    return [blob_upload_chunks.c.sha256 == sha, blob_upload_chunks.c.operator == who,
            blob_upload_chunks.c.device_id == device]


def _record_uploader(conn: Connection, sha256: str, username: str, now: str) -> None:
    done = conn.execute(update(blob_uploaders).where(blob_uploaders.c.sha256 == sha256,
                                                     blob_uploaders.c.operator == username)
                        .values(confirmed_at=now)).rowcount
    if not done:
        conn.execute(insert(blob_uploaders).values(sha256=sha256, operator=username, confirmed_at=now))


def _complete(conn: Connection, key: tuple[str, str, str], size: int, now: str) -> None:
    """The caller's finished, verified upload becomes the complete blob or joins it; its rows go."""
    sha = key[0]
    existing = conn.execute(select(blobs.c.sha256).where(blobs.c.sha256 == sha).with_for_update()).first()
    if existing is None:
        try:
            with conn.begin_nested():
                conn.execute(insert(blobs).values(sha256=sha, size=size, received=size, complete=True,
                                                  created_at=now, completed_at=now))
                conn.execute(insert(blob_chunks).from_select(
                    ["sha256", "offset", "data"],
                    select(blob_upload_chunks.c.sha256, blob_upload_chunks.c.offset, blob_upload_chunks.c.data)
                    .where(*_chunk_key(key))))
        except IntegrityError:
            # Another uploader completed the same bytes meanwhile (PostgreSQL): join theirs.
            conn.execute(select(blobs.c.sha256).where(blobs.c.sha256 == sha).with_for_update()).one()
    _record_uploader(conn, sha, key[1], now)
    _drop_upload(conn, key)


def put_chunk(engine: Engine, operator: Operator, device_id: str, sha256: str, offset: int, size: int,
              chunk: bytes, *, clock: Clock | None = None) -> dict[str, Any]:
    """Append one chunk at ``offset`` to the caller's own upload (from this device); verify the SHA-256
    when the last byte arrives. A blob the caller already knows answers complete at once. Only cadres
    upload: blobs are the photos and templates of enrollments, which only a village's cadres push."""
    check_sha256(sha256)
    if operator.role != "cadre":
        with engine.begin() as conn:
            audit.append(conn, operator.username, audit.PUSH_REFUSED, operator.username, {
                "code": error_codes.PUSH_CADRE_ONLY, "role": operator.role, "device_id": device_id,
                "blob": sha256})
        raise ApiError(error_codes.PUSH_CADRE_ONLY, "only a village's cadres upload enrollment files",
                       role=operator.role)
    if size < 0 or size > protocol.BLOB_MAX:
        raise ApiError(422, protocol.E_BLOB_SIZE, "blob size out of range", field="size",
                       max=protocol.BLOB_MAX)
    if offset < 0 or offset + len(chunk) > size:
        raise ApiError(422, protocol.E_BLOB_SIZE, "the chunk runs past the blob's size", field="offset",
                       size=size)
    key = (sha256, operator.username, device_id)
    now = _stamp(clock)
    bad_hash = False
    with engine.begin() as conn:
        if known(conn, operator, [sha256], lock=True):
            size_known = conn.execute(select(blobs.c.size).where(blobs.c.sha256 == sha256)).scalar_one()
            return {"sha256": sha256, "received": size_known, "complete": True}
        row = conn.execute(select(blob_uploads).where(*_upload_key(key)).with_for_update()).first()
        if row is not None and offset == 0 and row.size != size:
            # The uploader starts again from the first byte with another size: their own upload, replaced.
            _drop_upload(conn, key)
            row = None
        if row is None:
            try:
                with conn.begin_nested():
                    conn.execute(insert(blob_uploads).values(sha256=sha256, operator=operator.username,
                                                             device_id=device_id, size=size, received=0,
                                                             started_at=now, updated_at=now))
            except IntegrityError:
                pass  # the same uploader's parallel request created it (PostgreSQL): lock and read it below
            row = conn.execute(select(blob_uploads).where(*_upload_key(key)).with_for_update()).one()
        if row.size != size:
            raise ApiError(422, protocol.E_BLOB_SIZE, "the size differs from your upload already started "
                           "(start again at offset 0 to replace it)", field="size", size=row.size)
        if offset != row.received:
            raise ApiError(409, protocol.E_BLOB_OFFSET, "resume at the offset the server has",
                           field="offset", received=row.received)
        received = row.received
        if chunk:
            conn.execute(insert(blob_upload_chunks).values(sha256=sha256, operator=operator.username,
                                                           device_id=device_id, offset=offset, data=chunk))
            received += len(chunk)
        complete = received == size
        if complete:
            h = hashlib.sha256()
            for (data,) in conn.execute(select(blob_upload_chunks.c.data).where(*_chunk_key(key))
                                        .order_by(blob_upload_chunks.c.offset)):
                h.update(data)
            if h.hexdigest() == sha256:
                _complete(conn, key, size, now)
            else:
                bad_hash = True
                _drop_upload(conn, key)
        else:
            conn.execute(update(blob_uploads).where(*_upload_key(key)).values(received=received, updated_at=now))
    if bad_hash:
        raise ApiError(422, protocol.E_BLOB_HASH, "the bytes do not hash to the blob's name; upload discarded",
                       field="sha256")
    return {"sha256": sha256, "received": received, "complete": complete}


def read(engine: Engine, operator: Operator, sha256: str) -> bytes | None:
    """The bytes of a complete blob the operator may see: central staff any, a cadre only blobs
    attached to some version of a record in one of their villages (ID images are personal data).
    A staff download is an audit entry (the hash and who; no personal data), written in the same
    transaction that reads the bytes: no download unrecorded."""
    check_sha256(sha256)
    if operator.sees_all:
        with engine.begin() as conn:
            found = _bytes(conn, sha256)
            if found is not None:
                audit.append(conn, operator.username, audit.BLOB_DOWNLOADED, sha256, {"size": len(found)})
            return found
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        if conn.execute(_visible_to(operator, [sha256]).limit(1)).first() is None:
            return None
        return _bytes(conn, sha256)


def complete_bytes(conn: Connection, sha256: str) -> bytes | None:
    """The bytes of a complete blob, for a caller that already checked who may read them."""
    return _bytes(conn, sha256)


def _bytes(conn: Connection, sha256: str) -> bytes | None:
    if conn.execute(select(blobs.c.complete).where(blobs.c.sha256 == sha256)).scalar() is not True:
        return None
    return b"".join(d for (d,) in conn.execute(
        select(blob_chunks.c.data).where(blob_chunks.c.sha256 == sha256).order_by(blob_chunks.c.offset)))


# ------------------------------------------------------------------------------ garbage collection

@dataclasses.dataclass(frozen=True)
class GcSummary:
    partials_removed: int = 0
    partial_bytes: int = 0
    blobs_removed: int = 0
    blob_bytes: int = 0
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _conflict_references(conn: Connection) -> set[str]:
    """Hashes named by kept conflicting versions (both versions of a conflict are kept)."""
    found: set[str] = set()
    for (text,) in conn.execute(select(conflicts.c.payload).where(conflicts.c.payload.is_not(None),
                                                                  conflicts.c.payload.like('%"attachments"%'))):
        try:
            found.update(a["sha256"] for a in json.loads(text).get("attachments") or [])
        except (ValueError, TypeError, KeyError, AttributeError):
            continue
    return found


def _unreferenced(grace_cutoff: str) -> Any:
    """Complete blobs no record version or reference photo names, quiet since ``grace_cutoff``."""
    return and_(
        blobs.c.complete.is_(True),
        func.coalesce(blobs.c.completed_at, blobs.c.created_at) < grace_cutoff,
        ~exists().where(record_attachments.c.sha256 == blobs.c.sha256),
        ~exists().where(reference_templates.c.photo_sha256 == blobs.c.sha256),
        # A verification clip (the offline video path) until its attempt's evidence is purged.
        ~exists().where(verification_attempts.c.clip_sha256 == blobs.c.sha256,
                        verification_attempts.c.clip_purged_at.is_(None)),
        ~exists().where(blob_uploaders.c.sha256 == blobs.c.sha256, blob_uploaders.c.confirmed_at >= grace_cutoff),
    )


def collect_garbage(engine: Engine, *, clock: Clock | None = None, partial_ttl: float = DEFAULT_BLOB_PARTIAL_TTL,
                    grace: float = DEFAULT_BLOB_GRACE, dry_run: bool = False, actor: str = audit.SYSTEM
                    ) -> GcSummary:
    """Remove partial uploads idle longer than ``partial_ttl`` seconds and complete blobs nothing
    references whose grace (``grace`` seconds) has passed; ``dry_run`` only counts. A removal is one
    audit entry with the counts."""
    now = (clock or SystemClock()).now()
    partial_cutoff = iso(now - dt.timedelta(seconds=partial_ttl))
    grace_cutoff = iso(now - dt.timedelta(seconds=grace))
    opened = engine.connect().execution_options(readonly=True) if dry_run else engine.connect()
    with opened as conn, conn.begin():
        stale = conn.execute(select(blob_uploads.c.sha256, blob_uploads.c.operator, blob_uploads.c.device_id,
                                    blob_uploads.c.received)
                             .where(blob_uploads.c.updated_at < partial_cutoff)
                             .order_by(blob_uploads.c.sha256, blob_uploads.c.operator, blob_uploads.c.device_id)
                             ).all()
        in_conflicts = _conflict_references(conn)
        candidates = [(sha, size) for sha, size in conn.execute(
            select(blobs.c.sha256, blobs.c.size).where(_unreferenced(grace_cutoff)).order_by(blobs.c.sha256))
            if sha not in in_conflicts]
        if dry_run:
            return GcSummary(len(stale), sum(r.received for r in stale), len(candidates),
                             sum(size for _sha, size in candidates), dry_run=True)
        if conn.dialect.name == "postgresql":
            # The lock every push and audit entry takes, first: a push holding it may wait for a blob row
            # locked below, so taking it at the end (for the audit entry) could deadlock.
            conn.execute(select(server_counter.c.id).where(server_counter.c.id == 1).with_for_update())
        partials = partial_bytes = removed = removed_bytes = 0
        for sha, who, device, received in stale:
            key = (sha, who, device)
            # Locked and checked again: a chunk may have arrived since the list was read. A row locked by an
            # upload in progress is skipped (it is not idle).
            row = conn.execute(select(blob_uploads.c.updated_at).where(*_upload_key(key))
                               .with_for_update(skip_locked=True)).first()
            if row is None or row.updated_at >= partial_cutoff:
                continue
            _drop_upload(conn, key)
            partials, partial_bytes = partials + 1, partial_bytes + received
        for sha, size in candidates:
            # A blob a push or an upload is looking at right now (``known(lock=True)`` holds its row) is
            # skipped, never waited for; under the lock, the check below sees every committed reference.
            if conn.execute(select(blobs.c.sha256).where(blobs.c.sha256 == sha)
                            .with_for_update(skip_locked=True)).first() is None:
                continue
            if conn.execute(select(blobs.c.sha256).where(blobs.c.sha256 == sha, _unreferenced(grace_cutoff))
                            ).first() is None:
                continue
            conn.execute(delete(blob_chunks).where(blob_chunks.c.sha256 == sha))
            conn.execute(delete(blob_uploaders).where(blob_uploaders.c.sha256 == sha))
            conn.execute(delete(blobs).where(blobs.c.sha256 == sha))
            removed, removed_bytes = removed + 1, removed_bytes + size
        summary = GcSummary(partials, partial_bytes, removed, removed_bytes)
        if partials or removed:
            audit.append(conn, actor, audit.BLOBS_COLLECTED, "blobs", {
                k: v for k, v in summary.to_dict().items() if k != "dry_run"})
    if partials or removed:
        log.info("blob collection: %d partial upload(s) (%d bytes) and %d unreferenced blob(s) (%d bytes) removed",
                 partials, partial_bytes, removed, removed_bytes)
    return summary


class BlobSweeper(Periodic):
    """The server's periodic collection of expired partial uploads and unreferenced blobs."""

    name = "registry-blob-gc"

    def __init__(self, engine: Engine, *, clock: Clock, partial_ttl: float = DEFAULT_BLOB_PARTIAL_TTL,
                 grace: float = DEFAULT_BLOB_GRACE, interval: float = DEFAULT_BLOB_GC_INTERVAL) -> None:
        super().__init__(interval)
        self.engine, self.clock = engine, clock
        self.partial_ttl, self.grace = partial_ttl, grace

    def work(self) -> GcSummary:
        return collect_garbage(self.engine, clock=self.clock, partial_ttl=self.partial_ttl, grace=self.grace)
