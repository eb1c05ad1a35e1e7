"""One path from an image to what an enrollment keeps: quality report, card photo, face template.

The desktop dialog, ``yikatong capture ...`` and ``field enroll --from`` all call these.

A card photo is made one of two ways (``background``):

* ``"replace"`` (the default; a photo taken at home): the quality checks run on the photo as taken,
  except the plain background; the person is segmented from the room and put on the standard white
  (``capture.segmentation``), the card photo is composed from that, and ``background.not_plain`` is
  decided on the RESULT (its border pixels must be white). The template is made from the photo as
  taken (the pixels of the face are the same; the descriptor must not depend on our compositing).
* ``"as_shot"`` (「白布背景拍摄（不替换背景）」: shot against a white sheet): no replacement, and the
  plain-background check runs on the photo as taken, exactly as before.

If the segmentation lost the face (a blank white card would pass a border check), the replaced photo
fails ``background.not_plain`` with value 0: the advice is the same, shoot against a white sheet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .card_photo import CardPhoto, CardPhotoSpec, compose, layout
from .errors import E_FACE_MULTIPLE, E_FACE_NONE, E_QUALITY_FAILED, CaptureError
from .faces import DEFAULT_THRESHOLD, FaceBox, FaceEngine, FaceTemplate, face_distance
from .quality import (
    BACKGROUND,
    Check,
    QualityLimits,
    QualityReport,
    assess,
    card_border_white_fraction,
    detect_still,
    guidance,
)

REPLACE, AS_SHOT = "replace", "as_shot"
BACKGROUND_MODES = (REPLACE, AS_SHOT)
REGION_MARGIN = 0.2      # the segmented region: the card's source window widened by this much each side
FACE_KEPT_MIN = 0.9      # mean alpha over the face's middle below this: segmentation failed (background.not_plain)


@dataclass(frozen=True)
class CaptureResult:
    card_photo: CardPhoto
    template: FaceTemplate
    report: QualityReport
    background: str = AS_SHOT       # how the card photo was made: REPLACE or AS_SHOT


@dataclass(frozen=True)
class FrameResult:
    """A live frame: the report (face box, one guidance code) and, when asked, the template."""
    report: QualityReport
    guidance: str | None
    template: FaceTemplate | None = None


def process_photo(image: np.ndarray, engine: FaceEngine, *, limits: QualityLimits | None = None,
                  spec: CardPhotoSpec | None = None, background: str = REPLACE) -> CaptureResult:
    """Check (purpose "card"), compose the card photo, make the template; every failure at once.

    ``background`` is REPLACE (segment the person onto white, check the result's border) or AS_SHOT
    (the photo was shot against a white sheet: check the photo's own background, as before)."""
    report, card = _judge_card_photo(image, engine, limits, spec, background)
    _raise_failed(report)
    assert report.face is not None and card is not None
    template = engine.template(image, report.face)
    return CaptureResult(card, template, report, background)


def card_photo_report(image: np.ndarray, engine: FaceEngine, *, limits: QualityLimits | None = None,
                      spec: CardPhotoSpec | None = None, background: str = REPLACE) -> QualityReport:
    """Every check as ``process_photo`` decides it (the background judged after the replacement, unless
    AS_SHOT), without raising: what ``capture check --purpose card`` prints."""
    return _judge_card_photo(image, engine, limits, spec, background)[0]


def _judge_card_photo(image: np.ndarray, engine: FaceEngine, limits: QualityLimits | None,
                      spec: CardPhotoSpec | None, background: str) -> tuple[QualityReport, CardPhoto | None]:
    """The report and, when every check passed, the composed card photo."""
    if background not in BACKGROUND_MODES:
        raise ValueError(f"background must be one of {BACKGROUND_MODES}, not {background!r}")
    limits = limits or QualityLimits()
    spec = spec or CardPhotoSpec()
    report = assess(image, engine, limits, purpose="card")
    if background == REPLACE:
        report.checks = [c for c in report.checks if c.code != BACKGROUND]
    if not report.ok:
        return report, None
    assert report.face is not None
    if background == AS_SHOT:
        return report, compose(image, report.face, report.landmarks, spec)
    from .segmentation import replace_background

    scale, x0, y0, head = layout(report.face, report.landmarks, spec)
    replaced = replace_background(image, card_region(scale, x0, y0, spec))
    if face_kept(replaced.alpha, report.face) < FACE_KEPT_MIN:
        # the person was not separated from the room: no card photo to look at
        report.checks.append(Check(BACKGROUND, 0.0, limits.background_min_white, False))
        return report, None
    card = compose(replaced.image, report.face, report.landmarks, spec)
    assert card.image is not None
    chin_on_card = (head[3] - y0) * scale
    white = card_border_white_fraction(card.image, chin_on_card, limits)
    report.checks.append(Check(BACKGROUND, white, limits.background_min_white,
                               bool(white >= limits.background_min_white)))
    return report, (card if report.ok else None)


def face_kept(alpha: np.ndarray, face: FaceBox) -> float:
    """Mean alpha over the middle of the face box: ~1 when the segmentation kept the face."""
    h, w = alpha.shape[:2]
    box = face.clipped(w, h)
    dx, dy = box.width // 4, box.height // 4
    inner = alpha[box.top + dy:box.bottom - dy, box.left + dx:box.right - dx]
    return float(inner.mean()) if inner.size else 0.0


def card_region(scale: float, x0: float, y0: float, spec: CardPhotoSpec) -> tuple[float, float, float, float]:
    """The source window the card is cut from (``layout``), widened by REGION_MARGIN on each side."""
    w, h = spec.width / scale, spec.height / scale
    mx, my = REGION_MARGIN * w, REGION_MARGIN * h
    return x0 - mx, y0 - my, x0 + w + mx, y0 + h + my


def _raise_failed(report: QualityReport) -> None:
    if not report.ok:
        raise CaptureError(E_QUALITY_FAILED, failed=report.failed,
                           values={c.code: round(c.value, 4) for c in report.checks if not c.passed})


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
