"""An attempt: the challenge drawn at its start, frames uploaded while it runs, and its decision.

Frames are bound to the attempt by its nonce (header ``X-Verify-Nonce``), timed on the server's
clock, capped in size and count, and refused after the last deadline (plus a grace for weak networks).
At finish, a frame whose SHA-256 was seen in any earlier attempt fails the attempt as
``liveness.replayed`` (decided here: the registry keeps every frame's hash, the engine sees one
attempt); otherwise the JPEGs are decoded and the engine decides against the reference descriptor.
The decision keeps at most 4 evidence frames' bytes; the others' bytes go, their hashes stay.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import uuid
from typing import Any

import cv2
import numpy as np
from sqlalchemy import Engine, insert, select, update

from enrollment import error_codes
from enrollment.canonical import canonical_bytes
from enrollment.vocabulary import VerificationMethod, VerificationState

from .. import audit
from ..clock import Clock
from ..config import Settings
from ..db import iso
from ..errors import ApiError
from ..schema import verification_attempts, verification_frames, verification_requests
from . import challenge, reference, sessions
from . import request_store as store
from .consent import CONSENT_VERSION
from .engine import Engine as LivenessEngine
from .engine import FrameInput, StepInput, decision_data

OPEN, DECIDED, ABANDONED = "open", "decided", "abandoned"
REPLAYED = "liveness.replayed"
JPEG_MAGIC = b"\xff\xd8"
PASSED, FAILED, RETRY = "passed", "failed", "retry"


def _client_hash(attempt_id: str, client: str | None) -> str:
    """Tells an attempt's client address apart from others' without keeping it (salted by the attempt)."""
    return hashlib.sha256(f"{attempt_id}:{client or '?'}".encode()).hexdigest()


def _ms_since(start: str, now: dt.datetime) -> int:
    return int((now - store.parse_moment(start)).total_seconds() * 1000)


def start(engine: Engine, session: str, client: str | None, *, settings: Settings, clock: Clock) -> dict[str, Any]:
    now = clock.now()
    refusal: ApiError | None = None
    with engine.begin() as conn:
        row = store.expire_if_due(conn, store.by_session(conn, session, now), now)
        refusal = sessions.ended(row, now)
        if refusal is None and row.consent_version != CONSENT_VERSION:
            refusal = ApiError(error_codes.VERIFY_CONSENT_REQUIRED, "agree to the consent text first",
                               version=CONSENT_VERSION)
        if refusal is None and row.attempts_used >= row.attempts_max:
            refusal = ApiError(error_codes.VERIFY_USED_UP, "no attempts left")
        if refusal is None:
            # A page reloaded mid-attempt leaves it open: it is closed (it counted when it started).
            conn.execute(update(verification_attempts).where(verification_attempts.c.request_id == row.id,
                                                             verification_attempts.c.state == OPEN)
                         .values(state=ABANDONED, finished_at=iso(now)))
            attempt_id, nonce = str(uuid.uuid4()), secrets.token_urlsafe(24)
            steps = [s.to_dict() for s in challenge.draw(challenge.rng(settings.verify_challenge_seed))]
            conn.execute(insert(verification_attempts).values(
                id=attempt_id, request_id=row.id, started_at=iso(now), nonce=nonce,
                steps=canonical_bytes(steps).decode("utf-8"), state=OPEN, client_hash=_client_hash(attempt_id, client)))
            row = store.move(conn, row, row.state, now=now, actor=store.WORKER, attempts_used=row.attempts_used + 1)
            audit.append(conn, store.WORKER, store.ATTEMPT_STARTED, row.id, {
                "attempt": attempt_id, "number": row.attempts_used, "actions": [s["action"] for s in steps]})
    if refusal is not None:
        raise refusal
    return {"attempt": attempt_id, "nonce": nonce, "steps": steps, "frames": challenge.frame_limits()}


def put_frame(engine: Engine, attempt_id: str, seq: int, step: int, nonce: str | None, data: bytes, *,
              clock: Clock) -> dict[str, Any]:
    now = clock.now()
    with engine.begin() as conn:
        attempt = conn.execute(select(verification_attempts).where(verification_attempts.c.id == attempt_id)
                               .with_for_update()).first()
        if attempt is None or not hmac.compare_digest(attempt.nonce.encode(), (nonce or "").encode("utf-8", "replace")):
            raise ApiError(error_codes.VERIFY_NONCE_MISMATCH, "this frame does not belong to a running attempt")
        steps = json.loads(attempt.steps)
        t_ms = _ms_since(attempt.started_at, now)
        if attempt.state != OPEN or t_ms > challenge.last_frame_ms(steps):
            raise ApiError(error_codes.VERIFY_ATTEMPT_CLOSED, "this attempt is finished or past its last deadline")
        if not 0 <= step < len(steps):
            raise ApiError(422, error_codes.INVALID, "step is not a step of this attempt", field="step")
        if len(data) > challenge.FRAME_MAX_BYTES:
            raise ApiError(error_codes.VERIFY_UPLOAD_TOO_LARGE, "frame over the size limit",
                           limit=challenge.FRAME_MAX_BYTES)
        if not data.startswith(JPEG_MAGIC):
            raise ApiError(422, error_codes.INVALID, "a frame is a JPEG image", field="body")
        sha = hashlib.sha256(data).hexdigest()
        known = conn.execute(select(verification_frames.c.sha256).where(
            verification_frames.c.attempt_id == attempt_id, verification_frames.c.seq == seq)).scalar()
        if known is not None:
            if known == sha:  # a retry of a frame that arrived: nothing to do
                return {"received": seq}
            raise ApiError(error_codes.VERIFY_ATTEMPT_CLOSED, "another frame already has this number", field="seq")
        if seq >= challenge.FRAME_MAX_COUNT or attempt.frames_received >= challenge.FRAME_MAX_COUNT:
            raise ApiError(error_codes.VERIFY_TOO_MANY_FRAMES, "more frames than an attempt takes",
                           limit=challenge.FRAME_MAX_COUNT)
        if attempt.bytes_received + len(data) > challenge.ATTEMPT_MAX_BYTES:
            raise ApiError(error_codes.VERIFY_UPLOAD_TOO_LARGE, "the attempt's frames are over the size limit",
                           limit=challenge.ATTEMPT_MAX_BYTES)
        conn.execute(insert(verification_frames).values(attempt_id=attempt_id, seq=seq, step=step, t_ms=t_ms,
                                                        sha256=sha, size=len(data), data=data, evidence=False))
        conn.execute(update(verification_attempts).where(verification_attempts.c.id == attempt_id).values(
            frames_received=attempt.frames_received + 1, bytes_received=attempt.bytes_received + len(data)))
    return {"received": seq}


def replayed(conn: Any, attempt_id: str, frames: list[tuple[int, str]]) -> list[int]:
    """Seqs of this attempt's frames ((seq, sha256) each) whose hash was seen in another attempt, live
    or video."""
    shas = sorted({sha for _seq, sha in frames})
    seen: set[str] = set()
    for i in range(0, len(shas), 500):
        seen |= set(conn.execute(select(verification_frames.c.sha256).where(
            verification_frames.c.sha256.in_(shas[i:i + 500]),
            verification_frames.c.attempt_id != attempt_id)).scalars())
    return [seq for seq, sha in frames if sha in seen]


def replay_decision(count: int) -> dict[str, Any]:
    """The decision of an attempt with ``count`` frames (or a clip) seen before: failed without the engine."""
    return {"passed": False, "reasons": [REPLAYED], "checks": [{
        "name": "replay", "passed": False, "value": str(count), "threshold": "0", "reason": REPLAYED}],
        "match_distance": None, "passive_score": None, "evidence": []}


def _decode(frames: list[Any]) -> tuple[list[FrameInput], list[int]]:
    """Decoded frames (an undecodable one is left out) and their seqs, in upload order."""
    inputs, seqs = [], []
    for f in frames:
        image = cv2.imdecode(np.frombuffer(bytes(f.data), np.uint8), cv2.IMREAD_COLOR) if f.data else None
        if image is not None:
            inputs.append(FrameInput(image=image, t_ms=f.t_ms, step=f.step))
            seqs.append(f.seq)
    return inputs, seqs


def finish(engine: Engine, liveness: LivenessEngine, attempt_id: str, session: str, *,
           clock: Clock) -> dict[str, Any]:
    """Decide the attempt; move the request (passed, retry, or manual once no attempts are left)."""
    now = clock.now()
    # Read, then decide outside any transaction (the engine takes up to a second; no lock is held), then
    # write after checking that the attempt is still open.
    with engine.connect() as conn, conn.begin():
        row = store.by_session(conn, session, now)
        attempt = conn.execute(select(verification_attempts).where(
            verification_attempts.c.id == attempt_id, verification_attempts.c.request_id == row.id)).first()
        if attempt is None or attempt.state != OPEN:
            raise ApiError(error_codes.VERIFY_ATTEMPT_CLOSED, "this attempt is finished")
        frames = conn.execute(select(verification_frames).where(verification_frames.c.attempt_id == attempt_id)
                              .order_by(verification_frames.c.seq)).all()
        seen_before = replayed(conn, attempt_id, [(f.seq, f.sha256) for f in frames])
        vector, ref_source = (None, None) if seen_before else reference.descriptor(conn, row)
    steps = json.loads(attempt.steps)
    if seen_before:
        decision = replay_decision(len(seen_before))
        evidence_seqs = seen_before[:4]
    else:
        inputs, seqs = _decode(frames)
        raw = liveness.decide(inputs, [StepInput(s["action"], int(s["deadline_ms"])) for s in steps], vector)
        decision = decision_data(raw, len(inputs))
        evidence_seqs = [seqs[i] for i in decision["evidence"]]
    with engine.begin() as conn:
        row = store.by_session(conn, session, now)
        attempt = conn.execute(select(verification_attempts).where(verification_attempts.c.id == attempt_id)
                               .with_for_update()).first()
        if attempt.state != OPEN:
            raise ApiError(error_codes.VERIFY_ATTEMPT_CLOSED, "this attempt is finished")
        result, row, left, decision = conclude(
            conn, row, attempt_id, decision, [(f.seq, f.sha256) for f in frames], evidence_seqs, ref_source,
            now=now, actor=store.WORKER)
    return {"result": result, "reasons": decision["reasons"], "attempts_left": left, "state": row.state}


def conclude(conn: Any, row: Any, attempt_id: str, decision: dict[str, Any], frames: list[tuple[int, str]],
             evidence_seqs: list[int], ref_source: str | None, *, now: dt.datetime, actor: str,
             method: VerificationMethod = VerificationMethod.LIVE) -> tuple[str, Any, int, dict[str, Any]]:
    """Store an attempt's decision and move its request, the same for a live attempt and a clip: keep
    the evidence frames' bytes and drop the others' (``frames``: (seq, sha256) of all; their hashes stay
    for the replay check), audit the decision, then ``passed`` (with ``method``), ``retry`` (attempts
    left; the state stays) or, on the last attempt, ``manual`` with a ``verification_failed`` finding.
    Returns (result, the request row, attempts left, the decision as stored)."""
    decision = {**decision, "evidence": evidence_seqs, "reference": ref_source, "frames": len(frames)}
    how = {} if method == VerificationMethod.LIVE else {"method": str(method)}   # live: entries as before
    if evidence_seqs:
        conn.execute(update(verification_frames).where(verification_frames.c.attempt_id == attempt_id,
                                                       verification_frames.c.seq.in_(evidence_seqs))
                     .values(evidence=True))
    conn.execute(update(verification_frames).where(verification_frames.c.attempt_id == attempt_id,
                                                   verification_frames.c.evidence.is_(False))
                 .values(data=None))
    audit.append(conn, actor, store.DECIDED, row.id, {
        "attempt": attempt_id, "passed": decision["passed"], "reasons": decision["reasons"],
        "match_distance": decision["match_distance"], "passive_score": decision["passive_score"],
        "frames": len(frames), "evidence": [sha for seq, sha in frames if seq in evidence_seqs], **how})
    summary = {"attempt": attempt_id, "decided_at": iso(now), "reasons": decision["reasons"],
               "match_distance": decision["match_distance"], "passive_score": decision["passive_score"],
               "reference": ref_source, **how}
    left = max(0, row.attempts_max - row.attempts_used)
    if decision["passed"]:
        row = store.move(conn, row, VerificationState.PASSED, now=now, actor=actor,
                         result={**summary, "outcome": PASSED}, session_hash=None, session_expires_at=None,
                         method=method)
        result = PASSED
    elif left == 0:
        evidence = {"outcome": "failed", "request": row.id, "attempt": attempt_id, "checks": decision["checks"],
                    "reasons": decision["reasons"], "match_distance": decision["match_distance"],
                    "passive_score": decision["passive_score"], "reference": ref_source,
                    "evidence_frames": [{"seq": seq, "sha256": sha} for seq, sha in frames if seq in evidence_seqs],
                    **how}
        row = store.to_manual(conn, row, now=now, actor=actor, outcome=store.OUTCOME_FAILED,
                              result=summary, evidence=evidence)
        conn.execute(update(verification_requests).where(verification_requests.c.id == row.id)
                     .values(session_hash=None, session_expires_at=None))
        result = FAILED
    else:
        row = store.move(conn, row, row.state, now=now, actor=actor, result={**summary, "outcome": RETRY})
        result = RETRY
    conn.execute(update(verification_attempts).where(verification_attempts.c.id == attempt_id).values(
        state=DECIDED, decision=canonical_bytes(decision).decode("utf-8"), finished_at=iso(now), result=result))
    return result, row, left, decision
