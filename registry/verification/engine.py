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


class LivenessEngine:
    """``capture.liveness.LivenessChecker``, made once on first use; decisions one at a time."""

    def __init__(self) -> None:
        self._checker: Any = None
        self._lock = threading.Lock()

    def decide(self, frames: Sequence[FrameInput], steps: Sequence[StepInput],
               reference: np.ndarray | None) -> Any:
        try:
            from capture.liveness import Frame, LivenessChecker, Step
        except ImportError as e:
            log.error("liveness engine unavailable: %s", type(e).__name__)
            raise ApiError(error_codes.VERIFY_ENGINE_UNAVAILABLE, "the liveness engine is not installed") from None
        from enrollment.vocabulary import ChallengeAction

        with self._lock:
            if self._checker is None:
                self._checker = LivenessChecker()
            return self._checker.decide(
                [Frame(image=f.image, t_ms=f.t_ms, step=f.step) for f in frames],
                [Step(action=ChallengeAction(s.action), deadline_ms=s.deadline_ms) for s in steps], reference)


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
