"""Background replacement for a card photo taken at home: the person over the standard plain white.

1. **Person mask**: MediaPipe's selfie-segmentation model (``resources/models/selfie_segmentation.tflite``,
   Apache-2.0; origin in that folder's SOURCES.md) through ``cv2.dnn.readNetFromTFLite``, loaded once
   per process under a lock and never downloaded. It is run on the region the card photo will be cut
   from (widened), not on the whole photo: the model was trained on selfies, where the person fills
   the frame, and a 256 x 256 view of a wide scene leaves the head a few dozen pixels tall.
2. **Edge band**: the model's mask is 256 x 256 and its edge is a blur, so upscaled and pasted it
   looks cut out (a halo of the old room around the hair, a staircase on the shoulders). Only the
   uncertain band around the mask's edge is recomputed: a colour guided filter (He, Sun & Tang 2010)
   of the mask with the photo as guide makes the alpha follow the photo's own edges (hair strands,
   the collar), and stays soft where the photo itself is soft; inside and outside the band the
   mask is 1 and 0.
3. **Colour**: a hair pixel in the band is a mix of hair and the old background. Its foreground
   colour is estimated by taking out the local background colour (the mean of the nearby pixels
   that are background), so a dark room leaves no dark fringe on the white.
4. **Composite**: ``alpha * foreground + (1 - alpha) * white``; everything outside the region is white.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .errors import E_MODEL_UNAVAILABLE, CaptureError

MODELS_DIR = Path(__file__).resolve().parent.parent / "resources" / "models"
MODEL_FILE = "selfie_segmentation.tflite"
INPUT_SIDE = 256                  # the model's input: 1x3x256x256 RGB 0-1 (NCHW through cv2.dnn)
WORK_MAX_SIDE = 640               # mask and band are worked out at most at this size: the region is
                                  # ~1.4 card windows, so this is still at least the card's own scale
WHITE = 255.0
BACKGROUND_LIKENESS = 30.0        # BGR distance below which an edge pixel counts as the old background

_load_lock = threading.Lock()
_net: tuple[cv2.dnn.Net, threading.Lock] | None = None


def _model() -> tuple[cv2.dnn.Net, threading.Lock]:
    """The loaded net and the lock its callers hold while running it (cv2.dnn keeps per-call buffers)."""
    global _net
    if _net is not None:
        return _net
    with _load_lock:
        if _net is None:
            path = MODELS_DIR / MODEL_FILE
            if not path.is_file():
                raise CaptureError(E_MODEL_UNAVAILABLE, missing=[MODEL_FILE])
            _net = (cv2.dnn.readNetFromTFLite(str(path)), threading.Lock())
    return _net


def person_probability(image: np.ndarray) -> np.ndarray:
    """The model's person probability (float32 0-1) for a BGR image, at the image's size."""
    h, w = image.shape[:2]
    small = cv2.resize(image, (INPUT_SIDE, INPUT_SIDE), interpolation=cv2.INTER_AREA)
    blob = cv2.cvtColor(small, cv2.COLOR_BGR2RGB).astype(np.float32).transpose(2, 0, 1)[None] / 255.0
    net, lock = _model()
    with lock:
        net.setInput(np.ascontiguousarray(blob))
        out = net.forward()
    prob = out.reshape(INPUT_SIDE, INPUT_SIDE).astype(np.float32)
    return np.clip(cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR), 0.0, 1.0)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter with a colour guide (float32 0-1, HxWx3) on a single-channel src.
    The 3 x 3 systems are solved in closed form (adjugate / determinant): np.linalg.solve on a
    million tiny systems took ~2 s."""
    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)

    m = [box(guide[:, :, c]) for c in range(3)]
    mean_p = box(src)
    cov = [box(guide[:, :, c] * src) - m[c] * mean_p for c in range(3)]

    def var(a: int, b: int) -> np.ndarray:
        return box(guide[:, :, a] * guide[:, :, b]) - m[a] * m[b] + (eps if a == b else 0.0)

    rr, rg, rb, gg, gb, bb = var(0, 0), var(0, 1), var(0, 2), var(1, 1), var(1, 2), var(2, 2)
    i_rr, i_rg, i_rb = gg * bb - gb * gb, gb * rb - rg * bb, rg * gb - gg * rb
    i_gg, i_gb, i_bb = rr * bb - rb * rb, rb * rg - rr * gb, rr * gg - rg * rg
    det = rr * i_rr + rg * i_rg + rb * i_rb
    a_r = (i_rr * cov[0] + i_rg * cov[1] + i_rb * cov[2]) / det
    a_g = (i_rg * cov[0] + i_gg * cov[1] + i_gb * cov[2]) / det
    a_b = (i_rb * cov[0] + i_gb * cov[1] + i_bb * cov[2]) / det
    offset = mean_p - a_r * m[0] - a_g * m[1] - a_b * m[2]
    return (box(a_r) * guide[:, :, 0] + box(a_g) * guide[:, :, 1] + box(a_b) * guide[:, :, 2]
            + box(offset))


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest connected part of a 0/1 mask: the person; specks the model calls "person" in the
    room (a picture frame, a chair's back) go."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 2:
        return mask
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return (labels == biggest).astype(np.uint8)


def refine_alpha(image: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """The alpha (float32 0-1): 1 / 0 away from the edge, the guided-filtered mask in a band of
    ``2 * radius`` around the model's 0.5 edge (hair strands and the collar follow the photo)."""
    h, w = prob.shape
    radius = max(2, round(max(h, w) / 120))                  # ~ a hair lock at card scale
    hard = largest_component((prob >= 0.5).astype(np.uint8))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (4 * radius + 1, 4 * radius + 1))
    band = cv2.dilate(hard, kernel) != cv2.erode(hard, kernel)
    guide = image.astype(np.float32) / 255.0
    # the filter works on the cleaned mask, softened to the model's own edge width
    source = np.where(band, prob, hard.astype(np.float32)).astype(np.float32)
    filtered = guided_filter(guide, source, radius, 1e-3)
    # a light blur: JPEG blocks and single noisy pixels must not make a jagged rim
    filtered = cv2.GaussianBlur(np.clip(filtered, 0.0, 1.0), (0, 0), max(0.6, radius / 4))
    # the filter lets a bright old background near a bright face leave a faint veil (alpha ~0.1);
    # stretching 0.1-0.9 to 0-1 drops the veil and keeps the ramp across real edges
    filtered = (filtered - 0.1) / 0.8
    alpha = np.where(band, filtered, hard.astype(np.float32))
    return np.clip(alpha, 0.0, 1.0).astype(np.float32)


def local_background(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The old background's colour near each pixel (float32 BGR): the mean of the nearby pixels,
    weighted by how surely they are background (normalised convolution)."""
    h, w = alpha.shape
    k = max(5, round(max(h, w) / 40)) | 1
    img = image.astype(np.float32)
    weight = (1.0 - alpha) ** 2
    num = cv2.blur(img * weight[..., None], (k, k))
    den = cv2.blur(weight, (k, k))[..., None]
    return np.where(den > 1e-4, num / np.maximum(den, 1e-4), img).astype(np.float32)


def drop_background_lookalikes(image: np.ndarray, alpha: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Where a faint pixel (alpha < 0.6) has the colour of the old background right there, it is that
    background (a veil of a bright room the filter carried past the ear), not a hair: its alpha is
    lowered in proportion. The likeness is smoothed (single pixels must not speckle) and the edge
    ramps of the head and the suit (alpha >= 0.6) are left as they are: a dark suit before a dark
    wall looks like its background too, and cutting it there made a jagged shoulder."""
    distance = np.linalg.norm(image.astype(np.float32) - background, axis=-1)
    likeness = cv2.GaussianBlur(np.clip(distance / BACKGROUND_LIKENESS, 0.0, 1.0), (0, 0), 1.5)
    return np.where(alpha < 0.6, alpha * likeness, alpha).astype(np.float32)


def composite_on_white(image: np.ndarray, alpha: np.ndarray, background: np.ndarray) -> np.ndarray:
    """alpha * foreground + (1 - alpha) * white, the foreground being the pixel with the local old
    background taken out: F = (I - (1 - a) B) / a, so a F + (1 - a) W = I + (1 - a) (W - B). Where
    alpha is small that estimate is noise amplified, and the pixel is mostly white anyway: there the
    plain mix a I + (1 - a) W is used."""
    img = image.astype(np.float32)
    a = alpha[..., None]
    unmixed = img + (1.0 - a) * (WHITE - background)
    mixed = a * img + (1.0 - a) * WHITE
    out = np.where(a > 0.3, unmixed, mixed)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Replacement:
    image: np.ndarray            # BGR uint8, the source's size: the person over white
    alpha: np.ndarray            # float32 0-1, the source's size (0 outside the region)
    region: tuple[int, int, int, int]   # (x0, y0, x1, y1) segmented


def replace_background(image: np.ndarray, region: tuple[float, float, float, float] | None = None
                       ) -> Replacement:
    """The person over plain white. ``region`` (x0, y0, x1, y1, source pixels) is what the card will
    be cut from; it is segmented (clipped to the image) and everything outside it becomes white."""
    h, w = image.shape[:2]
    if region is None:
        x0, y0, x1, y1 = 0, 0, w, h
    else:
        x0, y0 = max(0, int(np.floor(region[0]))), max(0, int(np.floor(region[1])))
        x1, y1 = min(w, int(np.ceil(region[2]))), min(h, int(np.ceil(region[3])))
    if x1 - x0 < 8 or y1 - y0 < 8:
        x0, y0, x1, y1 = 0, 0, w, h
    crop = image[y0:y1, x0:x1]
    ch, cw = crop.shape[:2]
    scale = min(1.0, WORK_MAX_SIDE / float(max(ch, cw)))
    work = crop if scale >= 1.0 else cv2.resize(crop, (round(cw * scale), round(ch * scale)),
                                                 interpolation=cv2.INTER_AREA)
    alpha = refine_alpha(work, person_probability(work))
    background = local_background(work, alpha)
    alpha = drop_background_lookalikes(work, alpha, background)
    if scale < 1.0:   # both are smooth at the work scale: upscaling them loses nothing of the face
        alpha = np.clip(cv2.resize(alpha, (cw, ch), interpolation=cv2.INTER_LINEAR), 0.0, 1.0)
        background = cv2.resize(background, (cw, ch), interpolation=cv2.INTER_LINEAR)
    composed = np.full(image.shape[:2] + (3,), 255, np.uint8)
    composed[y0:y1, x0:x1] = composite_on_white(crop, alpha, background)
    full_alpha = np.zeros(image.shape[:2], np.float32)
    full_alpha[y0:y1, x0:x1] = alpha
    return Replacement(composed, full_alpha, (x0, y0, x1, y1))
