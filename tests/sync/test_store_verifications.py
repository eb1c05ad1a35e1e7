"""The laptop keeps the remote verification requests it pulls (protocol v4, store schema version 5),
against a real registry process."""

from __future__ import annotations

import requests
from fieldkit import OTHER_VILLAGE, PASSWORD, VILLAGE, open_laptop, people, write_csv

from sync import protocol
from sync.client import SyncClient
from sync.http import RegistryHttp
from sync.store import SCHEMA_VERSION, Store, connect, migrate, schema_version
from sync.verification_ops import create_verification


def test_store_at_version_4_upgrades_to_the_verifications_table(tmp_path):
    """A store written at schema version 4 migrates to the current version with an empty verifications table."""
    path = tmp_path / "v4.sqlite3"
    db = connect(path)
    assert migrate(db, upto=4) == 4
    assert "verifications" not in db.table_names()
    db.close()
    with Store.open(path) as s:
        assert schema_version(s.db) == SCHEMA_VERSION >= 5
        assert s.verifications_for("510921194001010018") == []
        assert s.latest_verifications() == {}


def test_pulled_requests_are_kept_updated_and_only_for_the_laptops_villages(field_registry, laptop, tmp_path):
    """A cadre's laptop keeps its own village's request from the pull, sees the next state after a second
    pull, and never receives a request made for another village's resident."""
    registry = field_registry
    other = people(3, start=500, village=OTHER_VILLAGE)
    done = registry.cli("import-roster", str(write_csv(tmp_path / "other.csv", other)), "--village", OTHER_VILLAGE,
                        "--village-name", "小河村")
    assert done.returncode == 0, done.stderr
    done = registry.cli("add-operator", "--username", "c9", "--role", "cadre", "--village", OTHER_VILLAGE,
                        input=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    elsewhere = open_laptop(registry, tmp_path / "other.sqlite3", "c9")
    theirs = create_verification(RegistryHttp(registry.url, elsewhere.token()), other[0]["id_number"], "东莞")
    elsewhere.close()

    mine_id = people(1)[0]["id_number"]
    mine = create_verification(RegistryHttp(registry.url, laptop.token()), mine_id, "深圳")

    first = SyncClient(laptop).run()
    assert first.ok, first
    kept = laptop.verifications_for(mine_id)
    assert [v["request"] for v in kept] == [mine.request["request"]]
    assert kept[0]["state"] == "sent" and kept[0]["city"] == "深圳" and kept[0]["method"] == "live"
    assert kept[0]["expires_at"] == mine.expires_at and kept[0]["village_code"] == VILLAGE
    assert kept[0]["outcome"] is None and kept[0]["reasons"] == []
    assert laptop.verifications_for(other[0]["id_number"]) == []
    assert laptop.db.execute("SELECT count(*) FROM verifications WHERE request = ?",
                             [theirs.request["request"]]).fetchone()[0] == 0

    # The worker types the right ID digits: the request is opened, with a new pull counter.
    unlocked = requests.post(registry.url + protocol.VERIFY_UNLOCK,
                             json={"token": mine.token, "id_tail": mine_id[-6:]}, timeout=10)
    assert unlocked.status_code == 200, unlocked.text
    second = SyncClient(laptop).run()
    assert second.ok, second
    latest = laptop.latest_verifications([mine_id])[mine_id]
    assert latest["state"] == "opened" and latest["counter"] > kept[0]["counter"]
    assert len(laptop.verifications_for(mine_id)) == 1
    assert set(laptop.latest_verifications()) == {mine_id}
