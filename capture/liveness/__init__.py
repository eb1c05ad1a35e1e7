"""The liveness engine for remote verification (issue 11): frames from the worker's phone, the
server-drawn challenge and the reference descriptor → a ``Decision``.

Modules, one job each: ``types`` (the contract's dataclasses, thresholds, reason codes),
``models`` (where the model files are, loaded once), ``mesh`` (MediaPipe face mesh and its measures),
``passive`` (MiniFASNet anti-spoofing score), ``observe`` (the per-frame pass and the face track),
``actions`` (was a step's action seen), ``checker`` (the decision; its ``Attempt`` analyses frames
as they arrive, so only the few costly steps remain after the last one). No database, no HTTP, no Qt.
"""

from .checker import Attempt, LivenessChecker
from .types import CheckResult, Decision, Frame, Step, Thresholds

__all__ = ["Attempt", "CheckResult", "Decision", "Frame", "LivenessChecker", "Step", "Thresholds"]
