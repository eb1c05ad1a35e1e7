"""Passive anti-spoofing: the MiniFASNet ensemble's probability that a face is real (not a print or
a screen held to the camera).

Two networks from Silent-Face-Anti-Spoofing (Apache-2.0; resources/models/SOURCES.md): MiniFASNetV2
on a crop 2.7 x the face box, MiniFASNetV1SE on 4.0 x; each 80 x 80 BGR, float 0-255, no
normalisation; softmax over 3 classes, index 1 = real. The score is the mean of the two "real"
probabilities. The upstream crop is from a detector whose box includes the forehead; dlib's HOG box
stops at the brows, so it is first grown by ``BOX_GROW`` upward and sideways to approximate it.

The score is one signal beside the active challenge, never the decision alone: upstream reports
that a photo on a good screen can pass and a blurry real face can fail.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..faces import FaceBox
from . import models

SIZE = 80
ENSEMBLE = ((models.MINIFASNET_V2, 2.7), (models.MINIFASNET_V1SE, 4.0))
BOX_GROW = 1.15            # the HOG box's width and height times this, its centre moved up by the growth


def _upstream_box(box: FaceBox) -> tuple[float, float, float, float]:
    """(x, y, w, h) of a box like the upstream detector's, from the HOG box."""
    w, h = box.width * BOX_GROW, box.height * BOX_GROW
    cx, cy = box.center
    cy -= (h - box.height) / 2
    return cx - w / 2, cy - h / 2, w, h


def crop(image: np.ndarray, box: FaceBox, scale: float) -> np.ndarray:
    """Silent-Face's ``CropImage``: the box scaled by ``scale`` (less when the image is too small),
    shifted to stay inside the image, resized to 80 x 80."""
    src_h, src_w = image.shape[:2]
    x, y, w, h = _upstream_box(box)
    scale = min((src_h - 1) / h, (src_w - 1) / w, scale)
    nw, nh = w * scale, h * scale
    cx, cy = x + w / 2, y + h / 2
    left, top = cx - nw / 2, cy - nh / 2
    right, bottom = cx + nw / 2, cy + nh / 2
    if left < 0:
        right -= left
        left = 0
    if top < 0:
        bottom -= top
        top = 0
    if right > src_w - 1:
        left -= right - src_w + 1
        right = src_w - 1
    if bottom > src_h - 1:
        top -= bottom - src_h + 1
        bottom = src_h - 1
    region = image[int(top):int(bottom) + 1, int(left):int(right) + 1]
    return cv2.resize(region, (SIZE, SIZE))


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max())
    return e / e.sum()


def real_score(image: np.ndarray, box: FaceBox) -> float:
    """The ensemble's mean "real" probability (0..1) for the face in ``box``."""
    total = 0.0
    for name, scale in ENSEMBLE:
        blob = crop(image, box, scale).astype(np.float32).transpose(2, 0, 1)[None]
        net, lock = models.net(name)
        with lock:
            net.setInput(np.ascontiguousarray(blob))
            logits = net.forward().reshape(-1).astype(np.float64)
        total += float(_softmax(logits)[1])
    return total / len(ENSEMBLE)
