"""``yikatong capture …`` through the real CLI in a child process."""

from __future__ import annotations

import json

from capture.images import jfif_density, sniff_header
from tests.capture.conftest import face_file
from tests.conftest import yikatong


def test_check_prints_every_check_and_fails_on_any_bad_image(tmp_path):
    """`capture check` prints each image's checks as JSON, judging a home photo's background after the
    replacement as card-photo does (so obama.jpg in his office passes), and exits 1 for a photo without a face
    and an unreadable file."""
    bad = tmp_path / "bad.jpg"
    bad.write_text("not a photo")
    r = yikatong("capture", "check", str(face_file("obama.jpg")), str(face_file("dogs.jpg")), str(bad))
    assert r.returncode == 1, r.stderr
    out = json.loads(r.stdout)
    assert [o["ok"] for o in out] == [True, False, False]
    assert out[0]["background"] == "replace" and out[0]["failed"] == []
    background = next(c for c in out[0]["checks"] if c["code"] == "background.not_plain")
    assert background["passed"] and background["value"] >= background["limit"]
    assert {c["code"] for c in out[0]["checks"]} >= {"face.too_small", "pose.yaw", "eyes.closed", "image.blurry"}
    assert all({"code", "value", "limit", "passed"} <= set(c) for c in out[0]["checks"])
    assert out[1]["failed"] == ["face.none"] and out[1]["guidance"] == "face.none"
    assert out[2]["failed"] == ["image.unreadable"]


def test_check_white_sheet_judges_the_photos_own_background():
    """With --white-sheet the office behind obama.jpg is judged as it is: background.not_plain, exit 1 (as
    card-photo --white-sheet refuses it)."""
    r = yikatong("capture", "check", "--white-sheet", str(face_file("obama.jpg")))
    assert r.returncode == 1, r.stderr
    out = json.loads(r.stdout)[0]
    assert out["background"] == "as_shot" and out["failed"] == ["background.not_plain"]


def test_check_preview_purpose_passes_a_good_photo():
    """With --purpose preview (no background check) obama.jpg passes and the command exits 0."""
    r = yikatong("capture", "check", "--purpose", "preview", str(face_file("obama.jpg")))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)[0]["ok"] is True


def test_card_photo_writes_the_standard_file(tmp_path):
    """`capture card-photo` on an office photo (the background replaced) writes a 358x441, 350 dpi JPEG within 9-20 KB."""
    out = tmp_path / "card.jpg"
    r = yikatong("capture", "card-photo", str(face_file("obama.jpg")), "-o", str(out))
    assert r.returncode == 0, r.stderr
    data = out.read_bytes()
    header = sniff_header(data)
    assert (header.width, header.height, header.channels) == (358, 441, 3)
    assert jfif_density(data) == (1, 350, 350) and 9216 <= len(data) <= 20480


def test_card_photo_refusal_is_one_line_with_every_reason(tmp_path):
    """On a turned office photo `capture card-photo --white-sheet` exits 1 with one stderr line, code first
    (pose and, as nothing is replaced, the background: in words, or as JSON with --json), and writes nothing."""
    out = tmp_path / "card.jpg"
    r = yikatong("capture", "card-photo", str(face_file("obama2.jpg")), "-o", str(out), "--white-sheet")
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: quality.failed: ")
    assert "请正对镜头" in lines[0] and "白色背景" in lines[0]   # read by a person: the wording, not JSON
    r = yikatong("capture", "card-photo", str(face_file("obama2.jpg")), "-o", str(out), "--white-sheet", "--json")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1
    assert {"pose.yaw", "background.not_plain"} <= set(json.loads(lines[0].split(": ", 2)[2])["data"]["failed"])
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_compare_same_and_different_people():
    """`capture compare --json` says same_person for two Obama photos and not for Obama vs Biden."""
    r = yikatong("capture", "compare", str(face_file("obama.jpg")), str(face_file("obama_480p.jpg")), "--json")
    assert r.returncode == 0, r.stderr
    same = json.loads(r.stdout)
    assert same["same_person"] is True and same["distance"] <= same["threshold"] == 0.6
    r = yikatong("capture", "compare", str(face_file("obama_480p.jpg")), str(face_file("biden2.jpg")), "--json")
    diff = json.loads(r.stdout)
    assert r.returncode == 0 and diff["same_person"] is False and diff["distance"] > 0.6


def test_compare_without_a_face_exits_1_with_the_reason():
    """`capture compare` with dogs.jpg exits 1 with one line naming face.none; a group photo gives face.multiple."""
    r = yikatong("capture", "compare", str(face_file("obama_480p.jpg")), str(face_file("dogs.jpg")), "--json")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("error: face.none: ") and len(r.stderr.strip().splitlines()) == 1
    r = yikatong("capture", "compare", str(face_file("2008_001322.jpg")), str(face_file("obama_480p.jpg")))
    assert r.returncode == 1 and r.stderr.startswith("error: face.multiple: ")


def test_compare_empty_file_is_image_empty(tmp_path):
    """An empty file given to compare is image.empty, exit 1, no traceback."""
    empty = tmp_path / "e.jpg"
    empty.write_bytes(b"")
    r = yikatong("capture", "compare", str(empty), str(face_file("obama.jpg")))
    assert r.returncode == 1 and r.stderr.startswith("error: image.empty") and "Traceback" not in r.stderr


def test_a_missing_image_file_is_source_not_found(tmp_path):
    """A path with no file is source.not_found naming the path (as documented), not image.unreadable, for
    card-photo and compare as a one-line error and for check inside its JSON."""
    missing = str(tmp_path / "nobody.jpg")
    r = yikatong("capture", "card-photo", missing, "-o", str(tmp_path / "out.jpg"))
    assert r.returncode == 1 and r.stderr == f"error: source.not_found: no such file: {missing}\n", r.stderr
    r = yikatong("capture", "compare", missing, missing, "--json")
    assert r.returncode == 1 and r.stderr.startswith("error: source.not_found: "), r.stderr
    r = yikatong("capture", "check", missing)
    assert r.returncode == 1 and json.loads(r.stdout)[0]["failed"] == ["source.not_found"]
