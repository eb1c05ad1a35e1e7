"""Fixtures shared by every test package: real registry processes, real stores.

``registry`` starts ``yikatong registry serve`` as a real process on 127.0.0.1, port 0,
on a fresh SQLite file (or on the PostgreSQL at YK_TEST_POSTGRES_URL when a test asks for
``registry_db_url`` with the postgres parameter), and reads the bound address from the
ready line it prints.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
READY_PREFIX = "YIKATONG_REGISTRY_READY "
ARTIFACTS = ROOT / "artifacts"


def yikatong(*args: str, input: str | None = None, env: dict | None = None, timeout: float = 120
             ) -> subprocess.CompletedProcess:
    """Run the real CLI in a child process (the same entry point a person uses)."""
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args], input=input, capture_output=True, text=True,
        cwd=ROOT, env={**os.environ, **(env or {})}, timeout=timeout,
    )


@dataclass
class RegistryProcess:
    db_url: str
    data_dir: Path
    extra_args: list[str] = field(default_factory=list)
    proc: subprocess.Popen | None = None
    url: str = ""

    def start(self, timeout: float = 60) -> RegistryProcess:
        log = open(self.data_dir / "registry.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "registry", "serve", "--db", self.db_url,
             "--host", "127.0.0.1", "--port", "0", *self.extra_args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if line.startswith(READY_PREFIX):
                self.url = line[len(READY_PREFIX):].strip()
                return self
            if not line and self.proc.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"registry did not start; see {self.data_dir / 'registry.log'}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flush; what a power cut does."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> RegistryProcess:
        self.kill()
        return self.start()

    def cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        """Run a ``yikatong registry`` subcommand against this registry's database."""
        return yikatong("registry", *args[:1], "--db", self.db_url, *args[1:], input=input)


@pytest.fixture
def registry_db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'registry.sqlite3'}"


@pytest.fixture
def registry(registry_db_url, tmp_path):
    reg = RegistryProcess(registry_db_url, tmp_path).start()
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Screenshots and reports a person looks at after the run."""
    (ARTIFACTS / "screens").mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
