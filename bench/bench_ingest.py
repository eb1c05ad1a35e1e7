"""Ingest: synced enrollments through every automatic check, end to end.

A real registry process on loopback with department datasets imported (deaths, business,
vehicles, property, allowance, courts, tax) and a population of earlier enrollments with face
templates; a laptop pushes N new enrollments (face templates, subsidies, some planted
duplicates and deceased residents); the clock runs from the start of the sync until the last
record has left ``received`` (checked and routed by the registry's check worker).

Target: ≥ 50 records/s. Baseline ``push only``: the same sync's own duration (the transport and
storage cost, which the checks add to).
"""

from __future__ import annotations

import csv
import json
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from bench.synthetic import residents
from capture.faces import MODEL_NAME, MODEL_VERSION, FaceTemplate
from enrollment.records import FACE_TEMPLATE, FACE_TEMPLATE_MIME
from registry.launcher import RegistryProcess
from sync.client import SyncClient, login_online
from sync.store import Store

N = 500
EARLIER = 2000
VILLAGE = "510903102200"
PASSWORD = "bench-password-1"
WARNINGS = ["id_number.region_anachronistic", "id_number.region_unknown"]


def _template(vec: np.ndarray) -> bytes:
    return FaceTemplate(vec.astype(np.float32), MODEL_NAME, MODEL_VERSION).to_bytes()


def _enroll(store: Store, person: dict, vec: np.ndarray, subsidies: list[str]) -> None:
    fields = {**person, "village_code": VILLAGE, "record_id": str(uuid.uuid4()), "consent": True,
              "confirmed_warnings": WARNINGS, "face": {"model": MODEL_NAME, "version": MODEL_VERSION, "quality": {}}}
    if subsidies:
        fields["subsidies"] = subsidies
    store.enroll(fields, [(FACE_TEMPLATE, _template(vec), FACE_TEMPLATE_MIME)])


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def _datasets(tmp: Path, people: list[dict]) -> dict[str, Path]:
    """Department rows for about one resident in ten, plus rows about nobody enrolled."""
    hit = people[::10]
    return {
        "deaths": _write_csv(tmp / "deaths.csv", ["id_number", "name", "death_date"],
                             [[p["id_number"], p["name"], "2026-01-05"] for p in hit[::5]]),
        "business": _write_csv(tmp / "business.csv", ["id_number", "name", "company_name", "credit_code", "role"],
                               [[p["id_number"], p["name"], "遂宁某某商贸有限公司", "91510903MA6A1B2C3D", "法定代表人"]
                                for p in hit[1::5]]),
        "vehicles": _write_csv(tmp / "vehicles.csv", ["id_number", "name", "plate", "vehicle_type", "registered_date"],
                               [[p["id_number"], p["name"], f"川J{i:05d}", "小型轿车", "2020-03-01"]
                                for i, p in enumerate(hit[2::5])]),
    }


def _unchecked(db_path: Path) -> int:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30) as conn:
        return conn.execute("SELECT count(*) FROM records WHERE state = 'received'").fetchone()[0]


def _states(db_path: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30) as conn:
        return dict(conn.execute("SELECT state, count(*) FROM records GROUP BY state").fetchall())


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else N
    rng = np.random.default_rng(11)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        db = tmp / "registry.sqlite3"
        reg = RegistryProcess(f"sqlite:///{db}", tmp / "reg").start()
        try:
            for user, role in (("bench", "cadre"), ("boss", "central")):
                args = ["--username", user, "--role", role] + (["--village", VILLAGE] if role == "cadre" else [])
                done = reg.cli("add-operator", *args, input=PASSWORD + "\n")
                if done.returncode:
                    sys.exit(done.stderr)
            people = [dict(r, village_code=VILLAGE) for r in residents(EARLIER + n, villages=1, seed=23)]
            for kind, path in _datasets(tmp, people).items():
                done = reg.cli("import-dataset", kind, str(path))
                if done.returncode:
                    sys.exit(done.stderr)
            vecs = rng.standard_normal((EARLIER + n, 128)).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            # Planted: every 50th new enrollment reuses an earlier person's face (a fraud to find).
            for i in range(EARLIER, EARLIER + n, 50):
                vecs[i] = vecs[i - EARLIER] + rng.normal(0, 0.01, 128).astype(np.float32)

            earlier = Store.open(tmp / "earlier.sqlite3")
            login_online(earlier, reg.url, "bench", PASSWORD)
            for i, p in enumerate(people[:EARLIER]):
                _enroll(earlier, p, vecs[i], [])
            SyncClient(earlier).run()
            deadline = time.monotonic() + 600
            while _unchecked(db) and time.monotonic() < deadline:
                time.sleep(0.2)
            earlier.close()

            store = Store.open(tmp / "laptop.sqlite3")
            login_online(store, reg.url, "bench", PASSWORD)
            for i, p in enumerate(people[EARLIER:], start=EARLIER):
                _enroll(store, p, vecs[i], ["dibao"] if i % 3 == 0 else [])
            t0 = time.perf_counter()
            result = SyncClient(store).run()
            push_s = time.perf_counter() - t0
            while _unchecked(db) and time.monotonic() < deadline:
                time.sleep(0.05)
            total_s = time.perf_counter() - t0
            store.close()
            states = _states(db)
        finally:
            reg.stop()
    rate = n / total_s
    print(json.dumps({
        "benchmark": "ingest", "records": n, "earlier_records": EARLIER,
        "ingest_s": round(total_s, 3), "records_per_s": round(rate, 1), "target_records_per_s": 50,
        "meets_target": rate >= 50,
        "baseline": "push only", "push_s": round(push_s, 3), "push_records_per_s": round(n / push_s, 1),
        "checks_overhead_ratio": round(total_s / push_s, 2),
        "states": states, "sync": result.to_dict(),
    }, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
