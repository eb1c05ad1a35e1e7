"""The sync client against a real registry process on 127.0.0.1 (no mocks of our server)."""

from __future__ import annotations

import hashlib
import json
import socket
import threading

import pytest
from fieldkit import (
    OTHER_VILLAGE,
    PASSWORD,
    enrollment_fields,
    open_laptop,
    people,
    random_bytes,
    setup_registry,
)

from registry.launcher import RegistryProcess
from sync import protocol
from sync.client import SyncClient, check_online, login_online
from sync.http import ApiError, RegistryHttp
from sync.store import Store


def stats(registry) -> dict:
    done = registry.cli("stats", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def enroll(store: Store, start: int, n: int, attachments: bool = False) -> list[str]:
    ids = []
    for i, p in enumerate(people(n, start)):
        att = [("consent_form", random_bytes(2000 + i, start + i), "image/jpeg")] if attachments and i % 2 == 0 else []
        ids.append(store.enroll(enrollment_fields(p), att))
    return ids


def test_login_online_caches_credential_and_rejects_bad_password(field_registry, tmp_path):
    """An online login returns the operator and enables offline login; a wrong password is ApiError auth.bad_credentials."""
    store = Store.open(tmp_path / "l.sqlite3")
    with pytest.raises(ApiError) as e:
        login_online(store, field_registry.url, "c1", "wrong-password")
    assert e.value.code == protocol.E_BAD_CREDENTIALS and store.token() is None
    op = login_online(store, field_registry.url, "c1", PASSWORD)
    assert op["username"] == "c1" and [v["code"] for v in op["villages"]] == ["510903102201"]
    assert store.offline_login("c1", PASSWORD)["username"] == "c1"
    assert check_online(field_registry.url) is True
    store.close()


def test_push_pull_digest_then_second_sync_sends_nothing(field_registry, laptop):
    """A first sync sends blobs and records, pulls the roster and the digests agree; once the registry has
    checked the records, a sync sends nothing and pulls nothing."""
    enroll(laptop, 0, 6, attachments=True)
    steps = []
    report = SyncClient(laptop).run(steps.append)
    assert report.ok, report.to_dict()
    assert (report.accepted, report.blobs_sent, report.refused, report.conflicts) == (6, 3, 0, 0)
    assert report.pulled == 20 + 6 and laptop.roster_count() == 20
    assert [s.phase for s in steps][-1] == "digest" and {"blobs", "push", "pull"} <= {s.phase for s in steps}
    assert laptop.counts_by_state()["accepted"] == 6
    s = stats(field_registry)
    assert s["records"]["total"] == 6 and s["blobs"]["complete"] == 3

    # The registry's checks route what arrived (received → cleared, a new pull counter each); once they
    # have, the next sync sends nothing and only brings those review states home.
    assert field_registry.cli("run-checks").returncode == 0
    settle = SyncClient(laptop).run()
    assert settle.ok and settle.push_batches == 0 and settle.blobs_sent == 0 and settle.accepted == 0
    assert {laptop.get_record(r["record_id"])["review"]["state"] for r in laptop.list_records()} == {"cleared"}
    again = SyncClient(laptop).run()
    assert again.ok and again.push_batches == 0 and again.blobs_sent == 0 and again.bytes_sent == 0
    assert again.accepted == again.unchanged == again.pulled == 0
    assert stats(field_registry)["versions"] == 6


def test_refused_record_leaves_the_others_accepted(field_registry, laptop):
    """A record for a village not assigned to the cadre is refused into needs-attention with the registry's code; the rest of the batch is accepted."""
    good = enroll(laptop, 0, 3)
    bad = laptop.enroll(enrollment_fields(people(1, 50, village=OTHER_VILLAGE)[0]))
    report = SyncClient(laptop).run()
    assert (report.accepted, report.refused) == (3, 1) and not report.ok
    assert report.digest_match  # the refused record was never the registry's
    rec = laptop.get_record(bad)
    assert rec["state"] == "needs-attention" and rec["attention"]["code"] == protocol.E_VILLAGE
    assert all(laptop.get_record(r)["state"] == "accepted" for r in good)


def test_conflict_keeps_both_versions_and_overwrites_nothing(field_registry, tmp_path):
    """Two laptops edit the same record: the second push is a conflict with both versions kept and the server's version untouched."""
    a = open_laptop(field_registry, tmp_path / "a.sqlite3")
    b = open_laptop(field_registry, tmp_path / "b.sqlite3")
    [rid] = enroll(a, 0, 1)
    assert SyncClient(a).run().ok
    assert SyncClient(b).run().ok and b.get_record(rid)["state"] == "accepted"  # pulled from the registry
    a.edit(rid, {"note": "A 改"})
    a.queue(rid)
    b.edit(rid, {"note": "B 改"})
    b.queue(rid)
    assert SyncClient(a).run().accepted == 1
    report = SyncClient(b).run()
    assert report.conflicts == 1 and not report.ok
    assert report.digest_match  # the laptop knows which version the registry holds, though it shows a conflict
    rec = b.get_record(rid)
    assert rec["state"] == "needs-attention" and rec["attention"]["code"] == protocol.E_CONFLICT
    assert rec["payload"]["note"] == "B 改" and rec["conflict"]["server_payload"]["note"] == "A 改"
    assert rec["conflict"]["server_version"] == 2
    s = stats(field_registry)
    assert s["conflicts"] == 1 and s["versions"] == 2

    b.resolve_conflict(rid, "mine")  # the cadre keeps theirs on top of version 2
    assert SyncClient(b).run().ok
    assert SyncClient(a).run().ok and a.get_record(rid)["payload"]["note"] == "B 改"
    a.close()
    b.close()


def test_interrupted_blob_upload_resumes_where_it_stopped(field_registry, laptop):
    """A blob upload cancelled after its first chunk resumes from the registry's offset, and the registry's bytes match."""
    size = 2 * protocol.BLOB_CHUNK + 1234
    data = random_bytes(size, 99)
    sha = hashlib.sha256(data).hexdigest()
    rid = laptop.enroll(enrollment_fields(people(1)[0]), [("id_front", data, "image/jpeg")])
    cancel = threading.Event()

    def stop_after_first_chunk(step):
        if step.phase == "blobs":
            cancel.set()

    first = SyncClient(laptop, cancel=cancel).run(stop_after_first_chunk)
    assert first.cancelled and first.bytes_sent == protocol.BLOB_CHUNK and first.blobs_sent == 0
    assert laptop.get_record(rid)["state"] == "queued"
    partial = stats(field_registry)["blobs"]
    assert partial["partial"] == 1 and partial["partial_bytes"] == protocol.BLOB_CHUNK

    second = SyncClient(laptop).run()
    assert second.ok and second.blobs_sent == 1 and second.bytes_sent == size - protocol.BLOB_CHUNK
    with RegistryHttp(field_registry.url, laptop.token()) as http:
        assert hashlib.sha256(http.get_bytes(protocol.BLOB.format(sha256=sha))).hexdigest() == sha


def test_pull_in_batches_with_a_checkpoint_after_each(registry, tmp_path):
    """The roster arrives in batches of the asked size, each committed with its counter before the next is fetched."""
    setup_registry(registry, tmp_path, roster=250)
    store = open_laptop(registry, tmp_path / "laptop.sqlite3")
    seen = []

    def watch(step):
        if step.phase == "pull":
            with Store.open(store.path) as other:  # another connection sees only committed state
                seen.append((other.last_counter(), other.roster_count()))

    report = SyncClient(store, pull_limit=100).run(watch)
    assert report.ok and report.pulled == 250 and report.pull_batches == 3
    assert [n for _c, n in seen] == [100, 200, 250]
    assert seen[0][0] < seen[1][0] < seen[2][0] == store.last_counter()
    store.close()


def test_digest_mismatch_is_reported(field_registry, laptop):
    """When the laptop's idea of what the registry holds differs, the sync reports the mismatch instead of hiding it."""
    ids = enroll(laptop, 0, 3)
    assert SyncClient(laptop).run().ok
    laptop.db.execute("UPDATE records SET server_version = 7 WHERE record_id = ?", [ids[0]])
    report = SyncClient(laptop).run()
    assert report.error is None and not report.digest_match and not report.ok
    assert report.local_count == report.server_count == 3 and report.local_digest != report.server_digest


def test_forged_token_stops_the_sync_with_an_auth_error(field_registry, laptop):
    """A token the registry does not know stops the sync with auth.invalid_token (log in again) and accepts nothing."""
    enroll(laptop, 0, 2)
    laptop.set_meta("token", "forged-token")
    report = SyncClient(laptop).run()
    assert report.error_code == protocol.E_AUTH_INVALID and report.accepted == 0
    assert laptop.counts_by_state()["accepted"] == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_retry_with_backoff_across_a_registry_restart(tmp_path):
    """With the registry killed mid-push the sync retries with growing delays, ends with an error leaving records "sending", and a later sync finishes them once the registry is back."""
    reg = RegistryProcess(f"sqlite:///{tmp_path / 'registry.sqlite3'}", tmp_path / "reg", port=free_port()).start()
    try:
        setup_registry(reg, tmp_path, roster=0)
        store = open_laptop(reg, tmp_path / "laptop.sqlite3")
        enroll(store, 0, 30)

        waits: dict[int, float] = {}

        def kill_after_first_batch(step):
            if step.phase == "push" and step.done == 10:
                reg.kill()
            if step.phase == "waiting":  # retry waits come as steps, in slices; sum them per attempt
                waits[step.done] = waits.get(step.done, 0) + step.wait_s

        slept = []
        first = SyncClient(store, batch_size=10, max_retries=3, sleep=slept.append, rng=lambda: 1.0
                           ).run(kill_after_first_batch)
        assert first.error_code == "sync.network" and first.accepted == 10 and first.retries == 3
        assert waits == {1: 0.5, 2: 1.0, 3: 2.0}
        assert sum(slept) == 3.5  # run() spends each wait the steps ask for
        counts = store.counts_by_state()
        assert (counts["accepted"], counts["sending"], counts["queued"]) == (10, 10, 10)

        waits.clear()

        def restart_then_wait(step):
            if step.phase == "waiting":
                if step.done == 2 and step.done not in waits:
                    reg.start()  # same port: the laptop's address stays valid
                waits[step.done] = waits.get(step.done, 0) + step.wait_s

        second = SyncClient(store, batch_size=10, sleep=lambda s: None, rng=lambda: 0.0).run(restart_then_wait)
        assert second.ok, second.to_dict()
        assert waits == {1: 0.25, 2: 0.5}  # jitter pinned at its bottom: half of 0.5 and of 1.0
        assert second.accepted + second.unchanged == 20
        assert stats(reg)["records"]["total"] == 30
        store.close()
    finally:
        reg.stop()
