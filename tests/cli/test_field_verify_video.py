"""``yikatong field verify-video ID_NUMBER CLIP --store PATH [--digits-heard] [--json]`` in a child process:
the desktop's 视频核验 steps on a real laptop store (the request as pulled, the resident's face template),
the real liveness engine, the check recorded for the next sync; exit 0 only when the local check passed and
the digits were heard. The clips are written in tmp dirs from the hamilton clip, never committed."""

from __future__ import annotations

import json

import pytest

from capture.faces import FaceTemplate
from enrollment.records import FACE_TEMPLATE, FACE_TEMPLATE_MIME
from sync import protocol
from sync.store import Store
from tests.capture import livenesskit as kit
from tests.conftest import yikatong

VILLAGE = "510903102201"
ID = "510903196803140118"
OTHER = "510903197007020222"
REQUEST = "00000000-0000-4000-8000-0000000000c1"


@pytest.fixture(scope="module")
def genuine_clip(tmp_path_factory):
    return kit.genuine_video(tmp_path_factory.mktemp("clips") / "hamilton.mp4")


@pytest.fixture
def store_path(tmp_path):
    """A laptop store with the roster member's request pulled (its video challenge the clip's own actions)
    and a record of theirs whose face template comes from another frame of the clip."""
    path = tmp_path / "laptop.sqlite3"
    request = {"request": REQUEST, "id_number": ID, "village_code": VILLAGE, "record_id": None, "city": "深圳",
               "method": "live", "state": "sent", "created_by": "c1", "created_at": "2026-12-01T08:00:00.000+00:00",
               "expires_at": "2026-12-04T08:00:00.000+00:00", "updated_at": "2026-12-01T08:00:00.000+00:00",
               "attempts_max": 3, "attempts_used": 0, "attempts_left": 3, "result": None,
               "video_challenge": {"digits": "0917", "actions": [str(a) for a in kit.VIDEO_ACTIONS]}}
    with Store.open(path) as store:
        store.set_meta("operator", {"username": "c1", "role": "cadre", "villages": [VILLAGE]})
        store.upsert_residents([{"id_number": i, "name": n, "village_code": VILLAGE, "household_id": "H1"}
                                for i, n in ((ID, "张三"), (OTHER, "李秀英"))], 1)
        store.apply_pull([{"counter": 3, "kind": protocol.KIND_VERIFICATION, "key": REQUEST, "data": request}], 3)
        record_id = store.save_draft({"id_number": ID, "name": "张三", "village_code": VILLAGE})
        store.add_attachment(record_id, FACE_TEMPLATE, FaceTemplate(kit.clip_reference()).to_bytes(),
                             FACE_TEMPLATE_MIME)
    return path


def _pending(path) -> list[dict]:
    with Store.open(path) as store:
        return store.video_checks_to_send()


def test_a_genuine_clip_with_the_digits_heard_passes_and_waits_for_the_sync(store_path, genuine_clip):
    """With --digits-heard the genuine clip exits 0 with every check passed in the JSON, recorded pending;
    the same clip without --digits-heard exits 1 and is recorded with digits_heard false."""
    done = yikatong("field", "verify-video", ID, str(genuine_clip), "--store", str(store_path), "--digits-heard",
                    "--json", timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["passed"] is out["local_passed"] is out["digits_heard"] is True
    assert (out["request"], out["digits"], out["actions"]) == (REQUEST, "0917", ["turn_left", "turn_right"])
    assert out["send_state"] == "pending" and out["decision"]["reasons"] == []
    assert all(c["passed"] for c in out["decision"]["checks"]) and len(out["decision"]["checks"]) >= 10

    again = yikatong("field", "verify-video", ID, str(genuine_clip), "--store", str(store_path), timeout=300)
    assert again.returncode == 1, again.stderr
    assert "local check: passed; digits NOT confirmed" in again.stdout and "  ok   match:" in again.stdout
    pending = _pending(store_path)
    assert [(c["check_id"], c["digits_heard"]) for c in pending][0] == (out["check_id"], True)
    assert [c["digits_heard"] for c in pending] == [True, False]
    assert {c["clip_sha256"] for c in pending} == {out["clip_sha256"]}


def test_refusals_name_their_code(store_path, genuine_clip, tmp_path):
    """No store, no such clip, a resident without a request for a video, and a file that is no video are
    each refused on stderr with their code (usage errors exit 2), and nothing is recorded."""
    cases = [
        (("field", "verify-video", ID, str(genuine_clip), "--store", str(tmp_path / "none.sqlite3")),
         2, "error: store.not_found"),
        (("field", "verify-video", ID, str(tmp_path / "absent.mp4"), "--store", str(store_path)),
         2, "error: video.file_not_found"),
        (("field", "verify-video", OTHER, str(genuine_clip), "--store", str(store_path)),
         1, "error: video.no_request"),
    ]
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n", encoding="utf-8")
    cases.append((("field", "verify-video", ID, str(text), "--store", str(store_path), "--json"),
                  1, "error: video.unreadable"))
    for args, code, message in cases:
        done = yikatong(*args, timeout=300)
        assert done.returncode == code, (args, done.stderr)
        assert done.stderr.startswith(message), (args, done.stderr)
    assert _pending(store_path) == []
