"""Helpers for the registry tests: an HTTP client speaking the protocol, made-up residents.

ID numbers are valid (check character, real dates) and belong to nobody.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import uuid
from pathlib import Path
from typing import Any

import httpx

from enrollment import id_number as idn
from enrollment.records import validate_enrollment
from enrollment.roster_csv import COLUMNS
from sync import protocol

VILLAGE_A = "510903102201"
VILLAGE_B = "510903102202"
PASSWORD = "registry-pass-1"
HEADERS = {protocol.VERSION_HEADER: str(protocol.PROTOCOL_VERSION)}
SHARED_MAX_BODY = 1024 * 1024  # --max-body of the shared registry: 1 MiB, so size-limit tests send little


class Api:
    """A thin httpx client: the version header on every call, a Bearer token once logged in."""

    def __init__(self, base_url: str, token: str | None = None, device_id: str = "laptop-1") -> None:
        self.base_url = base_url
        self.token = token
        self.device_id = device_id  # the device the token was issued to; a push names it
        self.http = httpx.Client(base_url=base_url, timeout=30, headers=HEADERS)

    def headers(self, **extra: str) -> dict[str, str]:
        h = dict(HEADERS)
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        h.update(extra)
        return h

    def login(self, username: str, password: str = PASSWORD, device_id: str = "laptop-1") -> Api:
        r = self.http.post(protocol.LOGIN, json={"username": username, "password": password,
                                                  "device_id": device_id})
        assert r.status_code == 200, r.text
        return Api(self.base_url, r.json()["token"], device_id)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, headers=self.headers(**kw.pop("headers", {})), **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.post(path, headers=self.headers(**kw.pop("headers", {})), **kw)

    def put(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.put(path, headers=self.headers(**kw.pop("headers", {})), **kw)

    def push(self, items: list[dict], device_id: str | None = None) -> list[dict]:
        r = self.post(protocol.PUSH, json={"device_id": device_id or self.device_id, "records": items})
        assert r.status_code == 200, r.text
        return r.json()["results"]

    def push_one(self, item: dict) -> dict:
        return self.push([item])[0]

    def digest_count(self) -> int:
        r = self.post(protocol.DIGEST, json={"digest": "0", "count": 0})
        assert r.status_code == 200, r.text
        return r.json()["server_count"]

    def pull_all(self, since: int = 0, limit: int = 1000) -> tuple[list[dict], int]:
        changes: list[dict] = []
        while True:
            r = self.get(protocol.PULL, params={"since": since, "limit": limit})
            assert r.status_code == 200, r.text
            body = r.json()
            changes += body["changes"]
            since = body["last_counter"]
            if not body["more"]:
                return changes, since

    def put_chunk(self, sha256: str, offset: int, size: int, chunk: bytes) -> httpx.Response:
        return self.put(protocol.BLOB.format(sha256=sha256), params={"offset": offset, "size": size},
                        content=chunk, headers={"Content-Type": "application/octet-stream"})

    def close(self) -> None:
        self.http.close()


def id_number(i: int, birth: dt.date | None = None, region: str = "510921") -> str:
    birth = birth or dt.date(1950 + i % 60, 1 + i % 12, 1 + i % 28)
    return idn.make(region, birth, i % 1000)


def resident(i: int, village: str = VILLAGE_A) -> dict[str, str]:
    number = id_number(i)
    info = idn.parse(number)
    return {"id_number": number, "name": "王明学" if i % 2 else "李𠈌芬", "sex": info.sex,
            "birth_date": info.birth_date.isoformat(), "household_id": f"H{i // 3:04d}",
            "relation": "户主" if i % 3 == 0 else "子女", "address": f"大石村{i % 9 + 1}组",
            "phone": "" if i % 2 else f"139{i:08d}", "village_code": village}


def payload(i: int = 1, village: str = VILLAGE_A, record_id: str | None = None,
            attachments: list[dict] | None = None, **over: Any) -> dict[str, Any]:
    """A normalised enrollment payload, as the laptop queues it."""
    fields = {**resident(i, village), "record_id": record_id or str(uuid.uuid4()), "consent": True,
              "attachments": attachments or [], **over}
    fields["confirmed_warnings"] = list(idn.parse(fields["id_number"]).warnings)
    return validate_enrollment(fields)


def item(p: dict[str, Any], base_version: int = 0) -> dict[str, Any]:
    return protocol.push_item(p["record_id"], base_version, p)


def raw_item(p: dict[str, Any], base_version: int = 0) -> dict[str, Any]:
    """A push item for a payload that never went through validate_enrollment (bad input)."""
    return {"record_id": p["record_id"], "base_version": base_version, "deleted": False, "payload": p,
            "content_hash": protocol.record_hash(p, False, p["record_id"])}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_roster(path: Path, rows: list[dict], extra_columns: tuple[str, ...] = (),
                 encoding: str = "utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as f:
        w = csv.writer(f)
        w.writerow([*COLUMNS, *extra_columns])
        for r in rows:
            w.writerow([r.get(c, "") for c in (*COLUMNS, *extra_columns)])
    return path


# The residents the tests enroll in village A (``payload(i)``) are on its roster: a resident on no
# roster, or on another village's, is never cleared automatically (registry/checks/roster.py).
ROSTER_A = range(0, 100)


def roster_cli_args(tmp_dir: Path, village: str = VILLAGE_A, people: range = ROSTER_A) -> list[str]:
    """``registry import-roster`` arguments for ``resident(i)`` of ``people`` in ``village``."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    path = write_roster(tmp_dir / f"roster_{village}.csv", [resident(i, village) for i in people])
    return ["import-roster", str(path), "--village", village]


def import_test_roster(engine: Any, tmp_dir: Path, village: str = VILLAGE_A, people: range = ROSTER_A) -> None:
    """The same roster imported straight into a registry database."""
    from registry.roster import import_roster

    tmp_dir.mkdir(parents=True, exist_ok=True)
    import_roster(engine, write_roster(tmp_dir / f"roster_{village}.csv", [resident(i, village) for i in people]),
                  village)


def upgrade_to(engine, revision: str) -> None:
    """Migrate ``engine``'s database only as far as ``revision``: the state an older registry left,
    for tests of what the next migrations do with it."""
    from alembic import command
    from alembic.config import Config

    from registry.db import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
