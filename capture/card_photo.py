"""The card photo: 358 x 441, 24-bit colour, 350 dpi JPEG inside the region's size window.

Geometry comes from ``resources/capture/card_photo_spec.json``: the estimated whole head (face width
from the face mesh widened for ears and hair; crown one eye-to-chin distance above the eyes)
is scaled to ``head_width_px`` and centred horizontally, the crown ``crown_margin_px`` below the
top edge, eyes at least ``eyes_min_from_bottom_px`` above the bottom. Parts of the frame outside
the source image are padded white (the card background) up to ``max_pad_fraction`` of the photo;
a head that is itself cut off is ``card_photo.head_out_of_frame``. The JPEG quality is the highest
whose file fits ``max_bytes`` (binary search); below ``min_bytes`` even at ``quality_max`` is
``card_photo.size_window``. The JFIF density is set to the spec's dpi and read back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import E_HEAD_OUT_OF_FRAME, E_SETTINGS_INVALID, E_SIZE_WINDOW, CaptureError
from .faces import FaceBox
from .images import jfif_density, set_jfif_density
from .quality import eye_level, head_box
from .settings_file import read_known_keys

SPEC_FILE = Path(__file__).resolve().parent.parent / "resources" / "capture" / "card_photo_spec.json"


@dataclass(frozen=True)
class CardPhotoSpec:
    width: int = 358
    height: int = 441
    dpi: int = 350
    min_bytes: int = 9 * 1024
    max_bytes: int = 20 * 1024
    head_width_px: float = 207
    head_width_tolerance_px: float = 14
    crown_margin_px: float = 14
    crown_margin_min_px: float = 7
    crown_margin_max_px: float = 21
    eyes_min_from_bottom_px: float = 207
    max_pad_fraction: float = 0.35
    quality_min: int = 20
    quality_max: int = 95

    @classmethod
    def load(cls, path: str | Path | None = None) -> CardPhotoSpec:
        spec = cls(**read_known_keys(cls, path or SPEC_FILE))
        if not (0 < spec.min_bytes <= spec.max_bytes):
            raise CaptureError(E_SETTINGS_INVALID, reason="need 0 < min_bytes <= max_bytes")
        return spec

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CardPhoto:
    jpeg: bytes
    width: int
    height: int
    quality: int
    dpi: int = 350
    image: np.ndarray | None = None     # the composed BGR raster before JPEG (for previews)

    @property
    def size(self) -> int:
        return len(self.jpeg)


def layout(face: FaceBox, landmarks: np.ndarray | None, spec: CardPhotoSpec
           ) -> tuple[float, float, float, tuple[float, float, float, float]]:
    """(scale, x0, y0, head) mapping source to card: card = (source - (x0, y0)) * scale.
    ``landmarks``: the face mesh (``QualityReport.landmarks``), or None to lay out from the face box."""
    hl, ht, hr, hb = head_box(face, landmarks)
    scale = spec.head_width_px / max(1.0, hr - hl)
    cx = (hl + hr) / 2.0
    crown = spec.crown_margin_px
    if landmarks is not None:
        eye_y = eye_level(landmarks)
        eye_card = crown + (eye_y - ht) * scale
        limit = spec.height - spec.eyes_min_from_bottom_px
        if eye_card > limit:        # long face: raise it, keeping the crown inside the frame
            crown = max(spec.crown_margin_min_px, crown - (eye_card - limit))
    x0 = cx - (spec.width / 2.0) / scale
    y0 = ht - crown / scale
    return scale, x0, y0, (hl, ht, hr, hb)


def compose(image: np.ndarray, face: FaceBox, landmarks: np.ndarray | None = None,
            spec: CardPhotoSpec | None = None) -> CardPhoto:
    spec = spec or CardPhotoSpec()
    h, w = image.shape[:2]
    scale, x0, y0, (hl, ht, hr, hb) = layout(face, landmarks, spec)
    # the head (sides, crown estimate with a little slack, chin) must be in the source image
    slack = 0.08 * (hb - ht)
    if hl < -slack or hr > w + slack or ht < -slack or hb > h:
        raise CaptureError(E_HEAD_OUT_OF_FRAME)
    src_w, src_h = spec.width / scale, spec.height / scale
    ix0, iy0 = int(np.floor(x0)), int(np.floor(y0))
    ix1, iy1 = int(np.ceil(x0 + src_w)), int(np.ceil(y0 + src_h))
    pad = (max(0, -ix0), max(0, -iy0), max(0, ix1 - w), max(0, iy1 - h))   # left, top, right, bottom
    inside = max(0, min(ix1, w) - max(ix0, 0)) * max(0, min(iy1, h) - max(iy0, 0))
    if 1.0 - inside / float((ix1 - ix0) * (iy1 - iy0)) > spec.max_pad_fraction:
        raise CaptureError(E_HEAD_OUT_OF_FRAME, reason="too little of the frame around the head")
    crop = image[max(iy0, 0):min(iy1, h), max(ix0, 0):min(ix1, w)]
    if any(pad):
        crop = cv2.copyMakeBorder(crop, pad[1], pad[3], pad[0], pad[2], cv2.BORDER_CONSTANT,
                                  value=(255, 255, 255))
    # sub-pixel origin: shift then resize in one affine step when upscaling, area-resize otherwise
    fx, fy = x0 - ix0, y0 - iy0
    if scale < 1.0:
        card = cv2.resize(crop, (round(crop.shape[1] * scale), round(crop.shape[0] * scale)),
                          interpolation=cv2.INTER_AREA)
        ox, oy = round(fx * scale), round(fy * scale)
        card = cv2.copyMakeBorder(card, 0, max(0, spec.height + oy - card.shape[0]), 0,
                                  max(0, spec.width + ox - card.shape[1]), cv2.BORDER_CONSTANT,
                                  value=(255, 255, 255))[oy:oy + spec.height, ox:ox + spec.width]
    else:
        m = np.array([[scale, 0, -fx * scale], [0, scale, -fy * scale]], dtype=np.float64)
        card = cv2.warpAffine(crop, m, (spec.width, spec.height), flags=cv2.INTER_CUBIC,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(255, 255, 255))
    card = np.ascontiguousarray(card[:, :, :3])
    jpeg, quality = encode_in_window(card, spec)
    return CardPhoto(jpeg, spec.width, spec.height, quality, spec.dpi, card)


def _encode(image: np.ndarray, quality: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality),
                                            cv2.IMWRITE_JPEG_OPTIMIZE, 1, cv2.IMWRITE_JPEG_PROGRESSIVE, 0])
    if not ok:
        raise CaptureError(E_SIZE_WINDOW, reason="encoder failed")
    return buf.tobytes()


def encode_in_window(image: np.ndarray, spec: CardPhotoSpec) -> tuple[bytes, int]:
    """The highest JPEG quality whose file is <= max_bytes (size grows with quality: binary search)."""
    lo, hi = spec.quality_min, spec.quality_max
    best: tuple[bytes, int] | None = None
    smallest = None
    while lo <= hi:
        q = (lo + hi) // 2
        data = _encode(image, q)
        smallest = len(data) if smallest is None else min(smallest, len(data))
        if len(data) <= spec.max_bytes:
            best = (data, q)
            lo = q + 1
        else:
            hi = q - 1
    if best is None or len(best[0]) < spec.min_bytes:
        raise CaptureError(E_SIZE_WINDOW, min_bytes=spec.min_bytes, max_bytes=spec.max_bytes,
                           got_bytes=len(best[0]) if best else smallest)
    data = set_jfif_density(best[0], spec.dpi)
    if jfif_density(data) != (1, spec.dpi, spec.dpi):
        raise CaptureError(E_SIZE_WINDOW, reason="density not written")
    return data, best[1]
