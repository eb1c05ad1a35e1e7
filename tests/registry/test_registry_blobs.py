"""Blobs: resumable chunked upload, hash check, and records waiting for their attachments."""

from __future__ import annotations

import os

from regkit import SHARED_MAX_BODY, item, payload, sha256

from sync import protocol


def test_blob_upload_in_two_chunks_with_wrong_offset_then_resume(shared):
    """A blob goes up in two chunks; a wrong offset in between gets 409 with the server's count; resuming completes it byte-identical."""
    api = shared.login("cadre_a")
    data = os.urandom(300_000)
    name = sha256(data)
    status = api.post(protocol.BLOB_STATUS, json={"blobs": [{"sha256": name, "size": len(data)}]}).json()
    assert status["blobs"] == [{"sha256": name, "received": 0, "complete": False}]

    r = api.put_chunk(name, 0, len(data), data[:200_000])
    assert r.status_code == 200 and r.json() == {"sha256": name, "received": 200_000, "complete": False}

    bad = api.put_chunk(name, 100_000, len(data), data[100_000:])
    assert bad.status_code == 409
    err = bad.json()["error"]
    assert err["code"] == protocol.E_BLOB_OFFSET and err["data"]["received"] == 200_000

    # The client asks where to resume (as after a dropped connection) and sends the rest.
    status = api.post(protocol.BLOB_STATUS, json={"blobs": [{"sha256": name, "size": len(data)}]}).json()
    resume_at = status["blobs"][0]["received"]
    assert resume_at == 200_000
    r = api.put_chunk(name, resume_at, len(data), data[resume_at:])
    assert r.status_code == 200 and r.json()["complete"] is True

    got = shared.login("central").get(protocol.BLOB.format(sha256=name))
    assert got.status_code == 200 and got.content == data
    # Sending it again is a harmless no-op.
    assert api.put_chunk(name, 0, len(data), data[:10]).json()["complete"] is True


def test_blob_bytes_not_matching_name_are_discarded(shared):
    """Bytes that do not hash to the blob's name get 422 blob.hash_mismatch and nothing is kept."""
    api = shared.login("cadre_a")
    claimed = sha256(b"A" * 5000)
    first = api.put_chunk(claimed, 0, 5000, b"B" * 3000)
    assert first.status_code == 200
    r = api.put_chunk(claimed, 3000, 5000, b"B" * 2000)
    assert r.status_code == 422 and r.json()["error"]["code"] == protocol.E_BLOB_HASH
    status = api.post(protocol.BLOB_STATUS, json={"blobs": [{"sha256": claimed, "size": 5000}]}).json()
    assert status["blobs"][0] == {"sha256": claimed, "received": 0, "complete": False}
    assert api.get(protocol.BLOB.format(sha256=claimed)).status_code == 404
    # The right bytes are then accepted under that name.
    assert api.put_chunk(claimed, 0, 5000, b"A" * 5000).json()["complete"] is True


def test_blob_chunk_past_size_and_bad_name_refused(shared):
    """A chunk running past the declared size, or a name that is not a SHA-256, is refused 422."""
    api = shared.login("cadre_a")
    data = b"xyz" * 10
    r = api.put_chunk(sha256(data), 0, 10, data)
    assert r.status_code == 422 and r.json()["error"]["code"] == protocol.E_BLOB_SIZE
    r = api.put_chunk("NOT-A-HASH", 0, 3, b"abc")
    assert r.status_code == 422 and r.json()["error"]["field"] == "sha256"


def test_blob_chunk_over_body_limit_refused(shared):
    """A blob chunk larger than the body limit gets 413 and nothing is stored."""
    api = shared.login("cadre_a")
    data = os.urandom(SHARED_MAX_BODY + 10)
    name = sha256(data)
    r = api.put_chunk(name, 0, len(data), data)
    assert r.status_code == 413 and r.json()["error"]["code"] == protocol.E_TOO_LARGE
    status = api.post(protocol.BLOB_STATUS, json={"blobs": [{"sha256": name, "size": len(data)}]}).json()
    assert status["blobs"][0]["received"] == 0


def test_record_waits_for_its_attachment_blob(shared):
    """A record whose attachment blob is not complete on the server is refused blob.missing; after the upload it is accepted."""
    api = shared.login("cadre_a")
    scan = os.urandom(20_000)
    att = [{"kind": "consent_form", "sha256": sha256(scan), "size": len(scan), "mime": "image/jpeg"}]
    p = payload(60, attachments=att)
    r = api.push_one(item(p))
    assert r["status"] == protocol.REFUSED
    assert r["error"]["code"] == protocol.E_BLOB_MISSING
    assert r["error"]["data"]["missing"] == [sha256(scan)]

    api.put_chunk(sha256(scan), 0, len(scan), scan[:5000])  # partial is not enough
    assert api.push_one(item(p))["error"]["code"] == protocol.E_BLOB_MISSING
    assert api.put_chunk(sha256(scan), 5000, len(scan), scan[5000:]).json()["complete"] is True
    r = api.push_one(item(p))
    assert (r["status"], r["version"]) == (protocol.ACCEPTED, 1)


def test_cadres_read_only_their_own_villages_attachments(shared):
    """A blob is readable by the cadre whose village's record names it and by central staff, and by nobody else."""
    a, b, central = shared.login("cadre_a"), shared.login("cadre_b"), shared.login("central")
    scan = os.urandom(5_000)
    name = sha256(scan)
    assert a.put_chunk(name, 0, len(scan), scan).json()["complete"] is True
    url = protocol.BLOB.format(sha256=name)
    assert a.get(url).status_code == 404  # uploaded, but no record of A's names it yet

    att = [{"kind": "id_front", "sha256": name, "size": len(scan), "mime": "image/jpeg"}]
    assert a.push_one(item(payload(61, attachments=att)))["status"] == protocol.ACCEPTED
    assert a.get(url).content == scan
    assert central.get(url).content == scan
    other = b.get(url)
    assert other.status_code == 404
    assert other.json()["error"]["code"] == protocol.E_NOT_FOUND
