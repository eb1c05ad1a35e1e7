"""The capture dialog's background choice: a home photo's card photo beside the original, and the white-sheet fallback."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest
from facekit import FACES, engine, write_studio_photo

from capture.pipeline import AS_SHOT as PIPELINE_AS_SHOT
from capture.pipeline import REPLACE as PIPELINE_REPLACE
from capture.sources import WebcamSource
from desktop.capture_dialog import AS_SHOT, REPLACE, CaptureDialog


@pytest.fixture
def face_engine():
    return engine()


def _dialog(qtbot, face_engine) -> CaptureDialog:
    """A dialog on a machine without a camera: photos come from files (the same path as a capture)."""
    dlg = CaptureDialog(source_factory=lambda: WebcamSource(9), engine=face_engine)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitUntil(lambda: dlg.camera_error is not None, timeout=10_000)
    return dlg


def test_dialog_modes_are_the_pipelines():
    """The dialog's two background modes are the pipeline's own values."""
    assert (REPLACE, AS_SHOT) == (PIPELINE_REPLACE, PIPELINE_AS_SHOT)


def test_home_photo_shows_original_and_replaced_side_by_side_and_falls_back(qtbot, face_engine, tmp_path, screens):
    """An office photo imported with the default choice reaches the review page with the original on the left and
    the card photo on white on the right; choosing 白布背景拍摄 re-runs it and refuses it (使用此照片 off, the reason shown);
    choosing replacement again brings the card photo back, and 使用此照片 hands over the replaced one."""
    dlg = _dialog(qtbot, face_engine)
    assert dlg.replace_choice.isChecked() and dlg.background == REPLACE
    assert dlg.sheet_choice.text() == "白布背景拍摄（不替换背景）"
    shutil.copyfile(FACES / "obama.jpg", tmp_path / "home.jpg")
    dlg.import_file(str(tmp_path / "home.jpg"))
    qtbot.waitUntil(lambda: dlg.pages.currentIndex() == 1, timeout=60_000)

    result = dlg.result_capture()
    assert result.background == REPLACE
    assert dlg.source_view.pixmap() is not None and not dlg.source_view.pixmap().isNull()
    assert dlg.card_view.pixmap().width() == 358 and dlg.card_title.text().startswith("替换背景后的证件照")
    shown = dlg.card_view.pixmap().toImage()
    assert shown.pixelColor(3, 3).lightness() >= 250 and shown.pixelColor(354, 100).lightness() >= 250
    # the original on the left is the office (not white) in the same spot
    card = cv2.imdecode(np.frombuffer(result.card_photo.jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert card[:6].min() >= 200
    assert dlg.accept_button.isEnabled()
    screens(dlg, "capture_background_replacement")

    with qtbot.waitSignal(dlg.redone, timeout=60_000):
        dlg.sheet_choice.click()
    assert dlg.background == AS_SHOT and dlg.result_capture() is None
    assert not dlg.accept_button.isEnabled()
    assert "请在白色背景前拍摄" in dlg.card_view.text()
    screens(dlg, "capture_background_white_sheet_refused")

    with qtbot.waitSignal(dlg.redone, timeout=60_000):
        dlg.replace_choice.click()
    assert dlg.accept_button.isEnabled() and dlg.result_capture().background == REPLACE
    accepted = []
    dlg.photo_accepted.connect(accepted.append)
    dlg.accept_button.click()
    assert accepted and accepted[0].background == REPLACE
    assert accepted[0].card_photo.jpeg == result.card_photo.jpeg


def test_white_sheet_chosen_first_keeps_the_photos_background(qtbot, face_engine, tmp_path):
    """With 白布背景拍摄 chosen before the photo, a photo shot against a white sheet is composed as taken (no replacement)."""
    dlg = _dialog(qtbot, face_engine)
    dlg.sheet_choice.click()
    assert dlg.background == AS_SHOT
    dlg.import_file(str(write_studio_photo("obama3.jpg", tmp_path / "sheet.jpg")))
    qtbot.waitUntil(lambda: dlg.pages.currentIndex() == 1, timeout=60_000)
    assert dlg.result_capture().background == AS_SHOT
    assert dlg.card_title.text() == "证件照（358×441，保留原背景）"
    dlg.reject()
