"""Issue 3 end to end: face photos enrolled offline by ``yikatong field enroll`` reach a real registry process."""

from __future__ import annotations

import hashlib
import json

from facekit import write_studio_photo
from fieldkit import PASSWORD, people, setup_registry, write_csv, yikatong

from sync import protocol
from sync.http import RegistryHttp
from sync.store import Store


def test_card_photo_and_template_reach_the_registry_byte_identical(registry, tmp_path):
    """After a sync the registry holds each card photo and face template as a blob with the laptop's exact
    bytes (SHA-256), and the records it accepted carry the face info and the bulk import's duplicate review."""
    setup_registry(registry, tmp_path)
    store_path = tmp_path / "laptop.sqlite3"
    done = yikatong("field", "login", "--store", str(store_path), "--registry", registry.url, "--username", "c1",
                    input=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    rows = people(2)
    rows[0]["photo"] = str(write_studio_photo("obama.jpg", tmp_path / "p" / "a.jpg").relative_to(tmp_path))
    rows[1]["photo"] = str(write_studio_photo("obama_480p.jpg", tmp_path / "p" / "b.jpg").relative_to(tmp_path))
    csv_path = write_csv(tmp_path / "enroll.csv", rows, ("photo",))
    done = yikatong("field", "enroll", "--store", str(store_path), "--from", str(csv_path),
                    "--confirm-region-warnings")
    assert done.returncode == 0, done.stderr
    done = yikatong("field", "sync", "--store", str(store_path), "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 0, done.stderr
    assert report["accepted"] == 2 and report["digest_match"] and report["blobs_sent"] == 4

    with Store.open(store_path) as store, RegistryHttp(registry.url, store.token()) as http:
        records = {r["record_id"]: r for r in store.list_records()}
        assert all(r["state"] == "accepted" for r in records.values())
        kinds = sorted(a["kind"] for r in records.values() for a in r["attachments"])
        assert kinds == ["card_photo", "card_photo", "face_template", "face_template"]
        for r in records.values():
            for att in r["attachments"]:
                local = store.attachment_bytes(r["record_id"], att["kind"])
                got = http.get_bytes(protocol.BLOB.format(sha256=att["sha256"]))
                assert hashlib.sha256(got).hexdigest() == att["sha256"] == hashlib.sha256(local).hexdigest()
        pulled = http.request("GET", protocol.PULL, params={"since": 0})
    on_registry = {ch["data"]["record_id"]: ch["data"]["payload"] for ch in pulled["changes"]
                   if ch["kind"] == protocol.KIND_RECORD}
    assert set(on_registry) == set(records)
    for rid, payload in on_registry.items():
        assert payload == records[rid]["payload"]
        assert payload["face"]["model"] == "dlib_face_recognition_resnet_model_v1"
    reviews = [p["duplicate_review"] for p in on_registry.values() if "duplicate_review" in p]
    assert len(reviews) == 1 and reviews[0][0]["decision"] == "unreviewed"
