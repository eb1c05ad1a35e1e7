"""Failed payments as the village's laptops see them (issue 13: "failed payments notify the cadre's laptop
instead of the resident"; protocol v6, change kind ``payment_failure``).

A resident whose money bounced (户名不符, 账户已销户, 卡未激活 …) cannot fix it from an SMS: the cadre who
enrolled them walks them to the bank or corrects the card data. So each line that failed at the bank
reaches the laptops of its village, and follows it until it is paid: bounced, taken back by the bank
(reversed), sent again in a later batch, paid on the retry. ``entitlements.notice_counter`` (migration
0018) is the pull counter of that story; a line that never failed has none and never leaves the registry.

The laptop already holds its village's residents with their ID numbers (the roster), so the change
carries the ID number; the card is only its last four digits, as the bank's own SMS says it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, func, select, update

from sync import protocol

from ..auth import Operator
from ..schema import cards, entitlements, payment_lines, server_counter
from .masking import mask_tail


def bump(conn: Connection, entitlement_ids: Select | list[int], *, only_noticed: bool = False) -> int:
    """Give each listed entitlement a fresh pull counter, one per line and in id order, inside the caller's
    transaction (so the laptops see the new state after its commit). ``only_noticed``: just those that
    already have a notice (a retry's credit closes a failure; a first-time credit is no news)."""
    e = entitlements.c
    query = select(e.id).where(e.id.in_(entitlement_ids)).order_by(e.id)
    if only_noticed:
        query = query.where(e.notice_counter.is_not(None))
    ids = [row.id for row in conn.execute(query)]
    if not ids:
        return 0
    # One block of counters for the whole set: pull pages never cut between two changes sharing a counter.
    top = conn.execute(update(server_counter).where(server_counter.c.id == 1)
                       .values(value=server_counter.c.value + len(ids)).returning(server_counter.c.value)).scalar_one()
    first = top - len(ids) + 1
    conn.execute(update(entitlements).where(e.id == bindparam("eid")).values(notice_counter=bindparam("counter")),
                 [{"eid": eid, "counter": first + i} for i, eid in enumerate(ids)])
    return len(ids)


def view(row: Any) -> dict[str, Any]:
    """The change's ``data``: the roster line, its state, and its latest payment line (the bank's answer)."""
    line = None
    if row.reference is not None:
        line = {"reference": row.reference, "state": row.line_state, "reason_code": row.reason_code,
                "bank_reason": row.bank_reason, "settled_at": row.settled_at,
                "card": mask_tail(row.card_number) if row.card_number else None}
    return {"entitlement_id": str(row.id), "id_number": row.id_number, "name": row.name,
            "village_code": row.village_code or "", "department": row.department, "item": row.item,
            "period": row.period, "amount_fen": int(row.amount_fen), "state": row.state,
            "updated_at": row.updated_at, "line": line}


def pull_changes(conn: Connection, operator: Operator, since: int, limit: int) -> list[dict[str, Any]]:
    """Changes of kind ``payment_failure`` after ``since`` for the operator's villages, oldest first."""
    e, pl = entitlements.c, payment_lines.c
    changed = select(e.id).where(and_(e.notice_counter.is_not(None), e.notice_counter > since))
    latest = (select(pl.entitlement_id, func.max(pl.id).label("line_id")).where(pl.entitlement_id.in_(changed))
              .group_by(pl.entitlement_id).subquery("latest"))
    q = (select(e.id, e.id_number, e.name, e.village_code, e.department, e.item, e.period, e.amount_fen, e.state,
                e.updated_at, e.notice_counter, pl.reference, pl.state.label("line_state"), pl.reason_code,
                pl.bank_reason, pl.settled_at, cards.c.card_number)
         .select_from(entitlements
                      .outerjoin(latest, latest.c.entitlement_id == e.id)
                      .outerjoin(payment_lines, pl.id == latest.c.line_id)
                      .outerjoin(cards, cards.c.id == pl.card_id))
         .where(and_(e.notice_counter.is_not(None), e.notice_counter > since)))
    if not operator.sees_all:
        q = q.where(e.village_code.in_(sorted(operator.village_codes)))
    rows = conn.execute(q.order_by(e.notice_counter).limit(limit + 1)).all()
    return [{"counter": int(r.notice_counter), "kind": protocol.KIND_PAYMENT_FAILURE, "key": str(r.id),
             "data": view(r)} for r in rows]
