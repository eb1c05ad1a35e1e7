"""Shared fixtures for capture tests: the shared face images (read-only) and ONE FaceEngine per session."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from capture.faces import FaceEngine
from capture.images import load_image
from tests.facekit import FACES


def face_file(name: str) -> Path:
    path = FACES / name
    assert path.exists(), f"shared face data missing: {path}"
    return path


@pytest.fixture(scope="session")
def engine() -> FaceEngine:
    return FaceEngine().load()


@pytest.fixture(scope="session")
def obama() -> np.ndarray:
    return load_image(face_file("obama.jpg"))


@pytest.fixture(scope="session")
def obama_on_white(engine, obama) -> np.ndarray:
    """obama.jpg with everything around the head painted white: a photo taken against a white sheet."""
    from capture.facemesh import landmarks
    from capture.quality import head_box

    face = engine.detect(obama)[0]
    lm = landmarks(obama, face)
    hl, ht, hr, hb = head_box(face, lm)
    h, w = obama.shape[:2]
    yy, xx = np.ogrid[0:h, 0:w]
    cx, cy, rx, ry = (hl + hr) / 2, (ht + hb) / 2, (hr - hl) * 0.56, (hb - ht) * 0.56
    outside = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 > 1.0
    background = outside & (yy < hb + 0.15 * (hb - ht))
    out = obama.copy()
    out[background] = (250, 250, 250)
    return out


def write_jpeg(path: Path, image: np.ndarray) -> Path:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    path.write_bytes(buf.tobytes())
    return path
