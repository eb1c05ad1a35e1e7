"""The ``face_recognition`` side of bench_capture, run in its own venv (it is not a project dependency).

Usage: python fr_side.py FRAMES_DIR  -> JSON on stdout: per-frame seconds, face count, first encoding.
Only the standard library, numpy, Pillow and face_recognition are imported here.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import face_recognition
import numpy as np


def main() -> None:
    frames = sorted(Path(sys.argv[1]).glob("*.png"))
    images = [face_recognition.load_image_file(str(p)) for p in frames]     # RGB, decoding not timed
    face_recognition.face_encodings(images[0])                              # load models, warm up
    out = []
    for path, image in zip(frames, images, strict=True):
        t0 = time.perf_counter()
        locations = face_recognition.face_locations(image)                  # HOG, upsample 1 (default)
        encodings = face_recognition.face_encodings(image, locations)       # 5-point, no jitter
        dt = time.perf_counter() - t0
        first = None
        if encodings:
            # the largest face, as our pipeline takes it
            areas = [(bottom - top) * (right - left) for (top, right, bottom, left) in locations]
            first = np.asarray(encodings[int(np.argmax(areas))]).tolist()
        out.append({"frame": path.name, "seconds": dt, "faces": len(locations), "encoding": first})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
