"""``yikatong field enroll`` with the subsidies column and ``field status`` with review counts (child processes)."""

from __future__ import annotations

import json

from fieldkit import people, write_csv, yikatong
from test_field_cli import logged_in_store

from sync import protocol
from sync.store import Store


def test_subsidies_column_is_stored_sorted_and_distinct(tmp_path):
    """Codes separated by ; (or the full-width ；) become the payload's sorted distinct subsidies; an empty cell adds none."""
    store = logged_in_store(tmp_path / "l.sqlite3")
    rows = people(3, start=60)
    rows[0]["subsidies"] = "tekun;dibao;dibao"
    rows[1]["subsidies"] = " farmland ； elderly_allowance "
    rows[2]["subsidies"] = ""
    done = yikatong("field", "enroll", "--store", str(store), "--from",
                    str(write_csv(tmp_path / "s.csv", rows, ("subsidies",))), "--confirm-region-warnings", "--json")
    assert done.returncode == 0, done.stderr
    with Store.open(store) as s:
        payloads = [r["payload"] for r in s.list_records()]
    assert payloads[0]["subsidies"] == ["dibao", "tekun"]
    assert payloads[1]["subsidies"] == ["elderly_allowance", "farmland"]
    assert "subsidies" not in payloads[2]


def test_unknown_subsidy_fails_the_file_by_line(tmp_path):
    """An unknown code fails the file with subsidies.unknown on its line, naming the code; nothing is stored."""
    store = logged_in_store(tmp_path / "l.sqlite3")
    rows = people(3, start=70)
    rows[0]["subsidies"] = "dibao"
    rows[2]["subsidies"] = "dibao;free_money"
    done = yikatong("field", "enroll", "--store", str(store), "--from",
                    str(write_csv(tmp_path / "s.csv", rows, ("subsidies",))), "--confirm-region-warnings", "--json")
    assert done.returncode == 1 and done.stderr.startswith("error: csv.rows_invalid: ")
    detail = json.loads(done.stderr.split(": ", 2)[2])
    assert [(r["line"], r["code"], r["field"], r["data"]) for r in detail["data"]["rows"]] == [
        (4, "subsidies.unknown", "subsidies", {"item": "free_money"})]
    with Store.open(store) as s:
        assert s.list_records() == []


def test_status_counts_review_states(tmp_path):
    """``field status`` prints the review counts; --json keeps its shape and --review adds them."""
    store = logged_in_store(tmp_path / "l.sqlite3")
    done = yikatong("field", "enroll", "--store", str(store), "--from",
                    str(write_csv(tmp_path / "a.csv", people(2, start=80))), "--confirm-region-warnings")
    assert done.returncode == 0, done.stderr
    with Store.open(store) as s:
        first = s.list_records()[0]
        s.mark_sending([first["record_id"]])
        s.mark_result(first["record_id"], {"status": protocol.ACCEPTED, "version": 1})
        payload = s.get_record(first["record_id"])["payload"]
        s.apply_pull([{"counter": 1, "kind": protocol.KIND_RECORD, "key": first["record_id"], "data": {
            "record_id": first["record_id"], "version": 1, "deleted": False, "payload": payload,
            "content_hash": protocol.record_hash(payload, False, first["record_id"]),
            "review": {"state": "returned", "reason": "请补拍照片", "decided_by": "central1",
                       "decided_at": "2026-12-01T09:00:00+00:00", "card_issued_at": None}}}], 1)
    plain = json.loads(yikatong("field", "status", "--store", str(store), "--json").stdout)
    assert plain == {"draft": 0, "queued": 1, "sending": 0, "accepted": 1, "needs-attention": 0}
    both = json.loads(yikatong("field", "status", "--store", str(store), "--json", "--review").stdout)
    assert both["review"]["returned"] == 1 and both["review"]["none"] == 1 and both["queued"] == 1
    text = yikatong("field", "status", "--store", str(store)).stdout
    assert "returned" in text and "review" in text
