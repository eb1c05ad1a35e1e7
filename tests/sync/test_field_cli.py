"""``yikatong field enroll | status | sync`` as a person runs them (child processes, a real store file)."""

from __future__ import annotations

import json

from fieldkit import VILLAGE, people, person, write_csv, yikatong

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
    rows = people(4, start=50)
    good = rows[1]["id_number"]
    rows[1] = {**rows[1], "id_number": good[:-1] + ("1" if good[-1] != "1" else "2")}
    rows[2] = {**person(0, region="110201"), "household_id": "H0999"}  # 昌平县, abolished 1982: region warning
    for bad_line, code in ((3, "id_number.check_character"), (4, "id_number.region_unconfirmed")):
        csv_path = write_csv(tmp_path / "bad.csv", rows)
        done = yikatong("field", "enroll", "--store", str(store), "--from", str(csv_path), "--json")
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
    # 110201 昌平县 was abolished in 1982, before anyone born 1940+ could be issued a number there.
    csv_path = write_csv(tmp_path / "ok.csv", [person(i, region="110201") for i in range(3)])
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


# ---- the photo column (issue 3) ----------------------------------------------------------------

def test_enroll_with_photos_attaches_card_photo_and_template_and_records_duplicates(tmp_path):
    """Rows with a photo get a card photo and a face template through the capture pipeline; a second photo of
    the same face under another ID number is recorded as an unreviewed duplicate for central review."""
    from facekit import write_studio_photo

    from capture.faces import FaceTemplate, face_distance
    from sync.duplicates import find_local_duplicates

    store = logged_in_store(tmp_path / "l.sqlite3")
    write_studio_photo("obama.jpg", tmp_path / "photos" / "a.jpg")
    write_studio_photo("obama3.jpg", tmp_path / "photos" / "b.jpg")
    rows = people(3, start=50)
    rows[0]["photo"], rows[1]["photo"], rows[2]["photo"] = "photos/a.jpg", "", "photos/b.jpg"
    csv_path = write_csv(tmp_path / "photos.csv", rows, extra_columns=("photo",))
    done = yikatong("field", "enroll", "--store", str(store), "--from", str(csv_path))
    assert done.returncode == 0, done.stderr
    assert "1 with a likely duplicate face" in done.stdout
    with Store.open(store) as s:
        first, plain, second = s.list_records()
        assert {a["kind"] for a in first["attachments"]} == {"card_photo", "face_template"}
        assert plain["attachments"] == [] and "face" not in plain["payload"]
        assert first["payload"]["face"]["model"] == "dlib_face_recognition_resnet_model_v1"
        assert "duplicate_review" not in first["payload"]
        review = second["payload"]["duplicate_review"]
        ta = FaceTemplate.from_bytes(s.attachment_bytes(first["record_id"], "face_template"))
        tb = FaceTemplate.from_bytes(s.attachment_bytes(second["record_id"], "face_template"))
        assert review == [{"record_id": first["record_id"], "distance": f"{face_distance(ta, tb):.4f}",
                           "decision": "unreviewed", "reason": "", "decided_by": "bulk_import"}]
        jpeg = s.attachment_bytes(first["record_id"], "card_photo")
        assert jpeg[:2] == b"\xff\xd8"
        assert [m.record_id for m in find_local_duplicates(s, tb, exclude_record_id=second["record_id"])] == [
            first["record_id"]]


def test_enroll_row_with_a_bad_photo_is_reported_and_nothing_is_applied(tmp_path):
    """A row whose photo shows no face (dogs.jpg) is reported with its line and face.none; no row is stored."""
    import shutil

    from facekit import FACES, write_studio_photo

    store = logged_in_store(tmp_path / "l.sqlite3")
    write_studio_photo("obama.jpg", tmp_path / "a.jpg")
    shutil.copyfile(FACES / "dogs.jpg", tmp_path / "dogs.jpg")  # a temp copy, next to the CSV
    rows = people(3, start=50)
    rows[0]["photo"], rows[1]["photo"], rows[2]["photo"] = "a.jpg", "dogs.jpg", "missing.jpg"
    csv_path = write_csv(tmp_path / "photos.csv", rows, extra_columns=("photo",))
    done = yikatong("field", "enroll", "--store", str(store), "--from", str(csv_path), "--json")
    assert done.returncode == 1
    detail = json.loads(done.stderr.split(": ", 2)[2])
    found = [(r["line"], r["code"], r["field"]) for r in detail["data"]["rows"]]
    assert (3, "face.none", "photo") in found
    assert (4, "photo.file_unreadable", "photo") in found
    assert all(line != 2 for line, _c, _f in found)
    with Store.open(store) as s:
        assert s.list_records() == [] and s.face_templates() == []


def test_enroll_takes_register_relations_and_names_an_unknown_one(tmp_path):
    """Bulk enrollment reads 户主, 妻, 长子, 次女, 儿媳, 孙子 and the code 22 and queues their codes; 邻居 refuses
    the file with relation.unknown at its line, and nothing is stored."""
    store = logged_in_store(tmp_path / "l.sqlite3")
    register = ["户主", "妻", "长子", "次女", "儿媳", "孙子", "22"]
    rows = [{**person(60 + n), "household_id": "H0100", "relation": word} for n, word in enumerate(register)]
    bad = [dict(r) for r in rows]
    bad[4]["relation"] = "邻居"
    refused = yikatong("field", "enroll", "--store", str(store), "--from", str(write_csv(tmp_path / "bad.csv", bad)))
    assert refused.returncode == 1 and "relation.unknown" in refused.stderr
    assert json.loads(yikatong("field", "status", "--store", str(store), "--json").stdout)["queued"] == 0

    done = yikatong("field", "enroll", "--store", str(store), "--from", str(write_csv(tmp_path / "ok.csv", rows)))
    assert done.returncode == 0, done.stderr
    with Store.open(store) as s:
        stored = {r["payload"]["id_number"]: r["payload"]["relation"] for r in s.list_records()}
    assert [stored[r["id_number"]] for r in rows] == ["02", "12", "22", "33", "38", "41", "22"]
