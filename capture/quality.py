"""Quality checks: each a measured value, a configurable limit and a reason code; ALL failures listed.

Checks (code: value measured, passes when):
  face.multiple / face.none  number of faces                  == 1
  face.too_small        face box width in source pixels       >= face_min_px
  image.blurry          variance of the Laplacian of the face resized to 128 px wide  >= sharpness_min
  image.too_dark        mean luma of the face region (0-255)  >= brightness_min
  image.too_bright      mean luma of the face region          <= brightness_max
  image.low_contrast    luma standard deviation of the face   >= contrast_min
  pose.yaw/pitch/roll   |degrees| from the 68 landmarks       <= yaw_max / pitch_max / roll_max
  eyes.closed           mean eye aspect ratio of both eyes    >= ear_min
  background.not_plain  share of near-white pixels around the head (purpose "card" only) >= background_min_white
                        (after a background replacement the pipeline decides it on the card photo's
                        border instead: ``card_border_white_fraction``)

Without a face, exposure, contrast and sharpness are measured on the whole frame (so "too dark"
can still be said); checks that need a face or its landmarks are listed in ``skipped``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

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
    yaw_max: float = 15.0
    pitch_max: float = 20.0
    pitch_offset: float = 10.0
    roll_max: float = 10.0
    ear_min: float = 0.15
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
    landmarks68: np.ndarray | None
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

    lm68 = None
    pose = None
    if face is not None and engine.use_68:
        lm68 = engine.landmarks68(image, face)
        yaw, pitch, roll = head_pose(lm68, (h, w))
        pitch -= limits.pitch_offset
        pose = {"yaw": yaw, "pitch": pitch, "roll": roll}
        checks.append(_max(POSE_YAW, abs(yaw), limits.yaw_max))
        checks.append(_max(POSE_PITCH, abs(pitch), limits.pitch_max))
        checks.append(_max(POSE_ROLL, abs(roll), limits.roll_max))
        checks.append(_min(EYES_CLOSED, eye_aspect_ratio(lm68), limits.ear_min))
    else:
        skipped += [POSE_YAW, POSE_PITCH, POSE_ROLL, EYES_CLOSED]

    if purpose == "card":
        if face is not None:
            checks.append(_min(BACKGROUND, white_background_fraction(image, face, lm68, limits),
                               limits.background_min_white))
        else:
            skipped.append(BACKGROUND)
    return QualityReport(checks, face, lm68, list(faces), skipped, pose)


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


def eye_aspect_ratio(lm68: np.ndarray) -> float:
    """Soukupová & Čech (2016): (|p2-p6| + |p3-p5|) / (2 |p1-p4|), mean of both eyes; ~0.3 open, <0.2 closed."""
    def ear(p: np.ndarray) -> float:
        a = np.linalg.norm(p[1] - p[5])
        b = np.linalg.norm(p[2] - p[4])
        c = np.linalg.norm(p[0] - p[3])
        return float((a + b) / (2.0 * c)) if c > 0 else 0.0

    return (ear(lm68[36:42]) + ear(lm68[42:48])) / 2.0


# A generic adult head (mm), camera axes: x right, y down, z away from the camera; nose tip at 0.
_MODEL_3D = np.array([
    (0.0, 0.0, 0.0),          # 30 nose tip
    (0.0, 330.0, 65.0),       # 8  chin
    (-225.0, -170.0, 135.0),  # 36 outer corner of the eye on the image's left
    (225.0, -170.0, 135.0),   # 45 outer corner of the other eye
    (-150.0, 150.0, 125.0),   # 48 mouth corner
    (150.0, 150.0, 125.0),    # 54 mouth corner
], dtype=np.float64)
_MODEL_IDX = [30, 8, 36, 45, 48, 54]


def head_pose(lm68: np.ndarray, shape_hw: tuple[int, int]) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees: yaw/pitch from cv2.solvePnP on a generic 3D head with a pinhole
    camera (focal length = image width); roll from the line through the eye centres (no model needed)."""
    h, w = shape_hw
    cam = np.array([[w, 0, w / 2.0], [0, w, h / 2.0], [0, 0, 1]], dtype=np.float64)
    pts = lm68[_MODEL_IDX].astype(np.float64)
    ok, rvec, _tvec = cv2.solvePnP(_MODEL_3D, pts, cam, np.zeros(4), flags=cv2.SOLVEPNP_ITERATIVE)
    yaw = pitch = 0.0
    if ok:
        r, _ = cv2.Rodrigues(rvec)
        pitch = math.degrees(math.atan2(r[2, 1], r[2, 2]))
        yaw = math.degrees(math.asin(max(-1.0, min(1.0, -r[2, 0]))))
    left_eye, right_eye = lm68[36:42].mean(axis=0), lm68[42:48].mean(axis=0)
    dx, dy = right_eye - left_eye
    roll = math.degrees(math.atan2(dy, dx))
    return yaw, pitch, roll


def head_box(face: FaceBox, lm68: np.ndarray | None) -> tuple[float, float, float, float]:
    """Estimated whole head (left, top, right, bottom) including hair: eyes sit near mid-height."""
    if lm68 is not None:
        eye_y = float(lm68[36:48, 1].mean())
        chin_y = float(lm68[8, 1])
        left, right = float(lm68[0:17, 0].min()), float(lm68[0:17, 0].max())
        cx, hw = (left + right) / 2.0, (right - left) * 0.55 * 1.12
        top = eye_y - 1.05 * (chin_y - eye_y)
        return cx - hw, top, cx + hw, chin_y
    cx = (face.left + face.right) / 2.0
    hw = face.width * 0.62
    return cx - hw, face.top - 0.45 * face.height, cx + hw, float(face.bottom)


def white_background_fraction(image: np.ndarray, face: FaceBox, lm68: np.ndarray | None,
                              limits: QualityLimits) -> float:
    """Share of near-white, unsaturated pixels in the band around the head (above it and beside it,
    down to the chin), i.e. what the card photo's background will be made of."""
    h, w = image.shape[:2]
    hl, ht, hr, hb = head_box(face, lm68)
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
