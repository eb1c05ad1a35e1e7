"""The outbox's send states and the one function that moves a record between them.

    draft → queued → sending → accepted | needs-attention

A change to the content (an edit, an attachment) sends a queued, accepted or needs-attention record
back to draft; a queued edit equal to the registry's version is accepted at once; a pull or a
conflict resolved with "theirs" makes a record exactly the registry's version (accepted).
"""

from __future__ import annotations

from typing import Any

from .rows import now, to_json

DRAFT, QUEUED, SENDING, ACCEPTED, NEEDS_ATTENTION = "draft", "queued", "sending", "accepted", "needs-attention"
STATES = (DRAFT, QUEUED, SENDING, ACCEPTED, NEEDS_ATTENTION)

# What a record needs attention for, and both versions of a conflict: cleared together whenever the
# record is settled (accepted, or the cadre resolved it), attention alone whenever its content changes.
CLEAR_ATTENTION = "attention_code = NULL, attention_message = NULL, attention_data = NULL"
CLEAR_CONFLICT = "conflict_payload = NULL, conflict_version = NULL, conflict_deleted = NULL"
CLEAR_ATTENTION_AND_CONFLICT = f"{CLEAR_ATTENTION}, {CLEAR_CONFLICT}"


def move(db: Any, record_id: str, state: str, *, clear: str = "", only_from: tuple[str, ...] = (),
         **columns: Any) -> None:
    """Put a record in ``state`` (with the columns that go with it), stamped now; ``clear`` is one of the
    CLEAR_* fragments; ``only_from`` leaves a record in any other state alone."""
    sets = {"state": state, **columns, "updated_at": now()}
    assign = ", ".join(f"{k} = ?" for k in sets) + (f", {clear}" if clear else "")
    where, params = "record_id = ?", [record_id]
    if only_from:
        where += f" AND state IN ({', '.join('?' * len(only_from))})"
        params += list(only_from)
    db.execute(f"UPDATE records SET {assign} WHERE {where}", [*sets.values(), *params])


def needs_attention(db: Any, record_id: str, code: str, message: str, data: dict | None, **conflict: Any) -> None:
    move(db, record_id, NEEDS_ATTENTION, attention_code=code, attention_message=message,
         attention_data=to_json(data or {}), **conflict)
