"""MediaPipe's 468-point face mesh on a crop around the dlib detector's box, and the measures taken
from it: eye aspect ratio, mouth opening, the liveness engine's yaw index, the head pose in degrees
(``head_pose``: ``cv2.solvePnP`` against MediaPipe's canonical 3-D face) and the points the card
photo is laid out from (eye line, chin, face width). The quality checks and the liveness engine
both use it; nothing here needs dlib's 68-point model.

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
focal length and a 3-D head model, and a phone page has no intrinsics; the card photo's pose check
uses ``head_pose`` (degrees), where a still photo's limits need an angle.
Sign, on an UNMIRRORED camera frame (what the browser uploads): landmark 234 is the person's right
cheek (image left), 454 their left (image right). When the person turns to THEIR left, the nose
moves toward 454, i.e. toward the image's right: the yaw index grows. So positive yaw = the
worker's own left (``turn_left``), negative = their right. A mirrored selfie preview shows the same
turn going left on screen, which is what the worker expects when told 向左转头.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from . import models
from .faces import FaceBox

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


# -- head pose ----------------------------------------------------------------------------------
# MediaPipe's canonical face model: mediapipe/modules/face_geometry/data/canonical_face_model.obj
# (github.com/google-ai-edge/mediapipe, Apache-2.0), vertex i = mesh point i, centimetres, there with
# y up and z toward the viewer; written here in camera axes (x right, y down, z away from the camera),
# i.e. the file's (x, -y, -z). Only points that a smile or an open mouth hardly move: eye corners,
# nose bridge, nose tip, nostril wings, the point under the nose. Mouth corners and chin were tried
# and read smiling frontal faces as 7-10 degrees more pitched (capture/README.md).
POSE_POINTS = {
    1: (0.000000, 1.126865, -7.475604),      # nose tip
    4: (0.000000, 0.463170, -7.586580),      # nose tip, upper
    6: (0.000000, -2.473255, -5.788627),     # nose bridge between the eyes
    168: (0.000000, -3.271027, -5.236015),   # nose bridge, higher
    33: (-4.445859, -2.663991, -3.173422),   # the person's right eye, outer corner
    133: (-1.856432, -2.585245, -3.757904),  # the person's right eye, inner corner
    362: (1.856432, -2.585245, -3.757904),   # left eye, inner corner
    263: (4.445859, -2.663991, -3.173422),   # left eye, outer corner
    98: (-1.405627, 1.714196, -5.241087),    # right nostril wing
    327: (1.405627, 1.714196, -5.241087),    # left nostril wing
    2: (0.000000, 2.089024, -6.058267),      # under the nose
}
_POSE_IDX = list(POSE_POINTS)
_POSE_3D = np.array([POSE_POINTS[i] for i in _POSE_IDX], dtype=np.float64)
_EYE_CORNER_CM = 2 * 4.445859               # 33 to 263 in the model
# Focal length in units of the measured eye-corner distance: a camera ~10 eye spans (~90 cm) away.
# Photos carry no intrinsics; 5x..100x changed the shared photos' angles by < 2 degrees.
FOCAL_EYE_SPANS = 10.0

EYE_POINTS = (*RIGHT_EYE, *LEFT_EYE)
CHIN = 152
# The face oval (MediaPipe's FACEMESH_FACE_OVAL), forehead top round to the chin: its width is the
# face width the card photo's head box is made from.
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)


@dataclass(frozen=True)
class Pose:
    yaw: float      # degrees, + = the face turned toward the image's left (the person's own right)
    pitch: float    # degrees, + = head bowed (forehead toward the camera), - = chin up
    roll: float     # degrees, + = the eye line falls toward the image's right (head tilted to the person's left)

    def to_dict(self) -> dict[str, float]:
        return {"yaw": self.yaw, "pitch": self.pitch, "roll": self.roll}


def head_pose(pts: np.ndarray) -> Pose:
    """Yaw, pitch and roll in degrees: ``cv2.solvePnP`` of the mesh's 2-D points against the canonical
    face (``POSE_POINTS``), with a pinhole camera centred on the face itself (so a face off the photo's
    centre, or a cropped photo, is measured against the line of sight to it, which is what "facing
    the camera" means) and a focal length of ``FOCAL_EYE_SPANS`` eye-corner distances. Started from a
    frontal pose at the distance the eye span implies: without that start the iterative solver
    flipped one smiling close-up upside down (roll -173 degrees)."""
    image_pts = np.ascontiguousarray(pts[_POSE_IDX, :2], dtype=np.float64)
    centre = pts[[33, 263, 61, 291], :2].mean(axis=0)
    span = max(float(np.linalg.norm(pts[33, :2] - pts[263, :2])), 1.0)
    f = FOCAL_EYE_SPANS * span
    cam = np.array([[f, 0, centre[0]], [0, f, centre[1]], [0, 0, 1]], dtype=np.float64)
    rvec = np.zeros((3, 1))
    tvec = np.array([[0.0], [0.0], [f * _EYE_CORNER_CM / span]])
    ok, rvec, _tvec = cv2.solvePnP(_POSE_3D, image_pts, cam, None, rvec, tvec, True,
                                   flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        return Pose(float("nan"), float("nan"), float("nan"))
    r, _ = cv2.Rodrigues(rvec)
    pitch = math.degrees(math.atan2(r[2, 1], r[2, 2]))
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, -r[2, 0]))))
    roll = math.degrees(math.atan2(r[1, 0], r[0, 0]))
    return Pose(yaw, pitch, roll)


def eye_aspect_ratio(pts: np.ndarray) -> float:
    """Lid gap over eye width, mean of both eyes (lids 159/145 and 386/374, corners 33/133, 362/263)."""
    return measures(pts).ear


def eye_level(pts: np.ndarray) -> float:
    """The eye line's y: the mean of both eyes' corners and lids."""
    return float(pts[list(EYE_POINTS), 1].mean())


def face_width(pts: np.ndarray) -> tuple[float, float]:
    """(left, right) x of the face oval."""
    xs = pts[list(FACE_OVAL), 0]
    return float(xs.min()), float(xs.max())
