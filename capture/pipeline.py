"""One path from an image to what an enrollment keeps: quality report, card photo, face template.

The desktop dialog, ``yikatong capture ...`` and ``field enroll --from`` all call these.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .card_photo import CardPhoto, CardPhotoSpec, compose
from .errors import E_FACE_MULTIPLE, E_FACE_NONE, E_QUALITY_FAILED, CaptureError
from .faces import DEFAULT_THRESHOLD, FaceBox, FaceEngine, FaceTemplate, face_distance
from .quality import QualityLimits, QualityReport, assess, detect_still, guidance


@dataclass(frozen=True)
class CaptureResult:
    card_photo: CardPhoto
    template: FaceTemplate
    report: QualityReport


@dataclass(frozen=True)
class FrameResult:
    """A live frame: the report (face box, one guidance code) and, when asked, the template."""
    report: QualityReport
    guidance: str | None
    template: FaceTemplate | None = None


def process_photo(image: np.ndarray, engine: FaceEngine, *, limits: QualityLimits | None = None,
                  spec: CardPhotoSpec | None = None) -> CaptureResult:
    """Check (purpose "card"), compose the card photo, make the template; every failure at once."""
    report = assess(image, engine, limits, purpose="card")
    if not report.ok:
        raise CaptureError(E_QUALITY_FAILED, failed=report.failed,
                           values={c.code: round(c.value, 4) for c in report.checks if not c.passed})
    assert report.face is not None
    card = compose(image, report.face, report.landmarks, spec)
    template = engine.template(image, report.face)
    return CaptureResult(card, template, report)


def analyse_frame(image: np.ndarray, engine: FaceEngine, *, limits: QualityLimits | None = None,
                  purpose: str = "preview", with_template: bool = False) -> FrameResult:
    """The per-frame path: downscaled detection + landmarks + quality (+ the descriptor on request)."""
    report = assess(image, engine, limits, purpose=purpose)
    template = engine.template(image, report.face) if with_template and report.face is not None else None
    return FrameResult(report, guidance(report), template)


def single_face(image: np.ndarray, engine: FaceEngine, limits: QualityLimits | None = None,
                *, which: str | None = None) -> FaceBox:
    """The one face of a still photo, or face.none / face.multiple (``which`` names the image)."""
    boxes = detect_still(image, engine, limits)
    extra = {"image": which} if which else {}
    if not boxes:
        raise CaptureError(E_FACE_NONE, **extra)
    if len(boxes) > 1:
        raise CaptureError(E_FACE_MULTIPLE, faces=len(boxes), **extra)
    return boxes[0]


def template_of(image: np.ndarray, engine: FaceEngine, limits: QualityLimits | None = None,
                *, which: str | None = None) -> FaceTemplate:
    return engine.template(image, single_face(image, engine, limits, which=which))


def compare(image_a: np.ndarray, image_b: np.ndarray, engine: FaceEngine, *,
            threshold: float = DEFAULT_THRESHOLD) -> dict:
    """{"distance", "threshold", "same_person"} for the one face in each image."""
    ta = template_of(image_a, engine, which="a")
    tb = template_of(image_b, engine, which="b")
    d = face_distance(ta, tb)
    return {"distance": round(d, 4), "threshold": threshold, "same_person": bool(d <= threshold)}
