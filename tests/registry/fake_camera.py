"""A video clip as a Y4M file for Chromium's fake camera (--use-file-for-fake-video-capture).

Made in the test's temp folder, never committed: YUV 4:2:0 (C420jpeg), the clip's own frame rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from facekit import CLIP as HAMILTON_CLIP  # the shared face data, found as every face test finds it

__all__ = ["HAMILTON_CLIP", "clip_to_y4m", "images_to_y4m"]


def clip_to_y4m(clip: Path, out: Path, width: int = 320, max_frames: int | None = None,
                gain: float = 1.0) -> Path:
    """Write ``clip`` scaled to ``width`` (even sizes) as Y4M; ``gain`` < 1 darkens every frame."""
    cap = cv2.VideoCapture(str(clip))
    if not cap.isOpened():
        raise FileNotFoundError(clip)
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    num, den = (30000, 1001) if abs(fps - 29.97) < 0.01 else (int(round(fps)), 1)
    count = 0
    with out.open("wb") as f:
        while max_frames is None or count < max_frames:
            ok, frame = cap.read()
            if not ok:
                break
            h = int(round(frame.shape[0] * width / frame.shape[1] / 2)) * 2
            frame = cv2.resize(frame, (width, h), interpolation=cv2.INTER_AREA)
            if gain != 1.0:
                frame = np.clip(frame.astype(np.float32) * gain, 0, 255).astype(np.uint8)
            if count == 0:
                f.write(f"YUV4MPEG2 W{width} H{h} F{num}:{den} Ip A1:1 C420jpeg\n".encode())
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
            count += 1
    cap.release()
    if count == 0:
        raise ValueError(f"no frames in {clip}")
    return out


def images_to_y4m(images: Sequence[np.ndarray], out: Path, fps: int = 30) -> Path:
    """Write BGR ``images`` (one size, even sides) as a Y4M played at ``fps``."""
    h, w = images[0].shape[:2]
    with out.open("wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for image in images:
            assert image.shape[:2] == (h, w), "every frame of a Y4M has one size"
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420).tobytes())
    return out
