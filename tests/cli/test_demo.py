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
    (once, not again on a second start), a third laptop's same-ID enrollment and the one failed payment of the
    demo's paid batch, and its checks find the four
    planted cases and the same-ID pair among them."""
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
    assert pulled == [65, 0]   # 53 residents, 10 + 1 records, 周芳's payment the bank returned
    db = f"sqlite:///{tmp_path / 'demo' / 'registry.sqlite3'}"
    stats = json.loads(yikatong("registry", "stats", "--db", db, "--json").stdout)
    assert stats["residents"] == 53
    assert stats["operators"]["total"] == 4  # cadre, cadre2 (the second laptop), central, issuer
    # Whatever the demo's check worker had not reached before it stopped, this run checks.
    assert yikatong("registry", "run-checks", "--db", db).returncode == 0
    found = json.loads(yikatong("registry", "findings", "--db", db, "--json").stdout)["findings"]
    assert sorted(f["rule"] for f in found if f["kind"] == "dataset_rule") == [
        "assist_business_owner", "assist_vehicle_owner", "deceased", "dishonest_debtor"]
    # 罗永福 enrolled on two laptops: the same-ID case, on both records
    assert len([f for f in found if f["kind"] == "same_id"]) == 2, found
    # One batch paid once, not again on the second start: two credited, 周芳's bounced; the rest waits.
    paid = json.loads(yikatong("registry", "payments", "status", "--db", db, "--json").stdout)
    assert (paid["paid"]["count"], paid["failed"]["count"], paid["balanced"], paid["batches"]) == (
        2, 1, True, {"settled": 1})
    assert paid["intercepted"]["count"] > 0


def _demo_lines(proc: subprocess.Popen) -> dict[str, str]:
    """The demo's address lines (``registry: URL``, ``verify: URL``) as it prints them, up to the login line."""
    found: dict[str, str] = {}
    for line in proc.stdout:
        key, _, rest = line.partition(": ")
        if key in ("registry", "verify"):
            found[key] = rest.split()[0]
        if key == "login":
            break
    assert set(found) == {"registry", "verify"}, (found, proc.stderr.read() if proc.poll() is not None else "")
    return found


def test_demo_links_open_on_its_own_public_verification_process(tmp_path):
    """The demo starts the public verification process on loopback and its links point there: the link's page
    loads and the ID digits unlock through that port, the staff and sync API are not on it, and it stops with
    the demo."""
    import httpx

    from sync import protocol

    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "demo", "--no-app", "--data-dir", str(tmp_path / "demo")],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        urls = _demo_lines(proc)
        public = urls["verify"]
        assert public.startswith("http://127.0.0.1:") and public != urls["registry"]
        headers = {protocol.VERSION_HEADER: str(protocol.PROTOCOL_VERSION)}
        with httpx.Client(base_url=urls["registry"], headers=headers, timeout=30) as staff:
            login = staff.post(protocol.LOGIN, json={"username": "cadre", "password": "yikatong-demo",
                                                     "device_id": "demo-test"})
            assert login.status_code == 200, login.text
            bearer = {"Authorization": f"Bearer {login.json()['token']}"}
            resident = _first_demo_resident()
            made = staff.post(protocol.VERIFICATIONS, json={"id_number": resident, "city": "深圳"}, headers=bearer)
            assert made.status_code == 200, made.text
            link = made.json()["link"]
        assert link.startswith(f"{public}/verify?t="), link
        with httpx.Client(timeout=30) as phone:
            page = phone.get(link)
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            unlocked = phone.post(f"{public}{protocol.VERIFY_UNLOCK}",
                                  json={"token": made.json()["token"], "id_tail": resident[-6:]})
            assert unlocked.status_code == 200, unlocked.text
            assert unlocked.json()["state"] == "opened"
            assert phone.get(f"{public}/query").status_code == 200   # the residents' self-query page is there too
            # The staff and sync API answer on the registry's port, never on the public one.
            for path in (protocol.LOGIN, protocol.VERIFICATIONS):
                assert phone.post(f"{public}{path}", json={}, headers={**headers, **bearer}).status_code == 404
            assert phone.get(f"{public}{protocol.VERIFICATIONS}", headers={**headers, **bearer}).status_code == 404
            assert phone.get(f"{urls['registry']}{protocol.VERIFICATIONS}",
                             headers={**headers, **bearer}).status_code == 200
    finally:
        proc.terminate()
        proc.wait(30)
    # Stopped with the demo: the public address no longer answers.
    try:
        httpx.get(f"{public}{protocol.HEALTH}", timeout=5)
        still_up = True
    except httpx.TransportError:
        still_up = False
    assert not still_up


def _first_demo_resident() -> str:
    import csv

    from resources import path as resource_path

    with open(resource_path("demo", "roster_510903102201.csv"), encoding="utf-8") as f:
        return next(csv.DictReader(f))["id_number"]


def test_every_demo_option_has_help_text():
    """`yikatong demo --help` explains every option it lists."""
    import re

    r = yikatong("demo", "--help")
    assert r.returncode == 0, r.stderr
    options = r.stdout.split("options:", 1)[1]
    entries = re.findall(r"^  (-[^\n]*?)(?:[ ]{2,}(\S[^\n]*))?$", options, flags=re.MULTILINE)
    assert entries and all(help_text for _option, help_text in entries), options
