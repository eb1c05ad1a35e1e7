"""The face checks on real SQLite and PostgreSQL databases with real templates from the shared photos:
one face under two ID numbers is intercepted, different people are not, the reference photo's
person is compared, and the reference photo import is all or nothing."""

from __future__ import annotations

import csv
import functools
import hashlib
from pathlib import Path

import pytest
from checkkit import TODAY, store_record
from regkit import payload
from sqlalchemy import Engine, func, insert, select

from capture.faces import MODEL_NAME, MODEL_VERSION, TEMPLATE_MEDIA_TYPE, FaceTemplate
from capture.pipeline import template_of
from enrollment.records import CARD_PHOTO, FACE_TEMPLATE
from enrollment.roster_csv import CsvFileError
from registry.checks import FACE_MATCH, INTERCEPT, REFERENCE_PHOTO, CheckConfig, CheckContext
from registry.checks.faces import (
    PHOTO_ID_REPEATED,
    PHOTO_MANY_FACES,
    PHOTO_NO_FACE,
    RegistryFaceIndex,
    face_match,
    reference_photo,
    store_blob,
)
from registry.datasets import import_dataset
from registry.db import now_iso, open_database
from registry.schema import blob_chunks, blobs, dataset_rows, record_attachments, reference_templates
from sync.protocol import BLOB_CHUNK
from tests import facekit
from tests.facekit import FACES


@functools.cache
def template(name: str) -> FaceTemplate:
    """The template of the one face in the shared photo ``name`` (computed once per test process)."""
    from capture.images import load_image

    return template_of(load_image(FACES / name), facekit.engine())


@pytest.fixture
def engine(registry_db_url):
    eng = open_database(registry_db_url)
    yield eng
    eng.dispose()


def enroll(engine: Engine, i: int, photo: str | None, *, id_from: int | None = None, deleted: bool = False):
    """A record of resident ``id_from`` (default ``i``) whose face template is that of ``photo``,
    stored as a push would store it: the payload's attachment, record_attachments, a complete blob."""
    attachments, extra = [], {}
    if photo is not None:
        data = template(photo).to_bytes()
        sha = hashlib.sha256(data).hexdigest()
        with engine.begin() as conn:
            store_blob(conn, data, now=now_iso())
        attachments = [{"kind": FACE_TEMPLATE, "sha256": sha, "size": len(data), "mime": TEMPLATE_MEDIA_TYPE}]
        extra = {"face": {"model": MODEL_NAME, "version": MODEL_VERSION, "quality": {}}}
    p = payload(id_from if id_from is not None else i, attachments=attachments, **extra)
    rec = store_record(engine, p, deleted=deleted)
    if attachments:
        with engine.begin() as conn:
            conn.execute(insert(record_attachments).values(record_id=rec.record_id, version=1, kind=FACE_TEMPLATE,
                                                           sha256=attachments[0]["sha256"]))
    return rec


def run(engine: Engine, check, batch, index: RegistryFaceIndex | None = None, **config):
    with engine.connect() as conn, conn.begin():
        ctx = CheckContext(conn=conn, config=CheckConfig(**config), today=TODAY, face_index=index)
        if index is not None:
            index.upsert_records(conn, batch)
        return check(ctx, batch)


@pytest.mark.parametrize("filtered", [False, True], ids=["full-scan", "two-stage"])
def test_one_face_under_two_id_numbers_is_intercepted(engine, filtered):
    """Two different obama photos under two ID numbers: each record gets a FACE_MATCH naming the other
    (the same with the small index's full scan and with the registry-scale two-stage search)."""
    a = enroll(engine, 1, "obama.jpg")
    b = enroll(engine, 2, "obama2.jpg")
    c = enroll(engine, 3, "biden.jpg")
    index = RegistryFaceIndex(fast_from=0) if filtered else RegistryFaceIndex.load(engine)
    result = run(engine, face_match, [a, b, c], index)
    assert set(result.findings) == {a.record_id, b.record_id}
    fa, = result.findings[a.record_id]
    fb, = result.findings[b.record_id]
    assert (fa.kind, fa.severity, fa.subject) == (FACE_MATCH, INTERCEPT, b.record_id)
    assert fb.subject == a.record_id and fa.score == fb.score
    distance = template("obama.jpg").distance(template("obama2.jpg"))
    assert fa.score == f"{distance:.4f}" and distance <= 0.6
    assert fa.evidence["radius"] == "0.6000"
    first = fa.evidence["candidates"][0]
    assert first == {"record_id": b.record_id, "id_number": b.id_number, "village_code": b.village_code,
                     "distance": fa.score, "same_id_number": False}
    assert [c_["record_id"] for c_ in fa.evidence["candidates"]] == [b.record_id, c.record_id]
    count, = result.counts
    assert (count.rule_id, count.kind, count.compared, count.intercepted) == ("face_match", FACE_MATCH, 3, 2)


def test_different_people_and_the_same_id_number_are_not_face_matches(engine):
    """obama vs biden is no match; the same face under the SAME ID number is left to same_id."""
    a = enroll(engine, 1, "obama.jpg")
    b = enroll(engine, 2, "biden.jpg")
    c = enroll(engine, 3, "obama3.jpg", id_from=1)
    none = enroll(engine, 4, None)
    result = run(engine, face_match, [a, b, c, none], RegistryFaceIndex.load(engine))
    assert result.findings == {}
    assert (result.counts[0].compared, result.counts[0].intercepted) == (3, 0)


def test_the_check_builds_an_index_when_the_runner_gives_none(engine):
    """Without an index in the context the check loads one from its own transaction and finds the same."""
    a = enroll(engine, 1, "obama.jpg")
    b = enroll(engine, 2, "obama3.jpg")
    result = run(engine, face_match, [a, b])
    assert {f.subject for fs in result.findings.values() for f in fs} == {a.record_id, b.record_id}


def test_index_holds_only_current_live_templates(engine):
    """load() takes every non-deleted record's current template; upsert_records removes deleted ones."""
    a = enroll(engine, 1, "obama.jpg")
    b = enroll(engine, 2, "biden.jpg")
    gone = enroll(engine, 3, "obama2.jpg", deleted=True)
    enroll(engine, 4, None)
    index = RegistryFaceIndex.load(engine)
    assert len(index) == 2 and gone.record_id not in index
    hits = index.search(template("obama3.jpg"), 0.6)
    assert [(rid, number) for rid, number, _ in hits] == [(a.record_id, a.id_number)]
    assert index.search(template("obama.jpg"), 0.6, exclude_record=a.record_id) == []
    assert index.nearest(template("biden2.jpg"), 1)[0][0] == b.record_id
    with engine.connect() as conn:
        from dataclasses import replace
        index.upsert_records(conn, [replace(a, deleted=True, payload={})])
    assert len(index) == 1 and a.record_id not in index


def write_references(folder: Path, rows: list[tuple[str, str]]) -> Path:
    """A reference_photos CSV beside copies of the shared photos (the file names photos relative to it)."""
    for _, name in rows:
        if not (folder / name).exists():
            (folder / name).write_bytes((FACES / name).read_bytes())
    path = folder / "refs.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id_number", "photo"])
        w.writerows(rows)
    return path


def test_reference_photo_of_someone_else_is_intercepted(engine, tmp_path):
    """An enrolled face far from the reference photo of its ID number gives REFERENCE_PHOTO; the same person's does not."""
    a = enroll(engine, 1, "obama.jpg")
    b = enroll(engine, 2, "obama2.jpg")
    c = enroll(engine, 3, "biden.jpg")      # no reference photo for this ID number
    refs = write_references(tmp_path, [(a.id_number, "biden2.jpg"), (b.id_number, "obama3.jpg")])
    imported = import_dataset(engine, "reference_photos", refs)
    assert imported.rows == 2
    result = run(engine, reference_photo, [a, b, c])
    assert set(result.findings) == {a.record_id}
    f, = result.findings[a.record_id]
    photo_sha = hashlib.sha256((FACES / "biden2.jpg").read_bytes()).hexdigest()
    distance = FaceTemplate.distance(template("obama.jpg"), template("biden2.jpg"))
    assert (f.kind, f.severity, f.subject, f.score) == (REFERENCE_PHOTO, INTERCEPT, photo_sha, f"{distance:.4f}")
    assert f.evidence == {"distance": f"{distance:.4f}", "threshold": "0.6000", "reference_photo_sha256": photo_sha,
                          "template_sha256": a.attachment(FACE_TEMPLATE)}
    count, = result.counts
    assert (count.rule_id, count.compared, count.intercepted) == ("reference_photo", 2, 1)


def test_reference_photos_are_stored_as_complete_blobs(engine, tmp_path):
    """Each reference photo becomes a complete blob (chunked like an upload) and its template a reference_templates row."""
    refs = write_references(tmp_path, [(payload(1)["id_number"], "obama.jpg"), (payload(2)["id_number"], "biden.jpg")])
    import_dataset(engine, "reference_photos", refs)
    with engine.connect() as conn:
        rows = {r.id_number: r for r in conn.execute(select(reference_templates))}
        for name, number in (("obama.jpg", payload(1)["id_number"]), ("biden.jpg", payload(2)["id_number"])):
            data = (FACES / name).read_bytes()
            sha = hashlib.sha256(data).hexdigest()
            assert rows[number].photo_sha256 == sha
            assert FaceTemplate.from_bytes(bytes(rows[number].template)).distance(template(name)) < 1e-5
            blob = conn.execute(select(blobs).where(blobs.c.sha256 == sha)).one()
            assert blob.complete and blob.size == blob.received == len(data)
            chunks = conn.execute(select(blob_chunks.c.offset, blob_chunks.c.data).where(blob_chunks.c.sha256 == sha)
                                  .order_by(blob_chunks.c.offset)).all()
            assert [o for o, _ in chunks] == list(range(0, len(data), BLOB_CHUNK))
            assert b"".join(bytes(d) for _, d in chunks) == data
    # A later import replaces the whole set.
    refs = write_references(tmp_path, [(payload(3)["id_number"], "obama3.jpg")])
    import_dataset(engine, "reference_photos", refs)
    with engine.connect() as conn:
        assert conn.execute(select(reference_templates.c.id_number)).scalars().all() == [payload(3)["id_number"]]


def test_reference_photos_without_exactly_one_face_import_nothing(engine, tmp_path):
    """A photo with no face or several faces, or a second photo for one ID number, is a row error with its line; nothing is stored."""
    good = write_references(tmp_path, [(payload(9)["id_number"], "obama.jpg")])
    import_dataset(engine, "reference_photos", good)
    refs = write_references(tmp_path, [(payload(1)["id_number"], "obama.jpg"), (payload(2)["id_number"], "dogs.jpg"),
                                       (payload(3)["id_number"], "2008_001322.jpg"),
                                       (payload(1)["id_number"], "obama3.jpg")])
    with pytest.raises(CsvFileError) as e:
        import_dataset(engine, "reference_photos", refs)
    assert e.value.code == "dataset.rows_invalid"
    assert [(r.line, r.code) for r in e.value.rows] == [(3, PHOTO_NO_FACE), (4, PHOTO_MANY_FACES),
                                                        (5, PHOTO_ID_REPEATED)]
    assert e.value.rows[1].data == {"faces": 3} and e.value.rows[2].data == {"first_line": 2}
    with engine.connect() as conn:
        assert conn.execute(select(reference_templates.c.id_number)).scalars().all() == [payload(9)["id_number"]]
        assert conn.execute(select(func.count()).select_from(dataset_rows)).scalar() == 1


def test_card_photo_attachment_is_not_a_template(engine):
    """Only the face_template attachment is read as a template: a batch whose records have none compares nothing."""
    enroll(engine, 1, "obama.jpg")
    p = payload(5, attachments=[{"kind": CARD_PHOTO, "sha256": "a" * 64, "size": 10, "mime": "image/jpeg"}])
    rec = store_record(engine, p)
    for index in (RegistryFaceIndex.load(engine), RegistryFaceIndex.load(engine, fit=False)):
        index._index.fast_from = 0     # the registry-scale path too
        assert len(index) == 1 and rec.record_id not in index
        result = run(engine, face_match, [rec], index)
        assert result.findings == {} and result.counts[0].compared == 0


def test_runner_routes_a_face_enrolled_twice_to_review(engine):
    """Through the check runner, two obama photos under two ID numbers land in needs_review with FACE_MATCH; biden is cleared."""
    import datetime as dt

    from registry.checks.runner import run_checks
    from registry.schema import findings, records

    a = enroll(engine, 1, "obama.jpg")
    b = enroll(engine, 2, "obama2.jpg")
    c = enroll(engine, 3, "biden.jpg")
    index = RegistryFaceIndex.load(engine)
    summary = run_checks(engine, config=CheckConfig(), rules=None, face_index=index,
                         now=dt.datetime(2026, 11, 27, 8, tzinfo=dt.UTC), checks=[face_match, reference_photo])
    assert summary["checked"] == 3
    with engine.connect() as conn:
        states = dict(conn.execute(select(records.c.record_id, records.c.state)).all())
        stored = conn.execute(select(findings.c.record_id, findings.c.kind, findings.c.subject)).all()
    assert states == {a.record_id: "needs_review", b.record_id: "needs_review", c.record_id: "cleared"}
    assert sorted(stored) == sorted([(a.record_id, FACE_MATCH, b.record_id), (b.record_id, FACE_MATCH, a.record_id)])
