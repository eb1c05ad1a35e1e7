"""Roster search over 50,000 residents: time per keystroke (target ≤ 30 ms).

Baseline ``linear_scan``: a Python loop over the same residents applying the same four rules
(name substring, full-pinyin prefix, initials prefix, ID substring) — what the search would
cost without the store's indexes.
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from bench.synthetic import residents, typing_sequences
from enrollment.text import pinyin_keys
from sync.store import Store

N = 50_000
TARGET_MS = 30.0


def build(path: Path) -> list[dict]:
    store = Store.open(path)
    people = list(residents(N))
    counter = 0
    for start in range(0, N, 1000):
        batch = []
        for r in people[start:start + 1000]:
            counter += 1
            batch.append({"counter": counter, "kind": "resident", "key": r["id_number"], "data": r})
        store.apply_pull(batch, counter)
    store.close()
    return people


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "laptop.sqlite3"
        people = build(path)
        store = Store.open(path)
        rnd = random.Random(3)
        sample = rnd.sample(people, 40)
        keystrokes = [q for seq in typing_sequences(sample) for q in seq]
        store.search_residents(keystrokes[0])  # warm the page cache once, as a running app would be

        times = []
        hits = 0
        for q in keystrokes:
            t0 = time.perf_counter()
            found = store.search_residents(q, limit=200)
            times.append((time.perf_counter() - t0) * 1000)
            hits += bool(found)

        keys = [(r, *pinyin_keys(r["name"])) for r in people]
        base = []
        for q in keystrokes[:60]:
            t0 = time.perf_counter()
            ql = q.lower()
            _ = [r for r, full, ini in keys if q in r["name"] or full.startswith(ql) or ini.startswith(ql)
                 or q in r["id_number"]][:200]
            base.append((time.perf_counter() - t0) * 1000)
        store.close()

    med, p95 = statistics.median(times), percentile(times, 0.95)
    out = {
        "benchmark": "roster_search", "residents": N, "keystrokes": len(keystrokes),
        "queries_with_hits": hits,
        "median_ms": round(med, 2), "p95_ms": round(p95, 2), "max_ms": round(max(times), 2),
        "target_ms": TARGET_MS, "meets_target": p95 <= TARGET_MS,
        "baseline": "linear_scan", "baseline_median_ms": round(statistics.median(base), 2),
        "speedup_vs_baseline": round(statistics.median(base) / med, 1) if med else None,
    }
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
