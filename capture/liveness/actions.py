"""Whether a step's frames show its action, measured against the hold-still baseline.

Each returns (seen, value, threshold, peak frame index or None, first frame index where the action
was seen or None): value is the strongest movement in the step's frames, so a failed check still
says how far the worker got; ``first`` is the moment a clip's next step is looked for after.
"""

from __future__ import annotations

from dataclasses import dataclass

from enrollment.vocabulary import ChallengeAction

from .observe import Observation
from .types import Thresholds


@dataclass(frozen=True)
class Baseline:
    ear: float
    mar: float
    yaw: float


@dataclass(frozen=True)
class ActionResult:
    seen: bool
    value: float
    threshold: float
    peak: int | None
    first: int | None = None


def _reached(obs: list[Observation], score, need: float, value: float, peak: int | None) -> ActionResult:
    first = next((o.index for o in obs if o.measures is not None and score(o) >= need), None)
    return ActionResult(value >= need, value, need, peak, first)


def _best(obs: list[Observation], score) -> tuple[float, int | None]:
    scored = [(score(o), o.index) for o in obs if o.measures is not None]
    if not scored:
        return float("-inf"), None
    return max(scored)


def judge(action: ChallengeAction, obs: list[Observation], base: Baseline, t: Thresholds) -> ActionResult:
    if action == ChallengeAction.TURN_LEFT:          # + yaw = the worker's own left (mesh.py)
        def score(o):
            return o.measures.yaw - base.yaw
        return _reached(obs, score, t.turn_min_yaw, *_best(obs, score))
    if action == ChallengeAction.TURN_RIGHT:
        def score(o):
            return base.yaw - o.measures.yaw
        return _reached(obs, score, t.turn_min_yaw, *_best(obs, score))
    if action == ChallengeAction.OPEN_MOUTH:
        need = max(base.mar * t.mouth_open_factor, base.mar + t.mouth_open_min_delta)
        def score(o):
            return o.measures.mar
        return _reached(obs, score, need, *_best(obs, score))
    if action == ChallengeAction.BLINK:
        return _blink(obs, base, t)
    # HOLD_STILL after the first step: nothing to perform.
    faces = [o for o in obs if o.measures is not None]
    first = faces[0].index if faces else None
    return ActionResult(bool(faces), float(len(faces)), 1.0, first, first)


def _blink(obs: list[Observation], base: Baseline, t: Thresholds) -> ActionResult:
    """Eyes closed (EAR below baseline x blink_factor) and open again (above baseline x
    blink_recover_factor) later in the step. Value: the lowest EAR relative to the baseline."""
    closed_at = None
    lowest, peak = float("inf"), None
    for o in obs:
        if o.measures is None:
            continue
        rel = o.measures.ear / max(base.ear, 1e-6)
        if rel < lowest:
            lowest, peak = rel, o.index
        if rel <= t.blink_factor and closed_at is None:
            closed_at = o.index
        elif closed_at is not None and rel >= t.blink_recover_factor:
            return ActionResult(True, lowest, t.blink_factor, peak, o.index)
    return ActionResult(False, lowest if peak is not None else float("nan"), t.blink_factor, peak)
