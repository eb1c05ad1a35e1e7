"""A verification that ends without a pass becomes a finding on the resident's record: the cadre's and
central staff's review pipeline then shows it like any check's finding (``verification_failed`` with
the decision's evidence, ``verification_manual`` when the link ran out). A resident with no enrolled
record gets no finding; the request's own state (``manual``) shows on the laptop."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, insert, select, update

from enrollment.canonical import canonical_bytes
from enrollment.vocabulary import FindingKind, ReviewState

from .. import audit
from ..db import iso
from ..schema import findings, records
from ..service import FINDING_OPEN, next_counter

RULE = "remote_verification"
SEVERITY = "flag"  # registry.checks.FLAG: a person decides, nothing is intercepted automatically
# A record in these states goes to needs_review when a verification finding opens on it (as a check's
# finding would move it, enrollment.vocabulary.CHECK_ROUTES); a received record is routed by the checks.
REOPEN_FROM = (ReviewState.CHECKED, ReviewState.CLEARED, ReviewState.APPROVED)
REVIEW_REOPENED = "review.reopened"


def _record(conn: Connection, request: Any) -> Any:
    q = select(records).where(records.c.deleted.is_(False))
    if request.record_id is not None:
        q = q.where(records.c.record_id == request.record_id)
    else:
        q = q.where(records.c.id_number == request.id_number, records.c.village_code == request.village_code)
    return conn.execute(q.order_by(records.c.updated_at.desc()).limit(1).with_for_update()).first()


def open_finding(conn: Connection, request: Any, kind: FindingKind, evidence: dict[str, Any], *,
                 now: dt.datetime, actor: str) -> int | None:
    """Open the finding on the record's current version (once per request and kind); returns its id."""
    record = _record(conn, request)
    if record is None:
        return None
    key = (findings.c.record_id == record.record_id, findings.c.version == record.version,
           findings.c.kind == kind, findings.c.rule == RULE, findings.c.subject == request.id)
    if conn.execute(select(findings.c.id).where(*key)).first() is not None:
        return None
    finding_id = conn.execute(insert(findings).values(
        record_id=record.record_id, version=record.version, kind=kind, rule=RULE, subject=request.id,
        severity=SEVERITY, score=None, evidence=canonical_bytes(evidence).decode("utf-8"), status=FINDING_OPEN,
        created_at=iso(now)).returning(findings.c.id)).scalar_one()
    if record.state in REOPEN_FROM:
        counter = next_counter(conn)
        conn.execute(update(records).where(records.c.record_id == record.record_id).values(
            state=ReviewState.NEEDS_REVIEW, state_at=iso(now), counter=counter, updated_at=iso(now)))
        audit.append(conn, actor, REVIEW_REOPENED, record.record_id, {
            "version": record.version, "from": record.state, "state": ReviewState.NEEDS_REVIEW,
            "kinds": [kind], "verification": request.id})
    return finding_id
