"""The composed card photo: each property of the standard, on real photos."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from capture.card_photo import CardPhotoSpec, compose, encode_in_window
from capture.errors import CaptureError
from capture.facemesh import eye_level, face_width, landmarks
from capture.images import jfif_density, load_image, sniff_header
from capture.pipeline import process_photo
from tests.capture.conftest import face_file

PHOTOS = ["obama.jpg", "obama3.jpg", "biden2.jpg"]


@pytest.fixture(scope="module")
def cards(engine):
    out = {}
    for name in PHOTOS:
        image = load_image(face_file(name))
        face = engine.detect(image)[0]
        out[name] = compose(image, face, landmarks(image, face))
    return out


@pytest.fixture(scope="module")
def spec():
    return CardPhotoSpec.load()


def test_default_spec_file_matches_the_code_defaults():
    """resources/capture/card_photo_spec.json loads with 358x441, 350 dpi and a 9-20 KB window."""
    spec = CardPhotoSpec.load()
    assert spec == CardPhotoSpec()
    assert (spec.width, spec.height, spec.dpi, spec.min_bytes, spec.max_bytes) == (358, 441, 350, 9216, 20480)


@pytest.mark.parametrize("name", PHOTOS)
def test_card_photo_is_358_by_441(cards, name):
    """The JPEG's frame header and its decoded raster are 358x441."""
    card = cards[name]
    header = sniff_header(card.jpeg)
    assert (header.width, header.height) == (358, 441)
    assert load_image(card.jpeg).shape[:2] == (441, 358)


@pytest.mark.parametrize("name", PHOTOS)
def test_card_photo_is_24_bit_colour(cards, name):
    """The JPEG has 3 components of 8 bits (24-bit colour), and is not grey."""
    header = sniff_header(cards[name].jpeg)
    assert (header.channels, header.bits) == (3, 8)
    decoded = cv2.imdecode(np.frombuffer(cards[name].jpeg, np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded.ndim == 3 and decoded.shape[2] == 3 and decoded.dtype == np.uint8
    assert not np.array_equal(decoded[:, :, 0], decoded[:, :, 2])


@pytest.mark.parametrize("name", PHOTOS)
def test_card_photo_is_350_dpi(cards, name):
    """The JFIF density read back from the file is 350 x 350 dots per inch."""
    assert jfif_density(cards[name].jpeg) == (1, 350, 350)


@pytest.mark.parametrize("name", PHOTOS)
def test_card_photo_fits_the_size_window(cards, spec, name):
    """The file is between 9 and 20 KB (the spec's window) at the highest quality that fits."""
    card = cards[name]
    assert spec.min_bytes <= len(card.jpeg) <= spec.max_bytes
    assert spec.quality_min <= card.quality <= spec.quality_max


@pytest.mark.parametrize("name", PHOTOS)
def test_card_photo_face_is_centred_at_the_standard_size(engine, cards, spec, name):
    """Re-detected in the output, the face is centred (within 4 % of the width) and its size and height match the spec's head geometry."""
    out = load_image(cards[name].jpeg)
    boxes = engine.detect(out)
    assert len(boxes) == 1
    face = boxes[0]
    lm = landmarks(out, face)
    left, right = face_width(lm)
    cx = (left + right) / 2
    assert abs(cx - spec.width / 2) <= 0.04 * spec.width
    assert abs(face.center[0] - spec.width / 2) <= 0.06 * spec.width
    # head width (face oval x 1.23, as composed) within the spec's tolerance, allowing for re-detection jitter
    assert abs((right - left) * 0.55 * 1.12 * 2 - spec.head_width_px) <= spec.head_width_tolerance_px + 6
    eye_y = eye_level(lm)
    assert spec.height - eye_y >= spec.eyes_min_from_bottom_px - 6
    assert face.top > 20 and face.bottom < spec.height


def test_size_window_is_configurable(engine, obama):
    """A 14-40 KB window (another region's limits) gives a file inside that window."""
    face = engine.detect(obama)[0]
    spec = CardPhotoSpec(min_bytes=14 * 1024, max_bytes=40 * 1024)
    card = compose(obama, face, landmarks(obama, face), spec)
    assert 14 * 1024 <= len(card.jpeg) <= 40 * 1024


def test_impossible_size_window_is_refused():
    """A window no JPEG quality can reach (a flat image can never be 9 KB) is card_photo.size_window."""
    with pytest.raises(CaptureError) as e:
        encode_in_window(np.full((441, 358, 3), 250, np.uint8), CardPhotoSpec())
    assert e.value.code == "card_photo.size_window"


def test_head_cut_off_is_out_of_frame(engine):
    """obama_partial_face.jpg (face cut by the left edge) is card_photo.head_out_of_frame."""
    image = load_image(face_file("obama_partial_face.jpg"))
    face = engine.detect(image)[0]
    with pytest.raises(CaptureError) as e:
        compose(image, face, landmarks(image, face))
    assert e.value.code == "card_photo.head_out_of_frame"


def test_process_photo_makes_card_and_template(engine, obama_on_white):
    """The pipeline on a white-background photo returns a card photo, a template and a passing report."""
    result = process_photo(obama_on_white, engine)
    assert result.report.ok and len(result.template.to_bytes()) == 576
    assert jfif_density(result.card_photo.jpeg) == (1, 350, 350)
    json.dumps(result.report.to_dict())
