"""SIGKILL of the registry in the middle of pushes and a blob upload, then restart: nothing lost, nothing twice."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time

import httpx
from regkit import PASSWORD, VILLAGE_A, Api, item, payload, sha256

from sync import protocol


def test_sigkill_during_pushes_then_restart_is_consistent(registry):
    """Every record accepted before a SIGKILL is present exactly once after restart, a half-sent blob resumes, and re-sending everything is a no-op."""
    r = registry.cli("add-operator", "--username", "cadre_a", "--role", "cadre", "--village", VILLAGE_A,
                     input=PASSWORD + "\n")
    assert r.returncode == 0, r.stderr
    r = registry.cli("add-operator", "--username", "central", "--role", "central", input=PASSWORD + "\n")
    assert r.returncode == 0, r.stderr
    pusher = Api(registry.url).login("cadre_a")
    uploader = Api(registry.url).login("cadre_a", device_id="laptop-blob")
    payloads = [payload(1000 + i) for i in range(400)]
    batches = [payloads[i:i + 10] for i in range(0, len(payloads), 10)]
    blob = os.urandom(4 * 1024 * 1024)
    blob_name = sha256(blob)
    accepted: set[str] = set()
    stop = threading.Event()

    def push_stream() -> None:
        for batch in batches:
            try:
                results = pusher.push([item(p) for p in batch])
            except httpx.HTTPError:
                return
            accepted.update(r["record_id"] for r in results if r["status"] == protocol.ACCEPTED)

    def upload_stream() -> None:
        step = 32 * 1024
        for off in range(0, len(blob), step):
            if stop.is_set():
                return
            try:
                uploader.put_chunk(blob_name, off, len(blob), blob[off:off + step])
            except httpx.HTTPError:
                return

    threads = [threading.Thread(target=push_stream), threading.Thread(target=upload_stream)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(accepted) < 60 and time.monotonic() < deadline:
        time.sleep(0.01)
    registry.kill()
    stop.set()
    for t in threads:
        t.join(30)
    assert 60 <= len(accepted) < len(payloads), "the kill should land mid-stream"

    if registry.db_url.startswith("sqlite:///"):
        with sqlite3.connect(registry.db_url[len("sqlite:///"):]) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    registry.start()
    api = Api(registry.url).login("cadre_a")
    changes, _ = api.pull_all()
    ids = [c["key"] for c in changes if c["kind"] == protocol.KIND_RECORD]
    assert len(ids) == len(set(ids)), "a record appears twice"
    assert accepted <= set(ids), "an accepted record was lost"
    by_id = {p["record_id"]: p for p in payloads}
    for c in changes:
        assert c["data"]["version"] == 1 and c["data"]["payload"] == by_id[c["key"]]
    stats = json.loads(registry.cli("stats", "--json").stdout)
    assert stats["versions"] == stats["records"]["total"] == len(ids)

    # The half-sent blob resumes where the server says it stopped.
    st = api.post(protocol.BLOB_STATUS, json={"blobs": [{"sha256": blob_name, "size": len(blob)}]}).json()
    received = st["blobs"][0]["received"]
    assert received % (32 * 1024) == 0 and not st["blobs"][0]["complete"]
    assert api.put_chunk(blob_name, received, len(blob), blob[received:]).json()["complete"] is True
    # (read back by central staff: no record names this blob, so its uploader may not read it)
    central = Api(registry.url).login("central")
    assert central.get(protocol.BLOB.format(sha256=blob_name)).content == blob

    # The laptop re-sends everything it is unsure of: accepted ones come back unchanged.
    for batch in batches:
        for res in api.push([item(p) for p in batch]):
            expected = protocol.UNCHANGED if res["record_id"] in ids else protocol.ACCEPTED
            assert res["status"] == expected
    d, n = protocol.digest((p["record_id"], 1, protocol.record_hash(p, False, p["record_id"])) for p in payloads)
    assert api.post(protocol.DIGEST, json={"digest": d, "count": n}).json()["match"] is True
