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
    """The demo's registry serves the 53-resident roster and a second laptop's ten enrollments to the demo cadre
    (once, not again on a second start), and its checks find the four planted cases among them."""
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
    assert pulled == [63, 0]
    db = f"sqlite:///{tmp_path / 'demo' / 'registry.sqlite3'}"
    stats = json.loads(yikatong("registry", "stats", "--db", db, "--json").stdout)
    assert stats["residents"] == 53
    assert stats["operators"]["total"] == 4  # cadre, cadre2 (the second laptop), central, issuer
    # Whatever the demo's check worker had not reached before it stopped, this run checks.
    assert yikatong("registry", "run-checks", "--db", db).returncode == 0
    found = json.loads(yikatong("registry", "findings", "--db", db, "--json").stdout)["findings"]
    assert sorted(f["rule"] for f in found) == ["assist_business_owner", "assist_vehicle_owner", "deceased",
                                                 "dishonest_debtor"]
