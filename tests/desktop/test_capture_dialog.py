"""The capture dialog driven by pytest-qt with file-backed cameras (no webcam exists here)."""

from __future__ import annotations

import shutil

import pytest
from facekit import CLIP, FACES, engine, write_studio_photo

from capture.quality import QualityLimits
from capture.sources import ImageFolderSource, VideoFileSource, WebcamSource
from desktop.capture_dialog import CaptureDialog, limits_for_preview


@pytest.fixture
def face_engine():
    return engine()


def _dialog(qtbot, factory, face_engine, **kw) -> CaptureDialog:
    dlg = CaptureDialog(source_factory=factory, engine=face_engine, **kw)
    qtbot.addWidget(dlg)
    dlg.show()
    return dlg


def test_guidance_follows_the_video_frames(qtbot, face_engine, screens):
    """Played as a camera, the hamilton clip shows 未检测到人脸 on frames without a face and 靠近一点 with the
    face box on frames where the face is too small, and the preview keeps coming while the face work runs."""
    limits = limits_for_preview(QualityLimits.load(), 640)  # the clip's faces are ~90 px: detect at full size
    dlg = _dialog(qtbot, lambda: VideoFileSource(CLIP, loop=True), face_engine, limits=limits)
    seen: dict[str, str] = {}
    dlg.guidance_changed.connect(lambda code: seen.setdefault(code, dlg.guidance_label.text()))
    qtbot.waitUntil(lambda: "face.too_small" in seen, timeout=30_000)
    assert seen["face.too_small"] == "靠近一点"
    assert dlg._last is not None and dlg._last.box is not None
    screens(dlg, "capture_preview_guidance")
    qtbot.waitUntil(lambda: "face.none" in seen and dlg.guidance_code == "face.none", timeout=30_000)
    assert seen["face.none"] == "未检测到人脸"
    assert dlg.frames_shown > 30 and dlg.pages.currentIndex() == 0
    dlg.reject()


def test_auto_capture_then_retake_then_accept(qtbot, face_engine, tmp_path, screens):
    """Once every check passes the dialog captures by itself and shows the composed card photo next to the
    frame; 重拍 goes back to the live preview (and it captures again); 使用此照片 hands over the result."""
    folder = tmp_path / "camera"
    write_studio_photo("obama.jpg", folder / "a.jpg")
    dlg = _dialog(qtbot, lambda: ImageFolderSource(folder, loop=True, fps=10), face_engine)
    with qtbot.waitSignal(dlg.auto_captured, timeout=30_000):
        pass
    assert dlg.pages.currentIndex() == 1 and dlg.captured_how == "auto"
    result = dlg.result_capture()
    assert (result.card_photo.width, result.card_photo.height) == (358, 441)
    assert dlg.card_view.pixmap().width() == 358
    assert "358×441" in dlg.card_info.text()
    screens(dlg, "capture_card_review")

    dlg.retake_button.click()
    assert dlg.pages.currentIndex() == 0 and dlg.result_capture() is None
    with qtbot.waitSignal(dlg.auto_captured, timeout=30_000):
        pass
    accepted = []
    dlg.photo_accepted.connect(accepted.append)
    dlg.accept_button.click()
    assert accepted and accepted[0].template.to_bytes() and accepted[0].card_photo.jpeg[:2] == b"\xff\xd8"
    assert dlg.result() == CaptureDialog.DialogCode.Accepted


def test_a_face_good_from_the_first_frame_replaces_the_preparing_text(qtbot, face_engine, tmp_path):
    """When the first analysed frame already passes, 正在准备人脸识别… gives way to 保持不动 (announced by
    guidance_changed) before the automatic capture, instead of staying until the photo is taken."""
    folder = tmp_path / "camera"
    write_studio_photo("obama.jpg", folder / "a.jpg")
    dlg = _dialog(qtbot, lambda: ImageFolderSource(folder, loop=True, fps=10), face_engine)
    shown: list[tuple[str, str, int]] = []
    dlg.guidance_changed.connect(lambda code: shown.append((code, dlg.guidance_label.text(), dlg.pages.currentIndex())))
    with qtbot.waitSignal(dlg.auto_captured, timeout=30_000):
        pass
    assert shown and shown[0][0] == "" and "准备" not in shown[0][1] and shown[0][2] == 0, shown
    dlg.reject()


def test_no_camera_shows_the_message_and_import_from_file_works(qtbot, face_engine, tmp_path, screens):
    """Without a camera the preview says so in Chinese and points to 从文件导入; a photo without a face is
    refused with the reason; a good photo imported from a file reaches the review page."""
    dlg = _dialog(qtbot, lambda: WebcamSource(9), face_engine)
    qtbot.waitUntil(lambda: dlg.camera_error is not None, timeout=10_000)
    assert dlg.preview_label.text().startswith("未找到摄像头")
    assert "从文件导入" in dlg.preview_label.text()
    assert not dlg.capture_button.isEnabled() and dlg.import_button.isEnabled()
    screens(dlg, "capture_no_camera")

    shutil.copyfile(FACES / "dogs.jpg", tmp_path / "dogs.jpg")
    dlg.import_file(str(tmp_path / "dogs.jpg"))
    qtbot.waitUntil(lambda: "未检测到人脸" in dlg.status_label.text(), timeout=30_000)
    assert dlg.status_label.text().startswith("照片不合格")
    assert dlg.pages.currentIndex() == 0

    dlg.import_file(str(write_studio_photo("obama3.jpg", tmp_path / "o.jpg")))
    qtbot.waitUntil(lambda: dlg.pages.currentIndex() == 1, timeout=30_000)
    assert dlg.captured_how == "file" and dlg.result_capture().card_photo.size > 0
    dlg.reject()


def test_manual_capture_lists_every_failed_check(qtbot, face_engine):
    """拍照 on a frame that cannot be a card photo (the clip's small face) says every reason at once."""
    dlg = _dialog(qtbot, lambda: VideoFileSource(CLIP, loop=True), face_engine)
    qtbot.waitUntil(lambda: dlg.capture_button.isEnabled() and dlg._last is not None, timeout=30_000)
    dlg.capture_button.click()
    qtbot.waitUntil(lambda: dlg.status_label.text().startswith("照片不合格"), timeout=30_000)
    assert dlg.pages.currentIndex() == 0
    dlg.reject()
