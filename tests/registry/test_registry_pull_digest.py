"""Pull by server counter, in pages with checkpoints, restricted to the operator's villages; the digest."""

from __future__ import annotations

import time

from regkit import item, payload, resident, write_roster

from sync import protocol

VILLAGE_C = "510903102203"
VILLAGE_D = "510903102204"


def _setup_village(shared, tmp_path, village: str, cadre: str, residents: int, records: int) -> list[dict]:
    roster = write_roster(tmp_path / f"{village}.csv", [resident(500 + i, village) for i in range(residents)])
    r = shared.process.cli("import-roster", str(roster), "--village", village, "--village-name", "测试村")
    assert r.returncode == 0, r.stderr
    shared.add_operator(cadre, "cadre", village)
    api = shared.login(cadre)
    # the first `residents` of them are on the village's roster (an enrollment off the roster needs review)
    ps = [payload(500 + i, village=village) for i in range(records)]
    assert all(r["status"] == protocol.ACCEPTED for r in api.push([item(p) for p in ps]))
    return ps


def test_pull_pages_with_checkpoints(shared, tmp_path):
    """Pulling with a small limit walks every change once, in counter order, each page resuming from the last checkpoint."""
    ps = _setup_village(shared, tmp_path, VILLAGE_C, "cadre_c", residents=5, records=4)
    api = shared.login("cadre_c")
    # The registry's check worker moves each new record on (received → cleared) with a new counter;
    # let it finish first so the pages below see a settled village.
    deadline = time.monotonic() + 60
    while any(c["data"]["state"] == "received" for c in api.pull_all()[0] if c["kind"] == protocol.KIND_RECORD):
        assert time.monotonic() < deadline, "the check worker did not route the records"
        time.sleep(0.2)
    since, pages, seen = 0, 0, []
    while True:
        body = api.get(protocol.PULL, params={"since": since, "limit": 3}).json()
        assert body["protocol_version"] == protocol.PROTOCOL_VERSION
        assert len(body["changes"]) <= 3
        seen += body["changes"]
        pages += 1
        if body["changes"]:
            assert body["last_counter"] == body["changes"][-1]["counter"]
        since = body["last_counter"]
        if not body["more"]:
            break
    assert pages == 3
    counters = [c["counter"] for c in seen]
    assert counters == sorted(counters) and len(set(counters)) == len(counters)
    kinds = [c["kind"] for c in seen]
    assert kinds.count(protocol.KIND_RESIDENT) == 5 and kinds.count(protocol.KIND_RECORD) == 4
    rec = next(c for c in seen if c["kind"] == protocol.KIND_RECORD)
    assert set(rec["data"]) == {"record_id", "version", "content_hash", "deleted", "payload", "state",
                                "operator", "device_id", "review"}
    assert rec["data"]["state"] == "cleared" and rec["data"]["operator"] == "cadre_c"
    assert {c["key"] for c in seen if c["kind"] == protocol.KIND_RECORD} == {p["record_id"] for p in ps}
    res = next(c for c in seen if c["kind"] == protocol.KIND_RESIDENT)
    assert res["key"] == res["data"]["id_number"] and res["data"]["village_code"] == VILLAGE_C

    # Nothing new since the checkpoint; an edit shows up as one new change.
    empty = api.get(protocol.PULL, params={"since": since, "limit": 3}).json()
    assert empty["changes"] == [] and empty["more"] is False and empty["last_counter"] == since
    api.push_one(item({**ps[0], "note": "改"}, base_version=1))
    after = api.get(protocol.PULL, params={"since": since}).json()["changes"]
    assert [(c["key"], c["data"]["version"]) for c in after] == [(ps[0]["record_id"], 2)]

    # Another village's cadre sees none of it; central sees it all.
    other = {c["key"] for c in shared.login("cadre_a").pull_all()[0]}
    assert not other & {p["record_id"] for p in ps}
    central = {c["key"] for c in shared.login("central").pull_all()[0]}
    assert {p["record_id"] for p in ps} <= central


def test_pull_limit_out_of_range_refused(shared):
    """limit outside 1..PULL_LIMIT_MAX, or a since beyond any counter, is 422 request.invalid naming the parameter."""
    api = shared.login("cadre_a")
    for limit in (0, protocol.PULL_LIMIT_MAX + 1):
        r = api.get(protocol.PULL, params={"limit": limit})
        assert r.status_code == 422 and r.json()["error"]["field"] == "limit"
    r = api.get(protocol.PULL, params={"since": 2**70})  # more than a database integer holds
    assert r.status_code == 422 and r.json()["error"]["field"] == "since"


def test_digest_match_and_mismatch(shared, tmp_path):
    """The digest over (record_id, version, content_hash) matches the client's when in sync and not otherwise."""
    ps = _setup_village(shared, tmp_path, VILLAGE_D, "cadre_d", residents=1, records=3)
    api = shared.login("cadre_d")
    triples = [(p["record_id"], 1, protocol.record_hash(p, False, p["record_id"])) for p in ps]
    d, n = protocol.digest(triples)
    r = api.post(protocol.DIGEST, json={"digest": d, "count": n}).json()
    assert r == {"match": True, "server_digest": d, "server_count": 3}

    d2, n2 = protocol.digest(triples[:2])
    r = api.post(protocol.DIGEST, json={"digest": d2, "count": n2}).json()
    assert r["match"] is False and r["server_digest"] == d and r["server_count"] == 3

    # A tombstone counts: the record stays in the digest with its new version.
    tomb = protocol.push_item(ps[0]["record_id"], 1, None, deleted=True)
    api.push_one(tomb)
    triples[0] = (ps[0]["record_id"], 2, tomb["content_hash"])
    d3, n3 = protocol.digest(triples)
    assert api.post(protocol.DIGEST, json={"digest": d3, "count": n3}).json()["match"] is True
