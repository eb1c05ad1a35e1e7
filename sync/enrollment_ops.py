"""Every write an enrollment makes to the laptop store, as one named function each (no Qt).

The desktop form runs them on its store thread (``owner.op(lambda store: autosave(store, ...))``)
and applies the frozen result on the GUI thread; ``yikatong field enroll`` calls the same
functions (``enroll`` composes autosave, attach and queue). Each takes the store and plain values
and returns an immutable result, so nothing the store thread writes is ever read by the GUI.

The record id travels as a plain value: the form chooses it (``new_record_id``) when a new record
starts, and every operation carries it. ``Store.save_draft`` creates a missing record under the id
it is given, so whichever operation of a new record runs first creates it and the later ones —
queued behind it, the store thread runs them in submission order — find it: no shared holder,
no duplicate drafts.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from enrollment.errors import DomainError, ValidationErrors
from enrollment.records import (
    CARD_PHOTO,
    CARD_PHOTO_MIME,
    FACE_KINDS,
    FACE_TEMPLATE,
    FACE_TEMPLATE_MIME,
    validate_work_place,
)

from . import protocol
from .local.outbox import DRAFT, QUEUED

E_ATTACHMENT_UNREADABLE = "attachment.unreadable"
E_ATTACHMENT_TOO_LARGE = "attachment.too_large"
ATTACHMENT_MAX = protocol.BLOB_MAX


@dataclass(frozen=True)
class Attachment:
    kind: str
    sha256: str
    size: int
    mime: str
    file_name: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "sha256": self.sha256, "size": self.size, "mime": self.mime}
        if self.file_name is not None:
            out["file_name"] = self.file_name
        return out


@dataclass(frozen=True)
class Saved:
    """A write that left the record in the store: its id, send state, and the attachments it added."""

    record_id: str
    state: str
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class Queued:
    """The record after validation put it in the outbox (``record``: ``Store.get_record``'s dict)."""

    record_id: str
    state: str
    record: Mapping[str, Any]


@dataclass(frozen=True)
class DuplicateCandidate:
    """A record on this laptop whose face is likely the same person's, with its card photo if here."""

    match: Any              # sync.duplicates.LocalMatch
    card_photo: bytes | None


@dataclass(frozen=True)
class DuplicateCheck:
    record_id: str
    candidates: tuple[DuplicateCandidate, ...]


def _state(store: Any, record_id: str) -> str:
    return store.get_record(record_id)["state"]


def _ensure_draft(store: Any, record_id: str, fields: dict[str, Any]) -> None:
    """An attachment needs its record: an attach before the first autosave creates the draft."""
    if store.get_record_or_none(record_id) is None:
        store.save_draft(fields, record_id)


def autosave(store: Any, record_id: str, fields: dict[str, Any]) -> Saved:
    """Store whatever is typed (no validation); an accepted record edited becomes a draft on the server's
    version."""
    rid = store.save_draft(fields, record_id)
    return Saved(rid, _state(store, rid))


def discard_empty_draft(store: Any, record_id: str) -> bool:
    """The form was emptied (清空表单 after erasing everything): a draft never sent is removed; a record the
    registry knows is left alone (removing it would send a deletion). True when it was removed."""
    row = store.get_record_or_none(record_id)
    if row is None or row["state"] != "draft" or row.get("server_version"):
        return False
    store.delete(record_id)
    return True


def attach(store: Any, record_id: str, kind: str, data: bytes, mime: str, file_name: str | None = None
           ) -> Attachment:
    """One attachment's bytes into the store (the record must exist)."""
    sha = store.add_attachment(record_id, kind, data, mime)
    return Attachment(kind, sha, len(data), mime, file_name)


def attach_capture(store: Any, record_id: str, fields: dict[str, Any], card_jpeg: bytes,
                   template: bytes) -> Saved:
    """The capture dialog's card photo and face template, and the fields naming them (``face``)."""
    with store.transaction():
        _ensure_draft(store, record_id, fields)
        added = (attach(store, record_id, CARD_PHOTO, card_jpeg, CARD_PHOTO_MIME),
                 attach(store, record_id, FACE_TEMPLATE, template, FACE_TEMPLATE_MIME))
        store.save_draft(fields, record_id)
        return Saved(record_id, _state(store, record_id), added)


def remove_photo(store: Any, record_id: str, fields: dict[str, Any]) -> Saved:
    """Drop the card photo and face template, and the fields that named them."""
    with store.transaction():
        for kind in FACE_KINDS:
            store.remove_attachment(record_id, kind)
        store.save_draft(fields, record_id)
        return Saved(record_id, _state(store, record_id))


def read_attachment_file(path: str | Path) -> tuple[bytes, str, str]:
    """(bytes, mime, file name) of a file the cadre picked; refused when unreadable or too large."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as e:
        raise DomainError(E_ATTACHMENT_UNREADABLE, "attachments") from e
    if size > ATTACHMENT_MAX:
        raise DomainError(E_ATTACHMENT_TOO_LARGE, "attachments", max_mb=ATTACHMENT_MAX // (1024 * 1024))
    try:
        data = p.read_bytes()
    except OSError as e:
        raise DomainError(E_ATTACHMENT_UNREADABLE, "attachments") from e
    return data, mimetypes.guess_type(p.name)[0] or "application/octet-stream", p.name


def attach_file(store: Any, record_id: str, fields: dict[str, Any], kind: str, path: str | Path) -> Saved:
    """A scanned document from disk (read here, on the store thread, never on the GUI's)."""
    data, mime, name = read_attachment_file(path)
    with store.transaction():
        _ensure_draft(store, record_id, fields)
        added = attach(store, record_id, kind, data, mime, name)
        return Saved(record_id, _state(store, record_id), (added,))


def remove_file(store: Any, record_id: str, kind: str) -> Saved:
    with store.transaction():
        store.remove_attachment(record_id, kind)
        return Saved(record_id, _state(store, record_id))


def find_duplicates(store: Any, record_id: str, threshold: float | None = None) -> DuplicateCheck:
    """Compare the record's face template with every other record on this laptop (nearest first); the
    cadre's decisions go into the fields' ``duplicate_review`` before ``save_and_queue``."""
    from .duplicates import find_local_duplicates

    template = store.attachment_bytes(record_id, FACE_TEMPLATE)
    if template is None:
        return DuplicateCheck(record_id, ())
    matches = find_local_duplicates(store, template, exclude_record_id=record_id, threshold=threshold)
    return DuplicateCheck(record_id, tuple(
        DuplicateCandidate(m, store.attachment_bytes(m.record_id, CARD_PHOTO)) for m in matches))


def queue(store: Any, record_id: str) -> Queued:
    """Validate the stored draft and put it in the outbox; ``ValidationErrors`` lists every problem."""
    store.queue(record_id)
    record = store.get_record(record_id)
    return Queued(record_id, record["state"], record)


def save_and_queue(store: Any, record_id: str, fields: dict[str, Any]) -> Queued:
    """The form's 保存: the fields as they are now, then validation and the outbox. Two transactions on
    purpose: when validation refuses, the fields typed are still kept as the draft."""
    autosave(store, record_id, fields)
    return queue(store, record_id)


@dataclass(frozen=True)
class MarkedAway:
    """标记外出务工 done: what was written. ``record_id`` None: the resident has no record on this laptop and
    nothing was written (the city travels with the verification request only). ``queued``: a new version
    is in the outbox (False also when the record already said so: nothing changed); else the away
    fields wait in a draft (one still being typed, or one ``refused`` by
    validation, whose errors say what is missing)."""

    city: str
    record_id: str | None = None
    state: str | None = None
    queued: bool = False
    refused: ValidationErrors | None = None


def away_record(store: Any, id_number: str, record_id: str | None = None) -> dict | None:
    """The record 标记外出务工 writes: the one named, else this resident's newest on the laptop (a roster row
    read before the last sync may not know it yet)."""
    return store.get_record(record_id) if record_id else store.record_for_id_number(id_number)


def mark_away(store: Any, id_number: str, city: str, record_id: str | None = None) -> MarkedAway:
    """The record's away fields (migrant_worker, work_place) through the form's own path: the fields saved,
    then validated into the outbox as a new version (an accepted record's edit is based on the registry's
    version), unless the record is a draft the cadre has not finished."""
    city = validate_work_place(city)
    record = away_record(store, id_number, record_id)
    if record is None:
        return MarkedAway(city)
    record_id = record["record_id"]
    was_draft = record["state"] == DRAFT
    fields = {**(record.get("fields") or {}), "migrant_worker": True, "work_place": city}
    autosave(store, record_id, fields)
    if was_draft:
        return MarkedAway(city, record_id, _state(store, record_id))
    try:
        queued = queue(store, record_id)
    except ValidationErrors as e:
        return MarkedAway(city, record_id, _state(store, record_id), refused=e)
    return MarkedAway(city, record_id, queued.state, queued=queued.state == QUEUED)


def enroll(store: Any, fields: dict[str, Any], attachments: Iterable[tuple[str, bytes, str]] = ()) -> Queued:
    """Draft, attach and queue in one transaction (bulk CSV): nothing is kept if anything fails."""
    with store.transaction():
        saved = autosave(store, fields.get("record_id"), fields)
        for kind, data, mime in attachments:
            attach(store, saved.record_id, kind, data, mime)
        return queue(store, saved.record_id)
