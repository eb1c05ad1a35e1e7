"""The cadre's offline video checks (issue 11 item 4, store schema version 6): one row per clip checked
for a request, with a copy of the clip in the store's clip folder, until the registry has answered.

Send states: ``pending`` (recorded, waiting for a sync) → ``sent`` (the registry decided; its answer is
kept) or ``refused`` (the registry refused the submission with a 4xx: kept with the code and message,
never sent again). A network failure or a 5xx leaves the check ``pending`` for the next sync.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from pathlib import Path
from typing import Any

from enrollment.private_files import FILE_MODE, private_dir

from .rows import loads, newest_per_resident, now, to_json

PENDING, SENT, REFUSED = "pending", "sent", "refused"
SEND_STATES = (PENDING, SENT, REFUSED)
CLIP_SUFFIXES = {".mp4", ".mov", ".3gp", ".m4v", ".webm", ".mkv", ".avi"}

_COLUMNS = ("check_id", "request", "id_number", "clip_sha256", "clip_size", "clip_file", "local_passed",
            "local_reasons", "local_decision", "digits_heard", "checked_by", "checked_at", "send_state")


def clip_folder(store_path: Path) -> Path:
    """Where this store keeps its clips: beside the SQLite file, one folder per store."""
    return store_path.with_name(store_path.stem + "-clips")


def copy_clip(folder: Path, data: bytes, suffix: str) -> tuple[str, str]:
    """Write the clip's bytes as ``<sha256><suffix>`` (0600, the folder 0700); (sha256, file name).
    Written under a temporary name and renamed, so a crash never leaves half a clip under its hash."""
    sha = hashlib.sha256(data).hexdigest()
    suffix = suffix.lower() if suffix.lower() in CLIP_SUFFIXES else ".video"
    name = sha + suffix
    private_dir(folder)
    target = folder / name
    if target.exists() and target.stat().st_size == len(data):
        return sha, name
    tmp = folder / f".{name}.{uuid.uuid4().hex}.part"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return sha, name


def insert(db: Any, *, request: str, id_number: str, clip_sha256: str, clip_size: int, clip_file: str,
           decision: dict[str, Any], digits_heard: bool, checked_by: str | None) -> str:
    check_id = str(uuid.uuid4())
    row = {"check_id": check_id, "request": request, "id_number": id_number, "clip_sha256": clip_sha256,
           "clip_size": int(clip_size), "clip_file": clip_file, "local_passed": int(bool(decision.get("passed"))),
           "local_reasons": to_json([str(r) for r in decision.get("reasons") or []]),
           "local_decision": to_json(decision), "digits_heard": int(bool(digits_heard)),
           "checked_by": checked_by, "checked_at": now(), "send_state": PENDING}
    db.execute(f"INSERT INTO video_checks({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})",
               [row[c] for c in _COLUMNS])
    return check_id


def _public(row: dict) -> dict:
    return {**row, "local_passed": bool(row["local_passed"]), "digits_heard": bool(row["digits_heard"]),
            "local_reasons": loads(row["local_reasons"]) or [], "local_decision": loads(row["local_decision"]),
            "answer": loads(row["answer"])}


def get(db: Any, check_id: str) -> dict | None:
    rows = list(db.query("SELECT * FROM video_checks WHERE check_id = ?", [check_id]))
    return _public(rows[0]) if rows else None


def to_send(db: Any) -> list[dict]:
    """Pending checks, oldest first (a request's attempts count in the order the cadre recorded them)."""
    rows = db.query("SELECT * FROM video_checks WHERE send_state = ? ORDER BY checked_at, rowid", [PENDING])
    return [_public(r) for r in rows]


def mark_sent(db: Any, check_id: str, answer: dict[str, Any]) -> None:
    db.execute("UPDATE video_checks SET send_state = ?, sent_at = ?, answer = ?, answer_result = ?,"
               " answer_state = ?, error_code = NULL, error_message = NULL WHERE check_id = ?",
               [SENT, now(), to_json(answer), _text(answer.get("result")), _text(answer.get("state")), check_id])


def mark_refused(db: Any, check_id: str, code: str, message: str) -> None:
    db.execute("UPDATE video_checks SET send_state = ?, sent_at = ?, error_code = ?, error_message = ?"
               " WHERE check_id = ?", [REFUSED, now(), code, message, check_id])


def for_id_number(db: Any, id_number: str) -> list[dict]:
    """This resident's video checks, newest first."""
    rows = db.query("SELECT * FROM video_checks WHERE id_number = ? ORDER BY checked_at DESC, rowid DESC",
                    [id_number])
    return [_public(r) for r in rows]


def latest_by_id_number(db: Any, id_numbers: list[str] | None = None) -> dict[str, dict]:
    rows = db.query("SELECT * FROM video_checks ORDER BY checked_at ASC, rowid ASC")
    return {k: _public(v) for k, v in newest_per_resident(rows, id_numbers).items()}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
