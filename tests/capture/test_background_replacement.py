"""Card photos from photos taken anywhere: the person segmented onto the standard white, on real photos."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

from capture import segmentation
from capture.card_photo import CardPhotoSpec, compose
from capture.errors import CaptureError
from capture.faces import DEFAULT_THRESHOLD, face_distance
from capture.images import jfif_density, load_image, sniff_header
from capture.pipeline import AS_SHOT, REPLACE, process_photo
from capture.quality import QualityLimits, card_border_white_fraction
from tests.capture.conftest import face_file

# The shared photos that are frontal and show the whole head with room below the chin (the README's
# count lists the others and why they are refused).
FRONTAL = ["obama.jpg", "obama3.jpg", "obama_480p.jpg", "biden2.jpg"]


@pytest.fixture(scope="module")
def results(engine):
    return {name: process_photo(load_image(face_file(name)), engine) for name in FRONTAL}


def _card(result) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(result.card_photo.jpeg, np.uint8), cv2.IMREAD_COLOR)


@pytest.mark.parametrize("name", FRONTAL)
def test_home_photo_gives_a_standard_card_photo(results, name):
    """An office/home photo gives a 358x441, 24-bit, 350 dpi JPEG inside the 9-20 KB window, made by replacement."""
    result = results[name]
    spec = CardPhotoSpec()
    header = sniff_header(result.card_photo.jpeg)
    assert (header.width, header.height, header.channels, header.bits) == (358, 441, 3, 8)
    assert jfif_density(result.card_photo.jpeg) == (1, 350, 350)
    assert spec.min_bytes <= result.card_photo.size <= spec.max_bytes
    assert result.background == REPLACE and result.report.ok


@pytest.mark.parametrize("name", FRONTAL)
def test_card_photo_border_is_white(results, name):
    """The card's top rows and side columns down to the chin are near-white (luma >= 190, low saturation) in the decoded file,
    and background.not_plain in the report is that measure, not the room's."""
    card = _card(results[name])
    limits = QualityLimits()
    top = card[:6].reshape(-1, 3)
    sides = np.concatenate([card[:250, :6].reshape(-1, 3), card[:250, -6:].reshape(-1, 3)])
    for strip in (top, sides):
        grey = cv2.cvtColor(strip[None].astype(np.uint8), cv2.COLOR_BGR2GRAY)[0]
        assert (grey >= limits.background_white_luma).mean() >= 0.95
    check = next(c for c in results[name].report.checks if c.code == "background.not_plain")
    assert check.passed and check.value >= 0.95


@pytest.mark.parametrize("name", FRONTAL)
def test_face_is_centred_at_the_standard_size(engine, results, name):
    """Re-detected on the card, the one face is centred (within 6 % of the width), about the standard head's size, in the upper half."""
    card = _card(results[name])
    boxes = engine.detect(card)
    assert len(boxes) == 1
    face = boxes[0]
    assert abs(face.center[0] - 358 / 2) <= 0.06 * 358
    # HOG's box is ~0.8 of the whole head (207 px): 150-200 px
    assert 150 <= face.width <= 200
    assert 40 < face.top and face.center[1] < 441 / 2 + 20


def test_obama_card_still_matches_obama_and_not_biden(engine, results):
    """The descriptor of obama.jpg's card photo is within the threshold of other Obama photos and beyond it from Biden's."""
    card = _card(results["obama.jpg"])
    mine = engine.template(card, engine.detect(card)[0])

    def template(name: str):
        image = load_image(face_file(name))
        return engine.template(image, engine.detect(image)[0])

    for other in ("obama3.jpg", "obama_480p.jpg"):
        assert face_distance(mine, template(other)) < DEFAULT_THRESHOLD, other
    for other in ("biden.jpg", "biden2.jpg"):
        assert face_distance(mine, template(other)) > DEFAULT_THRESHOLD, other
    # and the card photo's face is the original's (the replacement did not change the face)
    assert face_distance(mine, results["obama.jpg"].template) < 0.2


def test_mask_edge_is_soft():
    """Around the person the alpha ramps: many pixels lie strictly between person and white, each
    composed between its original value and white (a cut-out would have none)."""
    image = load_image(face_file("obama.jpg"))
    rep = segmentation.replace_background(image)
    alpha = rep.alpha
    person = alpha >= 0.98
    assert 0.2 < person.mean() < 0.9
    ramp = (alpha > 0.05) & (alpha < 0.95)
    contour = cv2.findContours(person.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)[0]
    perimeter = sum(len(c) for c in contour)
    assert ramp.sum() >= 2 * perimeter     # a band a few pixels wide all along the edge
    out = rep.image[ramp].astype(int)
    assert ((out < 255).any(axis=1)).mean() > 0.9      # not white
    grey_in = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)[ramp].astype(int)
    grey_out = cv2.cvtColor(rep.image, cv2.COLOR_BGR2GRAY)[ramp].astype(int)
    assert (grey_out >= grey_in - 8).mean() > 0.9      # lightened toward white, not darkened
    assert (rep.image[alpha == 0] == 255).all()        # the room is gone


def test_fallback_keeps_the_old_background_check(engine, obama, obama_on_white):
    """「白布背景拍摄（不替换背景）」: an office photo is refused on background.not_plain exactly as before, a white sheet passes unchanged."""
    with pytest.raises(CaptureError) as e:
        process_photo(obama, engine, background=AS_SHOT)
    assert e.value.code == "quality.failed" and e.value.data["failed"] == ["background.not_plain"]
    result = process_photo(obama_on_white, engine, background=AS_SHOT)
    assert result.background == AS_SHOT and result.report.ok
    # the as-shot card is composed from the photo as taken, as before (no replacement)
    assert result.card_photo.jpeg == compose(obama_on_white, result.report.face, result.report.landmarks).jpeg


def test_result_border_that_is_not_white_fails():
    """The result's border measure is low for a card whose sides are a room's colour (what a failed segmentation would leave)."""
    card = np.full((441, 358, 3), 255, np.uint8)
    card[:, :40] = (90, 120, 160)
    card[:, -40:] = (90, 120, 160)
    assert card_border_white_fraction(card, 300, QualityLimits()) < QualityLimits().background_min_white
    assert card_border_white_fraction(np.full((441, 358, 3), 255, np.uint8), 300, QualityLimits()) == 1.0


def test_face_lost_by_the_segmentation_is_refused_not_a_blank_card(engine, obama, monkeypatch):
    """When the segmentation finds no person (a blank white card would have a white border) the photo fails
    background.not_plain with value 0 instead of giving a card photo without a face."""
    monkeypatch.setattr(segmentation, "person_probability", lambda image: np.zeros(image.shape[:2], np.float32))
    with pytest.raises(CaptureError) as e:
        process_photo(obama, engine)
    assert e.value.data["failed"] == ["background.not_plain"] and e.value.data["values"]["background.not_plain"] == 0


def test_unknown_background_mode_is_refused(engine, obama):
    """A background mode other than replace / as_shot is a programming error (ValueError), not a silent default."""
    with pytest.raises(ValueError):
        process_photo(obama, engine, background="keep")


def test_missing_model_is_model_unavailable_never_a_download(tmp_path, monkeypatch):
    """Without the shipped model file the segmentation raises model.unavailable naming it (nothing is fetched)."""
    monkeypatch.setattr(segmentation, "MODELS_DIR", tmp_path)
    monkeypatch.setattr(segmentation, "_net", None)
    with pytest.raises(CaptureError) as e:
        segmentation.person_probability(np.zeros((64, 64, 3), np.uint8))
    assert e.value.code == "model.unavailable" and e.value.data["missing"] == ["selfie_segmentation.tflite"]
    assert list(tmp_path.iterdir()) == []


def test_model_is_loaded_once_and_safe_across_threads(monkeypatch):
    """Four threads segmenting at once load the net once and get the same mask as one thread alone."""
    monkeypatch.setattr(segmentation, "_net", None)
    loads = []
    real = cv2.dnn.readNetFromTFLite
    monkeypatch.setattr(cv2.dnn, "readNetFromTFLite", lambda path: loads.append(path) or real(path))
    image = cv2.resize(load_image(face_file("obama_480p.jpg")), (320, 180))
    out: list[np.ndarray] = []
    threads = [threading.Thread(target=lambda: out.append(segmentation.person_probability(image)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(loads) == 1 and len(out) == 4
    alone = segmentation.person_probability(image)
    assert all(np.allclose(m, alone, atol=1e-5) for m in out)
