"""Quality checks: each a measured value, a configurable limit and a reason code; ALL failures listed.

Checks (code: value measured, passes when):
  face.multiple / face.none  number of faces                  == 1
  face.too_small        face box width in source pixels       >= face_min_px
  image.blurry          variance of the Laplacian of the face resized to 128 px wide  >= sharpness_min
  image.too_dark        mean luma of the face region (0-255)  >= brightness_min
  image.too_bright      mean luma of the face region          <= brightness_max
  image.low_contrast    luma standard deviation of the face   >= contrast_min
  pose.yaw/pitch/roll   |degrees|, solvePnP of the face mesh  <= yaw_max / pitch_max / roll_max
  eyes.closed           mean eye aspect ratio of both eyes (mesh lids)  >= ear_min
  background.not_plain  share of near-white pixels around the head (purpose "card" only) >= background_min_white
                        (after a background replacement the pipeline decides it on the card photo's
                        border instead: ``card_border_white_fraction``)

Without a face, exposure, contrast and sharpness are measured on the whole frame (so "too dark"
can still be said); checks that need a face are listed in ``skipped``. Landmarks are MediaPipe's
468-point face mesh (``capture.facemesh``, Apache-2.0), never dlib's 68 points (non-commercial
training data): every check runs without that model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from . import facemesh
from .facemesh import eye_aspect_ratio, head_pose
from .faces import FaceBox, FaceEngine
from .settings_file import read_known_keys

QUALITY_FILE = Path(__file__).resolve().parent.parent / "resources" / "capture" / "quality.json"

FACE_NONE, FACE_MULTIPLE, FACE_TOO_SMALL = "face.none", "face.multiple", "face.too_small"
BLURRY, TOO_DARK, TOO_BRIGHT, LOW_CONTRAST = "image.blurry", "image.too_dark", "image.too_bright", "image.low_contrast"
POSE_YAW, POSE_PITCH, POSE_ROLL = "pose.yaw", "pose.pitch", "pose.roll"
EYES_CLOSED, BACKGROUND = "eyes.closed", "background.not_plain"

# The ONE code shown live, most actionable first: fix the scene, then distance, light, pose, eyes.
GUIDANCE_PRIORITY = (FACE_MULTIPLE, FACE_NONE, FACE_TOO_SMALL, TOO_DARK, TOO_BRIGHT, POSE_YAW, POSE_PITCH,
                     POSE_ROLL, EYES_CLOSED, BLURRY, LOW_CONTRAST, BACKGROUND)

SHARPNESS_WIDTH = 128


@dataclass(frozen=True)
class QualityLimits:
    face_min_px: float = 120
    sharpness_min: float = 40.0
    brightness_min: float = 70.0
    brightness_max: float = 210.0
    contrast_min: float = 25.0
    yaw_max: float = 12.0
    pitch_max: float = 25.0
    roll_max: float = 10.0
    ear_min: float = 0.18
    background_min_white: float = 0.85
    background_white_luma: float = 190.0
    background_white_max_saturation: float = 40.0
    preview_max_side: int = 480
    still_upsample_max_pixels: int = 1_500_000

    @classmethod
    def load(cls, path: str | Path | None = None) -> QualityLimits:
        return cls(**read_known_keys(cls, path or QUALITY_FILE))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Check:
    code: str
    value: float
    limit: float
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "value": round(float(self.value), 4), "limit": self.limit, "passed": self.passed}


@dataclass
class QualityReport:
    checks: list[Check]
    face: FaceBox | None
    landmarks: np.ndarray | None         # the face mesh, 468 x 3 (x, y in image pixels)
    faces: list[FaceBox] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    pose: dict[str, float] | None = None

    @property
    def ok(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failed(self) -> list[str]:
        return [c.code for c in self.checks if not c.passed]

    def value(self, code: str) -> float | None:
        return next((c.value for c in self.checks if c.code == code), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "failed": self.failed, "guidance": guidance(self),
            "checks": [c.to_dict() for c in self.checks], "skipped": self.skipped,
            "face": self.face.to_dict() if self.face else None, "faces": len(self.faces),
        }


def _min(code: str, value: float, limit: float) -> Check:
    return Check(code, float(value), limit, bool(value >= limit))


def _max(code: str, value: float, limit: float) -> Check:
    return Check(code, float(value), limit, bool(value <= limit))


def detect_still(image: np.ndarray, engine: FaceEngine, limits: QualityLimits | None = None) -> list[FaceBox]:
    """Detection for a still photo: as-is first, once upsampled when nothing is found on a small image."""
    limits = limits or QualityLimits()
    boxes = engine.detect(image)
    if not boxes and image.shape[0] * image.shape[1] <= limits.still_upsample_max_pixels:
        boxes = engine.detect(image, upsample=1)
    return boxes


def assess(image: np.ndarray, engine: FaceEngine, limits: QualityLimits | None = None, *,
           purpose: str = "card", faces: list[FaceBox] | None = None) -> QualityReport:
    """Run every check; ``purpose="preview"`` detects on a downscaled frame and skips the background."""
    if purpose not in ("card", "preview"):
        raise ValueError(f"purpose must be 'card' or 'preview', not {purpose!r}")
    limits = limits or QualityLimits()
    if faces is None:
        faces = (engine.detect(image, max_side=limits.preview_max_side) if purpose == "preview"
                 else detect_still(image, engine, limits))
    h, w = image.shape[:2]
    checks: list[Check] = []
    skipped: list[str] = []
    n = len(faces)
    checks.append(Check(FACE_NONE, n, 1, n >= 1))
    checks.append(Check(FACE_MULTIPLE, n, 1, n <= 1))
    face = faces[0] if n == 1 else None
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    region = face.clipped(w, h) if face else FaceBox(0, 0, w, h)
    if region.width < 2 or region.height < 2:
        region = FaceBox(0, 0, w, h)
    patch = gray[region.top:region.bottom, region.left:region.right]

    if face is not None:
        checks.append(_min(FACE_TOO_SMALL, face.width, limits.face_min_px))
    else:
        skipped.append(FACE_TOO_SMALL)
    checks.append(_min(BLURRY, sharpness(patch), limits.sharpness_min))
    mean, std = float(patch.mean()), float(patch.std())
    checks.append(_min(TOO_DARK, mean, limits.brightness_min))
    checks.append(_max(TOO_BRIGHT, mean, limits.brightness_max))
    checks.append(_min(LOW_CONTRAST, std, limits.contrast_min))

    pts = None
    pose = None
    if face is not None:
        pts = facemesh.landmarks(image, face)
        angles = head_pose(pts)
        pose = angles.to_dict()
        # a failed solve is NaN: abs(NaN) <= limit is False, so the check fails rather than passes
        checks.append(_max(POSE_YAW, abs(angles.yaw), limits.yaw_max))
        checks.append(_max(POSE_PITCH, abs(angles.pitch), limits.pitch_max))
        checks.append(_max(POSE_ROLL, abs(angles.roll), limits.roll_max))
        checks.append(_min(EYES_CLOSED, eye_aspect_ratio(pts), limits.ear_min))
    else:
        skipped += [POSE_YAW, POSE_PITCH, POSE_ROLL, EYES_CLOSED]

    if purpose == "card":
        if face is not None:
            checks.append(_min(BACKGROUND, white_background_fraction(image, face, pts, limits),
                               limits.background_min_white))
        else:
            skipped.append(BACKGROUND)
    return QualityReport(checks, face, pts, list(faces), skipped, pose)


def guidance(report: QualityReport) -> str | None:
    """The one failed code to show live (None when every check passes)."""
    failed = set(report.failed)
    return next((code for code in GUIDANCE_PRIORITY if code in failed), None)


# -- measurements -----------------------------------------------------------------------------
def sharpness(gray_patch: np.ndarray) -> float:
    """Variance of the Laplacian after scaling the patch to a fixed width (comparable across sizes)."""
    ph, pw = gray_patch.shape[:2]
    if pw < 2 or ph < 2:
        return 0.0
    scale = SHARPNESS_WIDTH / float(pw)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(gray_patch, (SHARPNESS_WIDTH, max(2, round(ph * scale))), interpolation=interp)
    return float(cv2.Laplacian(small, cv2.CV_64F).var())


# The mesh's chin point (152) sits 4-17 % (mean 12 %) of the eye-to-chin distance above dlib's
# 68-point chin (point 8) on the shared photos; the card layout was tuned on the latter, so the mesh's
# eye-to-chin distance is scaled by 1 / 0.88 to keep the composed head where it was.
MESH_CHIN_SCALE = 1.14


def eye_level(landmarks: np.ndarray) -> float:
    """The eye line's y from the face mesh (468 points) or, if given, dlib's 68 points."""
    if len(landmarks) == 68:
        return float(landmarks[36:48, 1].mean())
    return facemesh.eye_level(landmarks)


def head_box(face: FaceBox, landmarks: np.ndarray | None) -> tuple[float, float, float, float]:
    """Estimated whole head (left, top, right, bottom) including hair: eyes sit near mid-height.

    From the face mesh: the face oval's width x 1.23 for ears and hair, crown one eye-to-chin distance
    (x 1.05) above the eyes. dlib's 68 points (the optional extra) give the same from the jaw line;
    without landmarks, the detector's box.
    """
    if landmarks is not None:
        eye_y = eye_level(landmarks)
        if len(landmarks) == 68:
            chin_y = float(landmarks[8, 1])
            left, right = float(landmarks[0:17, 0].min()), float(landmarks[0:17, 0].max())
        else:
            chin_y = eye_y + MESH_CHIN_SCALE * (float(landmarks[facemesh.CHIN, 1]) - eye_y)
            left, right = facemesh.face_width(landmarks)
        cx, hw = (left + right) / 2.0, (right - left) * 0.55 * 1.12
        top = eye_y - 1.05 * (chin_y - eye_y)
        return cx - hw, top, cx + hw, chin_y
    cx = (face.left + face.right) / 2.0
    hw = face.width * 0.62
    return cx - hw, face.top - 0.45 * face.height, cx + hw, float(face.bottom)


def white_background_fraction(image: np.ndarray, face: FaceBox, landmarks: np.ndarray | None,
                              limits: QualityLimits) -> float:
    """Share of near-white, unsaturated pixels in the band around the head (above it and beside it,
    down to the chin), i.e. what the card photo's background will be made of."""
    h, w = image.shape[:2]
    hl, ht, hr, hb = head_box(face, landmarks)
    hw, hh = hr - hl, hb - ht
    x0, x1 = int(max(0, hl - 0.45 * hw)), int(min(w, hr + 0.45 * hw))
    y0, y1 = int(max(0, ht - 0.25 * hh)), int(min(h, hb))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return 0.0
    roi = image[y0:y1, x0:x1]
    mask = np.ones(roi.shape[:2], dtype=bool)
    # exclude the head itself (an ellipse a little larger than the estimated head)
    yy, xx = np.ogrid[y0:y1, x0:x1]
    cx, cy = (hl + hr) / 2.0, (ht + hb) / 2.0
    rx, ry = hw * 0.6, hh * 0.6
    mask &= ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 > 1.0
    if not mask.any():
        return 0.0
    hsv = cv2.cvtColor(roi, cv2.COLOR_BGR2HSV)
    luma = cv2.cvtColor(roi, cv2.COLOR_BGR2GRAY)
    white = (luma >= limits.background_white_luma) & (hsv[:, :, 1] <= limits.background_white_max_saturation)
    return float(white[mask].mean())


CARD_BORDER_PX = 6


def card_border_white_fraction(card: np.ndarray, chin_y: float, limits: QualityLimits) -> float:
    """Share of near-white, unsaturated pixels on the composed card photo's border: the top rows and
    the left and right columns down to the chin (below it shoulders may reach the edge). This is how
    ``background.not_plain`` is decided after a background replacement: on the result, not the room."""
    h, w = card.shape[:2]
    b = CARD_BORDER_PX
    bottom = int(min(h, max(b, round(chin_y))))
    mask = np.zeros((h, w), dtype=bool)
    mask[:b, :] = True
    mask[:bottom, :b] = True
    mask[:bottom, w - b:] = True
    hsv = cv2.cvtColor(card, cv2.COLOR_BGR2HSV)
    luma = cv2.cvtColor(card, cv2.COLOR_BGR2GRAY)
    white = (luma >= limits.background_white_luma) & (hsv[:, :, 1] <= limits.background_white_max_saturation)
    return float(white[mask].mean())
