"""An embedded registry ends with the process that started it (registry/parent_watch.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from registry.parent_watch import parent_alive
from tests.conftest import ROOT


def test_parent_alive_knows_its_parent_and_no_other():
    """The real parent counts as alive; any other process id does not."""
    assert parent_alive(os.getppid())
    assert not parent_alive(os.getpid())


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_registry_serve_ends_when_its_parent_is_killed(tmp_path):
    """A parent starts ``registry serve --exit-with-parent`` through RegistryProcess and is SIGKILLed: the
    registry shuts itself down and stops answering within seconds."""
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from pathlib import Path
        from registry.launcher import RegistryProcess
        reg = RegistryProcess("sqlite:///{tmp_path / 'r.sqlite3'}", Path("{tmp_path}")).start()
        print(reg.proc.pid, reg.url, flush=True)
        time.sleep(600)
    """)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    pid, url = parent.stdout.readline().split()
    parent.kill()
    parent.wait(10)
    deadline = time.monotonic() + 15
    state = "R"
    while time.monotonic() < deadline:
        try:
            state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            state = "gone"
        if state in ("gone", "Z"):
            break
        time.sleep(0.2)
    assert state in ("gone", "Z"), f"registry {pid} still running ({state}) after its parent was killed"
    assert "the parent process" in (tmp_path / "registry.log").read_text()
