"""``yikatong registry verification create | list | purge-evidence`` on a real SQLite registry file,
through the same code paths as the API."""

from __future__ import annotations

import json

from regkit import PASSWORD
from sqlalchemy import select
from verifykit import Env, failing

from registry.db import open_database
from registry.schema import audit_log, verification_frames
from tests.conftest import yikatong


def test_create_list_and_purge_evidence_on_a_sqlite_file(tmp_path):
    """create (password on stdin) prints the link, the token and the expiry; list --json shows the request
    without its token; purge-evidence keeps evidence younger than the retention and clears older bytes
    (hashes kept), audited."""
    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    env = Env(url)
    id_number = env.id_number
    # An attempt on another request whose evidence frames are kept (its attempt finished at T0, today).
    env.checker.decisions = [failing()]
    env.run_attempt(env.session(env.link_token()), first_seed=1, frames=3)
    env.close()

    out = yikatong("registry", "verification", "create", id_number, "--as", "cadre_a", "--city", "杭州",
                   "--db", url, "--verify-public-url", "https://v.example", input=PASSWORD + "\n")
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(None, 1) for line in out.stdout.splitlines()[:3])
    assert lines["link"] == "https://v.example/verify?t=" + lines["token"] and lines["expires"].endswith("Z")
    wrong = yikatong("registry", "verification", "create", id_number, "--as", "cadre_a", "--db", url,
                     input="not-the-password\n")
    assert wrong.returncode != 0
    created = json.loads(yikatong("registry", "verification", "create", id_number, "--as", "cadre_a", "--db", url,
                                  "--json", input=PASSWORD + "\n").stdout)
    assert created["qr_svg"].startswith("<svg") and created["link"] in created["sms_text"]

    listed = yikatong("registry", "verification", "list", "--state", "sent", "--json", "--db", url)
    assert listed.returncode == 0, listed.stderr
    items = json.loads(listed.stdout)["verifications"]
    assert len(items) == 2 and {v["city"] for v in items} == {"杭州", ""}
    assert lines["token"] not in listed.stdout and created["token"] not in listed.stdout
    unknown = yikatong("registry", "verification", "list", "--state", "bogus", "--db", url)
    assert unknown.returncode == 2 and "'sent', 'opened'" in unknown.stderr  # the states as typed, not reprs

    kept = yikatong("registry", "verification", "purge-evidence", "--db", url, "--json")
    assert json.loads(kept.stdout)["frames_purged"] == 0
    purged = yikatong("registry", "verification", "purge-evidence", "--older-than", "0", "--db", url)
    assert purged.returncode == 0 and purged.stdout.startswith("purged 2 evidence frame(s)"), purged.stdout
    engine = open_database(url)
    with engine.connect() as conn:
        frames = conn.execute(select(verification_frames)).all()
        actions = conn.execute(select(audit_log.c.action)).scalars().all()
    engine.dispose()
    assert len(frames) == 3 and all(f.data is None for f in frames) and all(f.sha256 for f in frames)
    assert sum(f.purged_at is not None for f in frames) == 2
    assert actions.count("verification.evidence_purged") == 2
