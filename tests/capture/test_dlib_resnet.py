"""capture.dlib_resnet: dlib's ResNet with dlib's weights evaluated in NumPy, checked against dlib's own evaluation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import capture.faces as faces
from capture.dlib_resnet import DlibResNet, ModelFormatError
from capture.faces import DEFAULT_THRESHOLD, FaceEngine, models_dir
from capture.images import load_image
from tests.capture.conftest import FACES

NET_FILE = "dlib_face_recognition_resnet_model_v1.dat"


@pytest.fixture(scope="module")
def chips(engine) -> dict[str, np.ndarray]:
    """Every face HOG finds in the shared photos (the 150 x 150 'johns' crops with one upsample)."""
    out = {}
    files = sorted(FACES.glob("*.jpg")) + sorted((FACES / "johns").glob("*/*.jpg"))
    for f in files:
        image = load_image(f)
        for i, box in enumerate(engine.detect(image, upsample=1 if "johns" in f.parts else 0)):
            out[f"{f.name}#{i}"] = engine.chip(image, box)
    assert len(out) >= 30, f"shared face data incomplete under {FACES}"
    return out


@pytest.fixture(scope="module")
def both(chips) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(names, dlib's descriptors, NumPy's descriptors) for the same chips."""
    import dlib

    reference = dlib.face_recognition_model_v1(str(models_dir() / NET_FILE))
    ours = DlibResNet(models_dir() / NET_FILE)
    names = sorted(chips)
    a = np.array([np.asarray(reference.compute_face_descriptor(chips[n]), dtype=np.float32) for n in names])
    b = np.array([ours.descriptor(chips[n]) for n in names])
    return names, a, b


def test_descriptors_equal_dlibs_within_1e_4(both):
    """On every face in the shared photos each of the 128 components is within 1e-4 of dlib's descriptor."""
    names, a, b = both
    worst = np.abs(a - b).max(axis=1)
    assert worst.max() <= 1e-4, names[int(worst.argmax())]


def test_match_decisions_identical(both):
    """Every pair of faces gets the same decision (distance <= 0.6) from NumPy's descriptors as from dlib's."""
    names, a, b = both
    for i, j in itertools.combinations(range(len(names)), 2):
        da, db = np.linalg.norm(a[i] - a[j]), np.linalg.norm(b[i] - b[j])
        assert (da <= DEFAULT_THRESHOLD) == (db <= DEFAULT_THRESHOLD), (names[i], names[j], da, db)
        assert abs(da - db) <= 1e-4


def test_engine_descriptor_is_the_numpy_evaluation(engine, chips):
    """FaceEngine uses the NumPy evaluation when the model file parses; its output is 128 float32 values."""
    assert engine._resnet is not None
    chip = chips["obama.jpg#0"]
    vec = engine.chip_descriptor(chip)
    assert vec.shape == (128,) and vec.dtype == np.float32
    np.testing.assert_array_equal(vec, engine._resnet.descriptor(chip))


def test_engine_falls_back_to_dlib_when_the_parse_fails(monkeypatch, both, chips):
    """Without the NumPy network (parse failure) the engine loads dlib's and returns dlib's descriptors."""
    monkeypatch.setattr(faces, "_numpy_resnet", lambda path: None)
    fallback = FaceEngine(use_68=False).load()
    assert fallback._resnet is None and fallback._net is not None
    names, a, _ = both
    i = names.index("obama.jpg#0")
    np.testing.assert_array_equal(fallback.chip_descriptor(chips[names[i]]), a[i])


def test_unreadable_model_file_is_refused(tmp_path):
    """A truncated or foreign file raises ModelFormatError (or an OSError/ValueError) and the engine helper gives None."""
    data = (models_dir() / NET_FILE).read_bytes()
    truncated = tmp_path / "truncated.dat"
    truncated.write_bytes(data[:100_000])
    foreign = tmp_path / "foreign.dat"
    foreign.write_bytes(b"\x01\x01\x01\x07not_net" + bytes(1000))
    for path in (truncated, foreign):
        with pytest.raises((ModelFormatError, ValueError, IndexError)):
            DlibResNet(path)
        assert faces._numpy_resnet(path) is None


def test_chip_shape_is_checked():
    """Only a 150 x 150 x 3 chip is accepted."""
    net = DlibResNet(models_dir() / NET_FILE)
    with pytest.raises(ValueError):
        net.descriptor(np.zeros((100, 100, 3), dtype=np.uint8))
