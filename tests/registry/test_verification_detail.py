"""One verification request as staff review it (GET /api/verifications/{request}): every attempt with its
stored decision and the evidence frames still kept, for the village's cadre and staff only."""

from __future__ import annotations

import pytest
from verifykit import Env, code, failing, passing

from registry.verification import evidence
from sync import protocol


@pytest.fixture
def env(registry_db_url):
    e = Env(registry_db_url)
    yield e
    e.close()


def test_a_request_reads_with_every_attempts_decision_and_its_kept_frames(env):
    """Two attempts (a failure, then a pass) come back oldest first with their steps, checks, reasons,
    scores and evidence seqs; a purge empties evidence_kept but keeps the decision."""
    env.checker.decisions = [failing("liveness.action_missed"), passing()]
    token = env.create("cadre_a").json()
    request_id = token["request"]["request"]
    session = env.session(token["token"])
    assert env.run_attempt(session, first_seed=10, frames=4).json()["result"] == "retry"
    assert env.run_attempt(session, first_seed=20, frames=4).json()["result"] == "passed"

    r = env.client.get(protocol.VERIFICATION.format(request=request_id), headers=env.bearer("central"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["request"]["request"] == request_id and body["request"]["state"] == "passed"
    first, second = body["attempts"]
    assert (first["number"], second["number"]) == (1, 2) and first["state"] == second["state"] == "decided"
    assert first["decision"]["reasons"] == ["liveness.action_missed"] and first["decision"]["passed"] is False
    assert first["decision"]["checks"] == [{"name": "match", "passed": False, "value": "0.7100",
                                            "threshold": "0.5500", "reason": "liveness.action_missed"}]
    assert first["decision"]["match_distance"] == "0.7100" and first["decision"]["passive_score"] == "0.9300"
    assert first["decision"]["evidence"] == [0, 1] and first["evidence_kept"] == [0, 1]
    assert second["decision"]["passed"] is True and [s["action"] for s in second["steps"]][0] == "hold_still"

    env.clock.advance(days=91)
    evidence.purge(env.engine, older_than_days=90, clock=env.clock)
    after = env.client.get(protocol.VERIFICATION.format(request=request_id), headers=env.bearer("central")).json()
    assert [a["evidence_kept"] for a in after["attempts"]] == [[], []]
    assert after["attempts"][0]["decision"]["evidence"] == [0, 1]


def test_a_request_of_another_village_is_not_found_for_a_cadre(env):
    """Cadre B gets 404 request.not_found for village A's request, as for an unknown id; cadre A reads it."""
    request_id = env.create("cadre_a").json()["request"]["request"]
    path = protocol.VERIFICATION.format(request=request_id)
    r = env.client.get(path, headers=env.bearer("cadre_b"))
    assert (r.status_code, code(r)) == (404, "request.not_found")
    r = env.client.get(protocol.VERIFICATION.format(request="no-such-request"), headers=env.bearer("central"))
    assert (r.status_code, code(r)) == (404, "request.not_found")
    r = env.client.get(path, headers=env.bearer("cadre_a"))
    assert r.status_code == 200 and r.json()["attempts"] == [] and r.json()["request"]["state"] == "sent"
