"""What the central payments API reads (docs/payments/central-api.md): the imports, the interception queue,
one roster line in full, what a batch can be built from, batches with their lines, the bank's return files
and the dashboard's payment figures.

Set-based: each answer is a handful of statements whatever the page size (a page's rows, then one grouped
query per related table over the page's ids), never one query per row. Money is integer fen. ID numbers are
masked in every list (``masking.mask_id_number``); only ``entitlement_detail`` gives the whole number, and
that read is audited in the same transaction (``entitlement.viewed``), as a review record's view is.
"""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Connection, Engine, and_, case, exists, func, not_, or_, select

from enrollment import error_codes as codes
from enrollment.vocabulary import CardStatus, EntitlementState, PaymentLineState
from enrollment.vocabulary import PaymentFindingKind as Kind

from .. import audit
from ..auth import Operator
from ..errors import ApiError
from ..review import require_staff
from ..schema import (
    audit_log,
    cards,
    entitlement_imports,
    entitlements,
    payment_batches,
    payment_findings,
    payment_lines,
    result_errors,
    result_imports,
)
from .batches import batch_view, payment_status
from .checks import rule_counts
from .entitlements import catalogue
from .masking import mask_id_number, mask_name, mask_tail
from .money import fen_to_yuan
from .results import BankReasons

ENTITLEMENT_VIEWED = "entitlement.viewed"   # audit action: a staff read of one line with the whole ID number
INTERCEPTIONS_OPEN, INTERCEPTIONS_DECIDED = "open", "decided"
TOWNSHIP_DIGITS = 9   # a township is the first 9 digits of a village code (batches.validate_selection)
BATCH_LINES_MAX = 500
_FAILED = (PaymentLineState.BOUNCED, PaymentLineState.REVERSED)


def entitlement_subject(entitlement_id: int) -> str:
    """The audit subject of a roster line (``entitlements.decide`` writes the same)."""
    return f"entitlement:{entitlement_id}"


def item_name(code: str) -> str:
    entry = catalogue().get(code)
    return str(entry["name"]) if entry else code


def items() -> list[dict[str, Any]]:
    """The catalogue's items with their paying department and standard (the most one line may carry)."""
    out = []
    for code, entry in catalogue().items():
        standard = entry.get("standard") or {}
        out.append({"code": code, "name": entry["name"], "department": entry.get("department", ""),
                    "standard_fen": standard.get("max_fen"), "standard_unit": standard.get("unit")})
    return out


def _count(conn: Connection, query: Any) -> int:
    return int(conn.execute(select(func.count()).select_from(query.subquery())).scalar_one())


# ------------------------------------------------------------------------------ roster imports

def entitlement_import_list(conn: Connection, *, limit: int, offset: int) -> dict[str, Any]:
    """The roster imports, newest first, with how many lines were ready, intercepted and refused at import
    (intercepted: lines with a finding, decided since or not; ready: the rest of the good lines)."""
    ei, e, pf = entitlement_imports.c, entitlements.c, payment_findings.c
    total = int(conn.execute(select(func.count()).select_from(entitlement_imports)).scalar_one())
    rows = conn.execute(select(entitlement_imports).order_by(ei.id.desc()).limit(limit).offset(offset)).all()
    ids = [r.id for r in rows]
    refused: dict[int, int] = {}
    intercepted: dict[int, int] = {}
    if ids:
        refused = dict(conn.execute(select(e.import_id, func.count()).where(
            e.import_id.in_(ids), e.state == EntitlementState.REFUSED).group_by(e.import_id)).all())
        intercepted = dict(conn.execute(
            select(e.import_id, func.count(func.distinct(e.id)))
            .select_from(entitlements.join(payment_findings, pf.entitlement_id == e.id))
            .where(e.import_id.in_(ids)).group_by(e.import_id)).all())
    imports = []
    for r in rows:
        bad, stopped = int(refused.get(r.id, 0)), int(intercepted.get(r.id, 0))
        imports.append({"id": r.id, "department": r.department, "file_name": r.file_name, "sha256": r.sha256,
                        "rows": r.rows, "ready": r.rows - bad - stopped, "intercepted": stopped, "refused": bad,
                        "imported_at": r.imported_at, "actor": r.actor})
    return {"imports": imports, "total": total}


# ------------------------------------------------------------------------------ findings

def finding_summary(kind: str, evidence: dict[str, Any]) -> str:
    """One short line about a finding for a list (no ID, card or account number; the detail has the rest)."""
    if kind == Kind.PAYMENT_RULE:
        rule = evidence.get("rule") or {}
        return f"{rule.get('name', '')}（{rule.get('department', '')}）".strip()
    if kind == Kind.DUPLICATE_PAYMENT:
        other = evidence.get("other") or {}
        return f"{other.get('department', '')} {other.get('period', '')} 第{other.get('line', '')}行（{other.get('state', '')}）"
    if kind == Kind.AMOUNT_OVER_STANDARD:
        return f"{fen_to_yuan(int(evidence.get('amount_fen', 0)))} 元 > 标准 {fen_to_yuan(int(evidence.get('max_fen', 0)))} 元"
    if kind == Kind.NAME_MISMATCH:
        return f"社保卡 {evidence.get('card', '')} 的户名与名单姓名不同"
    if kind == Kind.NO_ACTIVE_CARD:
        others = evidence.get("cards") or []
        return f"无已激活的社保卡（其他卡 {len(others)} 张）" if others else "无社保卡"
    return ""


def _findings_of(conn: Connection, ids: list[int], *, full: bool) -> dict[int, list[dict[str, Any]]]:
    pf = payment_findings.c
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if not ids:
        return out
    for f in conn.execute(select(payment_findings).where(pf.entitlement_id.in_(ids)).order_by(pf.id)):
        evidence = json.loads(f.evidence)
        view = {"kind": f.kind, "rule": f.rule, "subject": f.subject, "summary": finding_summary(f.kind, evidence)}
        if full:
            view.update({"id": f.id, "severity": f.severity, "status": f.status, "evidence": evidence,
                         "created_at": f.created_at, "resolved_at": f.resolved_at, "resolved_by": f.resolved_by})
        out[f.entitlement_id].append(view)
    return out


def _line_fields(r: Any) -> dict[str, Any]:
    return {"entitlement_id": r.id, "department": r.department, "item": r.item, "item_name": item_name(r.item),
            "period": r.period, "amount_fen": int(r.amount_fen), "name": r.name,
            "id_number_masked": mask_id_number(r.id_number), "village_code": r.village_code or "",
            "state": r.state, "created_at": r.created_at, "decided_by": r.decided_by, "decided_at": r.decided_at}


def interceptions(conn: Connection, *, status: str = INTERCEPTIONS_OPEN, department: str = "", item: str = "",
                  period: str = "", limit: int = 200, offset: int = 0) -> dict[str, Any]:
    """Intercepted lines (``open``: a person still decides; ``decided``: released or rejected), oldest first,
    each with its findings' kinds, rules and one-line summaries."""
    e = entitlements.c
    where = [e.state == EntitlementState.INTERCEPTED] if status == INTERCEPTIONS_OPEN else [e.decided_at.is_not(None)]
    for column, value in ((e.department, department), (e.item, item), (e.period, period)):
        if value:
            where.append(column == value)
    query = select(entitlements).where(*where)
    total = _count(conn, query)
    rows = conn.execute(query.order_by(e.created_at, e.id).limit(limit).offset(offset)).all()
    found = _findings_of(conn, [r.id for r in rows], full=False)
    return {"items": [{**_line_fields(r), "findings": found.get(r.id, [])} for r in rows], "total": total}


def _card_view(r: Any) -> dict[str, Any] | None:
    if r.card_pk is None:
        return None
    return {"card_id": r.card_pk, "card_number_masked": mask_tail(r.card_number),
            "bank_account_masked": mask_tail(r.bank_account), "bank": r.bank, "status": r.card_status,
            "status_date": r.card_status_date, "holder": r.holder}


def _history(conn: Connection, subject: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(audit_log.c.at, audit_log.c.actor, audit_log.c.action, audit_log.c.data)
                        .where(audit_log.c.subject == subject).order_by(audit_log.c.seq)).all()
    datas = audit.with_texts(conn, [json.loads(r.data) for r in rows])
    return [{"at": r.at, "actor": r.actor, "action": r.action,
             "reason": d.get("reason") if isinstance(d, dict) else None, "data": d}
            for r, d in zip(rows, datas, strict=True)]


def entitlement_detail(engine: Engine, operator: Operator, entitlement_id: int) -> dict[str, Any]:
    """One roster line in full: the whole ID number, its card (masked), its findings with their evidence,
    its payment lines and its audit history. The read is audited before the answer is built."""
    require_staff(operator)
    e, c, pl = entitlements.c, cards.c, payment_lines.c
    reasons = BankReasons.load()
    with engine.begin() as conn:
        row = conn.execute(
            select(entitlements, c.id.label("card_pk"), c.card_number, c.bank_account, c.bank,
                   c.status.label("card_status"), c.status_date.label("card_status_date"), c.name.label("holder"))
            .select_from(entitlements.outerjoin(cards, c.id == e.card_id)).where(e.id == entitlement_id)).first()
        if row is None:
            raise ApiError(codes.ENTITLEMENT_UNKNOWN, "no roster line with this id", field="entitlement_id")
        subject = entitlement_subject(entitlement_id)
        audit.append(conn, operator.username, ENTITLEMENT_VIEWED, subject, {
            "department": row.department, "item": row.item, "period": row.period})
        payments = [{"reference": p.reference, "batch_id": p.batch_id, "amount_fen": int(p.amount_fen),
                     "state": p.state, "card_number_masked": mask_tail(p.card_number),
                     "bank_reason_code": p.reason_code,
                     "bank_reason": reasons.wording(p.reason_code) if p.reason_code else None,
                     "bank_words": p.bank_reason, "created_at": p.created_at, "settled_at": p.settled_at}
                    for p in conn.execute(
                        select(pl.reference, pl.batch_id, pl.amount_fen, pl.state, pl.reason_code, pl.bank_reason,
                               pl.created_at, pl.settled_at, c.card_number)
                        .join(cards, c.id == pl.card_id).where(pl.entitlement_id == entitlement_id)
                        .order_by(pl.id))]
        out = {**_line_fields(row), "id_number": row.id_number, "line": row.line, "import_id": row.import_id,
               "updated_at": row.updated_at, "refusal": json.loads(row.refusal) if row.refusal else None,
               "card": _card_view(row), "findings": _findings_of(conn, [entitlement_id], full=True).get(
                   entitlement_id, []),
               "payments": payments, "history": _history(conn, subject)}
    return out


# ------------------------------------------------------------------------------ what a batch is built from

def ready_groups(conn: Connection) -> dict[str, Any]:
    """Per item and period: the lines a batch without a township would take (ready ones, and failed ones
    whose card was corrected after the bank bounced them, ``retries``), their fen, the failed lines still
    waiting for corrected card data, and the same per township (first 9 digits of the village code; "" for
    lines with no village)."""
    e, c = entitlements.c, cards.c
    pl = payment_lines.c
    failed_ids = select(e.id).where(e.state == EntitlementState.PAY_FAILED)
    last_bounce = (select(pl.entitlement_id, func.max(pl.id).label("line_id"))
                   .where(pl.state == PaymentLineState.BOUNCED, pl.entitlement_id.in_(failed_ids))
                   .group_by(pl.entitlement_id).subquery())
    bounced = payment_lines.alias("bounced")
    # batches._pick_card's rule: an active card in the line's name that is another card than the bounced
    # one, or the same card updated after the bounce settled.
    fixed = exists().where(c.id_number == e.id_number, c.status == CardStatus.ACTIVE,
                           func.trim(c.name) == func.trim(e.name),
                           or_(c.id != bounced.c.card_id, c.updated_at > func.coalesce(bounced.c.settled_at, "")))
    retry = and_(e.state == EntitlementState.PAY_FAILED, fixed)
    waiting = and_(e.state == EntitlementState.PAY_FAILED, not_(fixed))
    payable = or_(e.state == EntitlementState.READY, retry)
    township = func.coalesce(func.substr(e.village_code, 1, TOWNSHIP_DIGITS), "")
    query = (select(e.item, e.period, township.label("township"),
                    func.sum(case((payable, 1), else_=0)), func.sum(case((payable, e.amount_fen), else_=0)),
                    func.sum(case((retry, 1), else_=0)), func.sum(case((waiting, 1), else_=0)))
             .select_from(entitlements.outerjoin(last_bounce, last_bounce.c.entitlement_id == e.id)
                          .outerjoin(bounced, bounced.c.id == last_bounce.c.line_id))
             .where(e.state.in_((EntitlementState.READY, EntitlementState.PAY_FAILED)))
             .group_by(e.item, e.period, township))
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for item, period, town, lines, fen, retries, wait in conn.execute(query):
        group = groups.setdefault((item, period), {
            "item": item, "item_name": item_name(item), "period": period, "township": "", "lines": 0,
            "total_fen": 0, "retries": 0, "awaiting_card_fix": 0, "townships": []})
        part = {"township": town or "", "lines": int(lines or 0), "total_fen": int(fen or 0),
                "retries": int(retries or 0), "awaiting_card_fix": int(wait or 0)}
        for key in ("lines", "total_fen", "retries", "awaiting_card_fix"):
            group[key] += part[key]
        group["townships"].append(part)
    out = sorted(groups.values(), key=lambda g: (g["period"], g["item"]))
    for g in out:
        g["townships"].sort(key=lambda t: t["township"])
    return {"groups": out}


# ------------------------------------------------------------------------------ batches

def _part(by_state: dict[str, tuple[int, int]], *states: str) -> dict[str, int]:
    return {"count": sum(by_state.get(s, (0, 0))[0] for s in states),
            "fen": sum(by_state.get(s, (0, 0))[1] for s in states)}


def batch_list(conn: Connection, *, state: str = "", limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """Batches, newest first, each with its lines paid, failed and pending (count and fen)."""
    b, pl = payment_batches.c, payment_lines.c
    query = select(payment_batches)
    if state:
        query = query.where(b.state == state)
    total = _count(conn, query)
    rows = conn.execute(query.order_by(b.created_at.desc(), b.id).limit(limit).offset(offset)).all()
    ids = [r.id for r in rows]
    by_batch: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    if ids:
        for batch_id, line_state, n, fen in conn.execute(
                select(pl.batch_id, pl.state, func.count(), func.coalesce(func.sum(pl.amount_fen), 0))
                .where(pl.batch_id.in_(ids)).group_by(pl.batch_id, pl.state)):
            by_batch[batch_id][line_state] = (int(n), int(fen))
    out = []
    for r in rows:
        parts = by_batch.get(r.id, {})
        out.append({**batch_view(r), "item_name": item_name(r.item),
                    "paid": _part(parts, PaymentLineState.CREDITED), "failed": _part(parts, *_FAILED),
                    "pending": _part(parts, PaymentLineState.AT_BANK)})
    return {"batches": out, "total": total}


def batch_detail(conn: Connection, batch_id: str, *, limit: int = BATCH_LINES_MAX) -> dict[str, Any]:
    """``payment_status`` of the batch and its first lines by reference (name, ID and card masked)."""
    out = payment_status(conn, batch_id)
    pl, e, c = payment_lines.c, entitlements.c, cards.c
    batch = out["batch"]["id"]
    reasons = BankReasons.load()
    out["lines_total"] = int(conn.execute(select(func.count()).where(pl.batch_id == batch)).scalar_one())
    out["item_name"] = item_name(out["batch"]["item"])
    out["lines"] = [{"reference": r.reference, "entitlement_id": r.entitlement_id, "name": mask_name(r.name),
                     "id_number_masked": mask_id_number(r.id_number), "card_masked": mask_tail(r.card_number),
                     "amount_fen": int(r.amount_fen), "state": r.state, "bank_reason_code": r.reason_code,
                     "bank_reason": reasons.wording(r.reason_code) if r.reason_code else None,
                     "updated_at": r.settled_at or r.created_at}
                    for r in conn.execute(
                        select(pl.reference, pl.entitlement_id, pl.amount_fen, pl.state, pl.reason_code,
                               pl.created_at, pl.settled_at, e.name, e.id_number, c.card_number)
                        .join(entitlements, e.id == pl.entitlement_id).join(cards, c.id == pl.card_id)
                        .where(pl.batch_id == batch).order_by(pl.reference).limit(limit))]
    return out


# ------------------------------------------------------------------------------ the bank's return files

def result_import_list(conn: Connection, *, limit: int, offset: int) -> dict[str, Any]:
    r = result_imports.c
    total = int(conn.execute(select(func.count()).select_from(result_imports)).scalar_one())
    rows = conn.execute(select(result_imports).order_by(r.id.desc()).limit(limit).offset(offset)).all()
    return {"imports": [{"id": x.id, "file_name": x.file_name, "sha256": x.sha256, "lines": x.lines,
                         "paid": x.credited, "failed": x.bounced, "errors": x.errors, "imported_at": x.imported_at,
                         "actor": x.actor} for x in rows], "total": total}


def result_error_list(conn: Connection, import_id: int) -> dict[str, Any]:
    """The lines of one return file that could not be applied, with their codes, in file order."""
    found = conn.execute(select(result_imports.c.id).where(result_imports.c.id == import_id)).first()
    if found is None:
        raise ApiError(codes.PAYMENTS_RESULT_IMPORT_UNKNOWN, "no return file import with this id",
                       field="import_id")
    x = result_errors.c
    return {"import_id": import_id, "errors": [
        {"line": r.line, "reference": r.reference, "code": r.code, "data": json.loads(r.data)}
        for r in conn.execute(select(result_errors).where(x.import_id == import_id).order_by(x.line, x.id))]}


# ------------------------------------------------------------------------------ the dashboard

def success_rate(paid: int, failed: int) -> str | None:
    """paid / (paid + failed) as a 4-decimal string; None before any result."""
    if paid + failed == 0:
        return None
    return str((Decimal(paid) / Decimal(paid + failed)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def dashboard(conn: Connection) -> dict[str, Any]:
    """The payments part of the central dashboard: totals, by item, by paying department, the checks' counters."""
    status = payment_status(conn)
    pl, e = payment_lines.c, entitlements.c
    totals = {k: status[k] for k in ("paid", "failed", "pending", "intercepted")}
    totals["success_rate"] = success_rate(status["paid"]["count"], status["failed"]["count"])
    by: dict[str, dict[str, dict[str, tuple[int, int]]]] = {"item": defaultdict(dict), "department": defaultdict(dict)}
    for key, column in (("item", e.item), ("department", e.department)):
        for value, line_state, n, fen in conn.execute(
                select(column, pl.state, func.count(), func.coalesce(func.sum(pl.amount_fen), 0))
                .join(entitlements, e.id == pl.entitlement_id).group_by(column, pl.state)):
            by[key][value][line_state] = (int(n), int(fen))
    intercepted = dict(conn.execute(select(e.department, func.count()).where(
        e.state == EntitlementState.INTERCEPTED).group_by(e.department)).all())
    by_item = []
    for item in sorted(by["item"]):
        parts = by["item"][item]
        paid, failed = _part(parts, PaymentLineState.CREDITED), _part(parts, *_FAILED)
        by_item.append({"item": item, "item_name": item_name(item), "paid_count": paid["count"],
                        "paid_fen": paid["fen"], "failed_count": failed["count"], "failed_fen": failed["fen"]})
    by_department = []
    for department in sorted(set(by["department"]) | set(intercepted)):
        parts = by["department"].get(department, {})
        paid, failed = _part(parts, PaymentLineState.CREDITED), _part(parts, *_FAILED)
        by_department.append({"department": department, "paid_count": paid["count"], "paid_fen": paid["fen"],
                              "failed_count": failed["count"], "failed_fen": failed["fen"],
                              "intercepted_count": int(intercepted.get(department, 0))})
    rules = [{"rule": r["rule_id"], "kind": r["kind"], "department": r["department"], "compared": int(r["compared"]),
              "intercepted": int(r["intercepted"])} for r in rule_counts(conn)]
    return {"totals": totals, "balanced": status["balanced"], "by_item": by_item, "by_department": by_department,
            "rules": rules}
