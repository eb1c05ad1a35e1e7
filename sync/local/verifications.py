"""Remote verification requests as last pulled (protocol v4, docs/verification-api.md): one row per
request, replaced whole when the registry sends a newer state; the laptop never writes them otherwise."""

from __future__ import annotations

from typing import Any

from .. import protocol
from .rows import keep_newer, loads, newest_per_resident, to_json

_COLUMNS = ("request", "id_number", "village_code", "record_id", "city", "method", "state", "created_at",
            "expires_at", "updated_at", "attempts_left", "outcome", "reasons", "result", "counter", "video_challenge")


def keep(db: Any, verification: protocol.PulledVerification, counter: int) -> bool:
    """Store the request unless a newer counter is already kept (a batch replayed); True when written."""
    data = verification.data
    result = data.get("result") if isinstance(data.get("result"), dict) else None
    reasons = result.get("reasons") if result else None
    row = {
        "request": verification.request, "id_number": verification.id_number,
        "village_code": verification.village_code, "record_id": verification.record_id,
        "city": data.get("city") or "", "method": data.get("method"), "state": verification.state,
        "created_at": data.get("created_at"), "expires_at": verification.expires_at,
        "updated_at": data.get("updated_at"), "attempts_left": verification.attempts_left,
        "outcome": result.get("outcome") if result else None,
        "reasons": to_json([str(r) for r in reasons]) if isinstance(reasons, list) else None,
        "result": to_json(result), "counter": int(counter),
        "video_challenge": to_json(video_challenge(data.get("video_challenge"))),
    }
    return keep_newer(db, "verifications", "request", {c: row[c] for c in _COLUMNS})


def video_challenge(value: Any) -> dict[str, Any] | None:
    """The request's offline-video challenge (docs/verification-api.md, "The offline video path") when it
    has the contract's shape, else None (a registry before its migration 0011 sends none)."""
    if not isinstance(value, dict):
        return None
    digits, actions = value.get("digits"), value.get("actions")
    if not (isinstance(digits, str) and digits.isdigit() and isinstance(actions, list)
            and actions and all(isinstance(a, str) for a in actions)):
        return None
    return {"digits": digits, "actions": list(actions)}


def _public(row: dict) -> dict:
    return {**row, "reasons": loads(row["reasons"]) or [], "result": loads(row["result"]),
            "video_challenge": loads(row.get("video_challenge"))}


def get(db: Any, request: str) -> dict | None:
    rows = list(db.query("SELECT * FROM verifications WHERE request = ?", [request]))
    return _public(rows[0]) if rows else None


def for_id_number(db: Any, id_number: str) -> list[dict]:
    """This resident's requests, newest first."""
    rows = db.query("SELECT * FROM verifications WHERE id_number = ? ORDER BY created_at DESC, counter DESC",
                    [id_number])
    return [_public(r) for r in rows]


def latest_by_id_number(db: Any, id_numbers: list[str] | None = None) -> dict[str, dict]:
    """The newest request per resident (all residents, or those listed)."""
    rows = db.query("SELECT * FROM verifications ORDER BY created_at ASC, counter ASC")
    return {k: _public(v) for k, v in newest_per_resident(rows, id_numbers).items()}
