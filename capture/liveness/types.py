"""The liveness engine's inputs and answer (docs/verification-api.md, "The liveness engine")."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from enrollment.vocabulary import ChallengeAction

from ..settings_file import read_known_keys

THRESHOLDS_FILE = Path(__file__).resolve().parents[2] / "resources" / "verification" / "thresholds.json"

# Reason codes (worded in Chinese by the page and the desktop).
NO_FACE = "liveness.no_face"
MANY_FACES = "liveness.many_faces"
FACE_LOST = "liveness.face_lost"
IDENTITY_CHANGED = "liveness.identity_changed"
ACTION_MISSED = "liveness.action_missed"
TOO_DARK = "liveness.too_dark"
NOT_STILL = "liveness.not_still"
PRESENTATION_ATTACK = "liveness.presentation_attack"
TOO_FEW_FRAMES = "liveness.too_few_frames"
REPLAYED = "liveness.replayed"          # decided by the registry (it keeps the frame hashes)
MATCH_TOO_LOW = "match.too_low"
MATCH_NO_REFERENCE = "match.no_reference"
# Every reason a Decision can carry (liveness.replayed is added by the registry), for whoever words them.
REASON_CODES = (NO_FACE, MANY_FACES, FACE_LOST, IDENTITY_CHANGED, ACTION_MISSED, TOO_DARK, NOT_STILL,
                PRESENTATION_ATTACK, TOO_FEW_FRAMES, REPLAYED, MATCH_TOO_LOW, MATCH_NO_REFERENCE)


@dataclass(frozen=True)
class Step:
    action: ChallengeAction        # HOLD_STILL first, then two drawn from RANDOM_ACTIONS
    deadline_ms: int               # since the attempt's start, set by the server
    # A clip's action steps (video.py): no page says which step a frame was in and there is no
    # server deadline, so the step's frames are those after the moment the previous step's action
    # was first seen (after the hold-still window for the first), up to ``deadline_ms``: the
    # actions must come in the order drawn. The live path's steps leave it False.
    after_previous: bool = False


@dataclass(frozen=True, eq=False)
class Frame:
    image: np.ndarray              # BGR, as decoded from the uploaded JPEG
    t_ms: int                      # since the attempt's start (server receive time)
    step: int                      # index into the challenge's steps the page says it was in


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    value: str
    threshold: str
    reason: str | None             # the reason code when failed, else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Decision:
    passed: bool
    reasons: list[str]             # codes, empty when passed (each once, in check order)
    checks: list[CheckResult]
    match_distance: float | None
    passive_score: float | None    # MiniFASNet ensemble "real" probability, median over sampled faces
    evidence: list[int] = field(default_factory=list)   # indices into frames worth keeping (<= 4)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "reasons": list(self.reasons),
                "checks": [c.to_dict() for c in self.checks], "match_distance": self.match_distance,
                "passive_score": self.passive_score, "evidence": list(self.evidence)}


@dataclass(frozen=True)
class Thresholds:
    """Every limit of the decision; defaults justified in resources/verification/README.md."""

    min_frames: int = 12
    max_faceless_share: float = 0.25
    max_many_faces_share: float = 0.1
    full_detect_every: int = 3
    track_min_iou: float = 0.2
    track_max_jump: float = 0.8
    track_max_gap_frames: int = 4
    brightness_min: float = 45.0
    still_min_change: float = 1.5
    still_max_yaw_spread: float = 0.25
    still_max_shift: float = 1.0
    turn_min_yaw: float = 0.3
    mouth_open_factor: float = 2.0
    mouth_open_min_delta: float = 0.1
    blink_factor: float = 0.7
    blink_recover_factor: float = 0.85
    descriptors_per_step: int = 1
    identity_max_distance: float = 0.6
    passive_samples: int = 6
    passive_min: float = 0.5
    match_frames: int = 2
    match_max_distance: float = 0.6

    @classmethod
    def load(cls, path: str | Path | None = None) -> Thresholds:
        return cls(**read_known_keys(cls, path or THRESHOLDS_FILE))
