"""The laptop store's offline video checks (schema version 6, issue 11 item 4): the migration from version 5
keeps what was there, the pull keeps each request's video challenge, and a recorded check keeps its clip
privately and moves pending → sent | refused."""

from __future__ import annotations

import json
import stat

import pytest
from fieldkit import VILLAGE

from enrollment.errors import DomainError
from sync import protocol
from sync.local.video_checks import PENDING, REFUSED, SENT
from sync.store import SCHEMA_VERSION, Store, connect, migrate, schema_version
from sync.verification_ops import LocalVideoCheck, record_video_check, video_task

ID = "510921194001010018"
CHALLENGE = {"digits": "4821", "actions": ["turn_left", "open_mouth"]}


def _request(n: int, state: str = "sent", *, video_challenge=CHALLENGE, attempts_left: int = 3) -> dict:
    data = {"request": f"00000000-0000-4000-8000-00000000000{n}", "id_number": ID, "village_code": VILLAGE,
            "record_id": None, "city": "深圳", "method": "live", "state": state, "created_by": "c1",
            "created_at": f"2026-11-2{n}T08:00:00.000+00:00", "expires_at": f"2026-11-2{n + 3}T08:00:00.000+00:00",
            "updated_at": "2026-12-01T10:00:00.000+00:00", "attempts_max": 3, "attempts_used": 3 - attempts_left,
            "attempts_left": attempts_left, "result": None}
    if video_challenge is not None:
        data["video_challenge"] = video_challenge
    return data


def _pull(store: Store, *requests: dict, start: int = 10) -> None:
    wire = [{"counter": start + i, "kind": protocol.KIND_VERIFICATION, "key": r["request"], "data": r}
            for i, r in enumerate(requests)]
    store.apply_pull(wire, start + len(requests))


def _local(clip: bytes = b"\x00\x00\x00\x18ftypmp42 not really a video", passed: bool = True) -> LocalVideoCheck:
    decision = {"passed": passed, "reasons": [] if passed else ["liveness.presentation_attack"],
                "checks": [{"name": "frames", "passed": True, "value": "20", "threshold": "8", "reason": None}],
                "match_distance": None, "passive_score": "0.9100", "evidence": [0]}
    import hashlib

    return LocalVideoCheck(clip=clip, suffix=".MP4", sha256=hashlib.sha256(clip).hexdigest(), decision=decision)


def test_a_version_5_store_with_requests_migrates_to_version_6_keeping_them(tmp_path):
    """A store written at version 5 with a pulled request and a roster member migrates to version 6: both kept,
    the request without a video challenge, and an empty video_checks table."""
    path = tmp_path / "v5.sqlite3"
    db = connect(path)
    assert migrate(db, upto=5) == 5
    db["residents"].insert({"id_number": ID, "name": "王建国", "village_code": VILLAGE, "counter": 1})
    db["verifications"].insert({"request": "r-old", "id_number": ID, "village_code": VILLAGE, "state": "opened",
                                "created_at": "2026-11-20T08:00:00.000+00:00", "attempts_left": 2, "counter": 7,
                                "city": "东莞", "reasons": "[]"})
    db.close()
    with Store.open(path) as s:
        assert schema_version(s.db) == SCHEMA_VERSION >= 6
        assert "video_checks" in s.db.table_names()
        [kept] = s.verifications_for(ID)
        assert (kept["request"], kept["state"], kept["city"], kept["counter"]) == ("r-old", "opened", "东莞", 7)
        assert kept["video_challenge"] is None
        assert s.resident(ID)["name"] == "王建国"
        assert s.video_checks_to_send() == [] and s.video_checks_for(ID) == []
        with pytest.raises(DomainError) as refused:
            video_task(s, ID)   # an old request has no digits and actions to show
        assert refused.value.code == "video.no_request"


def test_the_pull_keeps_each_requests_video_challenge(tmp_path):
    """A pulled request keeps its digits and actions; a later pull without one (or with a malformed one) stores none."""
    with Store.open(tmp_path / "s.sqlite3") as s:
        _pull(s, _request(1))
        assert s.verifications_for(ID)[0]["video_challenge"] == CHALLENGE
        _pull(s, _request(1, "opened", video_challenge={"digits": 4821, "actions": "turn_left"}), start=20)
        assert s.verifications_for(ID)[0]["video_challenge"] is None
        assert s.verifications_for(ID)[0]["state"] == "opened"


def test_video_task_takes_the_newest_request_that_still_takes_a_video(tmp_path):
    """A passed request or one with no attempts left takes no video; the newest other one is used, with the
    resident's face template as the reference when the laptop has one (none here)."""
    with Store.open(tmp_path / "s.sqlite3") as s:
        _pull(s, _request(1), _request(2, "manual", attempts_left=0))
        task = video_task(s, ID)
        assert task.request_id.endswith("1") and task.digits == "4821"
        assert task.actions == ["turn_left", "open_mouth"] and task.reference is None
        _pull(s, _request(3, "manual", video_challenge={"digits": "0917", "actions": ["blink", "turn_right"]}),
              start=30)
        assert video_task(s, ID).digits == "0917"   # expired unused, routed to manual: still takes a video
        _pull(s, _request(1, "passed"), _request(3, "passed", video_challenge={"digits": "0917",
                                                                                "actions": ["blink", "turn_right"]}),
              start=40)
        with pytest.raises(DomainError) as refused:
            video_task(s, ID)
        assert refused.value.code == "video.no_request"


def test_a_recorded_check_keeps_its_clip_privately_and_moves_to_sent_or_refused(tmp_path):
    """Recording copies the clip into the store's clip folder (0700, the file 0600, named by its hash) and the
    check waits as pending; the registry's answer makes it sent, a refusal makes it refused with its code, and
    neither is offered for sending again."""
    path = tmp_path / "laptop.sqlite3"
    with Store.open(path) as s:
        s.set_meta("operator", {"username": "c1"})
        _pull(s, _request(1))
        task = video_task(s, ID)
        local = _local()
        first = record_video_check(s, task, local, digits_heard=True)
        second = record_video_check(s, task, _local(b"another clip", passed=False), digits_heard=False)

        clip_file = s.clip_folder / first["clip_file"]
        assert clip_file.read_bytes() == local.clip and first["clip_file"] == local.sha256 + ".mp4"
        assert stat.S_IMODE(clip_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(s.clip_folder.stat().st_mode) == 0o700
        assert s.clip_folder.parent == path.parent
        assert (first["send_state"], first["checked_by"], first["digits_heard"], first["local_passed"]) == \
            (PENDING, "c1", True, True)
        assert second["local_reasons"] == ["liveness.presentation_attack"] and second["digits_heard"] is False
        assert [c["check_id"] for c in s.video_checks_to_send()] == [first["check_id"], second["check_id"]]
        assert s.video_clip_bytes(first) == local.clip

        answer = {"result": "passed", "reasons": [], "attempts_left": 2, "state": "passed",
                  "decision": {"passed": True}}
        s.mark_video_check_sent(first["check_id"], answer)
        s.mark_video_check_refused(second["check_id"], "verify.used_up", "passed already")
        assert s.video_checks_to_send() == []
        sent, refused = s.video_check(first["check_id"]), s.video_check(second["check_id"])
        assert (sent["send_state"], sent["answer_result"], sent["answer_state"], sent["answer"]) == \
            (SENT, "passed", "passed", answer)
        assert (refused["send_state"], refused["error_code"]) == (REFUSED, "verify.used_up")
        assert s.latest_video_checks([ID])[ID]["check_id"] == second["check_id"]
        row = s.db.execute("SELECT local_decision FROM video_checks WHERE check_id = ?",
                           [first["check_id"]]).fetchone()[0]
        assert json.loads(row) == local.decision

    # The copy is what is sent: a clip file that went missing is reported, not sent as something else.
    clip_file.unlink()
    with Store.open(path) as s, pytest.raises(DomainError) as gone:
        s.video_clip_bytes(first)
    assert gone.value.code == protocol.E_BLOB_MISSING
