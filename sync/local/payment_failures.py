"""Payments of the village that failed at the bank, as last pulled (protocol v6, docs/payments/field-notices.md):
one row per roster line, replaced whole when the registry sends a newer state; the laptop never writes them
otherwise. The cadre's list asks which still need the resident's help: the line failed (``pay_failed``) or
the bank took the money back (``ready`` again after a reversal) and nothing has been paid since."""

from __future__ import annotations

from typing import Any

from enrollment.vocabulary import EntitlementState, PaymentLineState

from .. import protocol
from .rows import keep_newer, loads, to_json

_COLUMNS = ("entitlement_id", "id_number", "name", "village_code", "department", "item", "period", "amount_fen",
            "state", "line_state", "reason_code", "bank_reason", "card", "settled_at", "updated_at", "data",
            "counter")

# Lines the resident still waits for: failed, or reopened after the bank reversed the credit.
NEEDS_HELP = (EntitlementState.PAY_FAILED, EntitlementState.READY)


def keep(db: Any, failure: protocol.PulledPaymentFailure, counter: int) -> bool:
    """Store the line unless a newer counter is already kept (a batch replayed); True when written."""
    data = failure.data
    line = data.get("line") if isinstance(data.get("line"), dict) else {}
    row = {
        "entitlement_id": failure.entitlement_id, "id_number": failure.id_number, "name": str(data.get("name") or ""),
        "village_code": failure.village_code, "department": str(data.get("department") or ""),
        "item": failure.item, "period": failure.period, "amount_fen": failure.amount_fen, "state": failure.state,
        "line_state": line.get("state"), "reason_code": line.get("reason_code"),
        "bank_reason": line.get("bank_reason"), "card": line.get("card"), "settled_at": line.get("settled_at"),
        "updated_at": data.get("updated_at"), "data": to_json(data), "counter": int(counter),
    }
    return keep_newer(db, "payment_failures", "entitlement_id", {c: row[c] for c in _COLUMNS})


def needs_help(row: dict) -> bool:
    """Failed at the bank, or reversed by it, and not sent again since."""
    return row["state"] in NEEDS_HELP and row.get("line_state") in (PaymentLineState.BOUNCED,
                                                                     PaymentLineState.REVERSED)


def _public(row: dict) -> dict:
    return {**row, "data": loads(row["data"]), "needs_help": needs_help(row)}


def listed(db: Any, village_codes: list[str] | None = None) -> list[dict]:
    """Every failure kept, those that need the resident's help first, then newest first."""
    sql = "SELECT * FROM payment_failures"
    params: list[Any] = []
    if village_codes:
        sql += f" WHERE village_code IN ({', '.join('?' for _ in village_codes)})"
        params = list(village_codes)
    rows = [_public(r) for r in db.query(sql + " ORDER BY counter DESC", params)]
    return sorted(rows, key=lambda r: not r["needs_help"])


def count_needing_help(db: Any) -> int:
    return sum(1 for r in db.query("SELECT state, line_state FROM payment_failures") if needs_help(r))
