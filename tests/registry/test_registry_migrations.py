"""The database schema: built by the migrations, exactly what the code uses, SQLite set up for durability."""

from __future__ import annotations

import json
import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from regkit import upgrade_to
from sqlalchemy import text

from registry.db import HEAD_REVISION, MIGRATIONS, current_revision, make_engine, migrate, open_database
from registry.schema import metadata
from tests.conftest import ROOT


def test_migrations_build_the_schema_the_code_uses(registry_db_url):
    """Upgrading a fresh database to head yields exactly registry.schema, and upgrading again is a no-op."""
    engine = open_database(registry_db_url)
    migrate(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        assert conn.execute(text("SELECT value FROM server_counter WHERE id = 1")).scalar_one() == 0
        assert MigrationContext.configure(conn).get_current_revision() == HEAD_REVISION
    assert current_revision(engine) == HEAD_REVISION
    engine.dispose()


def test_head_revision_constant_is_alembics_head():
    """registry.db.HEAD_REVISION (the no-alembic fast path) names the newest migration script."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_heads() == [HEAD_REVISION]


def test_sqlite_pragmas(tmp_path):
    """SQLite connections run in WAL mode with foreign keys on, synchronous=FULL and a busy timeout."""
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    engine.dispose()


def test_concurrent_first_commands_both_succeed(registry_db_url):
    """Two commands opening a brand-new database at once both migrate it safely (one waits for the other)."""
    procs = [subprocess.Popen([sys.executable, "-m", "cli.main", "registry", "stats", "--db", registry_db_url, "--json"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err


def test_upgrade_from_0001_backfills_record_attachments(registry_db_url):
    """A database at revision 0001 holding a record with attachments upgrades to head with its attachment index filled."""

    engine = make_engine(registry_db_url)
    upgrade_to(engine, "0001")
    sha = "ab" * 32
    payload = '{"attachments":[{"kind":"id_front","mime":"image/jpeg","sha256":"' + sha + '","size":3}]}'
    now = "2026-11-27T00:00:00.000000Z"
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO records (record_id, village_code, id_number, version, content_hash, payload, deleted,"
            " operator, device_id, state, counter, created_at, updated_at) VALUES"
            " ('r1', '510903102201', '11010519491231002X', 1, 'h', :p, false, 'a', 'd', 'received', 1, :t, :t)"),
            {"p": payload, "t": now})
        conn.execute(text(
            "INSERT INTO record_versions (record_id, version, content_hash, payload, deleted, operator, device_id,"
            " counter, received_at) VALUES ('r1', 1, 'h', :p, false, 'a', 'd', 1, :t)"), {"p": payload, "t": now})
    migrate(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT record_id, version, kind, sha256 FROM record_attachments")).all()
    assert [tuple(r) for r in rows] == [("r1", 1, "id_front", sha)]
    engine.dispose()


def test_upgrade_from_0010_draws_a_video_challenge_for_each_request(registry_db_url):
    """Requests stored before 0011 get a video challenge (4 digits, two different actions) and their
    attempts the method live."""
    engine = make_engine(registry_db_url)
    upgrade_to(engine, "0010")
    now = "2026-12-01T00:00:00.000000Z"
    with engine.begin() as conn:
        for n in (1, 2):
            conn.execute(text(
                "INSERT INTO verification_requests (id, id_number, village_code, created_by, created_at, expires_at,"
                " updated_at, token_hash, state, attempts_max, counter) VALUES"
                " (:id, '11010519491231002X', '510903102201', 'a', :t, :t, :t, :h, 'sent', 3, :n)"),
                {"id": f"q{n}", "t": now, "h": str(n) * 64, "n": n})
        conn.execute(text("INSERT INTO verification_attempts (id, request_id, started_at, nonce, steps, state)"
                          " VALUES ('a1', 'q1', :t, 'n', '[]', 'decided')"), {"t": now})
    migrate(engine)
    with engine.connect() as conn:
        drawn = [json.loads(v) for v in conn.execute(text(
            "SELECT video_challenge FROM verification_requests ORDER BY id")).scalars()]
        method = conn.execute(text("SELECT method FROM verification_attempts")).scalar()
    assert method == "live" and len(drawn) == 2
    for challenge in drawn:
        assert len(challenge["digits"]) == 4 and challenge["digits"].isdigit()
        assert len(set(challenge["actions"])) == 2
        assert set(challenge["actions"]) <= {"open_mouth", "turn_left", "turn_right", "blink"}
    engine.dispose()
