"""Verification requests: create, read, list, and every state move (a new pull counter and an audit
entry each time, so the village's laptops receive the new state at their next sync).

States (``VerificationState``): ``sent`` → ``opened`` (the ID digits matched once) → ``passed``, or
``manual`` once the attempts are used up (via ``failed``) or the link expired (via ``expired``); the
stored ``result.outcome`` says which, and a finding opens on the resident's record (``findings``).
Expiry is applied lazily (whenever a request is read for the page or a list) and by the server's
``sweeper``.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from enrollment import error_codes
from enrollment.canonical import canonical_bytes
from enrollment.vocabulary import FindingKind, VerificationMethod, VerificationState
from sync import protocol

from .. import audit
from ..auth import Operator
from ..clock import Clock
from ..config import Settings
from ..db import iso
from ..errors import ApiError
from ..schema import records, residents, verification_requests
from ..service import next_counter
from . import challenge, findings, tokens

# Audit actions (subject: the request id; never a name, an ID number or a token).
CREATED = "verification.created"
OPENED = "verification.opened"
UNLOCK_FAILED = "verification.unlock_failed"
CONSENTED = "verification.consented"
ATTEMPT_STARTED = "verification.attempt_started"
DECIDED = "verification.decided"
STATE_CHANGED = "verification.state_changed"
EVIDENCE_VIEWED = "verification.evidence_viewed"
EVIDENCE_PURGED = "verification.evidence_purged"
# The actor of what the worker does on the page (no account: the link is the credential).
WORKER = "worker"

ACTIVE = (VerificationState.SENT, VerificationState.OPENED)
OUTCOME_FAILED, OUTCOME_EXPIRED = "failed", "expired"


@dataclass(frozen=True)
class Created:
    request: dict[str, Any]
    token: str          # shown once; only its hash is stored
    link: str
    qr_svg: str
    sms_text: str

    def to_dict(self) -> dict[str, Any]:
        return {"request": self.request, "link": self.link, "token": self.token,
                "expires_at": self.request["expires_at"], "qr_svg": self.qr_svg, "sms_text": self.sms_text}


def parse_moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def view(row: Any) -> dict[str, Any]:
    """A request as the laptops, the staff list and the CLI see it (no token, no session)."""
    return {"request": row.id, "id_number": row.id_number, "village_code": row.village_code,
            "record_id": row.record_id, "city": row.city, "method": row.method, "state": row.state,
            "created_by": row.created_by, "created_at": row.created_at, "expires_at": row.expires_at,
            "updated_at": row.updated_at, "attempts_max": row.attempts_max, "attempts_used": row.attempts_used,
            "attempts_left": max(0, row.attempts_max - row.attempts_used),
            "result": json.loads(row.result) if row.result else None,
            "video_challenge": json.loads(row.video_challenge) if row.video_challenge else None}


def load(conn: Connection, request_id: str, *, lock: bool = False) -> Any:
    q = select(verification_requests).where(verification_requests.c.id == request_id)
    return conn.execute(q.with_for_update() if lock else q).first()


def by_token(conn: Connection, token: str) -> Any:
    """The request a link's token names (looked up by hash), locked for the caller's transaction."""
    if not token or len(token) > 100:
        return None
    return conn.execute(select(verification_requests)
                        .where(verification_requests.c.token_hash == tokens.digest(token)).with_for_update()).first()


def _resident(conn: Connection, operator: Operator, id_number: str) -> tuple[str, str | None]:
    """(village code, current record id or None) of the resident, if ``operator`` may ask for them:
    on a roster of their villages, or with an enrolled record there (staff: any village). Someone
    the operator may not ask about is as unknown as someone absent."""
    rec_q = select(records.c.record_id, records.c.village_code).where(
        records.c.id_number == id_number, records.c.deleted.is_(False))
    res_q = select(residents.c.village_code).where(residents.c.id_number == id_number)
    if not operator.sees_all:
        codes = sorted(operator.village_codes)
        rec_q = rec_q.where(records.c.village_code.in_(codes))
        res_q = res_q.where(residents.c.village_code.in_(codes))
    record = conn.execute(rec_q.order_by(records.c.updated_at.desc()).limit(1)).first()
    if record is not None:
        return record.village_code, record.record_id
    village = conn.execute(res_q).scalar()
    if village is None:
        raise ApiError(error_codes.VERIFY_RESIDENT_UNKNOWN, "no resident with that ID number on your villages' "
                       "rosters or records", field="id_number")
    return village, None


def create(engine: Engine, operator: Operator, id_number: str, city: str | None, *, settings: Settings,
           clock: Clock) -> Created:
    """A new request and its link (the token is in the answer only)."""
    now = clock.now()
    expires = now + dt.timedelta(hours=settings.verify_ttl_hours)
    token = tokens.new_token()
    request_id = str(uuid.uuid4())
    with engine.begin() as conn:
        village, record_id = _resident(conn, operator, id_number)
        counter = next_counter(conn)
        conn.execute(insert(verification_requests).values(
            id=request_id, id_number=id_number, village_code=village, record_id=record_id,
            city=(city or "").strip()[:100], method=VerificationMethod.LIVE, created_by=operator.username,
            created_at=iso(now), expires_at=iso(expires), updated_at=iso(now), token_hash=tokens.digest(token),
            state=VerificationState.SENT, attempts_max=settings.verify_attempts, attempts_used=0, counter=counter,
            video_challenge=canonical_bytes(challenge.draw_video(challenge.rng(settings.verify_challenge_seed)))
            .decode("utf-8")))
        audit.append(conn, operator.username, CREATED, request_id, {
            "village_code": village, "record_id": record_id, "expires_at": iso(expires),
            "attempts_max": settings.verify_attempts, "counter": counter})
        row = load(conn, request_id)
    url = tokens.link(settings.verify_public_url, token)
    return Created(view(row), token, url, tokens.qr_svg(url),
                   tokens.sms_text(url, expires, settings.verify_attempts))


def move(conn: Connection, row: Any, state: VerificationState, *, now: dt.datetime, actor: str,
         result: dict[str, Any] | None = None, **values: Any) -> Any:
    """Set the request's state (and other columns) with a new pull counter; audited. Returns the row."""
    counter = next_counter(conn)
    if result is not None:
        values["result"] = canonical_bytes(result).decode("utf-8")
    conn.execute(update(verification_requests).where(verification_requests.c.id == row.id).values(
        state=state, counter=counter, updated_at=iso(now), **values))
    if state != row.state:
        audit.append(conn, actor, STATE_CHANGED, row.id, {"from": row.state, "state": state, "counter": counter,
                                                          **({"outcome": result.get("outcome")} if result else {})})
    return load(conn, row.id)


def to_manual(conn: Connection, row: Any, *, now: dt.datetime, actor: str, outcome: str,
              result: dict[str, Any], evidence: dict[str, Any] | None = None) -> Any:
    """The request ends without a pass: ``failed`` (attempts used up) or ``expired``, then ``manual``
    (a home visit or manual review), and a finding on the resident's record."""
    passing = VerificationState.FAILED if outcome == OUTCOME_FAILED else VerificationState.EXPIRED
    audit.append(conn, actor, STATE_CHANGED, row.id, {"from": row.state, "state": passing, "outcome": outcome})
    row = move(conn, row, VerificationState.MANUAL, now=now, actor=actor, result={**result, "outcome": outcome})
    kind = FindingKind.VERIFICATION_FAILED if outcome == OUTCOME_FAILED else FindingKind.VERIFICATION_MANUAL
    findings.open_finding(conn, row, kind, evidence or {"outcome": outcome}, now=now, actor=actor)
    return row


def expired(row: Any, now: dt.datetime) -> bool:
    return now >= parse_moment(row.expires_at)


def expire_if_due(conn: Connection, row: Any, now: dt.datetime, actor: str = audit.SYSTEM) -> Any:
    """An active request past its expiry moves to manual (outcome expired); others come back as they are."""
    if row is None or row.state not in ACTIVE or not expired(row, now):
        return row
    return to_manual(conn, row, now=now, actor=actor, outcome=OUTCOME_EXPIRED,
                     result={"expired_at": row.expires_at, "attempts_used": row.attempts_used},
                     evidence={"outcome": OUTCOME_EXPIRED, "expires_at": row.expires_at,
                               "attempts_used": row.attempts_used, "attempts_max": row.attempts_max,
                               "request": row.id})


def expire_due(engine: Engine, clock: Clock, actor: str = audit.SYSTEM) -> int:
    """Move every active request past its expiry; returns how many moved."""
    now = clock.now()
    with engine.begin() as conn:
        ids = conn.execute(select(verification_requests.c.id).where(
            verification_requests.c.state.in_(list(ACTIVE)),
            verification_requests.c.expires_at <= iso(now))).scalars().all()
        for request_id in ids:
            expire_if_due(conn, load(conn, request_id, lock=True), now, actor)
    return len(ids)


def list_requests(engine: Engine, operator: Operator, *, state: str | None, clock: Clock,
                  limit: int = 500) -> list[dict[str, Any]]:
    """The operator's requests (a cadre: their villages'), newest first; expiry applied first."""
    expire_due(engine, clock)
    q = select(verification_requests)
    if state:
        q = q.where(verification_requests.c.state == state)
    if not operator.sees_all:
        q = q.where(verification_requests.c.village_code.in_(sorted(operator.village_codes)))
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        rows = conn.execute(q.order_by(verification_requests.c.created_at.desc(),
                                       verification_requests.c.id).limit(limit)).all()
    return [view(r) for r in rows]


def pull_changes(conn: Connection, operator: Operator, since: int, limit: int) -> list[dict[str, Any]]:
    """Pull changes of kind ``verification`` (protocol v4) for the operator's villages."""
    q = select(verification_requests).where(verification_requests.c.counter > since)
    if not operator.sees_all:
        q = q.where(verification_requests.c.village_code.in_(sorted(operator.village_codes)))
    rows = conn.execute(q.order_by(verification_requests.c.counter).limit(limit + 1)).all()
    return [{"counter": r.counter, "kind": protocol.KIND_VERIFICATION, "key": r.id, "data": view(r)} for r in rows]


def session_valid(row: Any, session_hash: str, now: dt.datetime) -> bool:
    return (row is not None and row.session_hash is not None and row.session_hash == session_hash
            and row.session_expires_at is not None and now < parse_moment(row.session_expires_at))


def by_session(conn: Connection, session: str, now: dt.datetime) -> Any:
    """The request whose current page session is ``session`` (401 verify.session_invalid otherwise)."""
    digest = tokens.digest(session or "")
    row = None
    if session and len(session) <= 100:
        row = conn.execute(select(verification_requests).where(
            verification_requests.c.session_hash == digest).with_for_update()).first()
    if not session_valid(row, digest, now):
        raise ApiError(error_codes.VERIFY_SESSION_INVALID, "no unlocked session: enter the ID digits again")
    return row


