"""The face engine on the shared photos: matches, non-matches, no face, several faces, the video source."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from capture.errors import CaptureError
from capture.faces import DEFAULT_THRESHOLD, MODEL_NAME, MODEL_VERSION, TEMPLATE_BYTES, FaceTemplate
from capture.images import load_image
from capture.pipeline import single_face, template_of
from capture.quality import assess
from capture.sources import ImageFolderSource, VideoFileSource, WebcamSource, open_source
from tests.capture.conftest import FACES, face_file

OBAMAS = ["obama.jpg", "obama2.jpg", "obama3.jpg", "obama_partial_face.jpg", "obama_480p.jpg"]
BIDENS = ["biden.jpg", "biden2.jpg"]


@pytest.fixture(scope="module")
def templates(engine) -> dict[str, FaceTemplate]:
    return {name: template_of(load_image(face_file(name)), engine) for name in OBAMAS + BIDENS}


def test_every_obama_photo_matches_every_other(templates):
    """Every pair of Obama photos is within the default threshold (0.6)."""
    for a, b in itertools.combinations(OBAMAS, 2):
        assert templates[a].distance(templates[b]) <= DEFAULT_THRESHOLD, (a, b)


def test_no_obama_photo_matches_biden(templates):
    """No Obama photo is within the threshold of a Biden photo, while the two Biden photos match."""
    for a, b in itertools.product(OBAMAS, BIDENS):
        assert templates[a].distance(templates[b]) > DEFAULT_THRESHOLD, (a, b)
    assert templates["biden.jpg"].distance(templates["biden2.jpg"]) <= DEFAULT_THRESHOLD


def test_john_salley_and_john_savage_separate_cleanly(engine):
    """On the 150x150 crops (one upsample) the largest same-person distance is below the smallest cross distance and the threshold."""
    sets = {}
    for person in ("John_Salley", "John_Savage"):
        files = sorted((FACES / "johns" / person).glob("*.jpg"))
        assert len(files) == 11, f"johns data missing under {FACES}"
        vecs = []
        for f in files:
            image = load_image(f)
            boxes = engine.detect(image, upsample=1)
            assert len(boxes) == 1, f.name
            vecs.append(engine.descriptor(image, boxes[0]))
        sets[person] = np.array(vecs)
    a, b = sets["John_Salley"], sets["John_Savage"]
    same = [np.linalg.norm(x - y) for s in (a, b) for x, y in itertools.combinations(s, 2)]
    cross = [np.linalg.norm(x - y) for x in a for y in b]
    assert max(same) <= DEFAULT_THRESHOLD < min(cross)
    assert max(same) < min(cross)


def test_dogs_have_no_face(engine):
    """dogs.jpg yields face.none, both in the checks and when asking for a template."""
    image = load_image(face_file("dogs.jpg"))
    assert "face.none" in assess(image, engine).failed
    with pytest.raises(CaptureError) as e:
        single_face(image, engine)
    assert e.value.code == "face.none"


@pytest.mark.parametrize("name", ["2008_001322.jpg", "2008_002470.jpg"])
def test_group_photos_are_more_than_one_face(engine, name):
    """Each group photo yields face.multiple (the 6-person one only after one upsample, which stills get)."""
    image = load_image(face_file(name))
    report = assess(image, engine)
    assert "face.multiple" in report.failed and report.value("face.multiple") >= 3
    with pytest.raises(CaptureError) as e:
        single_face(image, engine)
    assert e.value.code == "face.multiple"


def test_template_bytes_round_trip_and_record_the_model(templates):
    """A template serialises to a fixed-size blob with its model name and version and reads back identical."""
    t = templates["obama.jpg"]
    blob = t.to_bytes()
    assert len(blob) == TEMPLATE_BYTES and blob[:4] == b"YKFT"
    back = FaceTemplate.from_bytes(blob)
    assert (back.model, back.version) == (MODEL_NAME, MODEL_VERSION)
    assert np.array_equal(back.vector, t.vector) and back.compatible_with(t)


@pytest.mark.parametrize("blob", [b"", b"YKFT" + b"\0" * 10, b"XXXX" + b"\0" * (TEMPLATE_BYTES - 4)])
def test_template_from_bad_bytes_is_refused(blob):
    """Truncated or foreign bytes are template.invalid, never a wrong vector."""
    with pytest.raises(CaptureError) as e:
        FaceTemplate.from_bytes(blob)
    assert e.value.code == "template.invalid"


def test_template_with_nan_is_refused(templates):
    """A blob whose vector holds NaN is template.invalid."""
    blob = bytearray(templates["obama.jpg"].to_bytes())
    blob[-4:] = np.array([np.nan], dtype="<f4").tobytes()
    with pytest.raises(CaptureError):
        FaceTemplate.from_bytes(bytes(blob))


def test_hamilton_clip_as_a_camera_has_frames_with_and_without_a_face(engine):
    """The clip played through VideoFileSource yields 640x360 frames, some with a detectable face and some without."""
    with VideoFileSource(face_file("hamilton_clip.mp4")) as source:
        seen = {True: 0, False: 0}
        count = 0
        for frame in source:
            assert frame.image.shape == (360, 640, 3) and frame.index == count
            if frame.index % 5 == 0:     # every 5th frame keeps the test short
                seen[bool(engine.detect(frame.image, max_side=480))] += 1
            count += 1
    assert count > 200
    assert seen[True] > 0 and seen[False] > 0


def test_video_source_loops_when_asked():
    """With loop=True the clip restarts instead of ending."""
    source = VideoFileSource(face_file("hamilton_clip.mp4"), loop=True)
    frames = [source.read() for _ in range(300)]
    source.close()
    assert all(f is not None for f in frames) and frames[-1].index == 299


def test_image_folder_source_skips_unreadable_files(tmp_path):
    """A folder of images plays in name order, and a broken file in it is skipped, not a crash."""
    (tmp_path / "a.jpg").write_bytes(face_file("obama_480p.jpg").read_bytes())
    (tmp_path / "b.jpg").write_text("not an image")
    (tmp_path / "c.jpg").write_bytes(face_file("biden2.jpg").read_bytes())
    source = open_source(str(tmp_path))
    assert isinstance(source, ImageFolderSource)
    with source:
        shapes = [f.image.shape for f in source]
    assert shapes == [(480, 853, 3), (1200, 1200, 3)]


def test_missing_webcam_is_camera_unavailable():
    """A camera index that does not exist is the clear camera.unavailable error, not a crash."""
    with pytest.raises(CaptureError) as e:
        WebcamSource(97).open()
    assert e.value.code == "camera.unavailable"


def test_open_source_names():
    """'webcam:N' and digits are webcams; a missing path is source.not_found."""
    assert isinstance(open_source("webcam:3"), WebcamSource)
    assert isinstance(open_source("2"), WebcamSource)
    with pytest.raises(CaptureError) as e:
        open_source("/nonexistent/clip.mp4")
    assert e.value.code == "source.not_found"
