"""Where the shipped models live (face mesh, anti-spoofing) and how each is loaded: once per process,
lazily, under a lock. The quality checks (``capture.facemesh``) and the liveness engine share them.

The files are shipped in ``resources/models/`` (origin, sha256 and licence in its SOURCES.md).
``cv2.dnn`` nets keep per-call buffers, so each net is used by one caller at a time (its lock).
"""

from __future__ import annotations

import threading
from pathlib import Path

import cv2

from .errors import E_MODEL_UNAVAILABLE, CaptureError

MODELS_DIR = Path(__file__).resolve().parents[1] / "resources" / "models"
FACE_MESH = "face_landmark.tflite"
MINIFASNET_V2 = "MiniFASNetV2.onnx"
MINIFASNET_V1SE = "MiniFASNetV1SE.onnx"

_lock = threading.Lock()
_nets: dict[str, tuple[cv2.dnn.Net, threading.Lock]] = {}


def model_path(name: str) -> Path:
    path = MODELS_DIR / name
    if not path.is_file():
        raise CaptureError(E_MODEL_UNAVAILABLE, missing=[name])
    return path


def net(name: str) -> tuple[cv2.dnn.Net, threading.Lock]:
    """The loaded net for the file ``name`` and the lock its callers hold while running it."""
    found = _nets.get(name)
    if found is not None:
        return found
    with _lock:
        if name not in _nets:
            path = model_path(name)
            loaded = (cv2.dnn.readNetFromTFLite(str(path)) if name.endswith(".tflite")
                      else cv2.dnn.readNetFromONNX(str(path)))
            _nets[name] = (loaded, threading.Lock())
    return _nets[name]
