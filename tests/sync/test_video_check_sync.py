"""The laptop sends its video checks to a real registry process (the offline video path, issue 11 item 4):
the sync uploads each pending clip as a blob, posts it for its request, stores the registry's answer or
refusal, and pulls the request's new state in the same sync; nothing is sent twice.

The registry runs the real liveness engine, with the test-only challenge seed whose video challenge the
singer's clip answers (turn left, then turn right) and his reference photo from another frame of the clip
(the reference_photos dataset). The clips are written in tmp dirs, never committed.
"""

from __future__ import annotations

import csv

import cv2
import pytest
from fieldkit import open_laptop, people, setup_registry

from registry.launcher import RegistryProcess
from sync.client import SyncClient
from sync.http import RegistryHttp
from sync.store import Store
from sync.verification_ops import (
    LocalVideoCheck,
    check_video,
    create_verification,
    record_video_check,
    video_task,
)
from tests.capture import livenesskit as kit

SEED = "1"   # tests/registry/test_verify_video.py: its video challenge asks turn_left then turn_right


@pytest.fixture
def seeded_registry(registry_db_url, tmp_path):
    """``registry serve`` with the challenge seed, a cadre c1 and a roster whose first resident's reference
    photo is the singer from another frame of the clip."""
    reg = RegistryProcess(registry_db_url, tmp_path / "registry", extra_args=["--verify-challenge-seed", SEED])
    reg.start()
    try:
        setup_registry(reg, tmp_path)
        folder = tmp_path / "refs"
        folder.mkdir()
        cv2.imwrite(str(folder / "ref.jpg"), kit.phone_view(kit.clip_frames()[kit.REFERENCE_FRAME]))
        with (folder / "refs.csv").open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([["id_number", "photo"], [people(1)[0]["id_number"], "ref.jpg"]])
        done = reg.cli("import-dataset", "reference_photos", str(folder / "refs.csv"))
        assert done.returncode == 0, done.stderr
        yield reg
    finally:
        reg.stop()


def test_a_video_check_is_sent_decided_stored_and_never_resent(seeded_registry, tmp_path):
    """The genuine clip (digits heard) is decided passed by the registry and the request pulled as passed by
    video in the same sync; a second check of the same request, recorded before that sync, is refused
    verify.used_up and kept as refused; the next sync sends neither again."""
    registry = seeded_registry
    laptop = open_laptop(registry, tmp_path / "laptop.sqlite3")
    resident = people(1)[0]["id_number"]
    created = create_verification(RegistryHttp(registry.url, laptop.token()), resident, "深圳")
    assert created.request["video_challenge"]["actions"] == ["turn_left", "turn_right"]
    assert SyncClient(laptop).run().ok

    task = video_task(laptop, resident)
    assert task.digits == created.request["video_challenge"]["digits"] and task.reference is None
    genuine = check_video(task, kit.genuine_video(tmp_path / "genuine.mp4"))
    # No template on this laptop: the preview fails on the match, the registry decides with its reference.
    assert genuine.decision["reasons"] == ["match.no_reference"]
    first = record_video_check(laptop, task, genuine, digits_heard=True)
    # The same frames with bytes appended: another file, so not a network retry of the first.
    again = LocalVideoCheck(clip=genuine.clip + b"\0" * 64, suffix=".mp4", sha256="", decision=genuine.decision)
    second = record_video_check(laptop, task, again, digits_heard=True)

    report = SyncClient(laptop).run()
    assert report.ok, report
    assert (report.video_sent, report.video_refused, report.video_left) == (1, 1, 0)
    sent, refused = laptop.video_check(first["check_id"]), laptop.video_check(second["check_id"])
    assert (sent["send_state"], sent["answer_result"], sent["answer_state"]) == ("sent", "passed", "passed")
    assert sent["answer"]["decision"]["passed"] and sent["answer"]["reasons"] == []
    assert (refused["send_state"], refused["error_code"]) == ("refused", "verify.used_up")
    pulled = laptop.verifications_for(resident)[0]
    assert (pulled["state"], pulled["method"]) == ("passed", "video")

    quiet = SyncClient(laptop).run()
    assert quiet.ok and (quiet.video_sent, quiet.video_refused, quiet.blobs_sent) == (0, 0, 0)
    assert laptop.video_check(second["check_id"])["send_state"] == "refused"
    laptop.close()


def test_a_check_waits_while_the_registry_cannot_be_reached(tmp_path):
    """With no registry answering, the sync ends with its network error and the check stays pending."""
    path = tmp_path / "laptop.sqlite3"
    with Store.open(path) as laptop:
        laptop.set_meta("token", "t")
        laptop.set_registry_url("http://127.0.0.1:9")
        laptop.db["verifications"].insert({"request": "r1", "id_number": "510921194001010018", "state": "sent",
                                           "attempts_left": 3, "counter": 1, "created_at": "2026-12-01",
                                           "video_challenge": '{"digits": "4821", "actions": ["blink", "open_mouth"]}'})
        task = video_task(laptop, "510921194001010018")
        local = LocalVideoCheck(clip=b"clip", suffix=".mp4", sha256="", decision={"passed": True, "reasons": []})
        check = record_video_check(laptop, task, local, digits_heard=True)
        report = SyncClient(laptop, max_retries=0).run()
        assert report.error_code == "sync.network" and report.video_left == 1
        assert laptop.video_check(check["check_id"])["send_state"] == "pending"
