"""Killing the app mid-form loses at most the field being typed."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from desktop_helpers import PASSWORD, roster_rows

from sync.store import Store
from tests.conftest import ROOT, yikatong

CHILD = Path(__file__).with_name("form_kill_child.py")


def test_fields_already_left_survive_a_sigkill(field_registry, tmp_path):
    """After SIGKILL while the address is being typed, the ID number and name typed before are in the draft."""
    store_path = tmp_path / "laptop.sqlite3"
    login = yikatong("field", "login", "--store", str(store_path), "--registry", field_registry.url,
                     "--username", "cadre1", input=PASSWORD + "\n")
    assert login.returncode == 0, login.stderr
    person = roster_rows()[5]
    child = subprocess.Popen([sys.executable, str(CHILD), str(store_path), person["id_number"], person["name"]],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        assert line.startswith("TYPING"), (line, child.stderr.read() if child.poll() is not None else "")
        record_id = line.split()[1]
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)

    store = Store.open(store_path)
    try:
        record = store.get_record(record_id)
    finally:
        store.close()
    assert record["state"] == "draft"
    fields = record.get("fields") or record.get("payload") or {}
    assert fields["id_number"] == person["id_number"]
    assert fields["name"] == person["name"]
