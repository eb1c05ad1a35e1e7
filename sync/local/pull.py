"""Applying a pull batch: residents upserted, other laptops' records stored as the registry holds them,
a pending local edit kept (its push meets the newer version as a conflict), the registry's review kept."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import protocol
from . import payment_failures, roster
from .outbox import ACCEPTED
from .records import REVIEW_COLUMN_OF, adopt_server_version
from .rows import now, one, to_json
from .schema import REVIEW_COLUMNS


def parse(changes: Iterable[Any]) -> list[protocol.PullChange]:
    """Every change parsed before anything is written: one bad change refuses the whole batch
    (``protocol.BadWireShape``, code ``protocol.bad_change``) and its checkpoint."""
    out = []
    for index, change in enumerate(changes):
        if isinstance(change, protocol.PullChange):
            out.append(change)
            continue
        try:
            out.append(protocol.PullChange.from_wire(change))
        except protocol.BadWireShape as e:
            raise protocol.BadWireShape(e.code, e.field, **e.data, index=index) from None
    return out


def apply(store: Any, changes: list[protocol.PullChange], last_counter: int) -> dict[str, int]:
    stats = {"residents": 0, "records": 0, "reviews": 0, "returned": 0, "verifications": 0, "payment_failures": 0}
    with store.transaction():
        residents = []
        for ch in changes:
            if ch.resident is not None:
                residents.append({**vars(ch.resident), "counter": ch.counter})
            elif ch.record is not None:
                stats["records"] += _apply_record(store.db, ch.record, stats)
            elif ch.verification is not None:
                # Remote verification requests (protocol v4): the laptop's part of issue 11
                # (desktop/verification) keeps them; a store without that part only counts them.
                keep = getattr(store, "keep_verification", None)
                if keep is not None:
                    keep(ch.verification, ch.counter)
                stats["verifications"] += 1
            elif ch.payment_failure is not None:
                # Payments of the village that failed at the bank (protocol v6): the cadre helps the resident.
                if payment_failures.keep(store.db, ch.payment_failure, ch.counter):
                    stats["payment_failures"] += 1
        if residents:
            stats["residents"] = roster.upsert_residents(store, residents)
        store.set_meta("last_counter", int(last_counter))
    return stats


def _apply_record(db: Any, rec: protocol.PulledRecord, stats: dict[str, int]) -> int:
    record_id, version = rec.record_id, rec.version
    row = one(db, "SELECT * FROM records WHERE record_id = ?", [record_id])
    if row is None:
        stamp = now()
        db.execute("INSERT INTO records(record_id, state, created_at, updated_at, pulled) VALUES (?,?,?,?,1)",
                   [record_id, ACCEPTED, stamp, stamp])
        adopt_server_version(db, record_id, rec.payload, rec.deleted, version, rec.content_hash)
        _store_review(db, record_id, None, rec.review, stats)
        return 1
    if version >= (row["server_version"] or 0):
        # The review changes without a new version (a check, a decision, the card issued) and
        # concerns the registry's record whatever this laptop has pending: always kept.
        _store_review(db, record_id, row, rec.review, stats)
    if version <= (row["server_version"] or 0):
        return 0
    if row["state"] == ACCEPTED:
        adopt_server_version(db, record_id, rec.payload, rec.deleted, version, rec.content_hash)
        return 1
    # A pending local change is kept; the laptop only notes which version the registry now holds,
    # and a conflict already shown is refreshed.
    db.execute("UPDATE records SET server_version = ?, server_hash = ? WHERE record_id = ?",
               [version, rec.content_hash, record_id])
    if row["conflict_version"] is not None:
        db.execute("UPDATE records SET conflict_payload = ?, conflict_version = ?, conflict_deleted = ?"
                   " WHERE record_id = ?", [to_json(rec.payload), version, int(rec.deleted), record_id])
    return 0


def _store_review(db: Any, record_id: str, row: dict | None, review: protocol.PulledReview | None,
                  stats: dict[str, int]) -> None:
    """A v2 registry sends no review: the one known stays."""
    if review is None:
        return
    values = list(review.values())
    before = [None if row is None else row.get(column) for column in REVIEW_COLUMNS]
    if values == before:
        return
    assign = ", ".join(f"{REVIEW_COLUMN_OF[key]} = ?" for key in protocol.REVIEW_KEYS)
    db.execute(f"UPDATE records SET {assign} WHERE record_id = ?", [*values, record_id])
    stats["reviews"] += 1
    if values[0] == protocol.REVIEW_RETURNED and before[0] != protocol.REVIEW_RETURNED:
        stats["returned"] += 1
