"""The registry's SQLite database and its -wal/-shm are owner-only files in an owner-only folder (issue 10)."""

from __future__ import annotations

import os
import stat

import pytest
from sqlalchemy import text

from registry.db import make_engine, migrate

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_registry_database_is_0600_in_a_0700_folder(tmp_path):
    """A new SQLite registry (file, -wal, -shm) is 0600 and its new folder 0700, whatever the umask."""
    old = os.umask(0o022)
    try:
        db = tmp_path / "data" / "registry.sqlite3"
        engine = make_engine(f"sqlite:///{db}")
        migrate(engine)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))
            conn.execute(text("INSERT INTO probe VALUES (1)"))
        with engine.connect() as conn:  # WAL and its index exist while a connection is open
            conn.execute(text("SELECT 1"))
            for suffix in ("", "-wal", "-shm"):
                assert (tmp_path / "data" / f"registry.sqlite3{suffix}").exists(), suffix
                assert _mode(tmp_path / "data" / f"registry.sqlite3{suffix}") == 0o600, suffix
        assert _mode(tmp_path / "data") == 0o700
        engine.dispose()
    finally:
        os.umask(old)


def test_existing_world_readable_registry_database_is_narrowed_on_open(tmp_path):
    """A database an older version left 0644 (with its -wal/-shm) is made 0600 when the registry opens it."""
    db = tmp_path / "registry.sqlite3"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    engine.dispose()
    for suffix in ("", "-wal", "-shm"):
        path = tmp_path / f"registry.sqlite3{suffix}"
        path.touch()
        os.chmod(path, 0o644)
    engine = make_engine(f"sqlite:///{db}")
    for suffix in ("", "-wal", "-shm"):
        assert _mode(tmp_path / f"registry.sqlite3{suffix}") == 0o600, suffix
    engine.dispose()
