"""The laptop's and the central workspace's calls for remote verification (docs/verification-api.md):
create a request for a resident (its link, QR code and SMS text come back once), list requests, read one
with its attempts' decisions, and fetch a kept evidence frame.
No Qt: the desktop calls these on a worker thread. Errors are ``sync.http``'s typed ones
(``verify.resident_unknown``, ``auth.*``, ``TransportError``).

The offline video path (issue 11 item 4), the same steps for the desktop's 视频核验 dialog and
``yikatong field verify-video``:

1. ``video_task(store, id_number)`` (store thread): the resident's newest request that still takes a
   video, its digits and actions, and the resident's face template on this laptop (the reference).
2. ``check_video_steps(task, clip_path)`` (any thread but the UI's): reads the clip and runs the
   liveness engine's ``check_clip`` on it, yielding ``VideoCheckProgress``; returns a ``LocalVideoCheck``.
   A preview for the cadre: the registry re-runs the check on the uploaded clip and decides.
3. ``record_video_check(store, task, local, digits_heard)`` (store thread): the clip copied into the
   store's clip folder and the check recorded ``pending``.
4. The next sync (``SyncClient``) uploads the clip as a blob (the chunked uploader) and calls
   ``submit_video_check``; the answer is stored, a 4xx refusal is stored as ``refused``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from enrollment import error_codes
from enrollment.errors import DomainError
from enrollment.vocabulary import VerificationState

from . import protocol
from .http import RegistryHttp

E_VIDEO_NO_REQUEST = error_codes.VIDEO_NO_REQUEST
E_VIDEO_TOO_LARGE = error_codes.VIDEO_TOO_LARGE


@dataclass(frozen=True)
class CreatedVerification:
    request: dict[str, Any]   # the request as GET /api/verifications lists it
    link: str
    token: str                # shown once: only its hash is kept by the registry
    expires_at: str
    qr_svg: str
    sms_text: str

    @classmethod
    def from_wire(cls, body: dict[str, Any]) -> CreatedVerification:
        return cls(request=dict(body["request"]), link=str(body["link"]), token=str(body["token"]),
                   expires_at=str(body["expires_at"]), qr_svg=str(body["qr_svg"]), sms_text=str(body["sms_text"]))


def create_verification(http: RegistryHttp, id_number: str, city: str | None = None) -> CreatedVerification:
    body: dict[str, Any] = {"id_number": id_number}
    if city:
        body["city"] = city
    return CreatedVerification.from_wire(http.request("POST", protocol.VERIFICATIONS, json=body))


def list_verifications(http: RegistryHttp, state: str | None = None) -> list[dict[str, Any]]:
    params = {"state": state} if state else None
    return list(http.request("GET", protocol.VERIFICATIONS, params=params).get("verifications") or [])


def submit_video_check(http: RegistryHttp, request: str, clip_sha256: str, digits_heard: bool) -> dict[str, Any]:
    """``POST /api/verifications/{request}/video`` once the clip's blob is uploaded: the registry's answer
    ``{result, reasons, attempts_left, state, decision}`` (the same answer again for a repeat)."""
    return http.request("POST", protocol.VERIFICATION_VIDEO.format(request=request),
                        json={"clip_sha256": clip_sha256, "digits_heard": bool(digits_heard)})


# ------------------------------------------------------------------------------- the offline video path

@dataclass(frozen=True)
class VideoTask:
    """What a video check of one resident needs, read from the store on its thread."""

    id_number: str
    request: dict[str, Any]        # the request as last pulled (sync/local/verifications.py)
    digits: str
    actions: list[str]
    reference: bytes | None        # the resident's face template on this laptop, if any

    @property
    def request_id(self) -> str:
        return str(self.request["request"])


@dataclass(frozen=True)
class VideoCheckProgress:
    phase: str      # "reading" (decoding the clip) | "checking" (the liveness checks)
    done: int
    total: int
    wait_s: float = 0.0


@dataclass(frozen=True)
class LocalVideoCheck:
    """The laptop's preview of a clip: the engine's decision (``Decision.to_dict()``) and the clip's bytes."""

    clip: bytes = field(repr=False)
    suffix: str
    sha256: str
    decision: dict[str, Any]
    duration_ms: int | None = None

    @property
    def passed(self) -> bool:
        return bool(self.decision.get("passed"))


def takes_video(request: dict[str, Any]) -> bool:
    """A request the registry still takes a video for: it has a video challenge, it has not passed and
    has attempts left (one that went to manual because it expired unused still takes one)."""
    return (bool(request.get("video_challenge")) and request.get("state") != VerificationState.PASSED
            and int(request.get("attempts_left") or 0) > 0)


def video_task(store: Any, id_number: str) -> VideoTask:
    """The resident's newest request that takes a video; ``video.no_request`` when there is none."""
    for request in store.verifications_for(id_number):
        if takes_video(request):
            challenge = request["video_challenge"]
            return VideoTask(id_number=id_number, request=request, digits=str(challenge["digits"]),
                             actions=[str(a) for a in challenge["actions"]],
                             reference=store.face_template_for(id_number))
    raise DomainError(E_VIDEO_NO_REQUEST, "id_number")


def check_video_steps(task: VideoTask, clip_path: str | Path, checker: Any = None
                      ) -> Iterator[VideoCheckProgress]:
    """Read the clip and run the engine's check on it, one unit per step (a generator whose return value
    is the ``LocalVideoCheck``). Refusals: ``video.too_large`` here, ``video.unreadable`` / ``too_short`` /
    ``too_long`` from the engine."""
    from capture.liveness.video import check_clip, read_clip

    path = Path(clip_path)
    yield VideoCheckProgress("reading", 0, 2)
    try:
        size = path.stat().st_size
    except OSError:
        size = None
    if size is not None and size > protocol.BLOB_MAX:
        raise DomainError(E_VIDEO_TOO_LARGE, "clip", size=size, max_mb=protocol.BLOB_MAX // (1024 * 1024))
    clip = read_clip(path)
    data = path.read_bytes()
    yield VideoCheckProgress("checking", 1, 2)
    decision = check_clip(clip, task.actions, _reference(task.reference), checker)
    return LocalVideoCheck(clip=data, suffix=path.suffix, sha256=hashlib.sha256(data).hexdigest(),
                           decision=decision.to_dict(), duration_ms=getattr(clip, "duration_ms", None))


def check_video(task: VideoTask, clip_path: str | Path, checker: Any = None) -> LocalVideoCheck:
    """``check_video_steps`` run to the end (the command line)."""
    steps = check_video_steps(task, clip_path, checker)
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value


def record_video_check(store: Any, task: VideoTask, local: LocalVideoCheck, digits_heard: bool) -> dict[str, Any]:
    """Keep the clip and the check in the store, ``pending`` until a sync sends it; the stored row."""
    operator = store.operator() or {}
    return store.record_video_check(request=task.request_id, id_number=task.id_number, clip=local.clip,
                                    suffix=local.suffix, decision=local.decision, digits_heard=digits_heard,
                                    checked_by=operator.get("username"))


def _reference(template: bytes | None) -> Any:
    if template is None:
        return None
    from capture.faces import FaceTemplate

    return FaceTemplate.from_bytes(template).vector
def verification_detail(http: RegistryHttp, request_id: str) -> dict[str, Any]:
    """``{"request", "attempts": [{attempt, number, state, started_at, finished_at, steps, decision,
    evidence_kept}]}``: one request with every attempt's stored decision (no images)."""
    return http.request("GET", protocol.VERIFICATION.format(request=request_id))


def evidence_frame(http: RegistryHttp, attempt: str, seq: int) -> bytes:
    """A kept evidence frame's JPEG (central staff; the registry audits each read)."""
    return http.get_bytes(protocol.VERIFICATION_EVIDENCE.format(attempt=attempt, seq=int(seq)))


def video_clip(http: RegistryHttp, sha256: str) -> bytes:
    """A video attempt's kept clip (``clip_sha256`` of the attempt in ``verification_detail``), for central
    staff to watch and hear; ``GET /api/blobs/{sha256}``, audited by the registry. A purged clip is gone:
    the detail says so with ``clip_sha256`` null, and asking anyway is the blob's 404."""
    return http.get_bytes(protocol.BLOB.format(sha256=sha256))
