"""The issue's "Show" items for field sync, with real processes: the registry, ``yikatong field …``."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fieldkit import (
    PASSWORD,
    ROOT,
    VILLAGE,
    people,
    random_bytes,
    setup_registry,
    store_counts,
    write_csv,
    yikatong,
)

from sync import protocol
from sync.http import RegistryHttp
from sync.store import Store

N = 200


def registry_stats(registry) -> dict:
    done = registry.cli("stats", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def field(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return yikatong("field", *args, input=input)


def login(store: Path, registry, username: str = "c1") -> None:
    done = field("login", "--store", str(store), "--registry", registry.url, "--username", username,
                 input=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr


def sync(store: Path, *extra: str) -> tuple[int, dict]:
    done = field("sync", "--store", str(store), "--json", *extra)
    return done.returncode, json.loads(done.stdout)


def enrollment_csv(tmp_path: Path, n: int = N) -> Path:
    """n residents; every 4th with a consent scan, every 10th with both ID-card images (a few KB of random bytes)."""
    rows = people(n)
    scans = tmp_path / "scans"
    scans.mkdir()
    for i, r in enumerate(rows):
        if i % 4 == 0:
            (scans / f"consent-{i}.jpg").write_bytes(random_bytes(3000 + i, i))
            r["consent_form"] = f"scans/consent-{i}.jpg"
        if i % 10 == 0:
            for side in ("front", "back"):
                (scans / f"id-{side}-{i}.jpg").write_bytes(random_bytes(5000 + i, 1000 * (side == "back") + i))
                r[f"id_{side}"] = f"scans/id-{side}-{i}.jpg"
    return write_csv(tmp_path / "enroll.csv", rows, ("consent_form", "id_front", "id_back"))


def laptop_with_enrollments(registry, tmp_path: Path) -> Path:
    setup_registry(registry, tmp_path, roster=N)
    store = tmp_path / "laptop.sqlite3"
    login(store, registry)
    done = field("enroll", "--store", str(store), "--from", str(enrollment_csv(tmp_path)),
                 "--confirm-region-warnings")
    assert done.returncode == 0, done.stderr
    return store


def start_sync(store: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cli.main", "field", "sync", "--store", str(store), "--json",
                             "--batch-size", "5", *extra], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def wait_for_accepted(store: Path, proc: subprocess.Popen, at_least: int, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        accepted = store_counts(store).get("accepted", 0)
        if accepted >= at_least:
            return accepted
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    raise AssertionError("the sync never got going")


def assert_registry_has_exactly_the_laptops_records(registry, store_path: Path) -> None:
    """Exactly N records, one version each (no duplicates), every blob byte-identical by SHA-256."""
    s = registry_stats(registry)
    assert s["records"]["total"] == N and s["versions"] == N and s["conflicts"] == 0
    with Store.open(store_path) as store:
        assert store.counts_by_state()["accepted"] == N
        blobs = store.db.execute("SELECT sha256, data FROM blobs").fetchall()
        assert len(blobs) == s["blobs"]["complete"] == N // 4 + 2 * (N // 10)
        with RegistryHttp(registry.url, store.token()) as http:
            for sha, data in blobs:
                got = http.get_bytes(protocol.BLOB.format(sha256=sha))
                assert hashlib.sha256(got).hexdigest() == sha == hashlib.sha256(data).hexdigest()


def test_200_enrolled_offline_sync_exactly_once(registry, tmp_path):
    """200 residents enrolled offline (some with attachments) sync to exactly 200 records; a second sync sends nothing."""
    store = laptop_with_enrollments(registry, tmp_path)
    status = field("status", "--store", str(store), "--json")
    assert json.loads(status.stdout) == {"draft": 0, "queued": N, "sending": 0, "accepted": 0, "needs-attention": 0}

    code, report = sync(store)
    assert code == 0, report
    assert report["accepted"] == N and report["digest_match"] and report["blobs_sent"] == N // 4 + 2 * (N // 10)
    assert_registry_has_exactly_the_laptops_records(registry, store)

    code, again = sync(store)
    assert code == 0 and again["digest_match"]
    assert (again["push_batches"], again["accepted"], again["unchanged"], again["blobs_sent"], again["bytes_sent"]
            ) == (0, 0, 0, 0, 0)
    assert registry_stats(registry)["versions"] == N


def test_registry_killed_mid_sync(registry, tmp_path):
    """The registry SIGKILLed in the middle of a sync and restarted: the next sync ends with exactly 200 records, identical blobs and agreeing digests."""
    store = laptop_with_enrollments(registry, tmp_path)
    proc = start_sync(store, "--max-retries", "2")
    accepted = wait_for_accepted(store, proc, 20)
    registry.kill()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, (out, err)
    assert json.loads(out)["error_code"] == "sync.network"
    assert accepted < N

    registry.restart()  # a new port: the next sync is told the new address
    code, report = sync(store, "--registry", registry.url)
    assert code == 0, report
    assert report["digest_match"] and report["server_count"] == N
    assert_registry_has_exactly_the_laptops_records(registry, store)


def test_laptop_killed_mid_sync(registry, tmp_path):
    """The laptop's sync process SIGKILLed mid-sync and run again: exactly 200 records, identical blobs, agreeing digests."""
    store = laptop_with_enrollments(registry, tmp_path)
    proc = start_sync(store)
    accepted = wait_for_accepted(store, proc, 20)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert accepted < N
    counts = store_counts(store)
    assert counts.get("accepted", 0) < N

    code, report = sync(store)
    assert code == 0, report
    assert report["digest_match"] and report["server_count"] == N
    assert_registry_has_exactly_the_laptops_records(registry, store)


def test_same_record_edited_on_two_laptops(registry, tmp_path):
    """Two cadres' laptops edit the same record: the second push is a conflict shown with both versions, and the registry keeps the first."""
    setup_registry(registry, tmp_path, roster=5, operators=("c1", "c2"))
    a, b, c = (tmp_path / f"{x}.sqlite3" for x in "abc")
    login(a, registry, "c1")
    login(b, registry, "c2")
    done = field("enroll", "--store", str(a), "--from", str(write_csv(tmp_path / "one.csv", people(1))),
                 "--village", VILLAGE, "--confirm-region-warnings")
    assert done.returncode == 0, done.stderr
    assert sync(a)[0] == 0
    assert sync(b)[0] == 0  # b pulls the record, stored as accepted so it can be edited

    with Store.open(a) as sa:
        [rid] = [r["record_id"] for r in sa.list_records()]
        sa.edit(rid, {"phone": "13900000001"})
        sa.queue(rid)
    with Store.open(b) as sb:
        assert sb.get_record(rid)["state"] == "accepted"
        sb.edit(rid, {"phone": "13900000002"})
        sb.queue(rid)
    assert sync(a)[0] == 0
    code, report = sync(b)
    assert code == 1 and report["conflicts"] == 1 and report["digest_match"]
    status = json.loads(field("status", "--store", str(b), "--json").stdout)
    assert status["needs-attention"] == 1

    with Store.open(b) as sb:
        rec = sb.get_record(rid)
        assert rec["attention"]["code"] == protocol.E_CONFLICT
        assert rec["payload"]["phone"] == "13900000002"
        assert rec["conflict"]["server_payload"]["phone"] == "13900000001" and rec["conflict"]["server_version"] == 2
    s = registry_stats(registry)
    assert s["versions"] == 2 and s["conflicts"] == 1
    login(c, registry, "c1")  # a third laptop sees what the registry holds: a's edit, not overwritten
    assert sync(c)[0] == 0
    with Store.open(c) as sc:
        assert sc.get_record(rid)["payload"]["phone"] == "13900000001"
