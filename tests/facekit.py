"""Face photos for the enrollment/desktop/sync tests, made from the shared images (read-only, never copied
into the repository), and the one FaceEngine a test process loads.

Every shared photo is a press photo: its background fails the card photo's "plain white background"
check, as it should. A card photo is shot against a white sheet, so ``studio_photo`` plays that sheet:
everything outside the head and shoulders is painted white, the face itself is untouched.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import cv2
import numpy as np


def _faces_dir() -> Path:
    """$YK_FACES_DIR, else ../shared/data/faces beside the checkout, else /work/shared/data/faces (the
    project's build machine): the defaults the README's Tests section documents.

    The data is required, not optional: a missing folder fails the tests that need it (a skip
    would let a clone without the data pass with nothing checked).
    """
    candidates = [os.environ.get("YK_FACES_DIR"),
                  Path(__file__).resolve().parents[1].parent / "shared" / "data" / "faces",
                  "/work/shared/data/faces"]
    for c in candidates:
        if c and (Path(c) / "SOURCES.md").is_file():
            return Path(c)
    raise RuntimeError("shared face data not found: set YK_FACES_DIR to the folder with SOURCES.md")


FACES = _faces_dir()
CLIP = FACES / "hamilton_clip.mp4"
# Photos of one person (distance <= 0.6 between any two) whose studio versions pass every card check.
OBAMA_STUDIO = ("obama.jpg", "obama3.jpg", "obama_480p.jpg")


@functools.cache
def engine():
    """One FaceEngine per test process (models load once)."""
    from capture.faces import FaceEngine

    return FaceEngine().load()


def studio_photo(name: str, max_side: int = 900) -> np.ndarray:
    """The shared photo ``name`` with a white background around the head and shoulders (BGR)."""
    from capture.images import load_image

    image = load_image(FACES / name)
    h, w = image.shape[:2]
    s = min(1.0, max_side / max(h, w))
    if s < 1:
        image = cv2.resize(image, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    box = engine().detect(image, upsample=1)[0]
    cx, cy = (box.left + box.right) / 2, (box.top + box.bottom) / 2
    bw, bh = box.right - box.left, box.bottom - box.top
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.ellipse(mask, (int(cx), int(cy - 0.15 * bh)), (int(0.75 * bw), int(1.05 * bh)), 0, 0, 360, 255, -1)
    cv2.rectangle(mask, (int(cx - 0.45 * bw), int(cy)), (int(cx + 0.45 * bw), image.shape[0]), 255, -1)
    out = image.copy()
    out[mask == 0] = 255
    return out


def write_studio_photo(name: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), studio_photo(name), [cv2.IMWRITE_JPEG_QUALITY, 92]), path
    return path
