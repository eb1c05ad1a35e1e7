"""The decision: frames + challenge + reference descriptor → ``Decision`` with every check listed.

Order of work (cheap first, expensive on few frames): every frame gets detection, luma and the
mesh measures (observe.py); the face count, track, luma, "still image", hold-still and action
checks use those; descriptors are computed on ``descriptors_per_step`` frames per step (the most
frontal) for the identity check and the 1:1 match; the passive score on ``passive_samples`` frames.
Every check runs even after another failed, so the answer lists all reasons (the registry keeps
them as evidence; the page shows the first).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from enrollment.vocabulary import ChallengeAction

from ..faces import FaceEngine, FaceTemplate, face_distance
from . import actions, observe, passive
from .types import (
    ACTION_MISSED,
    FACE_LOST,
    IDENTITY_CHANGED,
    MANY_FACES,
    MATCH_NO_REFERENCE,
    MATCH_TOO_LOW,
    NO_FACE,
    NOT_STILL,
    PRESENTATION_ATTACK,
    TOO_DARK,
    TOO_FEW_FRAMES,
    CheckResult,
    Decision,
    Frame,
    Step,
    Thresholds,
)

MAX_EVIDENCE = 4

_engine_lock = threading.Lock()
_engine: FaceEngine | None = None


def shared_engine() -> FaceEngine:
    """One FaceEngine per process without the 68-point model (its licence excludes commercial use)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = FaceEngine(use_68=False)
    return _engine.load()


def _fmt(x: float | None) -> str:
    """A measure as the decision stores it; "n/a" when nothing was measured."""
    return "n/a" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:.3f}"


class LivenessChecker:
    def __init__(self, thresholds: Thresholds | None = None, engine: FaceEngine | None = None) -> None:
        self.t = thresholds or Thresholds.load()
        self._engine = engine

    @property
    def engine(self) -> FaceEngine:
        if self._engine is None:
            self._engine = shared_engine()
        return self._engine

    def attempt(self) -> Attempt:
        """An attempt whose frames are analysed as they arrive: ``add`` each, then ``decide``."""
        return Attempt(self)

    def decide(self, frames: Sequence[Frame], steps: Sequence[Step],
               reference: np.ndarray | FaceTemplate | None) -> Decision:
        """All at once (the offline path, tests): the same answer as an ``attempt`` fed the same frames."""
        frames = list(frames)
        if len(frames) < self.t.min_frames or not steps:
            return self._decide(frames, [], steps, reference)
        return self._decide(frames, observe.observe(self.engine, frames, self.t.full_detect_every), steps, reference)

    def _decide(self, frames: list[Frame], obs: list[observe.Observation], steps: Sequence[Step],
                reference: np.ndarray | FaceTemplate | None) -> Decision:
        t = self.t
        checks: list[CheckResult] = []

        def check(name: str, passed: bool, value, threshold, reason: str) -> None:
            checks.append(CheckResult(name, bool(passed), value if isinstance(value, str) else _fmt(value),
                                      threshold if isinstance(threshold, str) else _fmt(threshold),
                                      None if passed else reason))

        check("frames", len(frames) >= t.min_frames, str(len(frames)), f">= {t.min_frames}", TOO_FEW_FRAMES)
        if len(frames) < t.min_frames or not steps:
            return self._finish(checks, None, None, [])

        counted = [o for o in obs if o.faces >= 0]
        faceless = sum(1 for o in obs if not o.has_face) / len(obs)
        many = sum(1 for o in counted if o.faces > 1) / max(1, len(counted))
        check("face_present", faceless <= t.max_faceless_share, faceless, f"<= {t.max_faceless_share}", NO_FACE)
        check("one_face", many <= t.max_many_faces_share, many, f"<= {t.max_many_faces_share}", MANY_FACES)
        with_face = [o for o in obs if o.has_face]
        if not with_face:
            return self._finish(checks, None, None, [])

        breaks = observe.track_breaks(obs, t.track_min_iou, t.track_max_jump, t.track_max_gap_frames)
        check("face_track", not breaks, str(len(breaks)), "0 breaks", FACE_LOST)
        luma = float(np.median([o.luma for o in with_face]))
        check("brightness", luma >= t.brightness_min, luma, f">= {t.brightness_min}", TOO_DARK)
        change = observe.frame_change(obs)
        check("frames_change", change is not None and change >= t.still_min_change, change,
              f">= {t.still_min_change}", PRESENTATION_ATTACK)

        # Which frames belong to which step: the page's step index, received before the deadline. A
        # clip's action steps (``after_previous``) are filled in below, once the previous is judged.
        per_step = [[] if step.after_previous else
                    [o for o in obs if frames[o.index].step == s and frames[o.index].t_ms <= step.deadline_ms]
                    for s, step in enumerate(steps)]
        still_index = next((s for s, st in enumerate(steps) if st.action == ChallengeAction.HOLD_STILL), 0)
        still = [o for o in per_step[still_index] if o.measures is not None]
        if not still:
            check(f"step{still_index}:{steps[still_index].action}", False, "no face", "a face", ACTION_MISSED)
            return self._finish(checks, None, None, [])
        base = actions.Baseline(ear=float(np.median([o.measures.ear for o in still])),
                                mar=float(np.median([o.measures.mar for o in still])),
                                yaw=float(np.median([o.measures.yaw for o in still])))
        yaws = [o.measures.yaw for o in still]
        spread = max(yaws) - min(yaws)
        xs = [o.box.center for o in still]
        shift = float(np.hypot(np.ptp([x for x, _ in xs]), np.ptp([y for _, y in xs]))) / float(
            np.median([o.box.width for o in still]))
        check("hold_still_yaw", spread <= t.still_max_yaw_spread, spread, f"<= {t.still_max_yaw_spread}", NOT_STILL)
        check("hold_still_shift", shift <= t.still_max_shift, shift, f"<= {t.still_max_shift}", NOT_STILL)

        peaks: list[int] = []
        moment = max(o.index for o in per_step[still_index])     # when the previous step was done
        for s, step in enumerate(steps):
            if s == still_index:
                continue
            if step.after_previous:
                per_step[s] = [o for o in obs if o.index > moment and frames[o.index].t_ms <= step.deadline_ms]
            res = actions.judge(ChallengeAction(step.action), per_step[s], base, t)
            if step.after_previous and res.seen and res.first is not None:
                moment = res.first
            # A blink's value is the lowest eye opening (must go below); the others must reach above.
            op = "<=" if step.action == ChallengeAction.BLINK else ">="
            check(f"step{s}:{step.action}", res.seen, res.value, f"{op} {_fmt(res.threshold)}", ACTION_MISSED)
            if res.seen and res.peak is not None:
                peaks.append(res.peak)

        # Descriptors on few frames: the hold-still step's ``match_frames`` most frontal (relative to
        # the baseline yaw) and each other step's ``descriptors_per_step`` most frontal. Identity: every
        # other step's frames against the mean of the hold-still ones (a mean is steadier than one frame).
        def frontal(step_obs, n):
            faces = [o for o in step_obs if o.measures is not None]
            return sorted(faces, key=lambda o: abs(o.measures.yaw - base.yaw))[:n]

        anchor = frontal(per_step[still_index], t.match_frames)
        others = [o for s, step_obs in enumerate(per_step) if s != still_index
                  for o in frontal(step_obs, t.descriptors_per_step)]
        descs = {o.index: self.engine.descriptor(frames[o.index].image, o.box) for o in anchor + others}
        centre = np.mean([descs[o.index] for o in anchor], axis=0)
        worst = max((face_distance(descs[o.index], centre) for o in others), default=0.0)
        check("same_person", worst <= t.identity_max_distance, worst, f"<= {t.identity_max_distance}",
              IDENTITY_CHANGED)

        # Passive score: evenly spaced face frames.
        stride = max(1, len(with_face) // max(1, t.passive_samples))
        sampled = with_face[::stride][:t.passive_samples]
        score = float(np.median([passive.real_score(frames[o.index].image, o.box) for o in sampled]))
        check("passive", score >= t.passive_min, score, f">= {t.passive_min}", PRESENTATION_ATTACK)

        # 1:1 match: the hold-still step's most frontal frames, median distance to the reference.
        best = anchor
        distance = None
        if reference is None:
            check("match", False, "no reference", f"<= {t.match_max_distance}", MATCH_NO_REFERENCE)
        else:
            ref = reference if isinstance(reference, FaceTemplate) else FaceTemplate(reference)  # checks 128 finite
            distance = float(np.median([face_distance(descs[o.index], ref.vector) for o in best]))
            check("match", distance <= t.match_max_distance, distance, f"<= {t.match_max_distance}", MATCH_TOO_LOW)

        evidence = [o.index for o in best[:1]] + peaks
        if len(evidence) < MAX_EVIDENCE:
            evidence += [o.index for o in best[1:]]
        evidence = list(dict.fromkeys(evidence))[:MAX_EVIDENCE]
        return self._finish(checks, distance, score, evidence)

    @staticmethod
    def _finish(checks: list[CheckResult], distance: float | None, score: float | None,
                evidence: list[int]) -> Decision:
        reasons = list(dict.fromkeys(c.reason for c in checks if c.reason))
        return Decision(passed=not reasons, reasons=reasons, checks=checks, match_distance=distance,
                        passive_score=score, evidence=evidence)


class Attempt:
    """Frames analysed one by one as the page uploads them (the cheap per-frame pass: detection,
    mesh), so that at the end only the few descriptors and passive scores remain to compute.
    ``add`` frames in the order received (t_ms ascending); thread-safe."""

    def __init__(self, checker: LivenessChecker) -> None:
        self.checker = checker
        self.frames: list[Frame] = []
        self._observer = observe.Observer(checker.engine, checker.t.full_detect_every)
        self._lock = threading.Lock()

    def add(self, frame: Frame) -> None:
        with self._lock:
            self.frames.append(frame)
            self._observer.add(frame)

    def decide(self, steps: Sequence[Step], reference: np.ndarray | FaceTemplate | None) -> Decision:
        with self._lock:
            frames, obs = list(self.frames), list(self._observer.observations)
        if len(frames) < self.checker.t.min_frames or not steps:
            obs = []
        return self.checker._decide(frames, obs, steps, reference)
