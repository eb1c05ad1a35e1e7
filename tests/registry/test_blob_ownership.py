"""Blob uploads owned by their uploader (issue 10 item 3), garbage collection and audited staff downloads.

The API tests run the real app (``registry.api.create_app``) through Starlette's TestClient on a fresh
SQLite file and on PostgreSQL, with a ``FixedClock`` so expiry and grace are driven, never waited for.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import warnings

import pytest
from regkit import HEADERS, PASSWORD, VILLAGE_A, VILLAGE_B, Api, item, payload, sha256, upgrade_to
from reviewkit import make_operator
from sqlalchemy import func, select

from registry import audit, blobs
from registry.api import create_app
from registry.clock import FixedClock
from registry.config import Settings
from registry.db import open_database
from registry.launcher import RegistryProcess
from registry.schema import audit_log, blob_upload_chunks, blob_uploads
from sync import protocol
from tests.conftest import yikatong

with warnings.catch_warnings():
    # Starlette suggests a successor of httpx for its TestClient; the one installed works the same.
    from starlette.exceptions import StarletteDeprecationWarning

    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


class LocalApi(Api):
    """``regkit.Api`` over a TestClient (one app, several logged-in callers sharing it)."""

    def __init__(self, client: TestClient, token: str | None = None, device_id: str = "laptop-1") -> None:
        self.base_url, self.token, self.device_id, self.http = "http://testserver", token, device_id, client

    def login(self, username: str, password: str = PASSWORD, device_id: str = "laptop-1") -> LocalApi:
        r = self.http.post(protocol.LOGIN, json={"username": username, "password": password,
                                                  "device_id": device_id}, headers=HEADERS)
        assert r.status_code == 200, r.text
        return LocalApi(self.http, r.json()["token"], device_id)

    def status(self, sha: str, size: int) -> dict:
        r = self.post(protocol.BLOB_STATUS, json={"blobs": [{"sha256": sha, "size": size}]})
        assert r.status_code == 200, r.text
        [entry] = r.json()["blobs"]
        return entry


@pytest.fixture
def env(registry_db_url):
    engine = open_database(registry_db_url)
    for username, role, villages in (("cadre_a", "cadre", [VILLAGE_A]), ("cadre_a2", "cadre", [VILLAGE_A]),
                                     ("cadre_b", "cadre", [VILLAGE_B]), ("central", "central", [])):
        make_operator(engine, username, role, *villages)
    clock = FixedClock(T0)
    with TestClient(create_app(engine, Settings(), clock=clock)) as client:
        anon = LocalApi(client)
        yield engine, clock, anon
    engine.dispose()


def upload(api: Api, data: bytes, chunk: int = 4096) -> dict:
    """Send ``data`` from the offset the caller's status gives; the last answer."""
    name = sha256(data)
    offset = api.status(name, len(data))["received"]
    answer: dict = {}
    while True:
        r = api.put_chunk(name, offset, len(data), data[offset:offset + chunk])
        assert r.status_code == 200, r.text
        answer = r.json()
        offset = answer["received"]
        if answer["complete"]:
            return answer


def attached(data: bytes, i: int, village: str = VILLAGE_A) -> dict:
    att = [{"kind": "id_front", "sha256": sha256(data), "size": len(data), "mime": "image/jpeg"}]
    return payload(i, village, attachments=att)


def error_code(r) -> str:
    return r.json()["error"]["code"]


def gc(engine, clock, **kw) -> blobs.GcSummary:
    return blobs.collect_garbage(engine, clock=clock, **kw)


def test_a_squatter_with_a_wrong_size_never_blocks_the_owner(env):
    """Cadre B starting the owner's hash with a wrong size, or with wrong bytes, leaves the owner's upload untouched:
    it completes and the owner's record is accepted, while B's own attempts fail only for B."""
    _engine, _clock, anon = env
    owner, squatter = anon.login("cadre_a"), anon.login("cadre_b", device_id="laptop-b")
    data = os.urandom(10_000)
    name = sha256(data)

    assert squatter.put_chunk(name, 0, 99, b"x" * 10).status_code == 200  # wrong size: B's own partial
    half = owner.put_chunk(name, 0, len(data), data[:5000])
    assert half.status_code == 200 and half.json() == {"sha256": name, "received": 5000, "complete": False}
    # Wrong bytes of the right size from B fail B's upload alone.
    assert squatter.put_chunk(name, 0, len(data), b"y" * 9_000).status_code == 200
    bad = squatter.put_chunk(name, 9_000, len(data), b"y" * 1_000)
    assert bad.status_code == 422 and error_code(bad) == protocol.E_BLOB_HASH
    assert owner.status(name, len(data)) == {"sha256": name, "received": 5000, "complete": False}

    assert upload(owner, data)["complete"] is True
    p = attached(data, 1)
    assert owner.push_one(item(p))["status"] == protocol.ACCEPTED
    # The same cadre on another laptop has an upload of their own too (keyed by device).
    assert anon.login("cadre_a", device_id="laptop-2").status(name, len(data))["complete"] is True


def test_one_uploader_restarting_with_another_size_replaces_only_their_own_partial(env):
    """A size that differs from one's own partial upload is refused mid-way (blob.size_invalid) and replaces it
    when sent from offset 0; other uploaders' partials of the hash keep their bytes."""
    _engine, _clock, anon = env
    a, b = anon.login("cadre_a"), anon.login("cadre_b")
    data = os.urandom(6_000)
    name = sha256(data)
    assert a.put_chunk(name, 0, 7_000, data[:3000]).status_code == 200
    assert b.put_chunk(name, 0, len(data), data[:2000]).status_code == 200
    wrong = a.put_chunk(name, 3000, len(data), data[3000:])
    assert wrong.status_code == 422 and error_code(wrong) == protocol.E_BLOB_SIZE
    assert wrong.json()["error"]["data"]["size"] == 7_000
    assert a.status(name, len(data)) == {"sha256": name, "received": 3000, "complete": False, "size": 7_000}
    restart = a.put_chunk(name, 0, len(data), data[:1000])
    assert restart.json() == {"sha256": name, "received": 1000, "complete": False}
    assert upload(a, data)["complete"] is True
    assert b.status(name, len(data)) == {"sha256": name, "received": 2000, "complete": False}


def test_status_and_push_tell_nobody_about_blobs_they_have_not_shown(env):
    """The status answers "absent" for another's upload or unreferenced blob, a chunk does not reveal it, and a
    push naming it is refused blob.missing; once a record names it, the village's cadres and staff see it complete."""
    _engine, _clock, anon = env
    a, a2, b, central = (anon.login("cadre_a"), anon.login("cadre_a2"), anon.login("cadre_b"),
                         anon.login("central"))
    data, partial = os.urandom(8_000), os.urandom(8_000)
    name = sha256(data)
    assert upload(a, data)["complete"] is True
    assert a.put_chunk(sha256(partial), 0, len(partial), partial[:1000]).status_code == 200

    absent = {"sha256": name, "received": 0, "complete": False}
    for other in (a2, b, central):
        assert other.status(name, len(data)) == absent
        assert other.status(sha256(partial), len(partial)) == {**absent, "sha256": sha256(partial)}
    first = b.put_chunk(name, 0, len(data), data[:100])
    assert first.json() == {"sha256": name, "received": 100, "complete": False}  # no "complete" for a guess
    refused = b.push_one(item(attached(data, 2, VILLAGE_B)))
    assert refused["status"] == protocol.REFUSED and refused["error"]["code"] == protocol.E_BLOB_MISSING
    assert refused["error"]["data"]["missing"] == [name]

    assert a.push_one(item(attached(data, 1)))["status"] == protocol.ACCEPTED
    assert a2.status(name, len(data))["complete"] is True       # a record of their village names it
    assert central.status(name, len(data))["complete"] is True  # staff: any record's attachment
    assert b.status(name, len(data)) == {**absent, "received": 100}  # B's own partial, nothing more
    # B proves holding the bytes by sending them all: then B's record may name the blob.
    assert upload(b, data)["complete"] is True
    assert b.push_one(item(attached(data, 2, VILLAGE_B)))["status"] == protocol.ACCEPTED


def test_partial_uploads_expire_after_their_ttl_since_the_last_chunk(env):
    """A partial upload idle longer than the TTL is removed; one that received a chunk within it is kept."""
    engine, clock, anon = env
    a, b = anon.login("cadre_a"), anon.login("cadre_b")
    idle, busy = os.urandom(5_000), os.urandom(5_000)
    assert a.put_chunk(sha256(idle), 0, len(idle), idle[:1000]).status_code == 200
    assert b.put_chunk(sha256(busy), 0, len(busy), busy[:1000]).status_code == 200
    clock.advance(hours=20)
    assert b.put_chunk(sha256(busy), 1000, len(busy), busy[1000:2000]).status_code == 200
    clock.advance(hours=3)
    assert gc(engine, clock, partial_ttl=24 * 3600) == blobs.GcSummary()
    clock.advance(hours=2)  # 25 h after idle's last chunk, 5 h after busy's
    assert gc(engine, clock, partial_ttl=24 * 3600, dry_run=True) == blobs.GcSummary(1, 1000, 0, 0, dry_run=True)
    assert gc(engine, clock, partial_ttl=24 * 3600) == blobs.GcSummary(1, 1000, 0, 0)
    assert a.status(sha256(idle), len(idle))["received"] == 0
    assert b.status(sha256(busy), len(busy))["received"] == 2000
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(blob_upload_chunks)
                            .where(blob_upload_chunks.c.sha256 == sha256(idle))).scalar_one() == 0
    # The laptop simply starts again from 0.
    assert upload(a, idle)["complete"] is True


def test_unreferenced_blobs_go_after_the_grace_and_referenced_ones_stay(env):
    """After the grace, a blob no record names is removed (audited, with counts); blobs named by a record, by an
    older version of a record since deleted, or by a kept conflicting version stay; a status telling the uploader
    "complete" starts the grace again."""
    engine, clock, anon = env
    a, central = anon.login("cadre_a"), anon.login("central")
    named, orphan, in_history, in_conflict, confirmed = (os.urandom(3_000 + i) for i in range(5))
    for data in (named, orphan, in_history, in_conflict, confirmed):
        assert upload(a, data)["complete"] is True
    assert a.push_one(item(attached(named, 1)))["status"] == protocol.ACCEPTED
    old = attached(in_history, 2)
    assert a.push_one(item(old))["status"] == protocol.ACCEPTED
    tomb = protocol.push_item(old["record_id"], 1, None, deleted=True)
    assert a.push_one(tomb)["status"] == protocol.ACCEPTED  # the record deleted; version 1 still names the blob
    base = payload(3)
    assert a.push_one(item(base))["status"] == protocol.ACCEPTED
    assert a.push_one(item({**base, "note": "v2"}, 1))["status"] == protocol.ACCEPTED
    stale = {**attached(in_conflict, 3), "record_id": base["record_id"], "note": "other laptop"}
    assert a.push_one(item(stale, 1))["status"] == protocol.CONFLICT

    clock.advance(days=6)
    assert a.status(sha256(confirmed), len(confirmed))["complete"] is True  # the uploader asks again
    assert gc(engine, clock) == blobs.GcSummary()
    clock.advance(days=2)
    summary = gc(engine, clock)
    assert summary == blobs.GcSummary(0, 0, 1, len(orphan))
    assert a.status(sha256(orphan), len(orphan))["complete"] is False
    for kept in (named, in_history, in_conflict, confirmed):
        assert a.status(sha256(kept), len(kept))["complete"] is True
    assert central.get(protocol.BLOB.format(sha256=sha256(orphan))).status_code == 404
    assert central.get(protocol.BLOB.format(sha256=sha256(in_history))).content == in_history
    with engine.connect() as conn:
        entries = conn.execute(select(audit_log.c.actor, audit_log.c.data)
                               .where(audit_log.c.action == audit.BLOBS_COLLECTED)).all()
    assert [(actor, json.loads(data)) for actor, data in entries] == [
        (audit.SYSTEM, {"partials_removed": 0, "partial_bytes": 0, "blobs_removed": 1, "blob_bytes": len(orphan)})]
    clock.advance(days=8)  # the statuses above confirmed it again at day 8
    assert gc(engine, clock).blobs_removed == 1  # the confirmed one, past the grace since its last confirmation
    # An orphan removed is uploaded again like any new blob.
    assert upload(a, orphan)["complete"] is True


def test_staff_blob_downloads_are_audited_without_personal_data(env):
    """Each blob download by central staff is one audit entry naming the hash and the operator; a cadre's
    download and a refused one are not entries."""
    engine, _clock, anon = env
    a, central = anon.login("cadre_a"), anon.login("central")
    data = os.urandom(4_000)
    name = sha256(data)
    assert upload(a, data)["complete"] is True
    assert a.push_one(item(attached(data, 1)))["status"] == protocol.ACCEPTED
    url = protocol.BLOB.format(sha256=name)
    assert a.get(url).content == data
    assert central.get(url).content == data
    assert central.get(url).content == data
    assert central.get(protocol.BLOB.format(sha256=sha256(b"nothing"))).status_code == 404
    with engine.connect() as conn:
        rows = conn.execute(select(audit_log.c.actor, audit_log.c.subject, audit_log.c.data)
                            .where(audit_log.c.action == audit.BLOB_DOWNLOADED).order_by(audit_log.c.seq)).all()
    assert [(r.actor, r.subject, json.loads(r.data)) for r in rows] == [("central", name, {"size": len(data)})] * 2
    ok, broken, _n = audit.verify(engine)
    assert ok and broken is None


def test_blob_sweeper_runs_the_collection_on_its_own(env):
    """The server's sweeper removes expired partial uploads when run, and its thread runs it every interval."""
    engine, clock, anon = env
    a = anon.login("cadre_a")
    data = os.urandom(2_000)
    assert a.put_chunk(sha256(data), 0, len(data), data[:500]).status_code == 200
    sweeper = blobs.BlobSweeper(engine, clock=clock, partial_ttl=3600, grace=3600, interval=0.05)
    assert sweeper.run_once() == blobs.GcSummary()
    clock.advance(hours=2)
    sweeper.ran.clear()
    sweeper.start()
    try:
        assert sweeper.ran.wait(30)
    finally:
        sweeper.stop()
    assert sweeper.runs >= 2  # run_once above, then the thread's own
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(blob_uploads)).scalar_one() == 0


def test_gc_blobs_command_on_a_sqlite_registry_file(tmp_path):
    """``yikatong registry gc-blobs`` counts with --dry-run, then removes the expired partial upload and the
    unreferenced blob of a real SQLite registry, printing the counts."""
    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    engine = open_database(url)
    cadre = make_operator(engine, "cadre_a", "cadre", VILLAGE_A)
    long_ago = FixedClock(dt.datetime.now(dt.UTC) - dt.timedelta(days=30))
    partial, orphan = os.urandom(3_000), os.urandom(2_000)
    blobs.put_chunk(engine, cadre, "laptop-1", sha256(partial), 0, len(partial), partial[:1000], clock=long_ago)
    assert blobs.put_chunk(engine, cadre, "laptop-1", sha256(orphan), 0, len(orphan), orphan,
                           clock=long_ago)["complete"] is True
    engine.dispose()

    dry = yikatong("registry", "gc-blobs", "--db", url, "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout) == {"partials_removed": 1, "partial_bytes": 1000, "blobs_removed": 1,
                                      "blob_bytes": 2000, "dry_run": True}
    run = yikatong("registry", "gc-blobs", "--db", url)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "removed 1 partial upload(s) (1000 bytes) and 1 unreferenced blob(s) (2000 bytes)\n"
    stats = json.loads(yikatong("registry", "stats", "--db", url, "--json").stdout)
    assert stats["blobs"] == {"complete": 0, "partial": 0, "bytes": 0, "partial_bytes": 0}
    again = yikatong("registry", "gc-blobs", "--db", url, "--json")
    assert json.loads(again.stdout)["partials_removed"] == 0
    bad = yikatong("registry", "gc-blobs", "--db", url, "--blob-grace-days", "-1")
    assert bad.returncode != 0 and "usage.invalid_value" in bad.stderr


def test_the_served_registry_collects_blobs_with_its_flags(registry_db_url, tmp_path):
    """``registry serve --blob-gc-interval --blob-partial-ttl-hours`` runs the collection in the server process:
    an idle partial upload disappears without any command."""
    proc = RegistryProcess(registry_db_url, tmp_path, extra_args=[
        "--blob-gc-interval", "0.2", "--blob-partial-ttl-hours", "0"]).start()
    try:
        r = proc.cli("add-operator", "--username", "cadre_a", "--role", "cadre", "--village", VILLAGE_A,
                     input=PASSWORD + "\n")
        assert r.returncode == 0, r.stderr
        api = Api(proc.url).login("cadre_a")
        data = os.urandom(2_000)
        assert api.put_chunk(sha256(data), 0, len(data), data[:700]).status_code == 200
        engine = open_database(registry_db_url)
        try:
            for _ in range(300):
                with engine.connect() as conn:
                    left = conn.execute(select(func.count()).select_from(blob_uploads)).scalar_one()
                if left == 0:
                    break
                time.sleep(0.1)
            assert left == 0
            with engine.connect() as conn:
                assert conn.execute(select(func.count()).select_from(audit_log)
                                    .where(audit_log.c.action == audit.BLOBS_COLLECTED)).scalar_one() >= 1
        finally:
            engine.dispose()
    finally:
        proc.stop()


def test_uploads_are_keyed_by_operator_and_device(env):
    """Two devices of one operator and two operators each hold their own partial upload of one hash."""
    engine, _clock, anon = env
    data = os.urandom(3_000)
    callers = [anon.login("cadre_a"), anon.login("cadre_a", device_id="laptop-2"), anon.login("cadre_b")]
    for n, caller in enumerate(callers, start=1):
        assert caller.put_chunk(sha256(data), 0, len(data), data[:100 * n]).status_code == 200
    assert [c.status(sha256(data), len(data))["received"] for c in callers] == [100, 200, 300]
    with engine.connect() as conn:
        keys = {(r.operator, r.device_id) for r in conn.execute(select(blob_uploads))}
    assert keys == {("cadre_a", "laptop-1"), ("cadre_a", "laptop-2"), ("cadre_b", "laptop-1")}


def test_migration_0008_drops_partial_blobs_and_keeps_complete_ones(registry_db_url):
    """Upgrading a 0007 database removes its partial uploads (the laptops send them again) and keeps every
    complete blob with its bytes."""
    from sqlalchemy import text

    from registry.db import make_engine, migrate

    engine = make_engine(registry_db_url)
    upgrade_to(engine, "0007")
    done, half = sha256(b"done"), sha256(b"half")
    with engine.begin() as conn:
        for name, size, received, complete in ((done, 4, 4, True), (half, 8, 3, False)):
            conn.execute(text("INSERT INTO blobs (sha256, size, received, complete, created_at) "
                              "VALUES (:s, :n, :r, :c, '2026-11-30T00:00:00.000000Z')"),
                         {"s": name, "n": size, "r": received, "c": complete})
            conn.execute(text("INSERT INTO blob_chunks (sha256, \"offset\", data) VALUES (:s, 0, :d)"),
                         {"s": name, "d": b"done" if complete else b"hal"})
    migrate(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT sha256 FROM blobs")).scalars().all() == [done]
        assert conn.execute(text("SELECT sha256 FROM blob_chunks")).scalars().all() == [done]
        assert conn.execute(select(func.count()).select_from(blob_uploads)).scalar_one() == 0
    engine.dispose()


def test_collection_never_removes_a_blob_a_push_is_checking(env, backend):
    """PostgreSQL: while a push's transaction holds a blob it found (``blobs.missing``), a collection past the
    grace skips that blob instead of removing it or waiting; the next collection removes it if still unnamed."""
    if backend != "postgres":
        pytest.skip("SQLite runs one writing transaction at a time: a push and a collection never overlap")
    engine, clock, anon = env
    a = anon.login("cadre_a")
    data = os.urandom(1_500)
    assert upload(a, data)["complete"] is True
    cadre = make_operator(engine, "cadre_a", "cadre", VILLAGE_A)
    clock.advance(days=8)
    with engine.begin() as pushing:
        assert blobs.missing(pushing, cadre, [sha256(data)]) == []
        assert gc(engine, clock) == blobs.GcSummary()
    assert gc(engine, clock) == blobs.GcSummary(0, 0, 1, len(data))
