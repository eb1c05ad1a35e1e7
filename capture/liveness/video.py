"""The offline video path (docs/verification-api.md, "The offline video path"): a clip the worker
recorded on their phone and sent through a messaging app, judged by the same ``LivenessChecker``,
the same checks and the same reason codes as the live path.

A clip has no page saying which step a frame was in and no server deadlines, so its steps are
ordered instead: ``HOLD_STILL`` over the clip's first ``HOLD_STILL_MS`` (the worker faces the
camera while saying the digits; the baseline is measured there), then each drawn action looked for
after the moment the previous one was first seen (``Step.after_previous``). The spoken digits are
not checked here: a person hears them.

Frames are sampled every ``SAMPLE_MS`` of the clip's own timestamps (a quick head turn lasts about
half a second: sampled every 400 ms, as the page uploads, it is seen once or not at all, and a 3 s
clip would give fewer frames than the decision needs), at most ``MAX_FRAMES`` (evenly thinned
beyond), scaled to at most ``MAX_WIDTH`` px wide like the page's uploads. Decoding is
``cv2.VideoCapture`` only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from enrollment import error_codes
from enrollment.errors import DomainError
from enrollment.vocabulary import ChallengeAction

from ..faces import FaceTemplate
from .checker import LivenessChecker
from .types import Decision, Frame, Step

SAMPLE_MS = 200
MAX_FRAMES = 60
MAX_WIDTH = 320
MIN_DURATION_MS = 3000
MAX_DURATION_MS = 60000
HOLD_STILL_MS = 1000
READ_CHUNK = 1 << 20


class VideoError(DomainError):
    """A clip the engine cannot take: ``video.unreadable``, ``video.too_short``, ``video.too_long``
    (data: ``duration_ms`` and the limit when the length is the reason)."""


@dataclass(eq=False)
class Clip:
    frames: list[Frame]                 # sampled, <= MAX_WIDTH wide, t_ms from the clip's start, step 0
    duration_ms: int
    sha256: str                         # of the file's bytes
    frame_hashes: list[str] = field(default_factory=list)   # SHA-256 of each sampled frame's pixels


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _scaled(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    if w <= MAX_WIDTH:
        return np.ascontiguousarray(image)
    return cv2.resize(image, (MAX_WIDTH, max(1, round(h * MAX_WIDTH / w))), interpolation=cv2.INTER_AREA)


def read_clip(path: str | Path) -> Clip:
    """Decode ``path`` and sample its frames; ``VideoError`` when it is no video or the wrong length."""
    path = Path(path)
    try:
        sha256 = _file_sha256(path)
    except OSError as exc:
        raise VideoError(error_codes.VIDEO_UNREADABLE) from exc
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise VideoError(error_codes.VIDEO_UNREADABLE)
        fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
        count = cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0.0
        if fps > 0 and count > 0 and count / fps * 1000 > MAX_DURATION_MS * 1.5:
            # Refused before decoding minutes of video (the container's own figures; a lying
            # container is still stopped below by the frames' timestamps).
            raise VideoError(error_codes.VIDEO_TOO_LONG, duration_ms=round(count / fps * 1000),
                             max_ms=MAX_DURATION_MS)
        sampled: list[tuple[int, np.ndarray]] = []
        next_sample, last_t, index, frame_ms = 0.0, -1.0, 0, (1000.0 / fps if fps > 0 else 0.0)
        while True:
            ok, image = cap.read()
            if not ok or image is None:
                break
            t = float(cap.get(cv2.CAP_PROP_POS_MSEC) or 0.0)
            if t <= last_t and frame_ms:          # no usable timestamps: the frame rate's instead
                t = index * frame_ms
            last_t, index = t, index + 1
            if t > MAX_DURATION_MS:
                raise VideoError(error_codes.VIDEO_TOO_LONG, duration_ms=round(t), max_ms=MAX_DURATION_MS)
            if t >= next_sample:
                sampled.append((round(t), _scaled(image)))
                next_sample += SAMPLE_MS
                if next_sample <= t:              # a gap in the clip: count on from this frame
                    next_sample = t + SAMPLE_MS
    finally:
        cap.release()
    if index < 2:                                # nothing decoded, or a still image (OpenCV opens a JPEG)
        raise VideoError(error_codes.VIDEO_UNREADABLE)
    duration_ms = round(last_t + frame_ms)
    if duration_ms < MIN_DURATION_MS:
        raise VideoError(error_codes.VIDEO_TOO_SHORT, duration_ms=duration_ms, min_ms=MIN_DURATION_MS)
    if duration_ms > MAX_DURATION_MS:
        raise VideoError(error_codes.VIDEO_TOO_LONG, duration_ms=duration_ms, max_ms=MAX_DURATION_MS)
    if len(sampled) > MAX_FRAMES:
        keep = np.unique(np.linspace(0, len(sampled) - 1, MAX_FRAMES).round().astype(int))
        sampled = [sampled[i] for i in keep]
    frames = [Frame(image=image, t_ms=t, step=0) for t, image in sampled]
    hashes = [hashlib.sha256(f.image.tobytes()).hexdigest() for f in frames]
    return Clip(frames=frames, duration_ms=duration_ms, sha256=sha256, frame_hashes=hashes)


def video_steps(actions: Sequence[ChallengeAction | str], duration_ms: int) -> list[Step]:
    """``HOLD_STILL`` over the clip's start, then ``actions`` in order, each after the previous."""
    steps = [Step(ChallengeAction.HOLD_STILL, min(HOLD_STILL_MS, duration_ms))]
    steps += [Step(ChallengeAction(a), duration_ms, after_previous=True) for a in actions]
    return steps


def check_clip(path_or_clip: str | Path | Clip, actions: Sequence[ChallengeAction | str],
               reference: np.ndarray | FaceTemplate | None,
               checker: LivenessChecker | None = None) -> Decision:
    """The clip's ``Decision`` (``evidence`` indexes ``clip.frames``); ``VideoError`` as ``read_clip``."""
    clip = path_or_clip if isinstance(path_or_clip, Clip) else read_clip(path_or_clip)
    checker = checker or _default_checker()
    return checker.decide(clip.frames, video_steps(actions, clip.duration_ms), reference)


_checker: LivenessChecker | None = None


def _default_checker() -> LivenessChecker:
    global _checker
    if _checker is None:
        _checker = LivenessChecker()
    return _checker
