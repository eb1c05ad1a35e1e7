"""The offline video path (docs/verification-api.md, "The offline video path"): a cadre sends the clip a
worker recorded, as a blob they uploaded, and the registry decides it as an attempt of the request.

The laptop's own check is never trusted: the registry reads the clip again and runs ``check_clip``
against its own reference (``reference``). A clip whose file or any sampled frame was seen in an earlier
attempt (live or video, any request) fails as ``liveness.replayed`` without the engine; digits the cadre
did not hear fail it as ``video.digits_not_heard``. The attempt then counts and moves the request
exactly as a live one (``attempts.conclude``). The same clip sent again for the same request answers
the stored result (a network retry). The clip blob stays referenced (``blobs`` garbage collection)
until ``evidence.purge`` releases it with the attempt's evidence frames.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import tempfile
import uuid
from pathlib import Path
from typing import Any

import cv2
from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from enrollment import error_codes
from enrollment.canonical import canonical_bytes
from enrollment.vocabulary import VerificationMethod, VerificationState
from sync import protocol

from .. import audit, blobs
from ..auth import Operator
from ..clock import Clock
from ..db import iso
from ..errors import ApiError
from ..schema import blob_uploaders, verification_attempts, verification_frames
from . import attempts, reference
from . import request_store as store
from .engine import Engine as LivenessEngine
from .engine import clip_steps, decision_data, read_clip

DIGITS_NOT_HEARD = "video.digits_not_heard"   # a decision's reason (worded by the desktop), not a refusal
EVIDENCE_JPEG_QUALITY = 90


def _refuse_unknown() -> ApiError:
    return ApiError(error_codes.VERIFY_RESIDENT_UNKNOWN, "no verification request of your villages with that id")


def _visible(conn: Connection, operator: Operator, request_id: str, now: dt.datetime) -> Any:
    """The request, locked, if it is of one of the cadre's villages (expiry applied); 404 otherwise."""
    row = store.load(conn, request_id, lock=True) if len(request_id) <= 36 else None
    if row is None or row.village_code not in operator.village_codes:
        raise _refuse_unknown()
    return store.expire_if_due(conn, row, now)


def _sent_before(conn: Connection, request_id: str, clip_sha256: str) -> Any:
    return conn.execute(select(verification_attempts).where(
        verification_attempts.c.request_id == request_id, verification_attempts.c.clip_sha256 == clip_sha256,
        verification_attempts.c.result.is_not(None))).first()


def _stored_answer(attempt: Any, row: Any) -> dict[str, Any]:
    decision = json.loads(attempt.decision)
    return {"result": attempt.result, "reasons": decision["reasons"],
            "attempts_left": max(0, row.attempts_max - row.attempts_used), "state": row.state, "decision": decision}


def _used_up(row: Any) -> ApiError | None:
    """A request that passed or has no attempts left takes no clip; one that went to manual because
    its link expired does (the offline path is for those who could not open it)."""
    outcome = (json.loads(row.result) if row.result else {}).get("outcome")
    if (row.state == VerificationState.PASSED or row.attempts_used >= row.attempts_max
            or (row.state == VerificationState.MANUAL and outcome != store.OUTCOME_EXPIRED)):
        return ApiError(error_codes.VERIFY_USED_UP, "this verification passed already or has no attempts left")
    return None


def _challenge(row: Any) -> dict[str, Any]:
    return json.loads(row.video_challenge)


def submit(engine: Engine, liveness: LivenessEngine, operator: Operator, request_id: str, clip_sha256: str,
           digits_heard: bool, *, clock: Clock) -> dict[str, Any]:
    """Decide the clip as an attempt of the request; ``{"result", "reasons", "attempts_left", "state",
    "decision"}``."""
    if operator.role != "cadre":
        raise ApiError(403, protocol.E_FORBIDDEN, "only the village's cadres send a clip; staff review it")
    blobs.check_sha256(clip_sha256)
    now = clock.now()
    with engine.begin() as conn:
        row = _visible(conn, operator, request_id, now)
        earlier = _sent_before(conn, row.id, clip_sha256)
        if earlier is not None:
            return _stored_answer(earlier, row)
        uploaded = conn.execute(select(blob_uploaders.c.sha256).where(
            blob_uploaders.c.sha256 == clip_sha256, blob_uploaders.c.operator == operator.username)).first()
        data = blobs.complete_bytes(conn, clip_sha256) if uploaded is not None else None
        if data is None:
            raise ApiError(error_codes.VERIFY_CLIP_MISSING, "upload the clip as a blob first", field="clip_sha256")
        refusal = _used_up(row)
    if refusal is not None:
        raise refusal
    with tempfile.TemporaryDirectory(prefix="yk-clip-") as folder:
        path = Path(folder) / "clip"
        path.write_bytes(data)
        del data
        clip = read_clip(str(path))
    challenge = _challenge(row)
    attempt_id = str(uuid.uuid4())
    frames = list(enumerate(clip.frame_hashes))
    with engine.connect() as conn, conn.begin():
        clip_seen = conn.execute(select(verification_attempts.c.id).where(
            verification_attempts.c.clip_sha256 == clip_sha256).limit(1)).first() is not None
        seen_before = attempts.replayed(conn, attempt_id, frames)
        vector, ref_source = (None, None) if clip_seen or seen_before else reference.descriptor(conn, row)
    if clip_seen or seen_before:
        decision = attempts.replay_decision(len(seen_before) or len(frames))
        evidence_seqs = seen_before[:4]
    else:
        decision = decision_data(liveness.check_clip(clip, challenge["actions"], vector), len(clip.frames))
        evidence_seqs = list(decision["evidence"])
    digits = {"name": "digits_heard", "passed": bool(digits_heard), "value": "yes" if digits_heard else "no",
              "threshold": "yes", "reason": None if digits_heard else DIGITS_NOT_HEARD}
    decision = {**decision, "checks": [*decision["checks"], digits]}
    if not digits_heard:
        decision = {**decision, "passed": False, "reasons": [*decision["reasons"], DIGITS_NOT_HEARD]}
    try:
        with engine.begin() as conn:
            return _record(conn, operator, request_id, attempt_id, clip, clip_sha256, challenge,
                           clip_steps(clip, challenge["actions"]), decision,
                           evidence_seqs, ref_source, now=now)
    except IntegrityError:
        # The same clip for the same request, decided meanwhile by a parallel send: its answer.
        with engine.begin() as conn:
            row = _visible(conn, operator, request_id, now)
            earlier = _sent_before(conn, row.id, clip_sha256)
            if earlier is None:
                raise
            return _stored_answer(earlier, row)


def _record(conn: Connection, operator: Operator, request_id: str, attempt_id: str, clip: Any, clip_sha256: str,
            challenge: dict[str, Any], steps: list[dict[str, Any]], decision: dict[str, Any], evidence_seqs: list[int], ref_source: str | None,
            *, now: dt.datetime) -> dict[str, Any]:
    """The attempt, its frames' hashes (the evidence frames' JPEGs kept), and the request moved."""
    row = _visible(conn, operator, request_id, now)
    earlier = _sent_before(conn, row.id, clip_sha256)
    if earlier is not None:
        return _stored_answer(earlier, row)
    refusal = _used_up(row)
    if refusal is not None:
        raise refusal
    conn.execute(insert(verification_attempts).values(
        id=attempt_id, request_id=row.id, started_at=iso(now), nonce=secrets.token_urlsafe(24), state=attempts.OPEN,
        steps=canonical_bytes(steps).decode("utf-8"), method=VerificationMethod.VIDEO, clip_sha256=clip_sha256,
        frames_received=len(clip.frames)))
    rows = []
    for seq, (frame, sha) in enumerate(zip(clip.frames, clip.frame_hashes, strict=True)):
        jpeg = None
        if seq in evidence_seqs:
            ok, buf = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, EVIDENCE_JPEG_QUALITY])
            jpeg = buf.tobytes() if ok else None
        rows.append({"attempt_id": attempt_id, "seq": seq, "step": 0, "t_ms": frame.t_ms, "sha256": sha,
                     "size": len(jpeg) if jpeg else 0, "data": jpeg, "evidence": False})
    if rows:
        conn.execute(insert(verification_frames), rows)
    row = store.move(conn, row, row.state, now=now, actor=operator.username, attempts_used=row.attempts_used + 1)
    audit.append(conn, operator.username, store.ATTEMPT_STARTED, row.id, {
        "attempt": attempt_id, "number": row.attempts_used, "actions": challenge["actions"],
        "method": str(VerificationMethod.VIDEO), "clip": clip_sha256})
    result, row, left, stored = attempts.conclude(
        conn, row, attempt_id, decision, [(seq, sha) for seq, sha in enumerate(clip.frame_hashes)], evidence_seqs,
        ref_source, now=now, actor=operator.username, method=VerificationMethod.VIDEO)
    return {"result": result, "reasons": stored["reasons"], "attempts_left": left, "state": row.state,
            "decision": stored}
