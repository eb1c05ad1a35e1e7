"""The cheap per-frame pass: faces, face luma, mesh measures, and the face track between frames.

Speed: HOG detection on a whole 320-px frame costs ~10-18 ms, most of the decision's time. So the
whole frame is searched on every ``full_detect_every``-th frame (the face count: "one face, not
two" is judged there) and whenever the track is not held; in between, only a window ``ROI_SCALE``
x the previous face box is searched (a quarter of the pixels; the face moved at most 0.35 face
widths between frames 100 ms apart in the clip, the window leaves 0.4 on each side). A window that
finds no face falls back to the whole frame, so a face that moved fast is not lost by the shortcut.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..faces import FaceBox, FaceEngine
from . import mesh
from .types import Frame

ROI_SCALE = 1.8
CHANGE_SIZE = 64              # the face region is compared between frames at 64 x 64 grey


@dataclass
class Observation:
    index: int                          # into the frames given to decide()
    faces: int                          # faces found (-1: not counted, only the window was searched)
    box: FaceBox | None = None          # the one face, when exactly one was found
    luma: float | None = None           # mean grey of the face box (of the whole frame without a face)
    measures: mesh.MeshMeasures | None = None
    grey: np.ndarray | None = None      # the frame in grey, kept for the "still image" check

    @property
    def has_face(self) -> bool:
        return self.box is not None


def _window(box: FaceBox, width: int, height: int) -> FaceBox:
    cx, cy = box.center
    half = ROI_SCALE * max(box.width, box.height) / 2
    return FaceBox(int(cx - half), int(cy - half), int(cx + half), int(cy + half)).clipped(width, height)


def _detect_in(engine: FaceEngine, image: np.ndarray, win: FaceBox) -> list[FaceBox]:
    sub = image[win.top:win.bottom, win.left:win.right]
    boxes = engine.detect(np.ascontiguousarray(sub))
    return [FaceBox(b.left + win.left, b.top + win.top, b.right + win.left, b.bottom + win.top) for b in boxes]


class Observer:
    """The per-frame pass, one frame at a time (so a server can run it while frames arrive)."""

    def __init__(self, engine: FaceEngine, full_detect_every: int) -> None:
        self.engine = engine
        self.full_detect_every = max(1, full_detect_every)
        self.observations: list[Observation] = []
        self._previous: FaceBox | None = None

    def add(self, frame: Frame) -> Observation:
        i = len(self.observations)
        image = frame.image
        h, w = image.shape[:2]
        boxes: list[FaceBox] = []
        counted = True
        if self._previous is not None and i % self.full_detect_every != 0:
            boxes = _detect_in(self.engine, image, _window(self._previous, w, h))
            counted = False
        if not boxes:
            boxes = self.engine.detect(image)
            counted = True
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        ob = Observation(index=i, faces=len(boxes) if counted else -1)
        if len(boxes) == 1 or (not counted and boxes):
            box = boxes[0].clipped(w, h)
            ob.box = box
            region = grey[box.top:box.bottom, box.left:box.right]
            ob.luma = float(region.mean()) if region.size else float(grey.mean())
            ob.measures = mesh.measures(mesh.landmarks(image, box))
            ob.grey = grey
            self._previous = box
        else:
            ob.luma = float(grey.mean())
            self._previous = None
        self.observations.append(ob)
        return ob


def observe(engine: FaceEngine, frames: list[Frame], full_detect_every: int) -> list[Observation]:
    observer = Observer(engine, full_detect_every)
    for frame in frames:
        observer.add(frame)
    return observer.observations


def iou(a: FaceBox, b: FaceBox) -> float:
    inter = FaceBox(max(a.left, b.left), max(a.top, b.top), min(a.right, b.right), min(a.bottom, b.bottom))
    i = inter.area if inter.width > 0 and inter.height > 0 else 0
    union = a.area + b.area - i
    return i / union if union else 0.0


def track_breaks(obs: list[Observation], min_iou: float, max_jump: float, max_gap: int) -> list[int]:
    """Indices of frames where the face track broke: the face jumped (box overlap below ``min_iou``
    and centre moved more than ``max_jump`` face widths) or came back after more than ``max_gap``
    frames without it."""
    breaks: list[int] = []
    last: Observation | None = None
    for ob in obs:
        if not ob.has_face:
            continue
        if last is not None:
            gap = ob.index - last.index - 1
            (ax, ay), (bx, by) = last.box.center, ob.box.center
            jump = float(np.hypot(ax - bx, ay - by)) / max(1, last.box.width)
            if gap > max_gap or (iou(last.box, ob.box) < min_iou and jump > max_jump):
                breaks.append(ob.index)
        last = ob
    return breaks


def _patch(grey: np.ndarray, box: FaceBox) -> np.ndarray:
    region = grey[box.top:box.bottom, box.left:box.right]
    return cv2.resize(region, (CHANGE_SIZE, CHANGE_SIZE), interpolation=cv2.INTER_AREA).astype(np.float32)


def frame_change(obs: list[Observation]) -> float | None:
    """Median mean-absolute grey difference, between consecutive face frames, of the region where
    the earlier frame's face was (the same pixels in both, so the detector's jitter does not count):
    a living face changes it by several levels; a still image re-sent with noise or recompression
    by about one."""
    diffs = []
    last: Observation | None = None
    for ob in obs:
        if ob.grey is None:
            continue
        if last is not None and ob.grey.shape == last.grey.shape:
            diffs.append(float(np.mean(np.abs(_patch(ob.grey, last.box) - _patch(last.grey, last.box)))))
        last = ob
    return float(np.median(diffs)) if diffs else None
