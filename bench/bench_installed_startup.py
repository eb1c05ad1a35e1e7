"""Start to the login window: the installed package (/usr/bin/yikatong) against the development venv.

Each run is a new process, ``yikatong app --smoke`` on an empty laptop store (a first start), timed
from spawning it to the line it prints once the login window shows. Medians of 5 after one warm-up
run each (the OS file cache is warm, as on a laptop that has started the app before); offscreen.
    python -m bench.bench_installed_startup [--installed /usr/bin/yikatong]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 5
READY = "YIKATONG_LOGIN_SHOWN"


def timed(command: list[str], env: dict[str, str], store: Path) -> float:
    t0 = time.perf_counter()
    proc = subprocess.Popen([*command, "app", "--smoke", "--store", str(store)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)
    for line in proc.stdout:
        if line.startswith(READY):
            elapsed = time.perf_counter() - t0
            proc.wait(60)
            return elapsed
    raise SystemExit(f"no login window: {command}")


def median_start(command: list[str], env: dict[str, str], tmp: Path) -> tuple[float, list[float]]:
    timed(command, env, tmp / "warm" / "laptop.sqlite3")
    runs = [timed(command, env, tmp / f"run{i}" / "laptop.sqlite3") for i in range(RUNS)]
    return statistics.median(runs), runs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--installed", default="/usr/bin/yikatong")
    args = parser.parse_args()
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    user_env = {k: v for k, v in env.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    with tempfile.TemporaryDirectory() as tmp:
        venv, venv_runs = median_start([sys.executable, "-m", "cli.main"], env, Path(tmp) / "venv")
        frozen, frozen_runs = median_start([args.installed], user_env, Path(tmp) / "installed")
    print(json.dumps({
        "benchmark": "start_to_login_window", "runs": RUNS,
        "venv_median_s": round(venv, 3), "venv_runs_s": [round(r, 3) for r in venv_runs],
        "installed_median_s": round(frozen, 3), "installed_runs_s": [round(r, 3) for r in frozen_runs],
        "ratio_installed_vs_venv": round(frozen / venv, 2),
    }))


if __name__ == "__main__":
    main()
