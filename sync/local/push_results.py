"""Applying the registry's answers to a push batch (``protocol.PushResult``), one record each."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import protocol
from .outbox import ACCEPTED, CLEAR_ATTENTION_AND_CONFLICT, NEEDS_ATTENTION, SENDING, move, needs_attention
from .rows import one, to_json


def parse(results: Iterable[tuple[str, Any]]) -> list[tuple[str, protocol.PushResult]]:
    """Every answer parsed before anything is written: one bad answer refuses the batch
    (``protocol.bad_push_result``) and its records stay "sending", to be sent again."""
    out = []
    for record_id, result in results:
        if isinstance(result, protocol.PushResult):
            out.append((record_id, result))
            continue
        try:
            out.append((record_id, protocol.PushResult.from_wire(result)))
        except protocol.BadWireShape as e:
            raise protocol.BadWireShape(e.code, e.field, **e.data, record_id=record_id) from None
    return out


def apply(db: Any, record_id: str, result: protocol.PushResult) -> str | None:
    """The record's new state, or None when the answer is not for it: only a record in "sending" takes an
    answer, and accepted/unchanged only when the answer's content hash (if given) is the one sent."""
    row = one(db, "SELECT * FROM records WHERE record_id = ?", [record_id])
    if row is None or row["state"] != SENDING:
        return None
    status = result.status
    if status in (protocol.ACCEPTED, protocol.UNCHANGED):
        if result.content_hash and row["content_hash"] and result.content_hash != row["content_hash"]:
            return None  # an answer about some other content: not ours to accept
        version = result.version or 0
        if status == protocol.ACCEPTED and version > (row["server_version"] or 0):
            # A new version starts the registry's review again (docs/review-api.md §1): the decision
            # shown so far was about an older version. The next pull brings the registry's own word.
            db.execute("UPDATE records SET review_state = ?, review_reason = NULL, review_decided_by = NULL,"
                       " review_decided_at = NULL, review_card_issued_at = NULL WHERE record_id = ?",
                       [protocol.REVIEW_RECEIVED, record_id])
        move(db, record_id, ACCEPTED, clear=CLEAR_ATTENTION_AND_CONFLICT, server_version=version,
             base_version=version, server_hash=row["content_hash"])
        return ACCEPTED
    err = result.error
    if status == protocol.CONFLICT:
        server = result.server
        assert server is not None  # PushResult.from_wire refuses a conflict without it
        if server.content_hash:  # the version the registry holds now (what its digest counts)
            db.execute("UPDATE records SET server_version = ?, server_hash = ? WHERE record_id = ?",
                       [server.version, server.content_hash, record_id])
        needs_attention(db, record_id, err.code if err else protocol.E_CONFLICT,
                        (err.message if err else "") or "the record was changed elsewhere; both versions are kept",
                        err.data if err else {}, conflict_payload=to_json(server.payload),
                        conflict_version=server.version, conflict_deleted=int(server.deleted))
        return NEEDS_ATTENTION
    assert err is not None  # PushResult.from_wire refuses a refusal without it
    needs_attention(db, record_id, err.code, err.message,
                    {**err.data, **({"field": err.field} if err.field else {})})
    return NEEDS_ATTENTION
