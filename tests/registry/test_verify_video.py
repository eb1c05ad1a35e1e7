"""The offline video path on the registry (docs/verification-api.md, "The offline video path"): a cadre
uploads the worker's clip as a blob and posts it for the request; the registry reads it, checks it for
replay, runs the engine, and counts it as an attempt like a live one.

A registry app on a real database (verifykit.Env: TestClient, SQLite and PostgreSQL). The two tests
that judge a real clip run the real liveness engine (SQLite only: the engine does not touch the
database, and each run costs seconds); the others script the engine's decision (``ScriptedChecker``,
a test double), since what they test is the registry's part: access, the clip blob, replay, counting,
state moves, findings, audit and garbage collection.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import select
from verifykit import Env, code, failing

from enrollment.vocabulary import RANDOM_ACTIONS, FindingKind, VerificationState
from registry import audit, blobs
from registry.datasets import import_dataset
from registry.schema import audit_log, findings, verification_attempts, verification_frames
from registry.schema import blobs as blobs_table
from registry.verification import challenge, evidence
from registry.verification.engine import LivenessEngine
from sync import protocol
from tests.capture import livenesskit as kit
from tests.facekit import FACES


# ---------------------------------------------------------------------------------------------- clips
@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, bytes]:
    """The clips' bytes (written in a temp folder, never committed): the singer's genuine challenge,
    the same frames in another file (bytes appended after the video), three clips of other frames (the
    genuine one a little brighter each), and a text file."""
    folder = tmp_path_factory.mktemp("clips")
    genuine = kit.genuine_video(folder / "genuine.mp4").read_bytes()
    first, last = kit.VIDEO_FRAMES
    views = [kit.phone_view(kit.clip_frames()[i]) for i in range(first, last + 1)]
    out = {"genuine": genuine, "same_frames": genuine + b"\0" * 64 + b"appended", "text": b"not a video\n"}
    for k in (1, 2, 3):
        out[f"other{k}"] = kit.write_video(folder / f"other{k}.mp4", [cv2.add(v, (3 * k,) * 3) for v in views]).read_bytes()
    return out


def sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------- registry
@pytest.fixture
def env(registry_db_url):
    e = Env(registry_db_url)
    yield e
    e.close()


def upload(env: Env, data: bytes, username: str = "cadre_a") -> str:
    """The clip as a blob, in the chunks a laptop sends; its SHA-256."""
    name = sha(data)
    for offset in range(0, len(data), protocol.BLOB_CHUNK):
        chunk = data[offset:offset + protocol.BLOB_CHUNK]
        r = env.client.put(protocol.BLOB.format(sha256=name), params={"offset": offset, "size": len(data)},
                           content=chunk, headers={**env.bearer(username), "Content-Type": "application/octet-stream"})
        assert r.status_code == 200, r.text
    return name


def request(env: Env) -> str:
    r = env.create()
    assert r.status_code == 200, r.text
    return r.json()["request"]["request"]


def send(env: Env, request_id: str, clip_sha256: str, heard: bool = True, username: str = "cadre_a"):
    return env.client.post(protocol.VERIFICATION_VIDEO.format(request=request_id),
                           json={"clip_sha256": clip_sha256, "digits_heard": heard}, headers=env.bearer(username))


def listed(env: Env, request_id: str) -> dict:
    r = env.client.get(protocol.VERIFICATIONS, headers=env.bearer("cadre_a"))
    return next(v for v in r.json()["verifications"] if v["request"] == request_id)


def use_reference(env: Env, folder: Path, image: np.ndarray) -> None:
    """The resident's reference photo (the reference_photos dataset, as the registry imports it)."""
    cv2.imwrite(str(folder / "ref.jpg"), image)
    path = folder / "refs.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["id_number", "photo"], [env.id_number, "ref.jpg"]])
    import_dataset(env.engine, "reference_photos", path)


# ---------------------------------------------------------------------------------------------- the real engine
SEED = 1   # the test-only challenge seed whose video challenge asks turn_left then turn_right


@pytest.fixture
def seeded_env(registry_db_url):
    """An Env with the real liveness engine and the challenge seed the singer's clip answers."""
    e = Env(registry_db_url, verify_challenge_seed=SEED)
    e.asgi.app.state.liveness = LivenessEngine()
    assert challenge.draw_video(challenge.rng(SEED))["actions"] == list(kit.VIDEO_ACTIONS)
    yield e
    e.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_genuine_clip_passes_with_a_reference_from_another_frame(seeded_env, clips, tmp_path):
    """The singer's clip (hold still, turn left, turn right) against a reference photo from another
    frame of the clip passes the request with method video; the evidence frames' JPEGs are kept."""
    env = seeded_env
    use_reference(env, tmp_path, kit.phone_view(kit.clip_frames()[kit.REFERENCE_FRAME]))
    request_id = request(env)
    r = send(env, request_id, upload(env, clips["genuine"]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["result"], body["reasons"], body["state"], body["attempts_left"]) == ("passed", [], "passed", 2)
    checks = {c["name"]: c for c in body["decision"]["checks"]}
    assert checks["step1:turn_left"]["passed"] and checks["step2:turn_right"]["passed"]
    assert checks["digits_heard"]["passed"] and body["decision"]["reference"] == "reference_template"
    view = listed(env, request_id)
    assert (view["state"], view["method"], view["result"]["method"]) == ("passed", "video", "video")
    with env.engine.connect() as conn:
        kept = conn.execute(select(verification_frames.c.data).where(verification_frames.c.data.is_not(None))).all()
    assert 1 <= len(kept) <= 4 and all(cv2.imdecode(np.frombuffer(d, np.uint8), cv2.IMREAD_COLOR) is not None
                                       for (d,) in kept)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_genuine_clip_against_another_persons_reference_fails_on_the_match(seeded_env, clips, tmp_path):
    """The same clip against obama.jpg as the reference fails with match.too_low: retry, two attempts left."""
    env = seeded_env
    use_reference(env, tmp_path, cv2.imread(str(FACES / "obama.jpg"), cv2.IMREAD_COLOR))
    request_id = request(env)
    r = send(env, request_id, upload(env, clips["genuine"]))
    assert r.status_code == 200, r.text
    assert (r.json()["result"], r.json()["reasons"], r.json()["attempts_left"]) == ("retry", ["match.too_low"], 2)
    assert listed(env, request_id)["state"] == VerificationState.SENT


# ---------------------------------------------------------------------------------------------- the registry's part
def test_every_request_carries_a_video_challenge_drawn_with_it(env):
    """Create, list and pull all carry video_challenge: 4 digits and two different drawn actions; a test
    seed fixes it, with the same actions as the live challenge."""
    created = env.create().json()["request"]
    video = created["video_challenge"]
    assert len(video["digits"]) == 4 and video["digits"].isdigit()
    assert len(set(video["actions"])) == 2 and set(video["actions"]) <= {str(a) for a in RANDOM_ACTIONS}
    assert listed(env, created["request"])["video_challenge"] == video
    pulled = env.client.get(protocol.PULL, params={"since": 0}, headers=env.bearer("cadre_a")).json()["changes"]
    assert [c["data"]["video_challenge"] for c in pulled if c["kind"] == "verification"] == [video]
    seeded = challenge.draw_video(challenge.rng(1))
    assert seeded == challenge.draw_video(challenge.rng(1))
    assert seeded["actions"] == [str(s.action) for s in challenge.draw(challenge.rng(1))[1:]]


def test_the_same_clip_for_another_request_is_replayed(env, clips):
    """A clip already sent for one request fails another as liveness.replayed without the engine; so does
    another file with the same frames (bytes appended)."""
    first, second, third = request(env), request(env), request(env)
    assert send(env, first, upload(env, clips["genuine"])).json()["result"] == "passed"
    assert len(env.checker.calls) == 1
    for request_id, clip in ((second, "genuine"), (third, "same_frames")):
        r = send(env, request_id, upload(env, clips[clip]))
        assert r.status_code == 200, r.text
        assert (r.json()["result"], r.json()["reasons"]) == ("retry", ["liveness.replayed"])
    assert len(env.checker.calls) == 1


def test_digits_not_heard_fail_the_attempt(env, clips):
    """A clip the engine passes but whose digits the cadre did not hear fails with video.digits_not_heard."""
    request_id = request(env)
    r = send(env, request_id, upload(env, clips["genuine"]), heard=False)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["result"], body["reasons"], body["attempts_left"]) == ("retry", ["video.digits_not_heard"], 2)
    assert body["decision"]["checks"][-1] == {"name": "digits_heard", "passed": False, "value": "no",
                                              "threshold": "yes", "reason": "video.digits_not_heard"}
    [call] = env.checker.calls
    assert call["actions"] == listed(env, request_id)["video_challenge"]["actions"] and len(call["frames"]) == 44


def test_the_third_failed_clip_ends_in_manual_with_a_verification_failed_finding(env, clips):
    """Clips count against the same attempts as live ones: the third failure moves the request to manual
    and opens verification_failed with the clip's evidence; a fourth clip is verify.used_up."""
    env.checker.decisions = [failing("liveness.action_missed")]
    request_id = request(env)
    answers = [send(env, request_id, upload(env, clips[f"other{k}"])).json() for k in (1, 2, 3)]
    assert [(a["result"], a["attempts_left"], a["state"]) for a in answers] == [
        ("retry", 2, "sent"), ("retry", 1, "sent"), ("failed", 0, "manual")]
    with env.engine.connect() as conn:
        finding = conn.execute(select(findings)).one()
        entries = conn.execute(select(audit_log.c.action, audit_log.c.actor, audit_log.c.data)).all()
    proof = json.loads(finding.evidence)
    assert finding.kind == FindingKind.VERIFICATION_FAILED and proof["method"] == "video"
    assert proof["reasons"] == ["liveness.action_missed"] and proof["evidence_frames"]
    started = [(actor, json.loads(data)) for action, actor, data in entries if action == "verification.attempt_started"]
    assert [(actor, d["method"], d["number"]) for actor, d in started] == [("cadre_a", "video", n) for n in (1, 2, 3)]
    assert [a for a, _, _ in entries].count("verification.decided") == 3 and audit.verify(env.engine)[0]
    r = send(env, request_id, upload(env, clips["genuine"]))
    assert (r.status_code, code(r)) == (409, "verify.used_up")


def test_a_resent_clip_answers_the_stored_result(env, clips):
    """The same clip sent again for the same request (a network retry) answers what was stored, without
    another attempt or engine run, even after the request passed."""
    request_id = request(env)
    clip = upload(env, clips["genuine"])
    first = send(env, request_id, clip).json()
    again = send(env, request_id, clip)
    assert again.status_code == 200 and again.json() == first
    assert len(env.checker.calls) == 1 and listed(env, request_id)["attempts_used"] == 1


def test_a_clip_not_uploaded_by_the_caller_is_missing(env, clips):
    """A hash never uploaded, or uploaded only by another cadre, is 409 verify.clip_missing; no attempt counts."""
    request_id = request(env)
    r = send(env, request_id, sha(b"never uploaded"))
    assert (r.status_code, code(r)) == (409, "verify.clip_missing")
    r = send(env, request_id, upload(env, clips["genuine"], "cadre_b"))
    assert (r.status_code, code(r)) == (409, "verify.clip_missing")
    assert listed(env, request_id)["attempts_used"] == 0 and env.checker.calls == []


def test_only_the_residents_village_cadres_send_a_clip(env, clips):
    """Another village's cadre gets 404 verify.resident_unknown (as for an unknown request); central
    staff and admins are refused: they review, they do not submit."""
    request_id = request(env)
    clip = upload(env, clips["genuine"], "cadre_b")
    r = send(env, request_id, clip, username="cadre_b")
    assert (r.status_code, code(r)) == (404, "verify.resident_unknown")
    r = send(env, "00000000-0000-0000-0000-000000000000", upload(env, clips["genuine"]))
    assert (r.status_code, code(r)) == (404, "verify.resident_unknown")
    r = send(env, request_id, clip, username="central")
    assert (r.status_code, code(r)) == (403, "auth.forbidden")
    assert listed(env, request_id)["attempts_used"] == 0


def test_a_file_that_is_no_video_is_refused_without_counting(env, clips):
    """A text file sent as the clip is 422 video.unreadable and uses no attempt."""
    request_id = request(env)
    r = send(env, request_id, upload(env, clips["text"]))
    assert (r.status_code, code(r)) == (422, "video.unreadable")
    assert listed(env, request_id)["attempts_used"] == 0 and env.checker.calls == []


def test_an_expired_request_still_takes_a_clip_and_a_passed_one_does_not(env, clips):
    """A link that expired unused (manual, outcome expired) still takes a clip, which can pass it; the
    passed request then refuses a new clip with verify.used_up."""
    request_id = request(env)
    env.clock.advance(hours=73)
    assert listed(env, request_id)["state"] == VerificationState.MANUAL
    r = send(env, request_id, upload(env, clips["other1"]))
    assert r.status_code == 200, r.text
    assert (r.json()["result"], r.json()["state"]) == ("passed", "passed")
    r = send(env, request_id, upload(env, clips["other2"]))
    assert (r.status_code, code(r)) == (409, "verify.used_up")


def test_the_clip_blob_is_kept_until_its_evidence_is_purged(env, clips):
    """gc-blobs keeps a sent clip's blob past its grace while the attempt's evidence is kept; after
    purge-evidence it collects it, while the clip's hash still makes a later send replayed; staff see the
    attempt as a video one with its clip until then."""
    request_id = request(env)
    clip = upload(env, clips["genuine"])
    assert send(env, request_id, clip).json()["result"] == "passed"

    def seen_by_staff() -> dict:
        detail = env.client.get(protocol.VERIFICATION.format(request=request_id), headers=env.bearer("central"))
        return detail.json()["attempts"][0]

    assert (seen_by_staff()["method"], seen_by_staff()["clip_sha256"]) == ("video", clip)

    def stored() -> bool:
        with env.engine.connect() as conn:
            return conn.execute(select(blobs_table.c.sha256).where(blobs_table.c.sha256 == clip)).first() is not None

    env.clock.advance(days=30)
    assert blobs.collect_garbage(env.engine, clock=env.clock, grace=dt.timedelta(days=1).total_seconds()
                                 ).blobs_removed == 0 and stored()
    out = evidence.purge(env.engine, older_than_days=10, clock=env.clock)
    assert out["clips_released"] == 1
    assert blobs.collect_garbage(env.engine, clock=env.clock, grace=dt.timedelta(days=1).total_seconds()
                                 ).blobs_removed == 1 and not stored()
    assert (seen_by_staff()["method"], seen_by_staff()["clip_sha256"]) == ("video", None)
    with env.engine.connect() as conn:
        assert conn.execute(select(verification_attempts.c.clip_sha256)).scalars().all() == [clip]
    r = send(env, request(env), upload(env, clips["genuine"]))
    assert r.json()["reasons"] == ["liveness.replayed"]
