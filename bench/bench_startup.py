"""App cold start to an interactive roster (target ≤ 2 s).

From spawning a new Python process to the roster of a 2,000-resident village shown after an
offline login (the usual case in a village). Baseline ``bare_qt``: a new process that only
opens an empty Qt window. Medians of several runs, run with QT_QPA_PLATFORM=offscreen.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.synthetic import residents
from sync.store import Store

VILLAGE = "510903102200"
RUNS = 5


def prepare(path: Path) -> None:
    store = Store.open(path)
    batch = [{"counter": i + 1, "kind": "resident", "key": r["id_number"], "data": r}
             for i, r in enumerate(residents(2000, villages=1))]
    store.apply_pull(batch, len(batch))
    operator = {"username": "bench", "display_name": "基准测试", "role": "cadre",
                "villages": [{"code": VILLAGE, "name": "大石村"}]}
    store.save_login("http://127.0.0.1:9", "bench", "bench-password-1",
                     {"token": None, "expires_at": None, "operator": operator})
    store.close()


def timed(arg: str) -> float:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "desktop.startup_probe", arg], stdout=subprocess.PIPE,
                            text=True, env=env)
    for line in proc.stdout:
        if line.startswith("READY"):
            elapsed = time.perf_counter() - t0
            proc.wait(30)
            return elapsed
    raise SystemExit(f"probe failed ({arg})")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "laptop.sqlite3"
        prepare(store)
        timed("bare")  # first run warms the OS file cache for both
        app = [timed(str(store)) for _ in range(RUNS)]
        bare = [timed("bare") for _ in range(RUNS)]
    med, base = statistics.median(app), statistics.median(bare)
    print(json.dumps({
        "benchmark": "cold_start", "village_residents": 2000, "runs": RUNS,
        "median_s": round(med, 3), "max_s": round(max(app), 3), "target_s": 2.0, "meets_target": med <= 2.0,
        "baseline": "bare_qt", "baseline_median_s": round(base, 3), "ratio_vs_baseline": round(med / base, 2),
    }))


if __name__ == "__main__":
    main()
