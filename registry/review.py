"""Central review: the queue, a record's full view, decisions, card issue, findings, dashboard.

Only central staff (roles central and admin) may use any of it. Every function returns plain
dicts in the shapes of docs/review-api.md §3 and raises ``ApiError`` with a stable code; the
API adds HTTP and the CLI prints. A decision names the version the reviewer saw, so nobody
approves content they did not look at; approve and reject need the reviewer's password
again. Every decision, card issue and view of a full record is written to the audit trail.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, Engine, and_, distinct, func, or_, select, tuple_, update

from enrollment import error_codes as codes
from enrollment import id_number as idn
from enrollment.errors import mask_id_number
from enrollment.masking import mask_personal_numbers
from enrollment.text import is_pinyin_query, pinyin_matches
from enrollment.vocabulary import DECISION_FROM, DECISION_TARGET, Action, FindingKind, ReviewState
from sync import protocol

from . import audit
from .auth import Operator
from .clock import SystemClock
from .db import iso
from .errors import ApiError
from .payments.cards import card_view, issuable_card
from .schema import (
    audit_log,
    check_runs,
    findings,
    operators,
    record_versions,
    records,
    reference_templates,
    residents,
    rule_stats,
    villages,
)
from .service import FINDING_OPEN, FINDING_RESOLVED, next_counter
from .warnings import (
    LIGHTS,
    NONE,
    RED,
    YELLOW,
    WarningLimits,
    current_version_join,
    light_condition,
    light_of,
)

APPROVE, REJECT, RETURN = Action.APPROVE, Action.REJECT, Action.RETURN
ACTIONS = tuple(Action)
TARGET_STATE = DECISION_TARGET
ALLOWED_FROM = DECISION_FROM
AUDIT_ACTION = {APPROVE: audit.REVIEW_APPROVED, REJECT: audit.REVIEW_REJECTED, RETURN: audit.REVIEW_RETURNED}
NEEDS_PASSWORD = (APPROVE, REJECT)
REASON_MAX = 200
BULK_MAX = 500
QUEUE_LIMIT_MAX = 500
DEFAULT_QUEUE_STATES = (ReviewState.NEEDS_REVIEW, ReviewState.CLEARED, ReviewState.RECEIVED)
# Finding kinds whose subject is another record (its id): the detail view shows those records.
RECORD_SUBJECT_KINDS = (FindingKind.SAME_ID, FindingKind.DEMOGRAPHIC, FindingKind.FACE_MATCH)

_verifier = PasswordHasher()  # verify() reads the parameters from the stored hash


# ------------------------------------------------------------------------------ guards

def require_staff(operator: Operator) -> None:
    if operator.role not in ("central", "admin"):
        raise ApiError(403, protocol.E_FORBIDDEN, "central review is for central staff only")


def check_password(engine: Engine, operator: Operator, password: str | None) -> None:
    """The reviewer's own password, re-entered (approve and reject carry a signature's weight)."""
    if not password:
        raise ApiError(422, protocol.E_REVIEW_PASSWORD, "re-enter your password to approve or reject",
                       field="password")
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        stored = conn.execute(select(operators.c.password_hash)
                              .where(operators.c.username == operator.username)).scalar()
    try:
        ok = stored is not None and _verifier.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok:
        raise ApiError(401, protocol.E_BAD_CREDENTIALS, "wrong password", field="password")


def clean_reason(action: str, reason: str | None) -> str | None:
    """The reason as stored (on the record and in ``audit_texts``): trimmed, ID and telephone
    numbers masked; None for an approval without one."""
    if action not in ACTIONS:
        raise ApiError(422, protocol.E_REVIEW_ACTION, "action must be approve, reject or return", field="action",
                       allowed=list(ACTIONS))
    text = (reason or "").strip()
    if len(text) > REASON_MAX:
        raise ApiError(422, protocol.E_REVIEW_REASON_LONG, f"a reason has at most {REASON_MAX} characters",
                       field="reason", max=REASON_MAX)
    if not text:
        if action != APPROVE:
            raise ApiError(422, protocol.E_REVIEW_REASON, "rejecting or returning a record needs a reason",
                           field="reason")
        return None
    return mask_personal_numbers(text)


def _authors(conn: Connection, row: Any) -> set[str]:
    """Everyone who created or edited the record: the current version's operator and every version's."""
    names = set(conn.execute(select(record_versions.c.operator).distinct()
                             .where(record_versions.c.record_id == row.record_id)).scalars())
    names.add(row.operator)
    return {n for n in names if n}


def _duty_conflict(conn: Connection, operator: Operator, row: Any, step: str, *,
                   allow_approver_issues_card: bool) -> ApiError | None:
    """The separation-of-duties rule ``step`` (an action, or "card_issued") would break, if any."""
    if operator.username in _authors(conn, row):
        return ApiError(codes.REVIEW_OWN_RECORD, "nobody decides on a record they created or edited",
                        field="record_id")
    if (step == "card_issued" and not allow_approver_issues_card
            and row.decided_by == operator.username):
        return ApiError(codes.REVIEW_APPROVER_ISSUES_CARD,
                        "the staff member who approved a record does not also mark its card issued",
                        field="record_id", decided_by=row.decided_by)
    return None


def _duty_refusal(conn: Connection, operator: Operator, row: Any, step: str, *,
                  allow_approver_issues_card: bool = True) -> ApiError | None:
    """Separation of duties for ``step``: the refusal to raise, if any. The refusal is audited
    here, in the caller's transaction, which must commit before raising it."""
    refusal = _duty_conflict(conn, operator, row, step, allow_approver_issues_card=allow_approver_issues_card)
    if refusal is not None:
        audit.append(conn, operator.username, audit.REVIEW_REFUSED, row.record_id, {
            "version": row.version, "step": step, "code": refusal.code, "village_code": row.village_code})
    return refusal


def duties_blocked(conn: Connection, operator: Operator, row: Any, *,
                   allow_approver_issues_card: bool) -> dict[str, str | None]:
    """Which steps separation of duties closes to this operator on this record, by code, so the
    workspace can grey out a button and say why instead of letting a click be refused."""
    out: dict[str, str | None] = {}
    for step in ("decide", "card_issued"):
        conflict = _duty_conflict(conn, operator, row, step, allow_approver_issues_card=allow_approver_issues_card)
        out[step] = conflict.code if conflict else None
    return out


def _needs_person(conn: Connection, row: Any) -> bool:
    """Does the version have an open finding (e.g. not on the village's roster)? Bulk approval never
    takes such a record, whatever its state says: each finding needs a person's own decision."""
    return conn.execute(select(func.count()).select_from(findings).where(
        findings.c.record_id == row.record_id, findings.c.version == row.version,
        findings.c.status == FINDING_OPEN)).scalar_one() > 0


# ------------------------------------------------------------------------------ shapes

def _payload(row: Any) -> dict[str, Any] | None:
    return json.loads(row.payload) if row.payload else None


def record_view(row: Any, now: dt.datetime, limits: WarningLimits) -> dict[str, Any]:
    """A record for central staff: full ID number and payload. ``row`` has ``received_at``."""
    return {"record_id": row.record_id, "version": row.version, "village_code": row.village_code,
            "id_number": row.id_number, "payload": _payload(row), "deleted": bool(row.deleted),
            "state": row.state, "state_at": row.state_at, "review_reason": row.review_reason,
            "decided_by": row.decided_by, "decided_at": row.decided_at, "card_issued_at": row.card_issued_at,
            "operator": row.operator, "device_id": row.device_id, "received_at": row.received_at,
            "light": light_of(row, now, limits)}


def _record_query():  # noqa: ANN202 - a Select
    return select(records, record_versions.c.received_at).select_from(current_version_join())


def _load(conn: Connection, record_id: str, *, lock: bool = False) -> Any:
    q = _record_query().where(records.c.record_id == record_id)
    if lock:
        q = q.with_for_update(of=records)
    row = conn.execute(q).first()
    if row is None:
        raise ApiError(404, protocol.E_RECORD_UNKNOWN, "no record with that id", field="record_id")
    return row


def finding_view(row: Any) -> dict[str, Any]:
    return {"id": row.id, "version": row.version, "kind": row.kind, "rule": row.rule, "subject": row.subject,
            "severity": row.severity, "score": row.score, "status": row.status,
            "evidence": json.loads(row.evidence), "created_at": row.created_at}


# ------------------------------------------------------------------------------ decisions

def _apply_decision(conn: Connection, operator: Operator, row: Any, action: str, reason: str | None,
                    now: str) -> None:
    conn.execute(update(records).where(records.c.record_id == row.record_id).values(
        state=TARGET_STATE[action], state_at=now, review_reason=reason, decided_by=operator.username,
        decided_at=now, counter=next_counter(conn)))
    conn.execute(update(findings).where(findings.c.record_id == row.record_id, findings.c.version == row.version,
                                        findings.c.status == FINDING_OPEN)
                 .values(status=FINDING_RESOLVED, resolved_by=operator.username, resolved_at=now))
    audit.append(conn, operator.username, AUDIT_ACTION[action], row.record_id, {
        "version": row.version, "from": row.state, "state": TARGET_STATE[action],
        "village_code": row.village_code}, texts={"reason": reason})


def decide(engine: Engine, operator: Operator, record_id: str, action: str, *, version: int,
           reason: str | None, password: str | None = None, clock: Any,
           limits: WarningLimits | None = None) -> dict[str, Any]:
    """Approve, reject or return the version ``version`` of a record; returns ``{"record": …}``."""
    require_staff(operator)
    reason = clean_reason(action, reason)
    if action in NEEDS_PASSWORD:
        check_password(engine, operator, password)
    now = clock.now()
    with engine.begin() as conn:
        row = _load(conn, record_id, lock=True)
        if row.version != version:
            raise ApiError(409, protocol.E_REVIEW_STALE, "the record has a newer version; look at it first",
                           field="version", current_version=row.version)
        if row.state not in ALLOWED_FROM[action]:
            raise ApiError(409, protocol.E_REVIEW_STATE, f"cannot {action} a record in state {row.state}",
                           field="action", state=row.state, allowed_from=list(ALLOWED_FROM[action]))
        refusal = _duty_refusal(conn, operator, row, action)
        if refusal is None:
            _apply_decision(conn, operator, row, action, reason, iso(now))
            after = _load(conn, record_id)
    if refusal is not None:  # raised after the commit: the refusal stays in the audit trail
        raise refusal
    return {"record": record_view(after, now, limits or WarningLimits.load())}


def bulk_approve(engine: Engine, operator: Operator, items: list[dict[str, Any]], *, password: str | None,
                 clock: Any, reason: str | None = None) -> dict[str, Any]:
    """Approve every listed record that is ``cleared`` at the listed version, in one transaction;
    the others are skipped with the code a single decision would have given."""
    require_staff(operator)
    reason = clean_reason(APPROVE, reason)
    if len(items) > BULK_MAX:
        raise ApiError(422, protocol.E_INVALID, f"at most {BULK_MAX} records at once", field="items", max=BULK_MAX)
    check_password(engine, operator, password)
    now = iso(clock.now())
    approved: list[str] = []
    skipped: list[dict[str, str]] = []
    seen: set[str] = set()
    with engine.begin() as conn:
        for it in items:
            record_id, version = it["record_id"], it["version"]
            if record_id in seen:
                continue
            seen.add(record_id)
            row = conn.execute(_record_query().where(records.c.record_id == record_id).with_for_update(of=records)
                               ).first()
            if row is None:
                skipped.append({"record_id": record_id, "code": protocol.E_RECORD_UNKNOWN})
            elif row.version != version:
                skipped.append({"record_id": record_id, "code": protocol.E_REVIEW_STALE})
            elif row.state != ReviewState.CLEARED or _needs_person(conn, row):
                skipped.append({"record_id": record_id, "code": protocol.E_REVIEW_STATE})
            elif (refusal := _duty_refusal(conn, operator, row, APPROVE)) is not None:
                skipped.append({"record_id": record_id, "code": refusal.code})
            else:
                _apply_decision(conn, operator, row, APPROVE, reason, now)
                approved.append(record_id)
    return {"approved": approved, "skipped": skipped}


def mark_card_issued(engine: Engine, operator: Operator, record_id: str, *, version: int, clock: Any,
                     limits: WarningLimits | None = None,
                     allow_approver_issues_card: bool = False) -> dict[str, Any]:
    """Record that the approved version's card was handed out (once), by someone other than the
    approver unless ``allow_approver_issues_card`` (the registry's policy, ``Settings``)."""
    require_staff(operator)
    now = clock.now()
    with engine.begin() as conn:
        row = _load(conn, record_id, lock=True)
        if row.version != version:
            raise ApiError(409, protocol.E_REVIEW_STALE, "the record has a newer version", field="version",
                           current_version=row.version)
        if row.state != ReviewState.APPROVED or row.card_issued_at is not None:
            raise ApiError(409, protocol.E_REVIEW_STATE, "only an approved record without a card gets one",
                           field="version", state=row.state, card_issued_at=row.card_issued_at)
        refusal = _duty_refusal(conn, operator, row, "card_issued",
                                allow_approver_issues_card=allow_approver_issues_card)
        # The card bank must have made (or activated) a card for this ID number (registry import-cards).
        card = issuable_card(conn, row.id_number) if refusal is None else None
        if refusal is None and card is None:
            raise ApiError(409, codes.REVIEW_CARD_MISSING, "the card bank has made no card for this ID number "
                           "(import its file with registry import-cards first)", field="record_id")
        if refusal is None:
            conn.execute(update(records).where(records.c.record_id == record_id).values(
                card_issued_at=iso(now), counter=next_counter(conn)))
            audit.append(conn, operator.username, audit.REVIEW_CARD_ISSUED, record_id, {
                "version": row.version, "village_code": row.village_code})
            after = _load(conn, record_id)
    if refusal is not None:  # raised after the commit: the refusal stays in the audit trail
        raise refusal
    return {"record": record_view(after, now, limits or WarningLimits.load()), "card": card_view(card)}


# ------------------------------------------------------------------------------ reading

def history(conn: Connection, record_id: str) -> list[dict[str, Any]]:
    """Every audit entry about this record, oldest first, with the texts they refer to (a reason:
    ``data.reason``; None and ``data.reason_redacted`` once it has been redacted)."""
    rows = conn.execute(select(audit_log.c.at, audit_log.c.actor, audit_log.c.action, audit_log.c.data)
                        .where(audit_log.c.subject == record_id).order_by(audit_log.c.seq)).all()
    datas = audit.with_texts(conn, [json.loads(r.data) for r in rows])
    return [{"at": r.at, "actor": r.actor, "action": r.action, "data": d} for r, d in zip(rows, datas, strict=True)]


def versions(conn: Connection, record_id: str) -> list[dict[str, Any]]:
    """Each version with ``changed``: what differs from the one before (payload keys, an attachment as
    ``attachment:<kind>``), so a reviewer reads 照片已更换 instead of comparing two hashes."""
    out: list[dict[str, Any]] = []
    previous: dict[str, Any] | None = None
    for r in conn.execute(select(record_versions).where(record_versions.c.record_id == record_id)
                          .order_by(record_versions.c.version)):
        current = json.loads(r.payload) if r.payload else {}
        out.append({"version": r.version, "content_hash": r.content_hash, "operator": r.operator,
                    "device_id": r.device_id, "received_at": r.received_at, "deleted": bool(r.deleted),
                    "changed": _changed(previous, current) if previous is not None else []})
        previous = current
    return out


def _changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    def by_kind(p: dict[str, Any]) -> dict[str, Any]:
        return {str(a.get("kind")): a.get("sha256") for a in p.get("attachments") or [] if isinstance(a, dict)}

    keys = sorted(k for k in set(before) | set(after) if k != "attachments" and before.get(k) != after.get(k))
    old, new = by_kind(before), by_kind(after)
    keys += sorted(f"attachment:{k}" for k in set(old) | set(new) if old.get(k) != new.get(k))
    return keys


def record_detail(engine: Engine, operator: Operator, record_id: str, *, clock: Any = None,
                  limits: WarningLimits | None = None, allow_approver_issues_card: bool = False
                  ) -> dict[str, Any]:
    """Everything staff need to decide on one record; the view itself is audited (``record.viewed``)."""
    require_staff(operator)
    limits = limits or WarningLimits.load()
    now = (clock or SystemClock()).now()
    with engine.begin() as conn:
        row = _load(conn, record_id)
        found = [finding_view(f) for f in conn.execute(
            select(findings).where(findings.c.record_id == record_id)
            .order_by(findings.c.version.desc(), findings.c.id))]
        subjects = sorted({f["subject"] for f in found if f["kind"] in RECORD_SUBJECT_KINDS and f["subject"]})
        related = {}
        if subjects:
            for r in conn.execute(_record_query().where(records.c.record_id.in_(subjects))):
                related[r.record_id] = record_view(r, now, limits)
        ref = conn.execute(select(reference_templates.c.photo_sha256)
                           .where(reference_templates.c.id_number == row.id_number)).scalar()
        # Audited before the answer is built from it, in the same transaction: no view unrecorded.
        audit.append(conn, operator.username, audit.RECORD_VIEWED, record_id, {
            "version": row.version, "village_code": row.village_code})
        out = {"record": record_view(row, now, limits), "findings": found, "related": related,
               "reference_photo": {"sha256": ref} if ref else None,
               "history": history(conn, record_id), "versions": versions(conn, record_id),
               "blocked": duties_blocked(conn, operator, row,
                                         allow_approver_issues_card=allow_approver_issues_card)}
    return out


def open_findings(conn: Connection, *, kind: str | None = None, status: str = FINDING_OPEN
                  ) -> list[dict[str, Any]]:
    """Findings (open by default) with the record's full ID number, oldest first."""
    q = (select(findings, records.c.id_number)
         .join(records, records.c.record_id == findings.c.record_id)
         .where(findings.c.status == status))
    if kind:
        q = q.where(findings.c.kind == kind)
    return [{"record_id": r.record_id, "version": r.version, "id_number": r.id_number, "kind": r.kind,
             "rule": r.rule, "subject": r.subject, "severity": r.severity, "score": r.score,
             "status": r.status, "evidence": json.loads(r.evidence), "created_at": r.created_at}
            for r in conn.execute(q.order_by(findings.c.id))]


def read_findings(engine: Engine, actor: str, *, kind: str | None = None, status: str = FINDING_OPEN
                  ) -> list[dict[str, Any]]:
    """``open_findings`` for a person, audited (``findings.read``: who, the filters, how many; no
    personal data) in the same transaction, as a view of one full record is."""
    with engine.begin() as conn:
        found = open_findings(conn, kind=kind, status=status)
        # Only a known kind is written: the filter is whatever the caller typed.
        audit.append(conn, actor, audit.FINDINGS_READ, "findings", {
            "kind": kind if kind is None or kind in tuple(FindingKind) else "?", "status": status,
            "findings": len(found)})
    return found


@dataclass
class QueueFilters:
    states: list[str] = field(default_factory=lambda: list(DEFAULT_QUEUE_STATES))
    kind: str | None = None
    village: str | None = None
    light: str | None = None
    age_min: int | None = None
    age_max: int | None = None
    q: str | None = None
    limit: int = 100
    offset: int = 0

    def check(self) -> None:
        bad = [s for s in self.states if s not in tuple(ReviewState)]
        if bad:
            raise ApiError(422, protocol.E_INVALID, "unknown review state", field="state", allowed=list(ReviewState))
        if self.light is not None and self.light not in LIGHTS:
            raise ApiError(422, protocol.E_INVALID, "light is none, yellow or red", field="light")
        if not 1 <= self.limit <= QUEUE_LIMIT_MAX or self.offset < 0:
            raise ApiError(422, protocol.E_INVALID, f"limit is 1..{QUEUE_LIMIT_MAX}, offset 0 or more",
                           field="limit")


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def age_on(birth: str | None, today: dt.date) -> int | None:
    if not birth:
        return None
    b = dt.date.fromisoformat(birth)
    return today.year - b.year - ((today.month, today.day) < (b.month, b.day))


def queue(conn: Connection, filters: QueueFilters, *, now: dt.datetime, limits: WarningLimits) -> dict[str, Any]:
    """One page of the review queue, oldest version first, with each record's open findings and light."""
    filters.check()
    today = now.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    where = [records.c.state.in_(filters.states)]
    if filters.village:
        where.append(records.c.village_code == filters.village)
    if filters.kind:
        # An uncorrelated IN: a correlated EXISTS made SQLite walk the (status, kind) index once per record.
        where.append(tuple_(records.c.record_id, records.c.version).in_(
            select(findings.c.record_id, findings.c.version)
            .where(findings.c.status == FINDING_OPEN, findings.c.kind == filters.kind)))
    if filters.light:
        where.append(light_condition(filters.light, now, limits))
    # The birth date is in the ID number (characters 7–14, YYYYMMDD), which is a column.
    birth = func.substr(records.c.id_number, 7, 8)
    if filters.age_min is not None:
        where.append(birth <= _years_before(today, filters.age_min).strftime("%Y%m%d"))
    if filters.age_max is not None:
        where.append(birth > _years_before(today, filters.age_max + 1).strftime("%Y%m%d"))
    if filters.q and filters.q.strip():
        text = filters.q.strip()
        # Canonical JSON writes "name":"…" with no spaces, so a name prefix is a text prefix.
        matches = [records.c.id_number.like(_like_prefix(text.upper()), escape="\\"),
                   records.c.payload.like("%" + _like_prefix(f'"name":"{text}'), escape="\\")]
        if is_pinyin_query(text):
            # Pinyin as the field roster searches it (full or initials prefix), computed on the names the
            # other filters leave: the registry keeps no pinyin column.
            ids = [r.record_id for r in conn.execute(select(records.c.record_id, records.c.payload)
                                                     .where(and_(*where)))
                   if pinyin_matches(str((json.loads(r.payload or "{}") or {}).get("name") or ""), text)]
            if ids:
                matches.append(records.c.record_id.in_(ids))
        where.append(or_(*matches))
    base = select(records, record_versions.c.received_at).select_from(current_version_join()).where(and_(*where))
    total = conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    rows = conn.execute(base.order_by(record_versions.c.received_at, records.c.record_id)
                        .limit(filters.limit).offset(filters.offset)).all()
    by_record: dict[str, list[Any]] = {}
    if rows:
        for f in conn.execute(select(findings.c.record_id, findings.c.version, findings.c.kind, findings.c.severity)
                              .where(findings.c.record_id.in_([r.record_id for r in rows]),
                                     findings.c.status == FINDING_OPEN)):
            by_record.setdefault(f.record_id, []).append(f)
    items = []
    for r in rows:
        fs = [f for f in by_record.get(r.record_id, []) if f.version == r.version]
        sevs = {f.severity for f in fs}
        p = _payload(r) or {}
        try:
            birth_date = p.get("birth_date") or idn.parse(r.id_number).birth_date.isoformat()
        except Exception:  # noqa: BLE001 - a stored number always parses; a view must not fail on one
            birth_date = None
        items.append({
            "record_id": r.record_id, "version": r.version, "village_code": r.village_code,
            "id_number_masked": mask_id_number(r.id_number), "name": p.get("name"), "sex": p.get("sex"),
            "birth_date": birth_date, "age": age_on(birth_date, today), "state": r.state, "state_at": r.state_at,
            "received_at": r.received_at, "operator": r.operator, "deleted": bool(r.deleted),
            "finding_kinds": sorted({f.kind for f in fs}), "findings_open": len(fs),
            "severity": "intercept" if "intercept" in sevs else ("flag" if sevs else None),
            "light": light_of(r, now, limits), "card_issued_at": r.card_issued_at})
    return {"items": items, "total": total}


def _hours_text(seconds: float) -> str:
    return f"{seconds / 3600:.2f}"


def dashboard(conn: Connection, *, now: dt.datetime, limits: WarningLimits) -> dict[str, Any]:
    """The numbers on the central dashboard (live records only; a person counts once)."""
    live = records.c.deleted.is_(False)

    def people(*where: Any) -> int:
        return conn.execute(select(func.count(distinct(records.c.id_number))).where(live, *where)).scalar_one()

    n_residents = conn.execute(select(func.count()).select_from(residents)).scalar_one()
    cards = people(records.c.state == ReviewState.APPROVED, records.c.card_issued_at.is_not(None))
    by_state = dict.fromkeys(ReviewState, 0)
    by_state.update(dict(conn.execute(select(records.c.state, func.count()).where(live)
                                      .group_by(records.c.state)).all()))
    by_light = {}
    for light in (NONE, YELLOW, RED):
        by_light[light] = conn.execute(select(func.count()).select_from(current_version_join())
                                       .where(live, light_condition(light, now, limits))).scalar_one()
    rules = [{"rule_id": r.rule_id, "kind": r.kind, "department": r.department, "dataset": r.dataset,
              "compared": r.compared, "intercepted": r.intercepted, "flagged": r.flagged}
             for r in conn.execute(select(rule_stats).order_by(rule_stats.c.rule_id))]
    departments: dict[str, dict[str, Any]] = {}
    for r in rules:
        if r["department"]:
            d = departments.setdefault(r["department"], {"department": r["department"], "compared": 0,
                                                         "intercepted": 0, "flagged": 0})
            for k in ("compared", "intercepted", "flagged"):
                d[k] += r[k]
    # Time to decision: from the decided version's arrival to the decision.
    moment = dt.datetime.fromisoformat  # stored "…Z" times; ~10x faster than strptime on long lists
    spans = [(moment(d) - moment(rcv)).total_seconds() for d, rcv in conn.execute(
        select(records.c.decided_at, record_versions.c.received_at).select_from(current_version_join())
        .where(records.c.decided_at.is_not(None)))]
    villages_out: dict[str, dict[str, Any]] = {}
    for code, n in conn.execute(select(residents.c.village_code, func.count()).group_by(residents.c.village_code)):
        villages_out[code] = {"village_code": code, "residents": n, "enrolled": 0, "approved": 0}
    for code, enrolled, approved in conn.execute(
            select(records.c.village_code, func.count(distinct(records.c.id_number)),
                   func.count(distinct(records.c.id_number)).filter(records.c.state == ReviewState.APPROVED))
            .where(live).group_by(records.c.village_code)):
        v = villages_out.setdefault(code, {"village_code": code, "residents": 0, "enrolled": 0, "approved": 0})
        v["enrolled"], v["approved"] = enrolled, approved
    # Names as the roster import gave them, so the dashboard and the queue's filter read 大石村, not a code.
    for code, name in conn.execute(select(villages.c.code, villages.c.name)
                                   .where(villages.c.code.in_(list(villages_out)))):
        villages_out[code]["village_name"] = name or ""
    for v in villages_out.values():
        v.setdefault("village_name", "")
    return {
        "residents": n_residents,
        "enrolled": people(),
        "approved": people(records.c.state == ReviewState.APPROVED),
        "cards_issued": cards,
        "holding_rate": f"{cards / n_residents:.4f}" if n_residents else "0.0000",
        "checks_run": sum(r["compared"] for r in rules),
        "check_runs": conn.execute(select(func.count()).select_from(check_runs)
                                   .where(check_runs.c.finished_at.is_not(None))).scalar_one(),
        "rules": rules,
        "departments": sorted(departments.values(), key=lambda d: d["department"]),
        "by_state": by_state,
        "by_light": by_light,
        "median_hours_to_decision": _hours_text(statistics.median(spans)) if spans else None,
        "decisions": len(spans),
        "by_village": [villages_out[k] for k in sorted(villages_out)],
    }
