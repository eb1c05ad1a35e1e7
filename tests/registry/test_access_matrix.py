"""The access matrix: every route of the registry's API × every kind of caller, against the table below.

The routes are read from the FastAPI app itself, so a route without a row (or a row without a route)
fails the test. Each cell says what access alone decides for that caller:

- ``OK``: let through and answered 2xx;
- ``Through(status, code)``: let through, then refused by a later rule (a stale version), never 401/403;
- ``PASS``: let through, whatever a later rule says (any answer but 401/403 or a 5xx);
- ``Refused(status, code)``: refused, with that code (401 ``auth.*``, 403, or 404 where "not yours"
  looks like "absent");
- ``RecordRefused(code)``: a push answered 200 whose one record is refused with that code.

``SEES``/``BLIND`` are ``OK`` cells that also check whether the seed record of village A (or its photo)
is in the answer: a cadre of village B is let through to pull but must not see village A.

Requests that would change state are made so that they cannot (a stale version, an unchanged re-push);
logout uses spare tokens and runs last, so the tokens the other cells use stay valid. Besides the
operators of each role, the callers are strangers: no token, a header that is not a Bearer token, a
token never issued, an expired token, and the token of a cadre disabled after logging in.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from regkit import PASSWORD, VILLAGE_A, VILLAGE_B, Api, item, payload, sha256
from reviewkit import make_operator
from sqlalchemy import create_engine, update
from starlette.routing import Route

from registry import auth
from registry.api import create_app
from registry.db import iso, open_database
from registry.schema import tokens
from sync import protocol

ROLES = ("anonymous", "malformed", "unknown", "expired", "disabled", "cadre_a", "cadre_b", "central", "admin")
OPERATORS = {"cadre_a": ("cadre", VILLAGE_A), "cadre_b": ("cadre", VILLAGE_B), "central": ("central",),
             "admin": ("admin",),
             "cadre_off": ("cadre", VILLAGE_A),   # disabled after logging in
             "cadre_late": ("cadre", VILLAGE_A)}  # its token expired (it never logs in again: a login purges those)
# The operators whose tokens are logged out in the LAST row (their spare tokens).
ACTIVE = ("cadre_a", "cadre_b", "central", "admin")
# FastAPI's own route, not part of the protocol (the API description; its own tests cover it).
FRAMEWORK_ROUTES = {("GET", "/openapi.json")}
STALE = 999  # a version the seed record never reaches: a decision or card issue with it changes nothing


# ------------------------------------------------------------------------------------ outcomes

@dataclass(frozen=True)
class Allowed:
    """Let through and answered 2xx; ``sees_seed`` (when not None): whether the seed shows in the answer."""

    sees_seed: bool | None = None


@dataclass(frozen=True)
class Through:
    """Let through by access, then refused by a later rule with this status and code (or, with
    ``status=None``, anything but an access refusal or a 5xx)."""

    status: int | None = None
    code: str | None = None

    def __post_init__(self) -> None:
        assert self.status not in (401, 403), "a 401/403 is an access refusal: use Refused"


@dataclass(frozen=True)
class Refused:
    status: int
    code: str


@dataclass(frozen=True)
class RecordRefused:
    """A push answered 200 in which the (one) record is refused with this code."""

    code: str


Outcome = Allowed | Through | Refused | RecordRefused

OK = Allowed()
SEES = Allowed(sees_seed=True)
BLIND = Allowed(sees_seed=False)
PASS = Through()
STALE_VERSION = Through(409, "review.version_stale")
MISSING = Refused(401, "auth.missing")
INVALID = Refused(401, "auth.invalid_token")
EXPIRED = Refused(401, "auth.token_expired")
DISABLED = Refused(403, "auth.operator_disabled")
FORBIDDEN = Refused(403, "auth.forbidden")
CADRE_ONLY = Refused(403, "record.push_cadre_only")
HIDDEN = Refused(404, "request.not_found")
NOT_ASSIGNED = RecordRefused("village.not_assigned")
UNKNOWN_RESIDENT = Refused(404, "verify.resident_unknown")
NO_EVIDENCE = Through(404, "request.not_found")
NO_SESSION = Refused(401, "verify.session_invalid")
CLIP_MISSING = Through(409, "verify.clip_missing")
NO_LINE = Through(404, "entitlement.unknown")
NO_BATCH = Through(404, "payments.batch_unknown")
NOTHING_TO_BATCH = Through(409, "payments.nothing_to_batch")


# ------------------------------------------------------------------------------------ requests

@dataclass
class Seed:
    """One record of village A pushed by cadre A, with a photo blob."""

    record: dict[str, Any]
    photo: bytes
    request: str = ""   # the verification request made for the seed's resident
    request: str = ""   # the seed's verification request

    @property
    def record_id(self) -> str:
        return self.record["record_id"]

    @property
    def sha(self) -> str:
        return sha256(self.photo)


Send = Callable[[httpx.Client, dict[str, str], Seed], httpx.Response]
Shows = Callable[[httpx.Response, Seed], bool]


@dataclass(frozen=True)
class Row:
    send: Send
    cells: tuple[Outcome, ...]
    shows: Shows | None = None  # how to tell whether the seed is in an allowed answer

    def __post_init__(self) -> None:
        assert len(self.cells) == len(ROLES), self.cells
        if any(isinstance(c, Allowed) and c.sees_seed is not None for c in self.cells):
            assert self.shows is not None, "a SEES/BLIND cell needs the row's shows()"


def get(path: str, **params: Any) -> Send:
    return lambda http, headers, seed: http.get(path.format(record_id=seed.record_id, sha256=seed.sha,
                                                            request=seed.request), headers=headers, params=params)


def post(path: str, body: Callable[[Seed], Any] | None = None) -> Send:
    def send(http: httpx.Client, headers: dict[str, str], seed: Seed) -> httpx.Response:
        url = path.format(record_id=seed.record_id, request=seed.request)
        return http.post(url, headers=headers, json=body(seed)) if body else http.post(url, headers=headers)
    return send


def put_photo(http: httpx.Client, headers: dict[str, str], seed: Seed) -> httpx.Response:
    """The whole photo again (a no-op on a complete blob)."""
    return http.put(protocol.BLOB.format(sha256=seed.sha), params={"offset": 0, "size": len(seed.photo)},
                    content=seed.photo, headers={**headers, "Content-Type": "application/octet-stream"})


def put_frame(http: httpx.Client, headers: dict[str, str], seed: Seed) -> httpx.Response:
    """A frame for an attempt that does not exist, with a made-up nonce."""
    return http.put(protocol.VERIFY_FRAME.format(attempt="a1", seq=0), params={"step": 0}, content=b"\xff\xd8x",
                    headers={**headers, protocol.VERIFY_NONCE_HEADER: "n", "Content-Type": "image/jpeg"})


def upload(path: str, content: bytes, **params: Any) -> Send:
    """A payments upload (a file's bytes) that a later rule refuses: nothing is imported."""
    return lambda http, headers, seed: http.post(path, params=params, content=content, headers={
        **headers, "Content-Type": "application/octet-stream"})


def pull_shows(r: httpx.Response, seed: Seed) -> bool:
    return any(c["key"] == seed.record_id for c in r.json()["changes"] if c["kind"] == protocol.KIND_RECORD)


# An ordinary login with cadre A's password: the login route ignores whatever token comes with it.
LOGIN_BODY = {"username": "cadre_a", "password": PASSWORD, "device_id": "laptop-1"}

# fmt: off
# Callers refused whatever the route (apart from health and login): no token, a header that is not a
# Bearer token, a token the registry never issued, an expired token, a disabled cadre of village A's token.
STRANGERS = (MISSING, INVALID, INVALID, EXPIRED, DISABLED)
# (method, path template) → what each caller gets, in the order of ROLES:
#   anonymous, malformed, unknown, expired, disabled,    cadre_a, cadre_b,      central,       admin
TABLE: dict[tuple[str, str], Row] = {
    ("GET", protocol.HEALTH): Row(get(protocol.HEALTH),
        (OK, OK, OK, OK, OK,                              OK,      OK,           OK,            OK)),
    # An ordinary login: the route ignores whatever token comes with it.
    ("POST", protocol.LOGIN): Row(post(protocol.LOGIN, lambda s: LOGIN_BODY),
        (OK, OK, OK, OK, OK,                              OK,      OK,           OK,            OK)),
    ("GET", protocol.ME): Row(get(protocol.ME),
        (*STRANGERS,                                      OK,      OK,           OK,            OK)),
    # Only the village's cadres push (record.push_cadre_only); cadre A's re-push is "unchanged".
    ("POST", protocol.PUSH): Row(post(protocol.PUSH, lambda s: {"device_id": "laptop-1", "records": [item(s.record)]}),
        (*STRANGERS,                                      OK,      NOT_ASSIGNED, CADRE_ONLY,    CADRE_ONLY)),
    ("GET", protocol.PULL): Row(get(protocol.PULL, since=0),
        (*STRANGERS,                                      SEES,    BLIND,        SEES,          SEES),
        shows=pull_shows),
    ("POST", protocol.DIGEST): Row(post(protocol.DIGEST, lambda s: {"digest": "0", "count": 0}),
        (*STRANGERS,                                      SEES,    BLIND,        SEES,          SEES),
        shows=lambda r, s: r.json()["server_count"] > 0),
    # A blob is complete only for those who uploaded it or whose villages' records name it (staff: all).
    ("POST", protocol.BLOB_STATUS): Row(post(protocol.BLOB_STATUS, lambda s: {"blobs": [{"sha256": s.sha, "size": len(s.photo)}]}),
        (*STRANGERS,                                      SEES,    BLIND,        SEES,          SEES),
        shows=lambda r, s: r.json()["blobs"][0]["complete"]),
    # Only cadres upload (the files of the enrollments they push).
    ("PUT", protocol.BLOB): Row(put_photo,
        (*STRANGERS,                                      PASS,    PASS,         CADRE_ONLY,    CADRE_ONLY)),
    # A cadre reads only the blobs of their villages' records: for cadre B the photo is "absent".
    ("GET", protocol.BLOB): Row(get(protocol.BLOB),
        (*STRANGERS,                                      SEES,    HIDDEN,       SEES,          SEES),
        shows=lambda r, s: r.content == s.photo),
    # Central review: staff only.
    ("GET", protocol.REVIEW_QUEUE): Row(get(protocol.REVIEW_QUEUE, state=list(protocol.REVIEW_STATES)),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  SEES,          SEES),
        shows=lambda r, s: any(i["record_id"] == s.record_id for i in r.json()["items"])),
    ("GET", protocol.REVIEW_RECORD): Row(get(protocol.REVIEW_RECORD),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  SEES,          SEES),
        shows=lambda r, s: r.json()["record"]["record_id"] == s.record_id),
    ("POST", protocol.REVIEW_DECISION): Row(post(protocol.REVIEW_DECISION,
                                                 lambda s: {"action": "approve", "version": STALE, "password": PASSWORD}),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  STALE_VERSION, STALE_VERSION)),
    ("POST", protocol.REVIEW_CARD_ISSUED): Row(post(protocol.REVIEW_CARD_ISSUED, lambda s: {"version": STALE}),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  STALE_VERSION, STALE_VERSION)),
    # A stale item is skipped: 200 with nothing approved.
    ("POST", protocol.REVIEW_BULK_APPROVE): Row(post(protocol.REVIEW_BULK_APPROVE, lambda s: {
        "items": [{"record_id": s.record_id, "version": STALE}], "password": PASSWORD}),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  OK,            OK)),
    ("POST", protocol.REVIEW_RUN_CHECKS): Row(post(protocol.REVIEW_RUN_CHECKS, lambda s: {}),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  OK,            OK)),
    ("GET", protocol.REVIEW_FINDINGS): Row(get(protocol.REVIEW_FINDINGS),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  OK,            OK)),
    ("GET", protocol.REVIEW_WARNINGS): Row(get(protocol.REVIEW_WARNINGS),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  OK,            OK)),
    ("GET", protocol.REVIEW_REPORT_CSV): Row(get(protocol.REVIEW_REPORT_CSV),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  OK,            OK)),
    ("GET", protocol.REVIEW_REPORT_PDF): Row(get(protocol.REVIEW_REPORT_PDF),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  OK,            OK)),
    ("GET", protocol.REVIEW_DASHBOARD): Row(get(protocol.REVIEW_DASHBOARD),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  OK,            OK)),
    # Remote verification, laptops and staff: a cadre asks only about residents of their villages (for
    # cadre B the seed's resident is as unknown as an absent one) and lists only their villages' requests.
    ("POST", protocol.VERIFICATIONS): Row(post(protocol.VERIFICATIONS, lambda s: {"id_number": s.record["id_number"]}),
        (*STRANGERS,                                      OK,      UNKNOWN_RESIDENT, OK,        OK)),
    ("GET", protocol.VERIFICATIONS): Row(get(protocol.VERIFICATIONS),
        (*STRANGERS,                                      SEES,    BLIND,        SEES,          SEES),
        shows=lambda r, s: any(v["record_id"] == s.record_id for v in r.json()["verifications"])),
    # One request with its attempts: its village's cadre and staff; for cadre B it does not exist.
    ("GET", protocol.VERIFICATION): Row(get(protocol.VERIFICATION),
        (*STRANGERS,                                      OK,      HIDDEN,       OK,            OK)),
    # Evidence frames are for staff; the seed's request has none.
    ("GET", protocol.VERIFICATION_EVIDENCE): Row(get(protocol.VERIFICATION_EVIDENCE.replace("{attempt}", "a1")
                                                     .replace("{seq}", "0")),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  NO_EVIDENCE,   NO_EVIDENCE)),
    # A clip for the seed's request: only the resident's village's cadres send one (cadre B: as unknown as an
    # absent request; staff review, they do not submit); cadre A never uploaded this hash: clip_missing.
    ("POST", protocol.VERIFICATION_VIDEO): Row(post(protocol.VERIFICATION_VIDEO, lambda s: {
        "clip_sha256": "0" * 64, "digits_heard": True}),
        (*STRANGERS,                                      CLIP_MISSING, UNKNOWN_RESIDENT, FORBIDDEN, FORBIDDEN)),
    # The worker's page and its API: the same for every caller (no token counts), refused with verify.* codes.
    ("GET", protocol.VERIFY_PAGE): Row(get(protocol.VERIFY_PAGE), (OK,) * len(ROLES)),
    ("GET", protocol.VERIFY_APP_JS): Row(get(protocol.VERIFY_APP_JS), (OK,) * len(ROLES)),
    ("GET", protocol.VERIFY_APP_CSS): Row(get(protocol.VERIFY_APP_CSS), (OK,) * len(ROLES)),
    ("POST", protocol.VERIFY_UNLOCK): Row(post(protocol.VERIFY_UNLOCK, lambda s: {"token": "x" * 32, "id_tail": "123456"}),
        (Refused(404, "verify.token_unknown"),) * len(ROLES)),
    ("POST", protocol.VERIFY_CONSENT): Row(post(protocol.VERIFY_CONSENT, lambda s: {
        "session": "x" * 32, "version": "1", "agreed": True}), (NO_SESSION,) * len(ROLES)),
    ("POST", protocol.VERIFY_ATTEMPTS): Row(post(protocol.VERIFY_ATTEMPTS, lambda s: {"session": "x" * 32}),
        (NO_SESSION,) * len(ROLES)),
    ("PUT", protocol.VERIFY_FRAME): Row(put_frame, (Refused(403, "verify.nonce_mismatch"),) * len(ROLES)),
    ("POST", protocol.VERIFY_FINISH): Row(post(protocol.VERIFY_FINISH.replace("{attempt}", "a1"),
                                               lambda s: {"session": "x" * 32}), (NO_SESSION,) * len(ROLES)),
    # Payments (docs/payments/central-api.md): staff only. Requests that would change money state name a line,
    # batch or import that does not exist, or send a file that is refused, so nothing changes.
    ("GET", protocol.PAYMENT_ITEMS): Row(get(protocol.PAYMENT_ITEMS),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  OK,            OK)),
    ("POST", protocol.PAYMENT_ENTITLEMENT_IMPORTS): Row(upload(protocol.PAYMENT_ENTITLEMENT_IMPORTS, b"a,b\n1,2\n",
                                                               department="民政局", file_name="r.csv"),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  Through(422, "entitlement.columns"),
                                                                                  Through(422, "entitlement.columns"))),
    ("GET", protocol.PAYMENT_ENTITLEMENT_IMPORTS): Row(get(protocol.PAYMENT_ENTITLEMENT_IMPORTS),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  OK,            OK)),
    ("GET", protocol.PAYMENT_INTERCEPTIONS): Row(get(protocol.PAYMENT_INTERCEPTIONS),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  OK,            OK)),
    ("GET", protocol.PAYMENT_ENTITLEMENT): Row(get(protocol.PAYMENT_ENTITLEMENT.replace("{entitlement_id}", "999999")),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  NO_LINE,       NO_LINE)),
    ("POST", protocol.PAYMENT_DECISION): Row(post(protocol.PAYMENT_DECISION.replace("{entitlement_id}", "999999"),
                                                  lambda s: {"action": "release", "reason": "x", "password": PASSWORD}),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  NO_LINE,       NO_LINE)),
    ("GET", protocol.PAYMENT_READY): Row(get(protocol.PAYMENT_READY),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  OK,            OK)),
    ("POST", protocol.PAYMENT_BATCHES): Row(post(protocol.PAYMENT_BATCHES, lambda s: {"item": "dibao", "period": "202612"}),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  NOTHING_TO_BATCH, NOTHING_TO_BATCH)),
    ("GET", protocol.PAYMENT_BATCHES): Row(get(protocol.PAYMENT_BATCHES),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  OK,            OK)),
    ("GET", protocol.PAYMENT_BATCH): Row(get(protocol.PAYMENT_BATCH.replace("{batch_id}", "b1")),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  NO_BATCH,      NO_BATCH)),
    ("POST", protocol.PAYMENT_BATCH_APPROVE): Row(post(protocol.PAYMENT_BATCH_APPROVE.replace("{batch_id}", "b1"),
                                                       lambda s: {"password": PASSWORD}),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  NO_BATCH,      NO_BATCH)),
    ("GET", protocol.PAYMENT_BANK_FILE): Row(get(protocol.PAYMENT_BANK_FILE.replace("{batch_id}", "b1")),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  NO_BATCH,      NO_BATCH)),
    ("POST", protocol.PAYMENT_RESULT_IMPORTS): Row(upload(protocol.PAYMENT_RESULT_IMPORTS, b"a,b\n1,2\n",
                                                          file_name="r.csv"),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  Through(422, "csv.columns_missing"),
                                                                                  Through(422, "csv.columns_missing"))),
    ("GET", protocol.PAYMENT_RESULT_IMPORTS): Row(get(protocol.PAYMENT_RESULT_IMPORTS),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  OK,            OK)),
    ("GET", protocol.PAYMENT_RESULT_ERRORS): Row(get(protocol.PAYMENT_RESULT_ERRORS.replace("{import_id}", "999999")),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  Through(404, "payments.result_import_unknown"),
                                                                                  Through(404, "payments.result_import_unknown"))),
    ("GET", protocol.PAYMENT_STATUS): Row(get(protocol.PAYMENT_STATUS),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  OK,            OK)),
    ("GET", protocol.PAYMENT_DASHBOARD): Row(get(protocol.PAYMENT_DASHBOARD),
        (*STRANGERS,                                      FORBIDDEN, FORBIDDEN,  OK,            OK)),
    # Sent last with the operators' spare tokens (see LAST), so the other cells' tokens stay valid.
    ("POST", protocol.LOGOUT): Row(post(protocol.LOGOUT),
        (*STRANGERS,                                      OK,      OK,           OK,            OK)),
}
# fmt: on
LAST = ("POST", protocol.LOGOUT)


# ------------------------------------------------------------------------------------ checks

def app_routes() -> set[tuple[str, str]]:
    """(method, path template) of every route the registry's app serves, FastAPI's own excluded."""
    engine = create_engine("sqlite://")
    try:
        app = create_app(engine).app
    finally:
        engine.dispose()
    served: set[tuple[str, str]] = set()
    for route in app.routes:
        assert isinstance(route, Route), f"a route that is not an HTTP route: {route!r}"
        served |= {(m, route.path) for m in route.methods if m != "HEAD"}
    assert FRAMEWORK_ROUTES <= served, f"FastAPI's own routes moved: {sorted(FRAMEWORK_ROUTES - served)}"
    return served - FRAMEWORK_ROUTES


def test_every_route_has_a_row_and_every_row_a_route():
    """The table lists exactly the routes the app serves (apart from /openapi.json), all named in sync.protocol."""
    served = app_routes()
    without_row = sorted(served - set(TABLE))
    without_route = sorted(set(TABLE) - served)
    assert not without_row, f"routes with no row in the access matrix (add one to TABLE): {without_row}"
    assert not without_route, f"rows in the access matrix for routes the app does not serve: {without_route}"
    named = {v for v in vars(protocol).values() if isinstance(v, str) and v.startswith(("/api/", "/verify"))}
    assert {path for _m, path in served} <= named, "a route whose path is not a sync.protocol constant"


def mismatch(outcome: Outcome, r: httpx.Response, row: Row, seed: Seed) -> str | None:
    """Why the answer ``r`` does not match ``outcome`` (None when it does)."""
    try:
        body = r.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    got = f"{r.status_code} {code or ''}".strip()
    if isinstance(outcome, Allowed):
        if not 200 <= r.status_code < 300:
            return f"expected 2xx, got {got}"
        if outcome.sees_seed is not None and row.shows(r, seed) != outcome.sees_seed:
            return "the seed record of village A is " + ("missing from" if outcome.sees_seed else "in") + " the answer"
        return None
    if isinstance(outcome, Through):
        if r.status_code in (401, 403) or r.status_code >= 500:
            return f"expected to be let through, got {got}"
        if outcome.status is not None and (r.status_code, code) != (outcome.status, outcome.code):
            return f"expected {outcome.status} {outcome.code}, got {got}"
        return None
    if isinstance(outcome, Refused):
        if (r.status_code, code) != (outcome.status, outcome.code):
            return f"expected {outcome.status} {outcome.code}, got {got}"
        return None
    if r.status_code != 200:
        return f"expected 200 with the record refused {outcome.code}, got {got}"
    results = body["results"]
    if [(x["status"], (x.get("error") or {}).get("code")) for x in results] != [(protocol.REFUSED, outcome.code)]:
        return f"expected the record refused {outcome.code}, got {results}"
    return None


VERSION = {protocol.VERSION_HEADER: str(protocol.PROTOCOL_VERSION)}


def bearer(api: Api) -> dict[str, str]:
    return {**VERSION, "Authorization": f"Bearer {api.token}"}


@pytest.fixture
def matrix_env(registry, registry_db_url, monkeypatch):
    """The headers of every caller (and spare ones for logout), and the seed record of village A."""
    # TEST-ONLY: the registry process verifies with the cheap argon2 of YIKATONG_TEST_FAST_ARGON2, which
    # this process imported registry.auth too early to get; hashes made with it verify 10x faster.
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
    engine = open_database(registry_db_url)
    for username, (role, *villages) in OPERATORS.items():
        make_operator(engine, username, role, *villages)
    api = Api(registry.url)
    logged = {u: api.login(u) for u in OPERATORS}
    spare = {u: api.login(u) for u in ACTIVE}
    with engine.begin() as conn:
        auth.set_disabled(conn, "cadre_off", True)
        conn.execute(update(tokens).where(tokens.c.token_hash == auth.token_digest(logged["cadre_late"].token))
                     .values(expires_at=iso(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))))
    engine.dispose()
    strangers = {"anonymous": VERSION,
                 "malformed": {**VERSION, "Authorization": "Basic Y2FkcmVfYTpyZWdpc3RyeS1wYXNzLTE="},
                 "unknown": {**VERSION, "Authorization": "Bearer " + "0" * 43},
                 "expired": bearer(logged["cadre_late"]), "disabled": bearer(logged["cadre_off"])}
    callers = {**strangers, **{u: bearer(logged[u]) for u in ACTIVE}}
    spares = {**strangers, **{u: bearer(spare[u]) for u in ACTIVE}}

    photo = os.urandom(4000)
    cadre_a = logged["cadre_a"]
    assert cadre_a.put_chunk(sha256(photo), 0, len(photo), photo).json()["complete"] is True
    record = payload(1, VILLAGE_A, attachments=[{"kind": "id_front", "sha256": sha256(photo), "size": len(photo),
                                                 "mime": "image/jpeg"}])
    assert cadre_a.push_one(item(record))["status"] == protocol.ACCEPTED
    # A verification request for the seed's resident (village A).
    r = httpx.post(registry.url + protocol.VERIFICATIONS, json={"id_number": record["id_number"]},
                   headers=bearer(cadre_a))
    assert r.status_code == 200, r.text
    yield registry, callers, spares, Seed(record, photo, r.json()["request"]["request"])
    for a in (api, *logged.values(), *spare.values()):
        a.close()


# Access is decided in Python, the same on both databases; SQLite keeps this test fast.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_every_route_answers_every_caller_as_the_table_says(matrix_env):
    """Each (route, caller) cell of TABLE holds on a real registry: refusals with their status and
    code, village B's cadre blind to village A, central staff and admins unable to push."""
    registry, callers, spares, seed = matrix_env
    assert set(TABLE) == app_routes()
    order = [k for k in TABLE if k != LAST] + [LAST]
    wrong: list[str] = []
    with httpx.Client(base_url=registry.url, timeout=30) as http:
        for key in order:
            row = TABLE[key]
            for role, outcome in zip(ROLES, row.cells, strict=True):
                r = row.send(http, (spares if key == LAST else callers)[role], seed)
                why = mismatch(outcome, r, row, seed)
                if why:
                    wrong.append(f"{key[0]} {key[1]} as {role}: {why}")
        assert not wrong, "access matrix cells that do not hold:\n" + "\n".join(wrong)
        # Logout revoked the spare tokens, and only them.
        for username in ACTIVE:
            assert http.get(protocol.ME, headers=callers[username]).status_code == 200
            assert http.get(protocol.ME, headers=spares[username]).json()["error"]["code"] == INVALID.code
