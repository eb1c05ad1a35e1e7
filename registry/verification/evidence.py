"""Evidence frames: read by central staff (each read audited), purged after the retention
(``Settings.verify_evidence_days``, default 90; ``registry verification purge-evidence``). A purge
keeps the frames' hashes (the replay check needs them) and clears only the bytes; a video attempt's clip
blob is released with them (``blobs`` garbage collection then removes it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, func, select, update

from sync import protocol

from .. import audit
from ..auth import Operator
from ..clock import Clock
from ..db import iso
from ..errors import ApiError
from ..schema import verification_attempts, verification_frames
from . import request_store as store


def read(engine: Engine, operator: Operator, attempt_id: str, seq: int) -> bytes:
    """The JPEG bytes of an evidence frame still kept (404 otherwise); the read is audited."""
    with engine.begin() as conn:
        row = conn.execute(select(verification_frames.c.data, verification_frames.c.sha256,
                                  verification_attempts.c.request_id)
                           .join(verification_attempts, verification_attempts.c.id == verification_frames.c.attempt_id)
                           .where(verification_frames.c.attempt_id == attempt_id, verification_frames.c.seq == seq,
                                  verification_frames.c.evidence.is_(True),
                                  verification_frames.c.data.is_not(None))).first()
        if row is None:
            raise ApiError(404, protocol.E_NOT_FOUND, "no kept evidence frame with that number")
        audit.append(conn, operator.username, store.EVIDENCE_VIEWED, row.request_id, {
            "attempt": attempt_id, "seq": seq, "sha256": row.sha256})
    return bytes(row.data)


def purge(engine: Engine, *, older_than_days: float, clock: Clock, actor: str = audit.CLI) -> dict[str, Any]:
    """Clear the bytes of evidence frames of attempts finished more than ``older_than_days`` ago."""
    now = clock.now()
    cutoff = iso(now - dt.timedelta(days=older_than_days))
    with engine.begin() as conn:
        attempts = select(verification_attempts.c.id).where(verification_attempts.c.finished_at.is_not(None),
                                                            verification_attempts.c.finished_at < cutoff)
        where = (verification_frames.c.attempt_id.in_(attempts), verification_frames.c.data.is_not(None))
        count, size = conn.execute(select(func.count(), func.coalesce(func.sum(verification_frames.c.size), 0))
                                   .where(*where)).one()
        if count:
            conn.execute(update(verification_frames).where(*where).values(data=None, purged_at=iso(now)))
        # A video attempt's clip blob is released to garbage collection (gc-blobs) with its frames; its
        # hash stays on the attempt for the replay check.
        clips = conn.execute(update(verification_attempts).where(
            verification_attempts.c.id.in_(attempts), verification_attempts.c.clip_sha256.is_not(None),
            verification_attempts.c.clip_purged_at.is_(None)).values(clip_purged_at=iso(now))).rowcount
        audit.append(conn, actor, store.EVIDENCE_PURGED, "verification_frames", {
            "frames": int(count), "bytes": int(size), "older_than_days": f"{older_than_days:g}", "cutoff": cutoff,
            **({"clips_released": int(clips)} if clips else {})})
    return {"frames_purged": int(count), "bytes": int(size), "clips_released": int(clips), "cutoff": cutoff}
