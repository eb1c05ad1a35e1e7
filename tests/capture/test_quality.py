"""Quality checks on real photos made worse: each failure is named, and all of them at once."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from capture.errors import CaptureError
from capture.pipeline import analyse_frame, process_photo
from capture.quality import GUIDANCE_PRIORITY, QualityLimits, assess, guidance
from tests.capture.conftest import face_file


def test_default_limits_file_matches_the_code_defaults():
    """resources/capture/quality.json loads and holds the same defaults as QualityLimits()."""
    assert QualityLimits.load() == QualityLimits()


def test_unknown_limit_is_refused(tmp_path):
    """A misspelt limit in a limits file is an error, not silently ignored."""
    path = tmp_path / "q.json"
    path.write_text(json.dumps({"yaw_maxx": 5}))
    with pytest.raises(CaptureError) as info:
        QualityLimits.load(path)
    assert (info.value.code, info.value.data["unknown"]) == ("settings.invalid", ["yaw_maxx"])


def test_good_photo_passes_everything_but_the_background(engine, obama):
    """obama.jpg passes every check except the white background (it was shot in an office)."""
    report = assess(obama, engine)
    assert report.failed == ["background.not_plain"]
    assert report.face is not None and report.landmarks.shape == (468, 3)


def test_white_background_passes(engine, obama_on_white):
    """The same photo with the surroundings of the head painted white passes every card check."""
    report = assess(obama_on_white, engine)
    assert report.ok, report.to_dict()


def test_dark_photo_is_too_dark(engine, obama_on_white):
    """A photo darkened to 30 % fails image.too_dark."""
    report = assess((obama_on_white * 0.3).astype(np.uint8), engine)
    assert "image.too_dark" in report.failed


def test_overexposed_photo_is_too_bright(engine, obama_on_white):
    """A washed-out photo (x1.8 + 60) fails image.too_bright."""
    bright = np.clip(obama_on_white.astype(np.float32) * 1.8 + 60, 0, 255).astype(np.uint8)
    assert "image.too_bright" in assess(bright, engine).failed


def test_blurred_photo_is_blurry(engine, obama_on_white):
    """A Gaussian blur (sigma 5) fails image.blurry."""
    report = assess(cv2.GaussianBlur(obama_on_white, (0, 0), 5), engine)
    assert "image.blurry" in report.failed


def test_small_face_is_too_small(engine, obama_on_white):
    """The photo shrunk so the face is ~90 px wide on a white canvas fails face.too_small."""
    small = cv2.resize(obama_on_white, None, fx=0.38, fy=0.38, interpolation=cv2.INTER_AREA)
    canvas = np.full((800, 800, 3), 250, dtype=np.uint8)
    canvas[100:100 + small.shape[0], 200:200 + small.shape[1]] = small
    report = assess(canvas, engine)
    assert report.failed == ["face.too_small"]


def test_turned_head_fails_yaw(engine):
    """obama2.jpg (head turned) fails pose.yaw."""
    from capture.images import load_image

    assert "pose.yaw" in assess(load_image(face_file("obama2.jpg")), engine).failed


def test_rolled_head_fails_roll(engine, obama_on_white):
    """The photo rotated by 20 degrees fails pose.roll (and only the rotation-related checks)."""
    h, w = obama_on_white.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 3), 20, 1.0)
    rotated = cv2.warpAffine(obama_on_white, m, (w, h), borderValue=(250, 250, 250))
    report = assess(rotated, engine)
    assert "pose.roll" in report.failed and abs(report.value("pose.roll")) > 15


def test_every_failure_is_listed_at_once(engine, obama):
    """A dark, blurred office photo lists too_dark, blurry and background together, and quality.failed
    (white-sheet mode, where the photo's own background is checked) carries them all."""
    bad = cv2.GaussianBlur((obama * 0.3).astype(np.uint8), (0, 0), 5)
    report = assess(bad, engine)
    assert {"image.too_dark", "image.blurry", "background.not_plain"} <= set(report.failed)
    with pytest.raises(CaptureError) as e:
        process_photo(bad, engine, background="as_shot")
    assert e.value.code == "quality.failed" and set(report.failed) == set(e.value.data["failed"])


def test_guidance_is_one_code_by_priority(engine):
    """guidance() names face.multiple for a group, face.none for dogs and None for a passing photo."""
    from capture.images import load_image

    assert guidance(assess(load_image(face_file("2008_001322.jpg")), engine)) == "face.multiple"
    assert guidance(assess(load_image(face_file("dogs.jpg")), engine)) == "face.none"
    assert GUIDANCE_PRIORITY[:2] == ("face.multiple", "face.none")


def test_preview_frame_skips_background_and_guides(engine, obama):
    """A 640x480 preview frame is analysed on a downscaled detection, without the background check."""
    frame = cv2.resize(obama[:683], (640, 480), interpolation=cv2.INTER_AREA)   # 4:3 crop around the face
    result = analyse_frame(frame, engine)
    codes = [c.code for c in result.report.checks]
    assert "background.not_plain" not in codes and result.report.face is not None
    assert result.template is None
