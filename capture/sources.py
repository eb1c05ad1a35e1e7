"""Camera sources behind one interface: a webcam (OpenCV, by index), a video file, a folder of images.

Tests and demos run from files; a machine without a camera gets ``camera.unavailable`` (and the
app offers import from file), never a crash.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .errors import (
    E_CAMERA_UNAVAILABLE,
    E_SOURCE_NOT_FOUND,
    E_SOURCE_UNREADABLE,
    CaptureError,
)
from .images import load_image

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


@dataclass(frozen=True)
class Frame:
    image: np.ndarray      # BGR uint8
    index: int
    timestamp: float       # seconds since the source opened (files: position in the stream)


class CameraSource:
    name: str = "camera"
    fps: float = 30.0

    def open(self) -> None:
        raise NotImplementedError

    def read(self) -> Frame | None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> CameraSource:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __iter__(self):
        while (frame := self.read()) is not None:
            yield frame


class WebcamSource(CameraSource):
    def __init__(self, index: int = 0, width: int = 640, height: int = 480) -> None:
        self.index, self.width, self.height = index, width, height
        self.name = f"webcam:{index}"
        self._cap: cv2.VideoCapture | None = None
        self._n = 0
        self._t0 = 0.0

    def open(self) -> None:
        if sys.platform.startswith("linux") and not Path(f"/dev/video{self.index}").exists():
            raise CaptureError(E_CAMERA_UNAVAILABLE, index=self.index)
        cap = cv2.VideoCapture(self.index)
        if not cap.isOpened():
            cap.release()
            raise CaptureError(E_CAMERA_UNAVAILABLE, index=self.index)
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        self.fps = float(cap.get(cv2.CAP_PROP_FPS) or 30.0)
        self._cap, self._n, self._t0 = cap, 0, time.monotonic()

    def read(self) -> Frame | None:
        if self._cap is None:
            self.open()
        ok, image = self._cap.read()
        if not ok or image is None:
            raise CaptureError(E_CAMERA_UNAVAILABLE, index=self.index, reason="no frame (unplugged?)")
        frame = Frame(image, self._n, time.monotonic() - self._t0)
        self._n += 1
        return frame

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class VideoFileSource(CameraSource):
    """A video file played as a camera; ``realtime`` paces reads at the file's frame rate."""

    def __init__(self, path: str | Path, *, loop: bool = False, realtime: bool = False) -> None:
        self.path = Path(path)
        self.loop, self.realtime = loop, realtime
        self.name = self.path.name
        self._cap: cv2.VideoCapture | None = None
        self._n = 0
        self._pos = 0
        self._t0 = 0.0

    def open(self) -> None:
        if not self.path.is_file():
            raise CaptureError(E_SOURCE_NOT_FOUND, path=str(self.path))
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            cap.release()
            raise CaptureError(E_SOURCE_UNREADABLE, path=str(self.path))
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and fps > 0 else 30.0
        self._cap, self._n, self._pos, self._t0 = cap, 0, 0, time.monotonic()

    def read(self) -> Frame | None:
        if self._cap is None:
            self.open()
        ok, image = self._cap.read()
        if not ok and self.loop and self._pos > 0:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            self._pos = 0
            ok, image = self._cap.read()
        if not ok or image is None:
            return None
        if self.realtime:
            due = self._t0 + self._n / self.fps
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        frame = Frame(np.ascontiguousarray(image), self._n, self._pos / self.fps)
        self._n += 1
        self._pos += 1
        return frame

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class ImageFolderSource(CameraSource):
    """Every image in a folder (sorted by name) as a frame; unreadable files are skipped."""

    def __init__(self, path: str | Path, *, loop: bool = False, fps: float = 5.0) -> None:
        self.path = Path(path)
        self.loop = loop
        self.fps = fps
        self.name = self.path.name
        self._files: list[Path] | None = None
        self._i = 0
        self._n = 0

    def open(self) -> None:
        if not self.path.is_dir():
            raise CaptureError(E_SOURCE_NOT_FOUND, path=str(self.path))
        self._files = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        self._i = self._n = 0

    def read(self) -> Frame | None:
        if self._files is None:
            self.open()
        tried = 0
        while self._files and tried < len(self._files):
            if self._i >= len(self._files):
                if not self.loop:
                    return None
                self._i = 0
            path = self._files[self._i]
            self._i += 1
            tried += 1
            try:
                image = load_image(path)
            except CaptureError as e:
                log.warning("skipping unreadable image in folder source: %s", e.code)
                continue
            frame = Frame(image, self._n, self._n / self.fps)
            self._n += 1
            return frame
        return None

    def close(self) -> None:
        self._files = None


def open_source(spec: str) -> CameraSource:
    """``"0"`` / ``"webcam:0"`` a webcam, a folder an image folder, a file a video (not opened yet)."""
    s = str(spec).strip()
    if s.isdigit():
        return WebcamSource(int(s))
    if s.startswith("webcam:") and s[7:].isdigit():
        return WebcamSource(int(s[7:]))
    p = Path(s)
    if p.is_dir():
        return ImageFolderSource(p)
    if p.is_file():
        return VideoFileSource(p)
    raise CaptureError(E_SOURCE_NOT_FOUND, path=s)
