"""``yikatong demo`` sets up an embedded registry with the demo village, and can be started again."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT, yikatong


def start_demo(data_dir) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "demo", "--no-app", "--data-dir", str(data_dir)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith("registry: http://127.0.0.1:"), (line, proc.stderr.read() if proc.poll() else "")
    return proc, line.split()[1]


def test_demo_serves_the_demo_village_and_restarts(tmp_path):
    """The demo's registry serves the 53-resident demo roster to the demo cadre, also on a second start."""
    pulled = []
    for _ in range(2):
        proc, url = start_demo(tmp_path / "demo")
        try:
            store = str(tmp_path / "laptop.sqlite3")
            login = yikatong("field", "login", "--store", store, "--registry", url, "--username", "cadre",
                             input="yikatong-demo\n")
            assert login.returncode == 0, login.stderr
            done = yikatong("field", "sync", "--store", store, "--json")
            assert done.returncode == 0, done.stderr
            pulled.append(json.loads(done.stdout)["pulled"])
        finally:
            proc.terminate()
            proc.wait(10)
        # The embedded registry went with the demo: its address no longer answers.
        assert yikatong("field", "sync", "--store", store, "--max-retries", "0").returncode == 1
    assert pulled == [53, 0]
    stats = json.loads(yikatong("registry", "stats", "--db", f"sqlite:///{tmp_path / 'demo' / 'registry.sqlite3'}",
                                "--json").stdout)
    assert stats["residents"] == 53
    assert stats["operators"]["total"] == 2
