"""The adapter to the liveness engine (``capture/liveness``, docs/verification-api.md): frames, steps and
a reference descriptor in, a decision out as plain JSON-ready data.

``capture.liveness`` is imported on the first decision, not at import time: the registry starts (and
serves everything else) where the engine's models are missing, and a finish then answers 503
``verify.engine_unavailable`` with the attempt left open. Anything with the same ``decide`` can stand
in for ``LivenessEngine`` (``app.state.liveness``); the tests use a scripted one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from enrollment import error_codes

from ..errors import ApiError

log = logging.getLogger("registry.verification")
MAX_EVIDENCE = 4


@dataclass(frozen=True)
class FrameInput:
    image: np.ndarray   # BGR, decoded from the uploaded JPEG
    t_ms: int           # server receive time since the attempt's start
    step: int           # the step the page says it was in


@dataclass(frozen=True)
class StepInput:
    action: str
    deadline_ms: int


class Engine(Protocol):
    def decide(self, frames: Sequence[FrameInput], steps: Sequence[StepInput],
               reference: np.ndarray | None) -> Any:
        """A ``capture.liveness.Decision`` (or an object with its attributes)."""
        ...

    def check_clip(self, clip: Any, actions: Sequence[str], reference: np.ndarray | None) -> Any:
        """The offline video path: ``capture.liveness.video.check_clip`` on a clip ``read_clip`` read."""
        ...


def _unavailable(e: ImportError) -> ApiError:
    log.error("liveness engine unavailable: %s", type(e).__name__)
    return ApiError(error_codes.VERIFY_ENGINE_UNAVAILABLE, "the liveness engine is not installed")


def read_clip(path: str) -> Any:
    """``capture.liveness.video.read_clip`` (a ``Clip``); its ``VideoError`` as the API's refusal
    (422 ``video.unreadable`` | ``video.too_short`` | ``video.too_long``)."""
    try:
        from capture.liveness import video
    except ImportError as e:
        raise _unavailable(e) from None
    try:
        return video.read_clip(path)
    except video.VideoError as e:
        raise ApiError(e.code, "the clip cannot be checked", **e.data) from None


def clip_steps(clip: Any, actions: Sequence[str]) -> list[dict[str, Any]]:
    """The steps ``check_clip`` judges the clip by, as an attempt stores them."""
    from capture.liveness import video

    return [{"action": str(s.action), "deadline_ms": s.deadline_ms, "after_previous": s.after_previous}
            for s in video.video_steps(actions, clip.duration_ms)]


class LivenessEngine:
    """``capture.liveness.LivenessChecker``, made once on first use; decisions one at a time."""

    def __init__(self) -> None:
        self._checker: Any = None
        self._lock = threading.Lock()

    def decide(self, frames: Sequence[FrameInput], steps: Sequence[StepInput],
               reference: np.ndarray | None) -> Any:
        try:
            from capture.liveness import Frame, Step
        except ImportError as e:
            raise _unavailable(e) from None
        from enrollment.vocabulary import ChallengeAction

        with self._lock:
            return self._checker_once().decide(
                [Frame(image=f.image, t_ms=f.t_ms, step=f.step) for f in frames],
                [Step(action=ChallengeAction(s.action), deadline_ms=s.deadline_ms) for s in steps], reference)


    def check_clip(self, clip: Any, actions: Sequence[str], reference: np.ndarray | None) -> Any:
        try:
            from capture.liveness import video
        except ImportError as e:
            raise _unavailable(e) from None
        with self._lock:
            return video.check_clip(clip, actions, reference, self._checker_once())

    def _checker_once(self) -> Any:
        if self._checker is None:
            from capture.liveness import LivenessChecker

            self._checker = LivenessChecker()
        return self._checker


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _number(value: Any) -> str | None:
    """A score as a 4-decimal string (stored JSON is canonical: floats have no canonical form)."""
    return None if value is None else f"{float(value):.4f}"


def decision_data(decision: Any, frame_count: int) -> dict[str, Any]:
    """The decision as stored and audited (no images): checks with values and thresholds, reasons,
    scores, and at most 4 valid evidence indices into the frames given."""
    checks = [{"name": str(c.name), "passed": bool(c.passed), "value": _text(getattr(c, "value", None)),
               "threshold": _text(getattr(c, "threshold", None)), "reason": _text(getattr(c, "reason", None))}
              for c in getattr(decision, "checks", None) or []]
    evidence = [int(i) for i in getattr(decision, "evidence", None) or [] if 0 <= int(i) < frame_count]
    return {"passed": bool(decision.passed), "reasons": [str(r) for r in decision.reasons or []], "checks": checks,
            "match_distance": _number(getattr(decision, "match_distance", None)),
            "passive_score": _number(getattr(decision, "passive_score", None)),
            "evidence": list(dict.fromkeys(evidence))[:MAX_EVIDENCE]}
