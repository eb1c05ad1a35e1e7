"""The named enrollment operations (sync.enrollment_ops) on a real store file: each returns a frozen result."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from fieldkit import enrollment_fields, people, person

from capture.faces import FaceTemplate
from enrollment.errors import DomainError, ValidationErrors
from enrollment.records import new_record_id
from sync import enrollment_ops as ops
from sync.store import Store

FACE = {"model": "dlib_face_recognition_resnet_model_v1", "version": "1", "quality": {"pose.yaw": "1.2500"}}


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "laptop.sqlite3")
    yield s
    s.close()


def _template(seed: int, shift: float = 0.0) -> bytes:
    vec = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    vec /= np.linalg.norm(vec) * 2
    return FaceTemplate(vec + shift).to_bytes()


def test_autosave_creates_under_the_given_id_then_reuses_it(store):
    """The first autosave creates the record under the id the caller chose; the next one updates it (one
    record, not two); the result is frozen and carries id and state."""
    rid = new_record_id()
    first = ops.autosave(store, rid, {"name": "张"})
    second = ops.autosave(store, rid, {"name": "张三"})
    assert first == ops.Saved(rid, "draft") and second == ops.Saved(rid, "draft")
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.state = "queued"  # type: ignore[misc]
    assert [r["record_id"] for r in store.list_records()] == [rid]
    assert store.get_record(rid)["fields"]["name"] == "张三"


def test_attach_capture_before_any_autosave_creates_the_draft(store):
    """A photo taken before the first autosave creates the draft, stores card photo and template, and keeps
    the fields naming the face; remove_photo takes both away again."""
    rid = new_record_id()
    fields = enrollment_fields(person(1), face=FACE)
    saved = ops.attach_capture(store, rid, fields, b"\xff\xd8jpeg", _template(1))
    assert saved.record_id == rid and saved.state == "draft"
    assert [a.kind for a in saved.attachments] == ["card_photo", "face_template"]
    assert saved.attachments[0].as_dict() == {"kind": "card_photo", "sha256": saved.attachments[0].sha256,
                                              "size": 6, "mime": "image/jpeg"}
    assert store.attachment_bytes(rid, "card_photo") == b"\xff\xd8jpeg"
    assert store.get_record(rid)["fields"]["face"] == FACE
    gone = ops.remove_photo(store, rid, enrollment_fields(person(1)))
    assert gone == ops.Saved(rid, "draft")
    assert store.get_record(rid)["attachments"] == [] and "face" not in store.get_record(rid)["fields"]


def test_attach_file_reads_the_file_and_remove_file_drops_it(store, tmp_path):
    """attach_file reads a document (name and mime from the file), creating the draft when needed; an
    unreadable file is refused with attachment.unreadable and stores nothing."""
    scan = tmp_path / "同意书.jpg"
    scan.write_bytes(b"scan-bytes")
    rid = new_record_id()
    with pytest.raises(DomainError) as e:
        ops.attach_file(store, rid, {"name": "张三"}, "consent_form", tmp_path / "missing.jpg")
    assert e.value.code == "attachment.unreadable" and store.list_records() == []
    saved = ops.attach_file(store, rid, {"name": "张三"}, "consent_form", scan)
    [att] = saved.attachments
    assert (att.kind, att.size, att.mime, att.file_name) == ("consent_form", 10, "image/jpeg", "同意书.jpg")
    assert ops.remove_file(store, rid, "consent_form") == ops.Saved(rid, "draft")
    assert store.get_record(rid)["attachments"] == []


def test_save_and_queue_keeps_the_draft_when_validation_refuses(store):
    """save_and_queue: a refused record stays a draft with what was typed; a valid one is queued and the
    result carries the stored record."""
    rid = new_record_id()
    with pytest.raises(ValidationErrors):
        ops.save_and_queue(store, rid, {"name": "张三"})
    assert store.get_record(rid)["state"] == "draft"
    queued = ops.save_and_queue(store, rid, enrollment_fields(person(2)))
    assert (queued.record_id, queued.state) == (rid, "queued")
    assert queued.record["payload"]["id_number"] == person(2)["id_number"]


def test_find_duplicates_names_the_nearest_local_faces_with_their_photos(store):
    """find_duplicates compares the record's template with every other local record: a near face comes
    back with its card photo; a record without a template has nothing to compare."""
    a, b = people(2)
    near = ops.enroll(store, enrollment_fields(a, face=FACE), [("card_photo", b"\xff\xd8a", "image/jpeg"), (
        "face_template", _template(7), "application/x-yikatong-face-template")])
    rid = new_record_id()
    assert ops.find_duplicates(store, rid) == ops.DuplicateCheck(rid, ())
    ops.attach_capture(store, rid, enrollment_fields(b, face=FACE), b"\xff\xd8b", _template(7, 0.001))
    check = ops.find_duplicates(store, rid, threshold=0.6)
    [candidate] = check.candidates
    assert candidate.match.record_id == near.record_id and candidate.card_photo == b"\xff\xd8a"


def test_enroll_is_draft_attach_queue_in_one_transaction(store):
    """enroll composes autosave, attach and queue: all or nothing."""
    p = person(3)
    with pytest.raises(ValidationErrors):
        ops.enroll(store, enrollment_fields(p), [("face_template", b"t", "application/x-yikatong-face-template")])
    assert store.list_records() == []
    queued = ops.enroll(store, enrollment_fields(p), [("consent_form", b"scan", "image/jpeg")])
    assert queued.state == "queued" and [a["kind"] for a in queued.record["attachments"]] == ["consent_form"]
    assert store.counts_by_state()["queued"] == 1
