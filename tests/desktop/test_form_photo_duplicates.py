"""The enrollment form's 拍照 path and the laptop duplicate-face check, on a real store file."""

from __future__ import annotations

import datetime as dt

from desktop_helpers import VILLAGE, run_op, type_text
from facekit import engine, studio_photo, write_studio_photo

from capture.pipeline import process_photo
from capture.sources import ImageFolderSource
from desktop.enrollment_form import EnrollmentForm
from enrollment import id_number as idn
from enrollment.records import face_info

ZHANG = idn.make("510921", dt.date(1990, 4, 12), 123)   # 蓬溪县, born after 1985: no region warning
OTHER = idn.make("510921", dt.date(1988, 8, 8), 457)


def _enroll_zhang(qtbot, owner) -> str:
    """张三 already enrolled on this laptop, with a card photo and template of the first obama photo."""
    result = process_photo(studio_photo("obama.jpg"), engine())
    t = result.template
    fields = {"village_code": VILLAGE, "id_number": ZHANG, "name": "张三", "sex": "男", "household_id": "H001",
              "relation": "户主", "consent": True,
              "face": face_info(t.model, t.version, {c.code: c.value for c in result.report.checks})}
    return run_op(qtbot, owner, lambda s: s.enroll(fields, [
        ("card_photo", result.card_photo.jpeg, "image/jpeg"),
        ("face_template", t.to_bytes(), "application/x-yikatong-face-template")]))


def _fill(qtbot, form: EnrollmentForm, number: str, name: str) -> None:
    qtbot.keyClicks(form.id_edit, number)
    type_text(qtbot, form.name_edit, name)
    qtbot.keyClicks(form.household_edit, "H020")
    form.relation_combo.setCurrentIndex(form.relation_combo.findData("02"))
    form.relation_combo.activated.emit(form.relation_combo.currentIndex())
    form.consent_check.click()


def test_same_face_under_another_id_number_asks_and_records_the_decision(qtbot, owner, tmp_path, screens):
    """A face already enrolled under another ID number (two different obama photos) opens the side-by-side
    warning naming 张三 with the masked ID number; cancelling saves nothing to the queue, and the cadre's
    decision with the typed reason ends up in the queued record's duplicate_review."""
    zhang = _enroll_zhang(qtbot, owner)
    form = EnrollmentForm(owner)
    form.village_code = VILLAGE
    folder = tmp_path / "camera"
    write_studio_photo("obama3.jpg", folder / "a.jpg")
    form.camera_factory = lambda: ImageFolderSource(folder, loop=True, fps=10)
    form.face_engine = engine()
    qtbot.addWidget(form)
    form.resize(820, 900)
    form.show()
    _fill(qtbot, form, OTHER, "李四")

    form.photo_button.click()
    dlg = form.capture_dialog
    with qtbot.waitSignal(dlg.auto_captured, timeout=30_000):
        pass
    dlg.accept_button.click()
    qtbot.waitUntil(lambda: "face_template" in form._attachments and not form.saving(), timeout=10_000)
    assert form.card_thumb.pixmap() is not None and not form.card_thumb.pixmap().isNull()
    assert form.photo_status.text().startswith("已拍摄证件照")
    screens(form, "form_with_card_photo")

    form.save_button.click()
    qtbot.waitUntil(lambda: form.duplicate_dialog is not None, timeout=10_000)
    warn = form.duplicate_dialog
    assert warn.headline.text() == "此人脸与 张三 5109**********1231 相似".replace("1231", ZHANG[-4:])
    assert warn.findChild(type(warn.headline), "theirPhoto").pixmap() is not None
    assert not warn.ok_button.isEnabled()
    screens(warn, "duplicate_warning")
    warn.reject()
    qtbot.waitUntil(lambda: form.duplicate_dialog is None, timeout=5000)
    assert form.message_label.text() == "未保存：请先核对是否为同一人"
    rid = form.record_id
    assert run_op(qtbot, owner, lambda s: s.get_record(rid))["state"] == "draft"

    form.save_button.click()
    qtbot.waitUntil(lambda: form.duplicate_dialog is not None, timeout=10_000)
    warn = form.duplicate_dialog
    warn.different.click()
    assert not warn.ok_button.isEnabled()  # a reason must be typed
    type_text(qtbot, warn.reason_edit, "已核对身份证和户口簿，长相相似的两个人")
    assert warn.ok_button.isEnabled()
    with qtbot.waitSignal(form.queued, timeout=10_000):
        warn.ok_button.click()
    rec = run_op(qtbot, owner, lambda s: s.get_record(rid))
    assert rec["state"] == "queued"
    review = rec["payload"]["duplicate_review"]
    assert len(review) == 1 and review[0]["record_id"] == zhang
    assert review[0]["decision"] == "different_person" and review[0]["decided_by"] == "cadre"
    assert review[0]["reason"] == "已核对身份证和户口簿，长相相似的两个人"
    assert 0 < float(review[0]["distance"]) <= 0.6
    assert {a["kind"] for a in rec["attachments"]} == {"card_photo", "face_template"}
    assert rec["payload"]["face"]["model"] == "dlib_face_recognition_resnet_model_v1"


def test_a_different_face_is_queued_without_asking(qtbot, owner, tmp_path):
    """A face of someone else (biden's template vs the enrolled obama) queues at once, with no duplicate_review."""
    import dataclasses

    from facekit import FACES

    from capture.images import load_image
    from capture.pipeline import template_of

    _enroll_zhang(qtbot, owner)
    form = EnrollmentForm(owner)
    form.village_code = VILLAGE
    qtbot.addWidget(form)
    form.show()
    _fill(qtbot, form, OTHER, "李四")
    # no other shared photo passes every card check, so the capture keeps a card photo and carries biden's face
    capture = process_photo(studio_photo("obama_480p.jpg"), engine())
    capture = dataclasses.replace(capture, template=template_of(load_image(FACES / "biden.jpg"), engine()))
    form.use_capture(capture)
    qtbot.waitUntil(lambda: "face_template" in form._attachments and not form.saving(), timeout=10_000)
    with qtbot.waitSignal(form.queued, timeout=10_000) as queued:
        form.save_button.click()
    assert form.duplicate_dialog is None
    rec = run_op(qtbot, owner, lambda s: s.get_record(queued.args[0]["record_id"]))
    assert rec["state"] == "queued" and "duplicate_review" not in rec["payload"]
