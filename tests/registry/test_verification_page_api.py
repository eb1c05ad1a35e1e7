"""The worker's page API (docs/verification-api.md) on a real database: unlock by the ID digits
(throttled, revealing nothing before), consent, the drawn challenge and its deadlines, the upload caps,
the nonce, the replay check, and finish with the engine's decision (ScriptedChecker, a test double)
moving the request and opening findings."""

from __future__ import annotations

import json

import pytest
from reviewkit import route
from sqlalchemy import select
from verifykit import Env, ScriptedChecker, code, failing, jpeg, passing

from enrollment.vocabulary import RANDOM_ACTIONS, ChallengeAction, FindingKind, ReviewState, VerificationState
from registry import audit
from registry.schema import audit_log, findings, records, verification_frames, verification_requests
from registry.verification import challenge
from sync import protocol


@pytest.fixture
def env(registry_db_url):
    e = Env(registry_db_url)
    yield e
    e.close()


def _row(env):
    with env.engine.connect() as conn:
        return conn.execute(select(verification_requests)).one()


def test_before_unlocking_the_answers_reveal_nothing_about_the_person(env):
    """The page is the same file for any token; wrong digits, an unknown token and a garbled one answer
    without name, state or counts; the right digits return the masked name and the consent text."""
    token = env.link_token()
    page = env.client.get(protocol.VERIFY_PAGE, params={"t": token})
    assert page.status_code == 200 and page.content == env.client.get(protocol.VERIFY_PAGE).content
    assert page.headers["referrer-policy"] == "no-referrer" and page.headers["cache-control"] == "no-store"
    name = env.record["name"]
    for r in (env.unlock(token, "000000"), env.unlock("x" * 32), env.unlock(token[:-1] + "A")):
        assert r.status_code in (403, 404)
        text = r.text
        assert name not in text and name[-1] not in text and "attempts" not in text and "state" not in text
    assert code(env.unlock(token, "000000")) == "verify.id_mismatch"
    assert code(env.unlock("x" * 32)) == "verify.token_unknown"
    ok = env.unlock(token, env.id_number[-6:].lower())
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["name_masked"] == "*" * (len(name) - 1) + name[-1] and body["attempts_left"] == 3
    assert body["state"] == "opened" and body["consent"]["version"] and "人脸" in body["consent"]["text"]


def test_wrong_digits_are_counted_and_locked_with_retry_after(env):
    """Five wrong tails lock the link: the sixth try, even with the right digits, is 429
    verify.rate_limited with Retry-After; once the lock passes the right digits unlock. Each wrong try
    is an audit entry. Each wrong try says how many are left (data.tries_left, which the page shows)."""
    token = env.link_token()
    left = []
    for _ in range(5):
        wrong = env.unlock(token, "123456")
        assert code(wrong) == "verify.id_mismatch"
        left.append(wrong.json()["error"]["data"]["tries_left"])
    assert left == [4, 3, 2, 1, 0]
    locked = env.unlock(token)
    assert (locked.status_code, code(locked)) == (429, "verify.rate_limited")
    assert int(locked.headers["retry-after"]) == 60
    env.clock.advance(seconds=61)
    assert env.unlock(token).status_code == 200
    with env.engine.connect() as conn:
        actions = conn.execute(select(audit_log.c.action)).scalars().all()
    assert actions.count("verification.unlock_failed") == 5


def test_guessing_links_from_one_address_is_locked(env):
    """Twenty unknown tokens from one address lock it: a real link's right digits then answer 429 too."""
    token = env.link_token()
    for i in range(20):
        assert code(env.unlock(f"guess-{i:02d}" + "x" * 26)) == "verify.token_unknown"
    r = env.unlock(token)
    assert (r.status_code, code(r)) == (429, "verify.rate_limited") and int(r.headers["retry-after"]) > 0


def test_an_attempt_needs_consent_to_the_current_version(env):
    """Without consent, or with another version, starting an attempt is 409 verify.consent_required."""
    session = env.session(env.link_token(), consent=False)
    assert code(env.start(session)) == "verify.consent_required"
    r = env.client.post(protocol.VERIFY_CONSENT, json={"session": session, "version": "1999", "agreed": True})
    assert (r.status_code, code(r)) == (409, "verify.consent_required")
    r = env.client.post(protocol.VERIFY_CONSENT, json={"session": "nope", "version": "1999", "agreed": True})
    assert (r.status_code, code(r)) == (401, "verify.session_invalid")
    assert _row(env).consent_at is None


def test_the_challenge_is_hold_still_then_two_drawn_actions_with_deadlines(env):
    """Every attempt starts with HOLD_STILL and two different random actions with increasing server
    deadlines, and tells the page the frame limits."""
    session = env.session(env.link_token())
    r = env.start(session)
    assert r.status_code == 200, r.text
    steps = r.json()["steps"]
    assert steps[0]["action"] == ChallengeAction.HOLD_STILL and len(steps) == 3
    assert {s["action"] for s in steps[1:]} <= set(RANDOM_ACTIONS) and steps[1]["action"] != steps[2]["action"]
    assert [s["deadline_ms"] for s in steps] == sorted(s["deadline_ms"] for s in steps)
    assert r.json()["frames"]["max_bytes"] == challenge.FRAME_MAX_BYTES


def test_a_seed_fixes_the_challenge_for_tests(registry_db_url):
    """With verify_challenge_seed (serve --verify-challenge-seed, test-only) every attempt draws the
    seed's challenge: the same steps as the seeded draw, attempt after attempt."""
    e = Env(registry_db_url, verify_challenge_seed=5)
    try:
        expected = [s.to_dict() for s in challenge.draw(challenge.rng(5))]
        session = e.session(e.link_token())
        assert e.start(session).json()["steps"] == expected
        assert e.start(session).json()["steps"] == expected
    finally:
        e.close()


def test_frames_after_the_last_deadline_or_with_a_wrong_nonce_are_refused(env):
    """A frame with another nonce is 403 verify.nonce_mismatch; one after the last deadline and the grace
    is 409 verify.attempt_closed."""
    session = env.session(env.link_token())
    attempt = env.start(session).json()
    r = env.frame(attempt, 0, jpeg(1), nonce="forged")
    assert (r.status_code, code(r)) == (403, "verify.nonce_mismatch")
    assert env.frame(attempt, 0, jpeg(1)).status_code == 200
    env.clock.advance(milliseconds=challenge.last_frame_ms(attempt["steps"]) + 1)
    r = env.frame(attempt, 1, jpeg(2))
    assert (r.status_code, code(r)) == (409, "verify.attempt_closed")


def test_uploads_are_capped_per_frame_per_count_and_per_attempt(env):
    """A frame over 40 KB, the 61st frame, or frames over 150 KB together are 413 with their codes."""
    session = env.session(env.link_token())
    attempt = env.start(session).json()
    big = b"\xff\xd8" + b"0" * challenge.FRAME_MAX_BYTES
    r = env.frame(attempt, 0, big)
    assert (r.status_code, code(r)) == (413, "verify.upload_too_large")
    r = env.frame(attempt, challenge.FRAME_MAX_COUNT, jpeg(1))
    assert (r.status_code, code(r)) == (413, "verify.too_many_frames")
    chunk = b"\xff\xd8" + b"1" * (challenge.FRAME_MAX_BYTES - 100)
    sent = 0
    for seq in range(10):
        r = env.frame(attempt, seq, chunk + bytes([seq]))
        if r.status_code != 200:
            break
        sent += len(chunk) + 1
    assert (r.status_code, code(r)) == (413, "verify.upload_too_large")
    assert sent <= challenge.ATTEMPT_MAX_BYTES < sent + len(chunk) + 1


def test_a_passing_decision_passes_the_request(env):
    """Finish hands the decoded frames, the steps and the reference to the engine; a pass moves the
    request to passed, keeps at most the evidence frames' bytes and drops the others'."""
    env.checker.decisions = [passing()]
    session = env.session(env.link_token())
    r = env.run_attempt(session, first_seed=10, frames=5)
    assert r.status_code == 200, r.text
    assert r.json() == {"result": "passed", "reasons": [], "attempts_left": 2, "state": "passed"}
    [call] = env.checker.calls
    assert len(call["frames"]) == 5 and call["frames"][0].image.shape == (48, 48, 3)
    assert [s.action for s in call["steps"]][0] == ChallengeAction.HOLD_STILL
    with env.engine.connect() as conn:
        kept = conn.execute(select(verification_frames.c.seq).where(verification_frames.c.data.is_not(None))
                            .order_by(verification_frames.c.seq)).scalars().all()
        hashes = conn.execute(select(verification_frames.c.sha256)).scalars().all()
    assert kept == [0, 1] and len(hashes) == 5
    assert _row(env).state == VerificationState.PASSED


def test_failures_retry_then_go_to_manual_with_a_verification_failed_finding(env):
    """A failed attempt with attempts left answers retry (state stays opened); the third failure moves the
    request to manual and opens verification_failed on the record with the decision's evidence, sending a
    cleared record back to needs_review; the session ends with the request, so no fourth attempt starts."""
    route(env.engine, {env.record["record_id"]: []})
    env.checker.decisions = [failing("liveness.action_missed")]
    session = env.session(env.link_token())
    for left in (2, 1):
        r = env.run_attempt(session, first_seed=100 * left)
        assert r.json() == {"result": "retry", "reasons": ["liveness.action_missed"], "attempts_left": left,
                            "state": "opened"}
    r = env.run_attempt(session, first_seed=900)
    assert r.json() == {"result": "failed", "reasons": ["liveness.action_missed"], "attempts_left": 0,
                        "state": "manual"}
    with env.engine.connect() as conn:
        finding = conn.execute(select(findings)).one()
        state = conn.execute(select(records.c.state)).scalar()
    evidence = json.loads(finding.evidence)
    assert finding.kind == FindingKind.VERIFICATION_FAILED and state == ReviewState.NEEDS_REVIEW
    assert evidence["reasons"] == ["liveness.action_missed"] and evidence["checks"][0]["threshold"] == "0.5500"
    assert len(evidence["evidence_frames"]) == 2 and json.loads(_row(env).result)["outcome"] == "failed"
    # Every attempt and decision is in the audit chain, which still verifies and names no one.
    with env.engine.connect() as conn:
        entries = conn.execute(select(audit_log.c.action, audit_log.c.data)).all()
    actions = [a for a, _ in entries]
    assert actions.count("verification.attempt_started") == 3 and actions.count("verification.decided") == 3
    assert not any(env.id_number in d or env.record["name"] in d for _, d in entries)
    assert audit.verify(env.engine)[0]
    r = env.start(session)
    assert (r.status_code, code(r)) == (401, "verify.session_invalid")  # the session ended with the request


def test_a_used_up_link_answers_used_up_after_the_digits(env):
    """Once passed, the link's digits still check first, then 409 verify.used_up."""
    token = env.link_token()
    env.run_attempt(env.session(token), first_seed=1)
    assert code(env.unlock(token, "000000")) == "verify.id_mismatch"
    r = env.unlock(token)
    assert (r.status_code, code(r)) == (409, "verify.used_up")


def test_frames_replayed_from_an_earlier_attempt_fail_without_the_engine(env):
    """A frame whose bytes were uploaded in an earlier attempt fails the attempt as liveness.replayed,
    decided by the registry (the engine is not asked)."""
    env.checker.decisions = [failing()]
    session = env.session(env.link_token())
    env.run_attempt(session, first_seed=50)
    calls = len(env.checker.calls)
    env.checker.decisions = [passing()]
    r = env.run_attempt(session, first_seed=51)  # frames 51, 52 were sent in the first attempt
    assert r.json()["result"] == "retry" and r.json()["reasons"] == ["liveness.replayed"]
    assert len(env.checker.calls) == calls


def test_a_closed_attempt_takes_no_frames_and_no_second_finish(env):
    """After finish, the attempt's frames and a second finish are 409 verify.attempt_closed."""
    session = env.session(env.link_token())
    attempt = env.start(session).json()
    env.frame(attempt, 0, jpeg(3))
    assert env.finish(attempt, session).status_code == 200
    assert code(env.frame(attempt, 1, jpeg(4))) == "verify.attempt_closed"
    assert code(env.finish(attempt, session)) in ("verify.attempt_closed", "verify.session_invalid")


def test_staff_read_kept_evidence_frames_and_each_read_is_audited(env):
    """Central staff download a kept evidence frame (the JPEG bytes); a cadre may not; the read is audited."""
    env.checker.decisions = [failing()]
    session = env.session(env.link_token())
    r = env.start(session)
    attempt = r.json()
    frame = jpeg(77)
    env.frame(attempt, 0, frame)
    env.finish(attempt, session)
    path = protocol.VERIFICATION_EVIDENCE.format(attempt=attempt["attempt"], seq=0)
    got = env.client.get(path, headers=env.bearer("central"))
    assert got.status_code == 200 and got.content == frame and got.headers["content-type"] == "image/jpeg"
    assert code(env.client.get(path, headers=env.bearer("cadre_a"))) == "auth.forbidden"
    with env.engine.connect() as conn:
        assert "verification.evidence_viewed" in conn.execute(select(audit_log.c.action)).scalars().all()


def test_an_engine_that_is_not_installed_leaves_the_attempt_open(env, monkeypatch):
    """Without capture.liveness the finish is 503 verify.engine_unavailable and the attempt stays open."""
    import sys

    from registry.verification.engine import LivenessEngine

    monkeypatch.setitem(sys.modules, "capture.liveness", None)  # importing it raises ImportError
    env.asgi.app.state.liveness = LivenessEngine()
    session = env.session(env.link_token())
    attempt = env.start(session).json()
    env.frame(attempt, 0, jpeg(5))
    r = env.finish(attempt, session)
    assert (r.status_code, code(r)) == (503, "verify.engine_unavailable")
    env.asgi.app.state.liveness = ScriptedChecker(passing())
    assert env.finish(attempt, session).json()["result"] == "passed"
