"""Push 1,000 enrollments to a registry on loopback, then a second, no-op sync.

Targets: ≤ 10 s for the push, ≤ 1 s for the no-op. Baseline ``floor``: the same number of
HTTP requests the sync made, sent as bare /api/health round trips to the same registry — the
transport cost our protocol cannot go below.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

from bench.synthetic import residents
from registry.launcher import RegistryProcess
from sync.client import SyncClient, login_online
from sync.store import Store

N = 1000
VILLAGE = "510903102200"
PASSWORD = "bench-password-1"


def enroll_all(store: Store, people: list[dict]) -> None:
    for r in people:
        store.enroll({**r, "village_code": VILLAGE, "record_id": str(uuid.uuid4()), "consent": True,
                      "confirmed_warnings": ["id_number.region_anachronistic", "id_number.region_unknown"]})


def floor(url: str, requests_count: int) -> float:
    with requests.Session() as s:
        t0 = time.perf_counter()
        for _ in range(requests_count):
            s.get(url + "/api/health", timeout=5).raise_for_status()
        return time.perf_counter() - t0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        reg = RegistryProcess(f"sqlite:///{tmp / 'registry.sqlite3'}", tmp / "reg").start()
        try:
            done = reg.cli("add-operator", "--username", "bench", "--role", "cadre", "--village", VILLAGE,
                           input=PASSWORD + "\n")
            if done.returncode:
                sys.exit(done.stderr)
            store = Store.open(tmp / "laptop.sqlite3")
            login_online(store, reg.url, "bench", PASSWORD)
            people = [dict(r, village_code=VILLAGE) for r in residents(N, villages=1)]
            enroll_all(store, people)

            t0 = time.perf_counter()
            first = SyncClient(store).run()
            push_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            second = SyncClient(store).run()
            noop_s = time.perf_counter() - t0
            stats = json.loads(reg.cli("stats", "--json").stdout)
            store.close()

            requests_made = -(-N // 100) + 4  # push batches + health, pull, digest, blob status
            floor_s = statistics.median(floor(reg.url, requests_made) for _ in range(3))
        finally:
            reg.stop()
    print(json.dumps({
        "benchmark": "push", "records": N,
        "push_s": round(push_s, 3), "push_target_s": 10.0, "push_records_per_s": round(N / push_s, 1),
        "noop_sync_s": round(noop_s, 3), "noop_target_s": 1.0,
        "meets_target": push_s <= 10 and noop_s <= 1,
        "first": first.to_dict(), "second": second.to_dict(),
        "registry_records": stats.get("records"),
        "baseline": "floor", "floor_s": round(floor_s, 4),
        "push_vs_floor": round(push_s / floor_s, 1) if floor_s else None,
    }, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
