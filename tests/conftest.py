"""Fixtures shared by every test package: real registry processes, real stores.

``registry`` starts ``yikatong registry serve`` as a real process on 127.0.0.1, port 0,
on a fresh SQLite file (or on the PostgreSQL at YK_TEST_POSTGRES_URL when a test asks for
``registry_db_url`` with the postgres parameter), and reads the bound address from the
ready line it prints.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from registry.launcher import RegistryProcess

__all__ = ["RegistryProcess", "yikatong"]

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"


def yikatong(*args: str, input: str | None = None, env: dict | None = None, timeout: float = 120
             ) -> subprocess.CompletedProcess:
    """Run the real CLI in a child process (the same entry point a person uses)."""
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args], input=input, capture_output=True, text=True,
        cwd=ROOT, env={**os.environ, **(env or {})}, timeout=timeout,
    )


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


def pytest_terminal_summary(terminalreporter) -> None:
    """Totals a test hands over as its "summary" property (schemathesis's) are printed by the process
    that writes the terminal, so CI shows them also when pytest-xdist runs the tests in workers."""
    for outcome in ("passed", "failed"):
        for report in terminalreporter.getreports(outcome):
            if report.when != "call":
                continue
            for name, value in getattr(report, "user_properties", ()):
                if name == "summary":
                    terminalreporter.write_line(str(value))
