"""One request as central staff review it: the request and every attempt with its stored decision
(checks with values and thresholds, reasons, scores, the evidence frames' seqs) and which of those
frames still have their bytes (a purge after the retention clears them; their hashes stay).

No images here: staff fetch each kept frame separately (``evidence.read``, audited per frame).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, select

from enrollment import error_codes

from ..auth import Operator
from ..errors import ApiError
from ..schema import verification_attempts, verification_frames
from . import request_store as store


def read(engine: Engine, operator: Operator, request_id: str) -> dict[str, Any]:
    """``{"request": <request>, "attempts": [...]}``, attempts oldest first. A request outside a cadre's
    villages is as unknown as one that does not exist (404 ``request.not_found``)."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        row = store.load(conn, request_id)
        if row is None or not (operator.sees_all or row.village_code in operator.village_codes):
            raise ApiError(404, error_codes.NOT_FOUND, "no verification request with that id")
        attempts = conn.execute(select(verification_attempts).where(
            verification_attempts.c.request_id == request_id).order_by(verification_attempts.c.started_at,
                                                                       verification_attempts.c.id)).all()
        kept: dict[str, list[int]] = {}
        if attempts:
            for attempt_id, seq in conn.execute(select(verification_frames.c.attempt_id, verification_frames.c.seq)
                                                .where(verification_frames.c.attempt_id.in_([a.id for a in attempts]),
                                                       verification_frames.c.evidence.is_(True),
                                                       verification_frames.c.data.is_not(None))
                                                .order_by(verification_frames.c.seq)):
                kept.setdefault(attempt_id, []).append(int(seq))
    return {"request": store.view(row), "attempts": [
        {"attempt": a.id, "number": n, "state": a.state, "started_at": a.started_at, "finished_at": a.finished_at,
         "method": a.method, "clip_sha256": a.clip_sha256 if a.clip_purged_at is None else None,
         "steps": json.loads(a.steps), "frames_received": a.frames_received,
         "decision": json.loads(a.decision) if a.decision else None, "evidence_kept": kept.get(a.id, [])}
        for n, a in enumerate(attempts, 1)]}
