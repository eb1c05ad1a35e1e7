"""Run the registry: bind the socket ourselves (port 0 allowed), then announce readiness.

Once uvicorn accepts connections, exactly one line goes to stdout, flushed:
``YIKATONG_REGISTRY_READY http://HOST:PORT``. One worker; all state is in the database,
written in transactions, so a SIGKILL at any moment leaves it consistent. A thread runs the
automatic checks on what arrives (``registry.checks.background``); another removes expired
partial uploads and unreferenced blobs every ``Settings.blob_gc_interval`` (``registry.blobs``); a
third moves expired verification requests (``registry.verification.sweeper``). ``serve_verify`` runs
the public verification process: the worker's page and its API only.
"""

from __future__ import annotations

import logging
import socket
import sys

import uvicorn
from sqlalchemy import Engine

from capture.native import init_native

from .api import create_app
from .blobs import BlobSweeper
from .checks.background import CheckWorker
from .clock import SystemClock
from .config import Settings
from .db import open_database
from .parent_watch import watch_parent
from .verification.sweeper import VerificationSweeper

READY_PREFIX = "YIKATONG_REGISTRY_READY"


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, url: str) -> None:
        super().__init__(config)
        self._url = url

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            sys.stdout.write(f"{READY_PREFIX} {self._url}\n")
            sys.stdout.flush()


def serve(db_url: str, host: str = "127.0.0.1", port: int = 8765, *, settings: Settings | None = None,
          engine: Engine | None = None, parent_pid: int | None = None) -> None:
    """Serve until SIGTERM/SIGINT (or until ``parent_pid`` is gone); ``engine`` (already migrated) may be
    given instead of opening ``db_url``."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # dlib's first use on this (main) thread, before request and worker threads exist (capture/native.py).
    init_native()
    engine = engine or open_database(db_url)
    clock = SystemClock()
    settings = settings or Settings()
    app = create_app(engine, settings, clock=clock)
    # The check worker: woken after each push that stored a new version, and on its own every
    # few seconds (records left over from a previous run, or pushed through another process).
    worker = CheckWorker(engine, clock=clock).start()
    app.app.state.run_checks = worker.run_now
    app.app.state.records_received = worker.wake
    sweeper = BlobSweeper(engine, clock=clock, partial_ttl=settings.blob_partial_ttl, grace=settings.blob_grace,
                          interval=settings.blob_gc_interval).start()
    expiry = VerificationSweeper(engine, clock=clock).start()
    try:
        _run(app, host, port, parent_pid)
    finally:
        worker.stop()
        sweeper.stop()
        expiry.stop()
        engine.dispose()


def serve_verify(db_url: str, host: str = "127.0.0.1", port: int = 8766, *, settings: Settings | None = None,
                 engine: Engine | None = None, parent_pid: int | None = None) -> None:
    """The public verification process (``registry serve-verify``): the worker's page, its API and
    /api/health on the same database, nothing else (no sync, staff or review route, no API
    description). Put an HTTPS reverse proxy in front: the page needs a secure context for the camera."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    init_native()  # the liveness engine uses the capture face engine (dlib) on request threads
    engine = engine or open_database(db_url)
    app = create_app(engine, settings or Settings(), clock=SystemClock(), public_only=True)
    try:
        _run(app, host, port, parent_pid)
    finally:
        engine.dispose()


def _run(app: object, host: str, port: int, parent_pid: int | None) -> None:
    """Bind, announce readiness on stdout, serve until told to stop."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # uvicorn sets TCP_NODELAY only on sockets it binds itself; accepted sockets inherit it from
    # the listener on Linux. Without it, Nagle + delayed ACK add ~40 ms to every request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    bound_port = sock.getsockname()[1]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    config = uvicorn.Config(app, workers=1, log_config=None, access_log=True, server_header=False,
                            proxy_headers=False, timeout_graceful_shutdown=5)
    server = _Server(config, f"http://{shown}:{bound_port}")
    if parent_pid is not None:
        watch_parent(parent_pid, lambda: setattr(server, "should_exit", True))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
