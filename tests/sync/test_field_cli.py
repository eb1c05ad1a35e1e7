"""``yikatong field enroll | status | sync`` as a person runs them (child processes, a real store file)."""

from __future__ import annotations

import json

from fieldkit import VILLAGE, people, write_csv, yikatong

from sync.store import Store


def logged_in_store(path, villages=(VILLAGE,)):
    """A store as a past online login left it (operator and cached credential), without a registry."""
    with Store.open(path) as s:
        s.save_login("http://127.0.0.1:9", "c1", "pw-1", {
            "token": "t", "operator": {"username": "c1", "role": "cadre",
                                       "villages": [{"code": v, "name": ""} for v in villages]}})
    return path


def test_bad_rows_are_listed_by_line_and_nothing_is_stored(tmp_path):
    """A wrong check character, then (once fixed) an unconfirmed region warning, each fail with exit 1 naming the line, and nothing is stored."""
    store = logged_in_store(tmp_path / "l.sqlite3")
    rows = people(4, start=50)  # born 1990+: 510921 is no anachronism for them
    good = rows[1]["id_number"]
    rows[1] = {**rows[1], "id_number": good[:-1] + ("1" if good[-1] != "1" else "2")}
    rows[2] = {**people(1, start=0)[0], "household_id": "H0999"}  # born 1940 in 510921: region warning
    for bad_line, code in ((3, "id_number.check_character"), (4, "id_number.region_unconfirmed")):
        csv_path = write_csv(tmp_path / "bad.csv", rows)
        done = yikatong("field", "enroll", "--store", str(store), "--from", str(csv_path))
        assert done.returncode == 1 and done.stderr.count("\n") == 1
        assert done.stderr.startswith("error: csv.rows_invalid: ")
        detail = json.loads(done.stderr.split(": ", 2)[2])
        assert [(r["line"], r["code"]) for r in detail["data"]["rows"]] == [(bad_line, code)]
        status = yikatong("field", "status", "--store", str(store), "--json")
        assert json.loads(status.stdout) == {"draft": 0, "queued": 0, "sending": 0, "accepted": 0,
                                             "needs-attention": 0}
        rows[1]["id_number"] = good


def test_enroll_confirms_region_warnings_and_refuses_duplicates(tmp_path):
    """--confirm-region-warnings records the warning on the record; enrolling the same people again is refused whole."""
    store = logged_in_store(tmp_path / "l.sqlite3")
    csv_path = write_csv(tmp_path / "ok.csv", people(3))
    done = yikatong("field", "enroll", "--store", str(store), "--from", str(csv_path), "--confirm-region-warnings")
    assert done.returncode == 0, done.stderr
    with Store.open(store) as s:
        recs = s.list_records()
        assert [r["state"] for r in recs] == ["queued"] * 3
        assert recs[0]["payload"]["confirmed_warnings"] == ["id_number.region_anachronistic"]
        assert recs[0]["payload"]["village_code"] == VILLAGE
    again = yikatong("field", "enroll", "--store", str(store), "--from", str(csv_path), "--confirm-region-warnings")
    assert again.returncode == 1 and "record.duplicate_id_number" in again.stderr
    status = json.loads(yikatong("field", "status", "--store", str(store), "--json").stdout)
    assert status["queued"] == 3


def test_village_is_required_when_the_operator_has_several(tmp_path):
    """With two villages and no --village the command is a usage error (exit 2); a village not assigned is refused."""
    store = logged_in_store(tmp_path / "l.sqlite3", villages=(VILLAGE, "510903102202"))
    csv_path = write_csv(tmp_path / "ok.csv", people(1, start=50))
    done = yikatong("field", "enroll", "--store", str(store), "--from", str(csv_path))
    assert done.returncode == 2 and done.stderr.startswith("error: village_code.required")
    done = yikatong("field", "enroll", "--store", str(store), "--from", str(csv_path), "--village", "510903102299")
    assert done.returncode == 1 and done.stderr.startswith("error: village.not_assigned")


def test_sync_without_a_reachable_registry_fails_cleanly(tmp_path):
    """A sync with nowhere to go exits 1 with sync.network on one line, and the queued records stay queued."""
    store = logged_in_store(tmp_path / "l.sqlite3")
    yikatong("field", "enroll", "--store", str(store), "--from", str(write_csv(tmp_path / "a.csv", people(1, 50))))
    done = yikatong("field", "sync", "--store", str(store), "--max-retries", "0")
    assert done.returncode == 1 and done.stderr.startswith("error: sync.network")
    assert json.loads(yikatong("field", "status", "--store", str(store), "--json").stdout)["queued"] == 1
