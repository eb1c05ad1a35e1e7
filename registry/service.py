"""Push, pull and digest: the registry's side of ``sync.protocol``.

Every function takes an engine or a connection and returns plain dicts in the protocol's
shapes; ``api`` only adds HTTP. Blobs are ``registry.blobs``. A push is one transaction per batch
with a savepoint per record, so one refused record never blocks the others and a SIGKILL loses
at most the batch that was in flight (which the client re-sends: pushes are idempotent).
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from enrollment import error_codes, relations
from enrollment.canonical import CanonicalFormError, canonical_bytes
from enrollment.errors import DomainError, ValidationErrors, mask_id_number
from enrollment.records import RECORD_ID_INVALID, validate_enrollment
from enrollment.vocabulary import NEW_VERSION_STATE
from sync import protocol

from . import audit, blobs
from .auth import Operator
from .db import iso, now_iso
from .errors import ApiError
from .schema import (
    conflicts,
    findings,
    record_attachments,
    record_versions,
    records,
    residents,
    server_counter,
)

log = logging.getLogger("registry.sync")

# findings.status values (registry.schema): a decision resolves, a newer version supersedes.
FINDING_OPEN = "open"
FINDING_RESOLVED = "resolved"
FINDING_SUPERSEDED = "superseded"


class Refused(ApiError):
    """One pushed record refused: it goes back in that record's result, not as the request's status."""

    def __init__(self, code: str, message: str, field: str | None = None, **data: Any) -> None:
        super().__init__(code, message, field=field, **data)
        self.args = (code,)


def next_counter(conn: Connection) -> int:
    """The next pull counter, taken inside the caller's writing transaction."""
    return conn.execute(
        update(server_counter).where(server_counter.c.id == 1)
        .values(value=server_counter.c.value + 1).returning(server_counter.c.value)
    ).scalar_one()


def _payload_text(payload: dict[str, Any] | None) -> str | None:
    return None if payload is None else canonical_bytes(payload).decode("utf-8")


def _payload_obj(text: str | None) -> dict[str, Any] | None:
    return None if text is None else json.loads(text)


# ---------------------------------------------------------------------------------------- push

def _check_item(item: dict[str, Any], operator: Operator, client_version: int = protocol.PROTOCOL_VERSION
                ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Checks that need no database: id, payload rules, normal form, hash, village. Returns the payload
    as sent and, for a laptop older than protocol v5 that sent one of the seven simplified relations,
    the same payload with the GB/T 4761 code (validated in its place), which ``push`` stores as the
    next version so the old laptop pulls it and its digest agrees."""
    record_id = item["record_id"]
    try:
        if str(uuid.UUID(record_id)) != record_id:
            raise ValueError
    except ValueError:
        raise Refused(RECORD_ID_INVALID, "record_id must be a lower-case UUID", "record_id") from None
    if item["base_version"] < 0:
        raise Refused(protocol.E_BASE_VERSION, "base_version must be 0 or more", "base_version")
    deleted = item["deleted"]
    payload = sent = None if deleted else item["payload"]
    if not deleted:
        if not isinstance(payload, dict):
            raise Refused(protocol.E_INVALID, "a record that is not deleted needs a payload", "payload")
        if payload.get("record_id") != record_id:
            raise Refused(RECORD_ID_INVALID, "payload.record_id differs from record_id", "record_id")
        if client_version < protocol.RELATION_CODES_SINCE:
            payload = relations.migrate_payload(payload) or payload
        try:
            normalized = validate_enrollment(payload)
        except ValidationErrors as e:
            d = e.to_dict()
            raise Refused(e.code, "the record breaks the enrollment rules", e.field, **d["data"]) from None
        except DomainError as e:  # pragma: no cover - validate_enrollment raises ValidationErrors
            raise Refused(e.code, "the record breaks the enrollment rules", e.field) from None
        if normalized != payload:
            fields = sorted(k for k in set(normalized) | set(payload) if normalized.get(k) != payload.get(k))
            raise Refused(error_codes.RECORD_NOT_NORMALIZED, "the payload is not in normal form (validate it before sending)",
                          fields[0] if fields else None, fields=fields)
        if not operator.may_write(payload["village_code"]):
            raise Refused(protocol.E_VILLAGE, "this village is not assigned to you", "village_code",
                          village_code=payload["village_code"])
    try:
        expected = protocol.record_hash(sent, deleted, record_id)
    except CanonicalFormError:
        raise Refused(protocol.E_INVALID, "the payload has no canonical form (floats?)", "payload") from None
    if expected != item["content_hash"]:
        raise Refused(protocol.E_HASH, "content_hash does not match the payload", "content_hash")
    return sent, (payload if payload is not sent else None)


def _server_view(row: Any) -> dict[str, Any]:
    return {"version": row.version, "content_hash": row.content_hash,
            "payload": _payload_obj(row.payload), "deleted": bool(row.deleted)}


def _missing_blobs(conn: Connection, payload: dict[str, Any] | None, operator: Operator) -> list[str]:
    """Attachments that are not complete blobs this operator knows (uploaded, or already on a record of
    their villages): a hash alone is no proof of holding the bytes (``registry.blobs``)."""
    return blobs.missing(conn, operator, {a["sha256"] for a in (payload or {}).get("attachments") or []})


def _apply_item(conn: Connection, item: dict[str, Any], payload: dict[str, Any] | None,
                operator: Operator, device_id: str, now: str) -> dict[str, Any]:
    record_id, base, deleted, chash = item["record_id"], item["base_version"], item["deleted"], item["content_hash"]
    current = conn.execute(select(records).where(records.c.record_id == record_id).with_for_update()).first()
    result = {"record_id": record_id, "status": None, "version": None, "counter": None,
              "error": None, "server": None}

    if current is not None:
        if not operator.may_write(current.village_code):
            raise Refused(protocol.E_VILLAGE, "this record's village is not assigned to you", "village_code",
                          village_code=current.village_code)
        if current.content_hash == chash:
            return {**result, "status": protocol.UNCHANGED, "version": current.version,
                    "counter": current.counter}
        earlier = conn.execute(select(record_versions.c.version).where(
            record_versions.c.record_id == record_id, record_versions.c.content_hash == chash)
            .order_by(record_versions.c.version.desc()).limit(1)).scalar()
        if earlier is not None:
            return {**result, "status": protocol.UNCHANGED, "version": earlier, "counter": current.counter,
                    "server": _server_view(current)}
        if base > current.version:
            raise Refused(protocol.E_BASE_VERSION, "base_version is newer than the server's version",
                          "base_version", server_version=current.version)
        if base < current.version:
            exists = conn.execute(select(conflicts.c.id).where(
                conflicts.c.record_id == record_id, conflicts.c.base_version == base,
                conflicts.c.content_hash == chash)).first()
            if exists is None:
                conn.execute(insert(conflicts).values(
                    record_id=record_id, base_version=base, server_version=current.version,
                    content_hash=chash, payload=_payload_text(payload), deleted=deleted,
                    operator=operator.username, device_id=device_id, received_at=now))
                audit.append(conn, operator.username, audit.RECORD_CONFLICT, record_id, {
                    "base_version": base, "server_version": current.version, "content_hash": chash,
                    "deleted": deleted, "device_id": device_id, "village_code": current.village_code})
            log.info("conflict on record %s (base %d, server %d)", record_id, base, current.version)
            return {**result, "status": protocol.CONFLICT, "version": current.version,
                    "counter": current.counter, "server": _server_view(current),
                    "error": {"code": protocol.E_CONFLICT, "message": "the record changed on the server since "
                              "your base version; both versions are kept", "field": None,
                              "data": {"base_version": base, "server_version": current.version}}}
    else:
        if deleted:
            raise Refused(protocol.E_RECORD_UNKNOWN, "cannot delete a record the server never received", "record_id")
        if base != 0:
            raise Refused(protocol.E_BASE_VERSION, "a new record must have base_version 0", "base_version",
                          server_version=0)

    missing = _missing_blobs(conn, payload, operator)
    if missing:
        raise Refused(protocol.E_BLOB_MISSING, "upload the attachments before the record", "attachments",
                      missing=missing)
    counter = next_counter(conn)
    version = 1 if current is None else current.version + 1
    village = payload["village_code"] if payload else current.village_code
    id_number = payload["id_number"] if payload else current.id_number
    values = dict(village_code=village, id_number=id_number, version=version, content_hash=chash,
                  payload=_payload_text(payload), deleted=deleted, operator=operator.username,
                  device_id=device_id, state=NEW_VERSION_STATE, counter=counter, updated_at=now,
                  # A new version is reviewed afresh: the previous decision was about other content.
                  state_at=now, review_reason=None, decided_by=None, decided_at=None, card_issued_at=None)
    if current is None:
        conn.execute(insert(records).values(record_id=record_id, created_at=now, **values))
    else:
        conn.execute(update(records).where(records.c.record_id == record_id).values(**values))
        conn.execute(update(findings).where(findings.c.record_id == record_id, findings.c.version < version,
                                            findings.c.status == FINDING_OPEN)
                     .values(status=FINDING_SUPERSEDED, resolved_at=now))
    conn.execute(insert(record_versions).values(
        record_id=record_id, version=version, content_hash=chash, payload=values["payload"], deleted=deleted,
        operator=operator.username, device_id=device_id, counter=counter, received_at=now))
    attachments = (payload or {}).get("attachments") or []
    if attachments:
        conn.execute(insert(record_attachments), [
            {"record_id": record_id, "version": version, "kind": kind, "sha256": sha}
            for kind, sha in sorted({(a["kind"], a["sha256"]) for a in attachments})])
    audit.append(conn, operator.username, audit.RECORD_DELETED if deleted else audit.RECORD_ACCEPTED,
                 record_id, {"version": version, "counter": counter, "content_hash": chash,
                             "village_code": village, "device_id": device_id})
    log.info("accepted record %s v%d (%s)%s", record_id, version, mask_id_number(id_number),
             " tombstone" if deleted else "")
    return {**result, "status": protocol.ACCEPTED, "version": version, "counter": counter}


def push(engine: Engine, operator: Operator, device_id: str, items: list[dict[str, Any]],
         *, clock: Any = None, client_version: int = protocol.PROTOCOL_VERSION) -> list[dict[str, Any]]:
    """``clock`` (``registry.clock.Clock``) dates the new versions' review state; default: system time.
    Only cadres push (each record into a village bound to them): central staff and admins decide
    on enrollments and so never create one; their push is refused whole, and the refusal audited."""
    now = iso(clock.now()) if clock is not None else now_iso()
    if operator.role != "cadre":
        with engine.begin() as conn:
            audit.append(conn, operator.username, audit.PUSH_REFUSED, operator.username, {
                "code": error_codes.PUSH_CADRE_ONLY, "role": operator.role, "device_id": device_id,
                "records": len(items)})
        raise ApiError(error_codes.PUSH_CADRE_ONLY, "only a village's cadres push enrollments",
                       role=operator.role)
    checked: list[tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any] | None, Refused | None]] = []
    for item in items:
        try:
            sent, coded = _check_item(item, operator, client_version)
            checked.append((item, sent, coded, None))
        except Refused as r:
            checked.append((item, None, None, r))
    results = []
    with engine.begin() as conn:
        for item, payload, coded, refused in checked:
            if refused is None:
                for attempt in (1, 2):
                    try:
                        with conn.begin_nested():
                            result = _apply_item(conn, item, payload, operator, device_id, now)
                            if coded is not None and result["status"] == protocol.ACCEPTED:
                                _apply_item(conn, protocol.push_item(item["record_id"], result["version"], coded),
                                            coded, operator, device_id, now)
                            results.append(result)
                        break
                    except Refused as r:
                        refused = r
                        break
                    except IntegrityError:
                        # Another request created the same record between our read and
                        # insert (PostgreSQL); the second attempt sees it.
                        if attempt == 2:
                            raise
            if refused is not None:
                results.append({"record_id": item["record_id"], "status": protocol.REFUSED, "version": None,
                                "counter": None, "error": refused.to_error(), "server": None})
    return results


# ---------------------------------------------------------------------------------------- pull

def _resident_change(row: Any) -> dict[str, Any]:
    data = {k: row._mapping[k] for k in ("id_number", "village_code", "name", "sex", "birth_date",
                                         "household_id", "relation", "address", "phone")}
    return {"counter": row.counter, "kind": protocol.KIND_RESIDENT, "key": row.id_number, "data": data}


def review_data(row: Any) -> dict[str, Any]:
    """The review outcome a laptop shows on its record (protocol v3)."""
    return {"state": row.state, "reason": row.review_reason, "decided_by": row.decided_by,
            "decided_at": row.decided_at, "card_issued_at": row.card_issued_at}


def record_data(row: Any) -> dict[str, Any]:
    return {"record_id": row.record_id, "version": row.version, "content_hash": row.content_hash,
            "deleted": bool(row.deleted), "payload": _payload_obj(row.payload), "state": row.state,
            "operator": row.operator, "device_id": row.device_id, "review": review_data(row)}


def pull(engine: Engine, operator: Operator, since: int, limit: int,
         client_version: int = protocol.PROTOCOL_VERSION) -> dict[str, Any]:
    """Changes after ``since`` for the operator's villages; kinds newer than the client's protocol
    version (``protocol.KIND_SINCE``) are left out, as its parser would refuse them."""
    from .payments.field_notices import pull_changes as payment_failure_changes
    from .verification.request_store import pull_changes as verification_changes

    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        rq = select(residents).where(residents.c.counter > since)
        cq = select(records).where(records.c.counter > since)
        if not operator.sees_all:
            codes = sorted(operator.village_codes)
            rq = rq.where(residents.c.village_code.in_(codes))
            cq = cq.where(records.c.village_code.in_(codes))
        res = conn.execute(rq.order_by(residents.c.counter).limit(limit + 1)).all()
        recs = conn.execute(cq.order_by(records.c.counter).limit(limit + 1)).all()
        verifications = (verification_changes(conn, operator, since, limit)
                         if client_version >= protocol.KIND_SINCE[protocol.KIND_VERIFICATION] else [])
        failures = (payment_failure_changes(conn, operator, since, limit)
                    if client_version >= protocol.KIND_SINCE[protocol.KIND_PAYMENT_FAILURE] else [])
    changes = [_resident_change(r) for r in res] + [
        {"counter": r.counter, "kind": protocol.KIND_RECORD, "key": r.record_id, "data": record_data(r)}
        for r in recs] + verifications + failures
    changes.sort(key=lambda c: c["counter"])
    more = len(changes) > limit
    changes = changes[:limit]
    return {"protocol_version": protocol.PROTOCOL_VERSION, "changes": changes,
            "last_counter": changes[-1]["counter"] if changes else since, "more": more,
            "server_time": now_iso()}


def digest(engine: Engine, operator: Operator) -> tuple[str, int]:
    q = select(records.c.record_id, records.c.version, records.c.content_hash)
    if not operator.sees_all:
        q = q.where(records.c.village_code.in_(sorted(operator.village_codes)))
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        return protocol.digest((r.record_id, r.version, r.content_hash) for r in conn.execute(q))


def count(conn: Connection, table: Any, *where: Any) -> int:
    return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
