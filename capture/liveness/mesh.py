"""MediaPipe's 468-point face mesh on a crop around the dlib detector's box, and the measures taken
from it: eye aspect ratio, mouth opening and head yaw.

Why the mesh and not dlib's 68 points: the 68-point model was trained on iBUG 300-W, licensed for
non-commercial use only; MediaPipe's model is Apache-2.0 (resources/models/SOURCES.md).

The network (``face_landmark.tflite`` through ``cv2.dnn.readNetFromTFLite``) takes a 192 x 192 RGB
crop in 0..1, NCHW (NHWC fails in cv2.dnn), and returns 468 (x, y, z) in crop pixels. It was trained
on crops a little larger than the face, so the crop is a square of ``CROP_SCALE`` x the HOG box's
width (the HOG box spans brows to chin, tighter than MediaPipe's own detector), centred
``CROP_SHIFT`` box heights above the box's centre (the box sits low on the face: it leaves out the
forehead). Both were tuned on the hamilton clip by drawing the points on frames and looking.

Yaw: the nose tip's position between the two cheek contour points, along the line through them:
``r = (nose - cheek_R)·u / |cheek_L - cheek_R|`` is 0.5 for a frontal face, and the yaw index is
``2 r - 1`` (≈ 0 frontal, ±1 when the nose reaches a cheek's contour). It is a 2-D ratio, so the
unknown camera (no intrinsics on a phone page) and the roll do not enter it; solvePnP would need a
focal length and a 3-D head model that fits every face, and was noisier in ``capture.quality``.
Sign, on an UNMIRRORED camera frame (what the browser uploads): landmark 234 is the person's right
cheek (image left), 454 their left (image right). When the person turns to THEIR left, the nose
moves toward 454, i.e. toward the image's right: the yaw index grows. So positive yaw = the
worker's own left (``turn_left``), negative = their right. A mirrored selfie preview shows the same
turn going left on screen, which is what the worker expects when told 向左转头.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..faces import FaceBox
from . import models

INPUT = 192
CROP_SCALE = 1.5
CROP_SHIFT = 0.12

# MediaPipe canonical face model indices.
NOSE_TIP = 1
CHEEK_RIGHT, CHEEK_LEFT = 234, 454           # the person's right / left face contour
RIGHT_EYE = (33, 133, 159, 145)              # corners (outer, inner), upper lid, lower lid
LEFT_EYE = (362, 263, 386, 374)
MOUTH = (61, 291, 13, 14)                    # corners, inner upper lip, inner lower lip


@dataclass(frozen=True)
class MeshMeasures:
    ear: float       # eye aspect ratio, both eyes' mean: lid gap / eye width
    mar: float       # mouth opening: inner lip gap / mouth width
    yaw: float       # yaw index, + = the person's own left (see the module docstring)


def crop_square(box: FaceBox, scale: float = CROP_SCALE, shift: float = CROP_SHIFT) -> tuple[float, float, float]:
    """(left, top, side) of the square the mesh runs on, in image coordinates (may leave the image)."""
    cx, cy = box.center
    side = scale * max(box.width, box.height)
    cy -= shift * box.height
    return cx - side / 2, cy - side / 2, side


def landmarks(image: np.ndarray, box: FaceBox) -> np.ndarray:
    """468 x 3 mesh points; x, y in ``image`` pixels, z in the same scale (relative depth)."""
    left, top, side = crop_square(box)
    k = INPUT / side
    # One affine warp crops, scales and pads (a crop beyond the image edge is filled with black).
    m = np.array([[k, 0, -left * k], [0, k, -top * k]], dtype=np.float64)
    crop = cv2.warpAffine(image, m, (INPUT, INPUT), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    blob = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32).transpose(2, 0, 1)[None] / 255.0
    net, lock = models.net(models.FACE_MESH)
    with lock:
        net.setInput(np.ascontiguousarray(blob))
        out = net.forward().reshape(-1, 3).astype(np.float64)
    pts = out.copy()
    pts[:, 0] = out[:, 0] / k + left
    pts[:, 1] = out[:, 1] / k + top
    pts[:, 2] = out[:, 2] / k
    return pts


def _dist(pts: np.ndarray, a: int, b: int) -> float:
    return float(np.linalg.norm(pts[a, :2] - pts[b, :2]))


def _opening(pts: np.ndarray, corners: tuple[int, int, int, int]) -> float:
    c1, c2, upper, lower = corners
    return _dist(pts, upper, lower) / max(_dist(pts, c1, c2), 1e-6)


def measures(pts: np.ndarray) -> MeshMeasures:
    ear = (_opening(pts, RIGHT_EYE) + _opening(pts, LEFT_EYE)) / 2.0
    mar = _opening(pts, MOUTH)
    right, left, nose = pts[CHEEK_RIGHT, :2], pts[CHEEK_LEFT, :2], pts[NOSE_TIP, :2]
    axis = left - right
    r = float(np.dot(nose - right, axis) / max(float(np.dot(axis, axis)), 1e-6))
    return MeshMeasures(ear=ear, mar=mar, yaw=2.0 * r - 1.0)


def draw(image: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """A copy of ``image`` with the mesh points drawn (for looking at the crop's fit)."""
    out = image.copy()
    for i, (x, y, _z) in enumerate(pts):
        colour = (0, 0, 255) if i in (NOSE_TIP, CHEEK_LEFT, CHEEK_RIGHT, *RIGHT_EYE, *LEFT_EYE, *MOUTH) else (0, 255, 0)
        cv2.circle(out, (round(x), round(y)), 1, colour, -1)
    return out
