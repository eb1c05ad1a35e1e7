"""Face engine on dlib's models as shipped in ``face_recognition_models`` (through ``dlib-bin``).

Keeps the ``face_recognition`` package's behaviour: the HOG frontal-face detector, 5-point
landmarks for the 128-d descriptor (ResNet v1, 150 x 150 chip, padding 0.25, no jitter),
Euclidean distance with 0.6 as the match threshold. Eyes, pose and the head box come from
MediaPipe's face mesh (``capture.facemesh``), not from dlib's 68 points.

The descriptor network is dlib's ResNet with dlib's weights, evaluated by ``capture.dlib_resnet``
on NumPy's BLAS (dlib-bin is built without BLAS: ~15 ms a chip instead of ~110-150 ms on 2 cores when
they are not busy with other work); it agrees with dlib's own evaluation to < 1e-6 per component on
the shared photos. If the model file cannot be read that way, dlib's evaluation is used.

The model files are located WITHOUT importing ``face_recognition_models`` (its ``__init__``
imports ``pkg_resources``, which current setuptools no longer ships). They load lazily, once,
under a lock; call ``FaceEngine.load()`` from a worker thread to keep a UI responsive. dlib itself
comes from ``capture.native``, which makes its first use safe on any thread (a QThread included).

The 68-point model (iBUG 300-W training data) excludes commercial use, so it is an optional extra:
not loaded unless ``FaceEngine(use_68=True)`` asks for it (then ``landmarks68`` works, for comparisons
such as ``bench``); no default path calls it, and its file may be absent.
Images are BGR uint8 (as from ``capture.images``): the HOG detector and the shape predictors are
symmetric in channel order, so only the 150 x 150 descriptor chip is flipped to RGB.
"""

from __future__ import annotations

import importlib.util
import struct
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import native
from .errors import E_MODEL_UNAVAILABLE, E_TEMPLATE_INVALID, CaptureError

MODEL_NAME = "dlib_face_recognition_resnet_model_v1"
MODEL_VERSION = "1"
DEFAULT_THRESHOLD = 0.6
DESCRIPTOR_DIM = 128

_FILES = {
    "sp5": "shape_predictor_5_face_landmarks.dat",
    "sp68": "shape_predictor_68_face_landmarks.dat",
    "net": "dlib_face_recognition_resnet_model_v1.dat",
}


def models_dir() -> Path:
    """The ``models`` folder of the installed ``face_recognition_models`` (not imported).

    A frozen build (installer/yikatong.spec) carries the folder as data at the same relative place,
    without the package itself (nothing imports it), so it is found under the bundle's own folder."""
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        return Path(bundle) / "face_recognition_models" / "models"
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise CaptureError(E_MODEL_UNAVAILABLE, reason="face_recognition_models is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def _numpy_resnet(path: Path):
    """``capture.dlib_resnet.DlibResNet`` on the model file, or None when it cannot be read that way."""
    from .dlib_resnet import DlibResNet, ModelFormatError

    try:
        return DlibResNet(path)
    except (ModelFormatError, OSError, ValueError, IndexError):
        return None


@dataclass(frozen=True)
class FaceBox:
    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def center(self) -> tuple[float, float]:
        return ((self.left + self.right) / 2.0, (self.top + self.bottom) / 2.0)

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)

    def scaled(self, factor: float) -> FaceBox:
        return FaceBox(round(self.left * factor), round(self.top * factor),
                       round(self.right * factor), round(self.bottom * factor))

    def clipped(self, width: int, height: int) -> FaceBox:
        return FaceBox(max(0, self.left), max(0, self.top), min(width, self.right), min(height, self.bottom))

    def to_dict(self) -> dict[str, int]:
        return {"left": self.left, "top": self.top, "right": self.right, "bottom": self.bottom}


class FaceEngine:
    """Detector, landmark predictors and descriptor network; thread-safe, loaded once on first use."""

    def __init__(self, models: Path | None = None, *, use_68: bool = False) -> None:
        self._dir = Path(models) if models else None
        self.use_68 = use_68
        self._lock = threading.Lock()        # loading
        self._net_lock = threading.Lock()    # the DNN keeps per-call buffers: one caller at a time
        self._loaded = False
        self._detector = self._sp5 = self._sp68 = self._net = None
        self._resnet = None                  # the same network in NumPy (capture.dlib_resnet)

    def load(self) -> FaceEngine:
        if self._loaded:
            return self
        with self._lock:
            if self._loaded:
                return self
            dlib = native.dlib()    # imported safely for every thread (capture/native.py)
            folder = self._dir or models_dir()
            paths = {k: folder / f for k, f in _FILES.items()}
            needed = ["sp5", "net"] + (["sp68"] if self.use_68 else [])
            missing = [paths[k].name for k in needed if not paths[k].is_file()]
            if missing:
                raise CaptureError(E_MODEL_UNAVAILABLE, missing=missing)
            self._detector = dlib.get_frontal_face_detector()
            self._sp5 = dlib.shape_predictor(str(paths["sp5"]))
            self._sp68 = dlib.shape_predictor(str(paths["sp68"])) if self.use_68 else None
            self._resnet = _numpy_resnet(paths["net"])
            if self._resnet is None:                    # dlib's own (no BLAS in dlib-bin: slower)
                self._net = dlib.face_recognition_model_v1(str(paths["net"]))
            self._loaded = True
        return self

    @property
    def loaded(self) -> bool:
        return self._loaded

    # -- detection -------------------------------------------------------------------------
    def detect(self, image: np.ndarray, *, upsample: int = 0, max_side: int | None = None) -> list[FaceBox]:
        """HOG face boxes in ``image`` coordinates, largest first; ``max_side`` detects on a downscaled copy."""
        self.load()
        import cv2

        scale = 1.0
        work = image
        h, w = image.shape[:2]
        if max_side and max(h, w) > max_side:
            scale = max_side / float(max(h, w))
            work = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                              interpolation=cv2.INTER_AREA)
        rects = self._detector(np.ascontiguousarray(work), upsample)
        boxes = [FaceBox(r.left(), r.top(), r.right(), r.bottom()) for r in rects]
        if scale != 1.0:
            boxes = [b.scaled(1.0 / scale) for b in boxes]
        return sorted(boxes, key=lambda b: b.area, reverse=True)

    # -- landmarks -------------------------------------------------------------------------
    def _shape(self, predictor, image: np.ndarray, box: FaceBox):
        dlib = native.dlib()
        return predictor(np.ascontiguousarray(image), dlib.rectangle(box.left, box.top, box.right, box.bottom))

    @staticmethod
    def _points(shape) -> np.ndarray:
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)

    def landmarks5(self, image: np.ndarray, box: FaceBox) -> np.ndarray:
        self.load()
        return self._points(self._shape(self._sp5, image, box))

    def landmarks68(self, image: np.ndarray, box: FaceBox) -> np.ndarray:
        self.load()
        if self._sp68 is None:
            raise CaptureError(E_MODEL_UNAVAILABLE, missing=[_FILES["sp68"]])
        return self._points(self._shape(self._sp68, image, box))

    # -- descriptor ------------------------------------------------------------------------
    def descriptor(self, image: np.ndarray, box: FaceBox) -> np.ndarray:
        """The 128-d descriptor: 5-point alignment to a 150 x 150 chip (padding 0.25), no jitter."""
        return self.chip_descriptor(self.chip(image, box))

    def chip(self, image: np.ndarray, box: FaceBox) -> np.ndarray:
        """The aligned 150 x 150 RGB chip the descriptor is computed on."""
        self.load()
        dlib = native.dlib()
        shape = self._shape(self._sp5, image, box)
        chip = dlib.get_face_chip(np.ascontiguousarray(image), shape, size=150, padding=0.25)
        return np.ascontiguousarray(chip[:, :, ::-1])       # BGR -> RGB, as the network was trained

    def chip_descriptor(self, chip: np.ndarray) -> np.ndarray:
        """The descriptor of an aligned 150 x 150 RGB chip: NumPy's evaluation of the net, else dlib's."""
        self.load()
        with self._net_lock:
            if self._resnet is not None:
                return self._resnet.descriptor(chip)
            vec = self._net.compute_face_descriptor(chip)
        return np.asarray(vec, dtype=np.float32)

    def template(self, image: np.ndarray, box: FaceBox) -> FaceTemplate:
        return FaceTemplate(self.descriptor(image, box))


# -- templates ----------------------------------------------------------------------------------
_MAGIC = b"YKFT"
_FORMAT = 1
_HEADER = struct.Struct("<4sH48s8sH")     # magic, format, model name, model version, dimension
TEMPLATE_BYTES = _HEADER.size + 4 * DESCRIPTOR_DIM   # 64 + 512
TEMPLATE_MEDIA_TYPE = "application/x-yikatong-face-template"


@dataclass(frozen=True, eq=False)
class FaceTemplate:
    """A 128-d descriptor with the model that made it; ``to_bytes`` is the stored, synced blob."""

    vector: np.ndarray
    model: str = MODEL_NAME
    version: str = MODEL_VERSION

    def __post_init__(self) -> None:
        v = np.asarray(self.vector, dtype=np.float32).reshape(-1)
        if v.shape != (DESCRIPTOR_DIM,) or not np.all(np.isfinite(v)):
            raise CaptureError(E_TEMPLATE_INVALID, reason="need 128 finite values")
        object.__setattr__(self, "vector", v)

    def to_bytes(self) -> bytes:
        head = _HEADER.pack(_MAGIC, _FORMAT, self.model.encode("ascii"), self.version.encode("ascii"),
                            DESCRIPTOR_DIM)
        return head + self.vector.astype("<f4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> FaceTemplate:
        if len(data) != TEMPLATE_BYTES:
            raise CaptureError(E_TEMPLATE_INVALID, reason="wrong length", length=len(data))
        magic, fmt, model, version, dim = _HEADER.unpack(data[:_HEADER.size])
        if magic != _MAGIC or fmt != _FORMAT or dim != DESCRIPTOR_DIM:
            raise CaptureError(E_TEMPLATE_INVALID, reason="not a face template of a known format")
        try:
            model_s = model.rstrip(b"\0").decode("ascii")
            version_s = version.rstrip(b"\0").decode("ascii")
        except UnicodeDecodeError as e:
            raise CaptureError(E_TEMPLATE_INVALID, reason="bad model name") from e
        vec = np.frombuffer(data, dtype="<f4", offset=_HEADER.size).astype(np.float32)
        return cls(vec, model_s, version_s)

    def compatible_with(self, other: FaceTemplate) -> bool:
        return (self.model, self.version) == (other.model, other.version)

    def distance(self, other: FaceTemplate) -> float:
        return face_distance(self.vector, other.vector)


def face_distance(a: np.ndarray | FaceTemplate, b: np.ndarray | FaceTemplate) -> float:
    """Euclidean distance between two descriptors (as ``face_recognition.face_distance``)."""
    va = a.vector if isinstance(a, FaceTemplate) else np.asarray(a, dtype=np.float32)
    vb = b.vector if isinstance(b, FaceTemplate) else np.asarray(b, dtype=np.float32)
    return float(np.linalg.norm(va.astype(np.float64) - vb.astype(np.float64)))
