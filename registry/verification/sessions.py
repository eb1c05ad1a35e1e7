"""Unlocking a link with the last 6 ID characters, the page's session, and consent.

Before the digits match, the answers reveal only that a link is unknown or expired: no name, no
state, no count. Wrong digits count against the link and the client address like wrong passwords
(``registry.throttle``, its own instance): past the limit both are locked (429 ``verify.rate_limited``
with ``Retry-After``) before any digit is compared, the right ones included. An unknown token counts
against the address (guessing links). Every failure is an audit entry (no digits in it).
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from typing import Any

from sqlalchemy import Engine, select, update

from enrollment import error_codes
from enrollment.vocabulary import VerificationState

from .. import audit
from ..clock import Clock
from ..config import Settings
from ..db import iso
from ..errors import ApiError
from ..schema import records, residents, verification_requests
from ..throttle import Throttle, ThrottleLimits, address_key
from . import consent as consent_text
from . import request_store as store
from . import tokens

SESSION_TTL = dt.timedelta(minutes=30)
ID_TAIL = 6


def throttle_for(clock: Clock) -> Throttle:
    """Per link: 5 wrong tails within 15 min lock it (1 min, doubling); per address: 20."""
    return Throttle(ThrottleLimits(max_failures=5, address_max_failures=20), clock)


def _token_key(token: str) -> str:
    return "link:" + tokens.digest(token or "")[:32]


def _rate_limited(throttle: Throttle, *keys: str) -> None:
    wait = throttle.retry_after(*keys)
    if wait > 0:
        raise ApiError(error_codes.VERIFY_RATE_LIMITED, "too many wrong tries; try again later", retry_after=wait)


def mask_name(name: str | None) -> str:
    """张三丰 → **丰: enough for the worker to recognise the request is theirs, not to learn a name."""
    name = (name or "").strip()
    if not name:
        return ""
    return "*" * (len(name) - 1) + name[-1]


def _name(conn: Any, row: Any) -> str:
    name = conn.execute(select(residents.c.name).where(residents.c.id_number == row.id_number)).scalar()
    if name is None and row.record_id is not None:
        payload = conn.execute(select(records.c.payload).where(records.c.record_id == row.record_id)).scalar()
        if payload:
            import json

            name = json.loads(payload).get("name")
    return mask_name(name)


def ended(row: Any, now: dt.datetime) -> ApiError | None:
    """Why an ended request (passed, manual) takes no more steps; None while it is active."""
    if row.state in store.ACTIVE:
        return None
    if row.state != VerificationState.PASSED and store.expired(row, now):
        return ApiError(error_codes.VERIFY_EXPIRED, "this link has expired")
    return ApiError(error_codes.VERIFY_USED_UP, "this verification is finished or has no attempts left")


def unlock(engine: Engine, throttle: Throttle, token: str, id_tail: str, client: str | None, *,
           settings: Settings, clock: Clock) -> dict[str, Any]:
    keys = (_token_key(token), address_key(client))
    _rate_limited(throttle, *keys)
    now = clock.now()
    # Refusals are raised after the transaction commits: a lazy expiry and the audit entry of a wrong
    # try are kept.
    refusal: ApiError | None = None
    with engine.begin() as conn:
        row = store.expire_if_due(conn, store.by_token(conn, token), now)
        if row is None:
            throttle.failure(keys[1])
            refusal = ApiError(error_codes.VERIFY_TOKEN_UNKNOWN, "no such verification link")
        elif row.state != VerificationState.PASSED and store.expired(row, now):
            refusal = ApiError(error_codes.VERIFY_EXPIRED, "this link has expired")
        elif not hmac.compare_digest(row.id_number[-ID_TAIL:].upper().encode(),
                                     (id_tail or "").strip().upper().encode("utf-8", "replace")):
            throttle.failure(*keys)
            audit.append(conn, store.WORKER, store.UNLOCK_FAILED, row.id, {"code": error_codes.VERIFY_ID_MISMATCH})
            refusal = ApiError(error_codes.VERIFY_ID_MISMATCH, "the last 6 characters of the ID number do not match",
                               field="id_tail", tries_left=throttle.failures_left(*keys))
        else:
            throttle.success(keys[0])
            refusal = ended(row, now)
        if refusal is None:
            session = secrets.token_urlsafe(24)
            values = {"session_hash": tokens.digest(session), "session_expires_at": iso(now + SESSION_TTL)}
            if row.state == VerificationState.SENT:
                row = store.move(conn, row, VerificationState.OPENED, now=now, actor=store.WORKER,
                                 opened_at=iso(now), **values)
            else:
                conn.execute(update(verification_requests).where(verification_requests.c.id == row.id)
                             .values(**values))
            audit.append(conn, store.WORKER, store.OPENED, row.id, {"state": row.state})
            name = _name(conn, row)
    if refusal is not None:
        raise refusal
    return {"session": session, "state": row.state, "attempts_left": max(0, row.attempts_max - row.attempts_used),
            "expires_at": row.expires_at, "name_masked": name,
            "consent": consent_text.consent(settings.verify_evidence_days)}


def agree(engine: Engine, session: str, version: str, agreed: bool, *, clock: Clock) -> dict[str, Any]:
    now = clock.now()
    refusal: ApiError | None = None
    with engine.begin() as conn:
        row = store.expire_if_due(conn, store.by_session(conn, session, now), now)
        refusal = ended(row, now)
        if refusal is None and (not agreed or version != consent_text.CONSENT_VERSION):
            refusal = ApiError(error_codes.VERIFY_CONSENT_REQUIRED, "agree to the current consent text",
                               field="version" if agreed else "agreed", version=consent_text.CONSENT_VERSION)
        if refusal is None:
            conn.execute(update(verification_requests).where(verification_requests.c.id == row.id).values(
                consent_version=version, consent_at=iso(now)))
            audit.append(conn, store.WORKER, store.CONSENTED, row.id, {"version": version})
    if refusal is not None:
        raise refusal
    return {"ok": True}
