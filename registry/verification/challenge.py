"""The live challenge the server draws for each attempt, the frame limits the page is told, and the
offline video path's challenge drawn with each request (``draw_video``).

``HOLD_STILL`` first (the baseline the engine measures eyes and mouth against), then two different
actions of ``RANDOM_ACTIONS`` in random order, each with a deadline in milliseconds since the
attempt's start. Drawn with ``random.SystemRandom``; a seed (``serve --verify-challenge-seed``) is
for tests only, so that a recorded clip's own movements answer the challenge.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from enrollment.vocabulary import RANDOM_ACTIONS, ChallengeAction

HOLD_STILL_MS = 3000     # the hold-still step's length
ACTION_MS = 4000         # each action's window after the previous deadline
UPLOAD_GRACE_MS = 3000   # a frame taken before the last deadline may arrive this much later (weak networks)
DRAWN = 2                # actions drawn after HOLD_STILL

# What the page sends (docs/verification-api.md): small JPEGs, one every interval_ms.
FRAME_MAX_WIDTH = 320
FRAME_MAX_BYTES = 40 * 1024          # one frame
FRAME_INTERVAL_MS = 400
FRAME_MAX_COUNT = 60                 # frames per attempt
ATTEMPT_MAX_BYTES = 150 * 1024       # every frame of an attempt together


@dataclass(frozen=True)
class DrawnStep:
    action: ChallengeAction
    deadline_ms: int

    def to_dict(self) -> dict[str, Any]:
        return {"action": str(self.action), "deadline_ms": self.deadline_ms}


def rng(seed: int | None) -> random.Random:
    """The draw's randomness: the system's unless a test fixed a seed."""
    return random.SystemRandom() if seed is None else random.Random(seed)


def draw(source: random.Random) -> list[DrawnStep]:
    actions = source.sample(list(RANDOM_ACTIONS), DRAWN)
    steps = [DrawnStep(ChallengeAction.HOLD_STILL, HOLD_STILL_MS)]
    for action in actions:
        steps.append(DrawnStep(action, steps[-1].deadline_ms + ACTION_MS))
    return steps


VIDEO_DIGITS = 4         # digits the worker says in a clip (the offline video path)


def draw_video(source: random.Random) -> dict[str, Any]:
    """The offline video path's challenge, drawn with a request: ``{"digits": "4821", "actions": [two
    different actions of RANDOM_ACTIONS]}``. The actions are drawn first, as ``draw`` draws them, so a
    test's seed gives a clip the same actions as the live challenge."""
    actions = source.sample(list(RANDOM_ACTIONS), DRAWN)
    digits = "".join(str(source.randrange(10)) for _ in range(VIDEO_DIGITS))
    return {"digits": digits, "actions": [str(a) for a in actions]}


def frame_limits() -> dict[str, int]:
    return {"max_width": FRAME_MAX_WIDTH, "max_bytes": FRAME_MAX_BYTES, "interval_ms": FRAME_INTERVAL_MS,
            "max_count": FRAME_MAX_COUNT, "max_attempt_bytes": ATTEMPT_MAX_BYTES}


def last_frame_ms(steps: list[dict[str, Any]]) -> int:
    """The latest moment (ms since the start) a frame is still taken."""
    return max(int(s["deadline_ms"]) for s in steps) + UPLOAD_GRACE_MS
