"""Start ``yikatong registry serve`` as a child process and learn its address.

Used by ``yikatong demo`` (the embedded registry), the tests (a real process on 127.0.0.1,
port 0) and the benchmarks. The server prints one ready line, ``YIKATONG_REGISTRY_READY
http://HOST:PORT``, once it accepts connections; we read the port from it rather than
guessing one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

READY_PREFIX = "YIKATONG_REGISTRY_READY "


def cli_command(*args: str) -> list[str]:
    """The command line of ``yikatong ARGS`` in a child process.

    From the source tree (or a venv) that is this Python with ``-m cli.main``. In a frozen build
    (PyInstaller, the .deb and the Windows installer) ``sys.executable`` is the app itself and has no
    ``-m``: the child is the ``yikatong`` executable next to it (on Windows the console one, even when
    this is the windowed ``yikatong-app.exe``).
    """
    if getattr(sys, "frozen", False):
        exe = Path(sys.executable)
        return [str(exe.with_name("yikatong.exe" if sys.platform == "win32" else "yikatong")), *args]
    return [sys.executable, "-m", "cli.main", *args]


# A child started from the windowed app on Windows would open a console window of its own.
CHILD_FLAGS = getattr(subprocess, "CREATE_NO_WINDOW", 0) if getattr(sys, "frozen", False) else 0


def _project_root() -> Path:
    """The folder the children run in: the source tree, or the frozen build's folder."""
    if getattr(sys, "frozen", False):
        return Path(sys.executable).resolve().parent
    return Path(__file__).resolve().parent.parent


@dataclass
class RegistryProcess:
    db_url: str
    data_dir: Path
    extra_args: list[str] = field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 0
    proc: subprocess.Popen | None = None
    url: str = ""
    exit_with_parent: bool = True     # the registry shuts down when this process ends (registry/parent_watch.py)
    command: str = "serve"            # or "serve-verify" (the public verification process)
    log_name: str = "registry.log"    # two processes in one folder (the demo's) keep separate logs

    @property
    def log_path(self) -> Path:
        return self.data_dir / self.log_name

    def start(self, timeout: float = 60) -> RegistryProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        watch = ["--exit-with-parent", str(os.getpid())] if self.exit_with_parent else []
        self.proc = subprocess.Popen(
            cli_command("registry", self.command, "--db", self.db_url, "--host", self.host,
                        "--port", str(self.port), *watch, *self.extra_args),
            cwd=_project_root(), stdout=subprocess.PIPE, stderr=log, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"}, creationflags=CHILD_FLAGS,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if line.startswith(READY_PREFIX):
                self.url = line[len(READY_PREFIX):].strip()
                return self
            if not line and self.proc.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"registry did not start; see {self.log_path}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flush; what a power cut does."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> RegistryProcess:
        self.kill()
        return self.start()

    def cli(self, command: str, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        """Run ``yikatong registry COMMAND --db <this db> ARGS`` (the same CLI a person uses)."""
        return subprocess.run(cli_command("registry", command, "--db", self.db_url, *args),
                              input=input, capture_output=True, text=True, cwd=_project_root(),
                              timeout=300, creationflags=CHILD_FLAGS)
