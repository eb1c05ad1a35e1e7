"""Registry fixtures: every test here runs on SQLite and on PostgreSQL.

``backend`` is parametrised ["sqlite", "postgres"]; ``registry_db_url`` (overriding the
root fixture) gives each test a fresh database on it: a new SQLite file, or a new
PostgreSQL database created on the server at YK_TEST_POSTGRES_URL and dropped afterwards.
Without that variable the postgres half is skipped, unless YK_REQUIRE_POSTGRES=1 (CI),
which makes it fail instead.

``shared`` is one registry process per backend for the whole session, with a few
operators, for the tests that need no fresh server (they use their own villages/records).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from regkit import PASSWORD, SHARED_MAX_BODY, VILLAGE_A, VILLAGE_B, Api
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from tests.conftest import RegistryProcess


@pytest.fixture(scope="session", autouse=True)
def _fast_argon2() -> Iterator[None]:
    """TEST-ONLY: cheaper argon2 parameters in the registry processes these tests start (2 cores)."""
    old = os.environ.get("YIKATONG_TEST_FAST_ARGON2")
    os.environ["YIKATONG_TEST_FAST_ARGON2"] = "1"
    yield
    if old is None:
        os.environ.pop("YIKATONG_TEST_FAST_ARGON2", None)
    else:
        os.environ["YIKATONG_TEST_FAST_ARGON2"] = old


def _postgres_admin_url() -> str:
    url = os.environ.get("YK_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("YK_REQUIRE_POSTGRES") == "1":
            pytest.fail("YK_REQUIRE_POSTGRES=1 but YK_TEST_POSTGRES_URL is not set")
        pytest.skip("YK_TEST_POSTGRES_URL not set")
    return url


class _PgDatabases:
    """Creates and drops throw-away databases on the test PostgreSQL server."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.engine = create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://", 1),
                                    isolation_level="AUTOCOMMIT")

    def create(self) -> str:
        name = f"yk_t_{uuid.uuid4().hex[:16]}"
        with self.engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        # An autovacuum worker on the fresh database belongs to the superuser, and WITH (FORCE) may not
        # end it (unless the role has pg_signal_backend, which scripts/test grants): wait and retry.
        for attempt in range(20):
            try:
                with self.engine.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                return
            except ProgrammingError:
                if attempt == 19:
                    raise
                time.sleep(0.5)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def pg_databases(backend) -> Iterator[_PgDatabases | None]:
    if backend != "postgres":
        yield None
        return
    dbs = _PgDatabases(_postgres_admin_url())
    yield dbs
    dbs.engine.dispose()


@pytest.fixture
def registry_db_url(backend, pg_databases, tmp_path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.sqlite3'}"
        return
    url = pg_databases.create()
    yield url
    pg_databases.drop(url)


@dataclass
class Shared:
    """One long-lived registry with operators: cadre_a (village A), cadre_b (village B), central."""

    process: RegistryProcess
    api: Api  # not logged in

    @property
    def url(self) -> str:
        return self.process.url

    def login(self, username: str, device_id: str = "laptop-1") -> Api:
        return self.api.login(username, PASSWORD, device_id)

    def add_operator(self, username: str, role: str, *villages: str) -> None:
        args = ["add-operator", "--username", username, "--role", role]
        for v in villages:
            args += ["--village", v]
        r = self.process.cli(*args, input=PASSWORD + "\n")
        assert r.returncode == 0, r.stderr


@pytest.fixture(scope="session")
def shared(backend, pg_databases, tmp_path_factory) -> Iterator[Shared]:
    data_dir: Path = tmp_path_factory.mktemp(f"shared-{backend}")
    url = f"sqlite:///{data_dir / 'registry.sqlite3'}" if backend == "sqlite" else pg_databases.create()
    proc = RegistryProcess(url, data_dir, extra_args=["--max-body", str(SHARED_MAX_BODY)]).start()
    s = Shared(proc, Api(proc.url))
    try:
        s.add_operator("cadre_a", "cadre", VILLAGE_A)
        s.add_operator("cadre_b", "cadre", VILLAGE_B)
        s.add_operator("central", "central")
        yield s
    finally:
        s.api.close()
        proc.stop()
        if backend == "postgres":
            pg_databases.drop(url)


@pytest.fixture
def httpserver():
    """A threaded local HTTP stub server (an SMS gateway stands behind it):  a hanging request does not hold up the next one (the default serves one at a
    time, so every request behind a hang would time out too)."""
    from pytest_httpserver import HTTPServer

    server = HTTPServer(threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()
