"""The sync protocol, shared by the field client and the registry.

Every request carries ``X-Yikatong-Protocol: <version>``. The registry answers a version
outside [MIN_PROTOCOL_VERSION, PROTOCOL_VERSION] with 426 and the code
``protocol.unsupported_version`` naming the versions it accepts. Never change the meaning
of a field under an existing version: add a version and say why below.

Versions
--------
1 (2026-11): first version. Records pushed in batches, idempotent by record id and
  content hash, edits carry their base version (stale base → conflict, both kept);
  blobs addressed by SHA-256 with resumable upload; pull by server counter; an
  order-independent digest closes every sync.
2 (2026-12): face capture (issue 3). Attachment kinds ``card_photo`` (image/jpeg, the
  card-standard photo) and ``face_template`` (application/x-yikatong-face-template), and
  the optional payload fields ``face`` ({model, version, quality: {code: string}}) and
  ``duplicate_review`` (list of {record_id, distance as a 4-decimal string, decision,
  reason, decided_by}). A v1 registry would refuse such records as unknown kinds/fields,
  so a v2 laptop must not talk to it; records without them are byte-identical to v1, so
  the registry keeps accepting v1 laptops (MIN stays 1).
3 (2026-12): central review (issue 4). Review decisions reach the laptop in pull: a record
  change's ``data`` gains ``review`` ({state, reason, decided_by, decided_at, card_issued_at};
  state is the registry's review state, received → checked → needs_review | cleared →
  approved | rejected | returned), always present from a v3 registry and updated whenever a
  check or a decision bumps the record's counter (the version may stay the same). The payload
  gains the optional field ``subsidies``: the subsidy items applied for, a sorted list of
  distinct codes from ``resources/subsidies/catalogue.json`` (unknown code →
  ``subsidies.unknown``). A v2 registry would refuse ``subsidies`` as an unknown field and
  never sends ``review``, so a v3 laptop must not talk to it; records without ``subsidies``
  are byte-identical to v2 and older laptops ignore ``review``, so MIN stays 1. A returned or
  rejected record corrected on the laptop is pushed as a new version of the same record id
  (base_version = the registry's version), never as a new record.
4 (2026-12): remote verification (issue 11, docs/verification-api.md). Pull gains the change kind
  ``verification`` (key: the request id; data: the request as ``GET /api/verifications`` lists it:
  state, attempts, expiry, the last result's reasons and scores; never the token). A v3 laptop's
  parser refuses an unknown kind (``protocol.bad_change``), so the registry sends ``verification``
  changes only to clients whose ``X-Yikatong-Protocol`` is 4 or more (``KIND_SINCE``); nothing else
  changed, so older laptops keep working unchanged (MIN stays 1). New staff/laptop routes:
  ``POST``/``GET /api/verifications``. The worker's public routes (``/verify``, ``/api/verify/*``) are
  not part of the sync protocol: they take no version header and no bearer token.
5 (2026-12): relations as the household register writes them (issue 12). A payload's and a pulled
  resident's ``relation`` is a GB/T 4761-2008 two-digit code ("02" 户主, "22" 长子; the table:
  ``resources/relations/gbt4761.json``, ``enrollment.relations``) instead of one of seven simplified
  values (户主 配偶 子女 父母 孙子女 兄弟姐妹 其他). The registry's migration 0012 and the laptop store's
  schema version 7 rewrite stored records the same way (``relations.migrate_payload``: 子女 by the
  record's sex, 20 or 30), content hashes included, so an upgraded laptop and registry agree. A laptop
  older than v5 still syncs (MIN stays 1): the registry validates its record with the code in place of
  the simplified value, stores the record as sent as version N (the hash the laptop knows, so its
  answer and a resend match) and the coded payload as version N+1, which the laptop's pull adopts;
  its digest agrees afterwards. Such a laptop shows pulled codes as they are until it is upgraded. A
  v5 laptop must not talk to a v4 registry, which refuses a code as ``relation.invalid``.
6 (2026-12): failed payments reach the cadre's laptop (issue 13, docs/payments/field-notices.md). Pull
  gains the change kind ``payment_failure`` (key: the roster line's id; data: the line — ID number,
  name, village, department, item, period, amount in fen, its ``EntitlementState`` — and its latest
  payment line: reference, ``PaymentLineState``, the bank's reason code and words, the card's last four
  digits), sent each time a line that failed at the bank changes (bounced, reversed, sent again, paid
  on the retry), to the line's village. As with v4, older parsers refuse an unknown kind, so the registry
  sends it only to clients at 6 or more (``KIND_SINCE``); nothing else changed (MIN stays 1). A v6
  laptop must not talk to a v5 registry (which answers 426 to its header).

Payments (2026-12, issue 13; docs/payments/central-api.md; no version of their own): new central/admin
routes under ``/api/payments/`` (the PAYMENT_* constants). Nothing existing changed shape and laptops never
call them; they came with the v6 registry, so a central workspace at v6 finds them.

Blob ownership (2026-12, issue 10; same wire format, no new version): an upload belongs to the
operator and the device of the token that sends it, so other uploaders of the same hash never
interfere. ``BLOB_STATUS`` answers about the caller only: ``complete`` for a blob the caller
uploaded or that a record in one of their villages names (any record, for central staff), else
the bytes of the caller's own upload from this device, else 0, whoever else holds the blob. A
``PUT`` of a blob the caller does not know goes into their own upload even when the registry
holds it (the answer is ``complete`` once their bytes hash right), and a pushed record's
attachments must be blobs its cadre knows (else ``blob.missing``). Partial uploads expire (24 h
after the last chunk by default) and a blob no record names is removed after a grace period
(7 days by default): a client asks the status again for the blobs of every record still to be
pushed, and uploads what is not there for it. A ``PUT`` from offset 0 with another size than
the caller's own partial upload replaces that upload.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from enrollment.canonical import content_hash
from enrollment.errors import DomainError
from enrollment.vocabulary import Action, ReviewState

PROTOCOL_VERSION = 6
MIN_PROTOCOL_VERSION = 1
VERSION_HEADER = "X-Yikatong-Protocol"

# Endpoints
HEALTH = "/api/health"
LOGIN = "/api/auth/login"
ME = "/api/auth/me"
LOGOUT = "/api/auth/logout"  # POST: revokes the caller's token
PUSH = "/api/sync/push"
PULL = "/api/sync/pull"
DIGEST = "/api/sync/digest"
BLOB_STATUS = "/api/blobs/status"
BLOB = "/api/blobs/{sha256}"  # PUT ?offset=N&size=TOTAL with a chunk (to the caller's own upload); GET the bytes

# Central review (issue 4; central and admin roles only). Shapes: docs/review-api.md.
REVIEW_QUEUE = "/api/review/queue"
REVIEW_RECORD = "/api/review/records/{record_id}"
REVIEW_DECISION = "/api/review/records/{record_id}/decision"
REVIEW_CARD_ISSUED = "/api/review/records/{record_id}/card-issued"
REVIEW_BULK_APPROVE = "/api/review/bulk-approve"
REVIEW_RUN_CHECKS = "/api/review/run-checks"
REVIEW_FINDINGS = "/api/review/findings"
REVIEW_WARNINGS = "/api/review/warnings"
REVIEW_REPORT_CSV = "/api/review/warnings/report.csv"
REVIEW_REPORT_PDF = "/api/review/warnings/report.pdf"
REVIEW_DASHBOARD = "/api/review/dashboard"

# Remote verification (issue 11; docs/verification-api.md). Laptops and staff, bearer token:
VERIFICATIONS = "/api/verifications"  # POST: create a request (its link); GET ?state=: list
VERIFICATION = "/api/verifications/{request}"  # GET: one request with its attempts' decisions
VERIFICATION_EVIDENCE = "/api/verifications/attempts/{attempt}/evidence/{seq}"  # GET: a kept frame (staff)
VERIFICATION_VIDEO = "/api/verifications/{request}/video"  # POST: a cadre's clip for the request (offline path)
# The worker's page and its API: public (the link's token is the credential), no version header;
# ``registry serve-verify`` serves only these and HEALTH.
VERIFY_PAGE = "/verify"
VERIFY_APP_JS = "/verify/app.js"
VERIFY_APP_CSS = "/verify/app.css"
VERIFY_API_PREFIX = "/api/verify/"
VERIFY_UNLOCK = "/api/verify/unlock"
VERIFY_CONSENT = "/api/verify/consent"
VERIFY_ATTEMPTS = "/api/verify/attempts"
VERIFY_FRAME = "/api/verify/attempts/{attempt}/frames/{seq}"  # PUT the JPEG, ?step=N, header X-Verify-Nonce
VERIFY_FINISH = "/api/verify/attempts/{attempt}/finish"
VERIFY_NONCE_HEADER = "X-Verify-Nonce"
# Delivery reports the SMS gateway pushes to the public process (registry.sms.receipt_routes): POST a JSON
# list of {message_id, status, delivered_at}, Authorization: Bearer <YIKATONG_SMS_RECEIPT_SECRET>; absent
# (404) unless that secret is set.
SMS_RECEIPTS = "/api/sms/receipts"

# Payments (issue 13; docs/payments/central-api.md). Central and admin only, bearer token. New routes with
# new shapes: no existing shape changed, so no version bump (see the notes above).
PAYMENT_ITEMS = "/api/payments/items"  # GET: the subsidy catalogue's items
PAYMENT_ENTITLEMENT_IMPORTS = "/api/payments/entitlement-imports"  # POST ?department=&file_name=&encoding= raw CSV; GET
PAYMENT_INTERCEPTIONS = "/api/payments/interceptions"  # GET ?status=open|decided&department=&item=&period=
PAYMENT_ENTITLEMENT = "/api/payments/entitlements/{entitlement_id}"  # GET: one line in full (audited read)
PAYMENT_DECISION = "/api/payments/entitlements/{entitlement_id}/decision"  # POST {action, reason, password}
PAYMENT_READY = "/api/payments/ready"  # GET: what a batch can be built from
PAYMENT_BATCHES = "/api/payments/batches"  # POST {item, period, township?}: build; GET ?state=: list
PAYMENT_BATCH = "/api/payments/batches/{batch_id}"  # GET: status and its lines
PAYMENT_BATCH_APPROVE = "/api/payments/batches/{batch_id}/approve"  # POST {password}
PAYMENT_BANK_FILE = "/api/payments/batches/{batch_id}/bank-file"  # GET ?encoding=utf-8|gbk: the file's bytes
PAYMENT_RESULT_IMPORTS = "/api/payments/result-imports"  # POST ?file_name=&encoding= raw CSV; GET
PAYMENT_RESULT_ERRORS = "/api/payments/result-imports/{import_id}/errors"  # GET
PAYMENT_STATUS = "/api/payments/status"
PAYMENT_DASHBOARD = "/api/payments/dashboard"
PAYMENT_CONTENT_SHA256_HEADER = "X-Content-SHA256"  # the bank file's SHA-256 (as in the audit chain)
PAYMENT_INTERCEPTIONS_OPEN = "open"        # still intercepted: a person decides
PAYMENT_INTERCEPTIONS_DECIDED = "decided"  # released or rejected
PAYMENT_INTERCEPTION_STATUSES = (PAYMENT_INTERCEPTIONS_OPEN, PAYMENT_INTERCEPTIONS_DECIDED)
PAYMENT_RELEASE = "release"   # decision actions (registry.payments.entitlements.DECISIONS)
PAYMENT_REJECT = "reject"
PAYMENT_ENCODINGS = ("utf-8", "gbk")
PAYMENT_LIST_LIMIT_MAX = 500
PAYMENT_BATCH_LINES_MAX = 500   # GET PAYMENT_BATCH lists this many lines at most (``lines_total`` says how many)

# Limits both ends respect
PUSH_BATCH_MAX = 100
PULL_LIMIT_MAX = 1000
BLOB_CHUNK = 256 * 1024
BLOB_MAX = 32 * 1024 * 1024

# Push result statuses
ACCEPTED = "accepted"      # stored as a new version
UNCHANGED = "unchanged"    # same content already stored: a no-op success
CONFLICT = "conflict"      # base version stale; the server's version comes back, ours is kept there too
REFUSED = "refused"        # a 4xx for this one record; ``error`` says why

# From this client version on a payload's relation is a GB/T 4761 code; older clients send the
# seven simplified values, which the registry maps (``enrollment.relations.migrate_payload``).
RELATION_CODES_SINCE = 5

# Pull change kinds
KIND_RESIDENT = "resident"
KIND_RECORD = "record"
KIND_VERIFICATION = "verification"  # v4
KIND_PAYMENT_FAILURE = "payment_failure"  # v6
# The protocol version from which the registry sends each newer kind (older clients refuse unknown kinds).
KIND_SINCE = {KIND_VERIFICATION: 4, KIND_PAYMENT_FAILURE: 6}

# Review states a pulled record's ``review.state`` takes (v3; the registry's records.state).
# Aliases of enrollment.vocabulary, kept because the store, the client and the e2e tests name them.
REVIEW_RECEIVED = ReviewState.RECEIVED
REVIEW_CHECKED = ReviewState.CHECKED
REVIEW_NEEDS_REVIEW = ReviewState.NEEDS_REVIEW
REVIEW_CLEARED = ReviewState.CLEARED
REVIEW_APPROVED = ReviewState.APPROVED
REVIEW_REJECTED = ReviewState.REJECTED
REVIEW_RETURNED = ReviewState.RETURNED
REVIEW_STATES = tuple(ReviewState)
REVIEW_KEYS = ("state", "reason", "decided_by", "decided_at", "card_issued_at")
# Review actions (POST REVIEW_DECISION)
ACTION_APPROVE = Action.APPROVE
ACTION_REJECT = Action.REJECT
ACTION_RETURN = Action.RETURN

# Stable API error codes, defined once in enrollment.error_codes and named here for both ends
# (domain codes such as ``id_number.check_character`` also appear).
from enrollment import error_codes as _codes  # noqa: E402  (beside the names it defines)

E_VERSION = _codes.PROTOCOL_UNSUPPORTED
E_MALFORMED = _codes.MALFORMED_JSON
E_INVALID = _codes.INVALID
E_TOO_LARGE = _codes.TOO_LARGE
E_NOT_FOUND = _codes.NOT_FOUND
E_METHOD = _codes.METHOD_NOT_ALLOWED
E_AUTH_MISSING = _codes.AUTH_MISSING
E_AUTH_INVALID = _codes.AUTH_INVALID
E_AUTH_EXPIRED = _codes.AUTH_EXPIRED
E_BAD_CREDENTIALS = _codes.BAD_CREDENTIALS
E_FORBIDDEN = _codes.FORBIDDEN
E_VILLAGE = _codes.VILLAGE_NOT_ASSIGNED
E_CONFLICT = _codes.RECORD_CONFLICT
E_BASE_VERSION = _codes.BASE_VERSION_INVALID
E_HASH = _codes.CONTENT_HASH_MISMATCH
E_BLOB_OFFSET = _codes.BLOB_OFFSET
E_BLOB_HASH = _codes.BLOB_HASH
E_BLOB_SIZE = _codes.BLOB_SIZE
E_BLOB_MISSING = _codes.BLOB_MISSING
E_INTERNAL = _codes.SERVER_INTERNAL
E_REVIEW_STATE = _codes.REVIEW_STATE
E_REVIEW_STALE = _codes.REVIEW_STALE
E_REVIEW_REASON = _codes.REVIEW_REASON
E_REVIEW_REASON_LONG = _codes.REVIEW_REASON_LONG
E_REVIEW_PASSWORD = _codes.REVIEW_PASSWORD
E_REVIEW_ACTION = _codes.REVIEW_ACTION
E_RECORD_UNKNOWN = _codes.RECORD_UNKNOWN


def record_hash(payload: dict[str, Any] | None, deleted: bool, record_id: str) -> str:
    """The content hash a record version is known by; a tombstone hashes its id and the flag."""
    if deleted:
        return content_hash({"deleted": True, "record_id": record_id})
    return content_hash(payload)


def digest(items: Iterable[tuple[str, int, str]]) -> tuple[str, int]:
    """Order-independent digest of (record_id, version, content_hash) triples.

    The sum modulo 2**256 of each triple's SHA-256: order does not matter, and unlike XOR a
    record counted twice does not cancel out.
    """
    total = 0
    count = 0
    for record_id, version, chash in items:
        h = hashlib.sha256(f"{record_id}:{int(version)}:{chash}".encode()).digest()
        total = (total + int.from_bytes(h, "big")) % (1 << 256)
        count += 1
    return f"{total:064x}", count


def error_body(code: str, message: str, *, field: str | None = None, **data: Any) -> dict[str, Any]:
    """The one JSON error shape every endpoint uses."""
    return {"error": {"code": code, "message": message, "field": field, "data": data}}


def push_item(record_id: str, base_version: int, payload: dict[str, Any] | None, deleted: bool = False
              ) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "base_version": int(base_version),
        "deleted": bool(deleted),
        "payload": None if deleted else payload,
        "content_hash": record_hash(payload, deleted, record_id),
    }


# ---------------------------------------------------------------------------------------- wire shapes
# Pull changes and push results as the laptop reads them: parsed strictly, so a registry (or a proxy)
# answering in another shape is refused with a stable code instead of half-applied. Keys this version
# does not know are ignored, not refused: an older laptop must keep reading a newer registry's answers
# (v3 added ``review`` and older laptops ignore it, see the version notes above).

E_BAD_CHANGE = "protocol.bad_change"
E_BAD_PUSH_RESULT = "protocol.bad_push_result"


class BadWireShape(DomainError):
    """A pull change or push result that is not this protocol's shape (``data["reason"]`` says which part)."""


def _need(obj: Any, key: str, kinds: type | tuple[type, ...], code: str, *, optional: bool = False) -> Any:
    value = obj.get(key) if optional else obj[key] if key in obj else _refuse(code, f"{key} missing")
    if value is None and optional:
        return None
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _as_tuple(kinds)):
        _refuse(code, f"{key} is not {_names(kinds)}")
    return value


def _as_tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _names(kinds: type | tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in _as_tuple(kinds))


def _refuse(code: str, reason: str) -> Any:
    raise BadWireShape(code, None, reason=reason)


def _object(obj: Any, code: str, what: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        _refuse(code, f"{what} is not an object")
    return obj


@dataclass(frozen=True)
class PulledResident:
    id_number: str
    name: str
    village_code: str
    sex: str | None
    birth_date: str | None
    household_id: str | None
    relation: str | None
    address: str | None
    phone: str | None

    @classmethod
    def from_wire(cls, data: Any) -> PulledResident:
        data = _object(data, E_BAD_CHANGE, "data")
        required = {k: _need(data, k, str, E_BAD_CHANGE) for k in ("id_number", "name", "village_code")}
        rest = {k: _need(data, k, str, E_BAD_CHANGE, optional=True)
                for k in ("sex", "birth_date", "household_id", "relation", "address", "phone")}
        return cls(**required, **rest)


@dataclass(frozen=True)
class PulledReview:
    state: str
    reason: str | None
    decided_by: str | None
    decided_at: str | None
    card_issued_at: str | None

    @classmethod
    def from_wire(cls, data: Any) -> PulledReview:
        data = _object(data, E_BAD_CHANGE, "review")
        return cls(state=_need(data, "state", str, E_BAD_CHANGE),
                   **{k: _need(data, k, str, E_BAD_CHANGE, optional=True) for k in REVIEW_KEYS[1:]})

    def values(self) -> tuple[str | None, ...]:
        """In REVIEW_KEYS order."""
        return tuple(getattr(self, key) for key in REVIEW_KEYS)


@dataclass(frozen=True)
class PulledRecord:
    record_id: str
    version: int
    content_hash: str
    deleted: bool
    payload: dict[str, Any] | None   # None for a tombstone
    review: PulledReview | None      # None from a v2 registry

    @classmethod
    def from_wire(cls, data: Any) -> PulledRecord:
        data = _object(data, E_BAD_CHANGE, "data")
        deleted = _need(data, "deleted", bool, E_BAD_CHANGE)
        payload = _need(data, "payload", dict, E_BAD_CHANGE, optional=deleted)
        version = _need(data, "version", int, E_BAD_CHANGE)
        if version < 1:
            _refuse(E_BAD_CHANGE, "version is not positive")
        review = data.get("review")
        return cls(record_id=_need(data, "record_id", str, E_BAD_CHANGE), version=version,
                   content_hash=_need(data, "content_hash", str, E_BAD_CHANGE), deleted=deleted,
                   payload=None if deleted else payload,
                   review=None if review is None else PulledReview.from_wire(review))


@dataclass(frozen=True)
class PulledVerification:
    """A remote verification request as the laptop keeps it (v4); ``data`` is the whole wire object."""

    request: str
    id_number: str
    village_code: str
    state: str
    expires_at: str
    attempts_left: int
    record_id: str | None
    data: dict[str, Any]

    @classmethod
    def from_wire(cls, data: Any) -> PulledVerification:
        data = _object(data, E_BAD_CHANGE, "data")
        return cls(**{k: _need(data, k, str, E_BAD_CHANGE)
                      for k in ("request", "id_number", "village_code", "state", "expires_at")},
                   attempts_left=_need(data, "attempts_left", int, E_BAD_CHANGE),
                   record_id=_need(data, "record_id", str, E_BAD_CHANGE, optional=True), data=dict(data))


@dataclass(frozen=True)
class PulledPaymentFailure:
    """A roster line that failed at the bank, as the village's laptop keeps it (v6); ``data`` is the whole
    wire object (docs/payments/field-notices.md)."""

    entitlement_id: str
    id_number: str
    village_code: str
    item: str
    period: str
    amount_fen: int
    state: str
    data: dict[str, Any]

    @classmethod
    def from_wire(cls, data: Any) -> PulledPaymentFailure:
        data = _object(data, E_BAD_CHANGE, "data")
        line = data.get("line")
        if line is not None:
            line = _object(line, E_BAD_CHANGE, "line")
            _need(line, "state", str, E_BAD_CHANGE)
        amount = _need(data, "amount_fen", int, E_BAD_CHANGE)
        if amount < 0:
            _refuse(E_BAD_CHANGE, "amount_fen is negative")
        return cls(**{k: _need(data, k, str, E_BAD_CHANGE)
                      for k in ("entitlement_id", "id_number", "village_code", "item", "period", "state")},
                   amount_fen=amount, data=dict(data))


@dataclass(frozen=True)
class PullChange:
    """One entry of a pull answer's ``changes``: exactly one of ``resident`` / ``record`` /
    ``verification`` / ``payment_failure`` is set."""

    counter: int
    kind: str
    key: str
    resident: PulledResident | None = None
    record: PulledRecord | None = None
    verification: PulledVerification | None = None
    payment_failure: PulledPaymentFailure | None = None

    @classmethod
    def from_wire(cls, change: Any) -> PullChange:
        change = _object(change, E_BAD_CHANGE, "change")
        counter = _need(change, "counter", int, E_BAD_CHANGE)
        kind = _need(change, "kind", str, E_BAD_CHANGE)
        key = _need(change, "key", str, E_BAD_CHANGE)
        if "data" not in change:
            _refuse(E_BAD_CHANGE, "data missing")
        if kind == KIND_RESIDENT:
            return cls(counter, kind, key, resident=PulledResident.from_wire(change["data"]))
        if kind == KIND_RECORD:
            return cls(counter, kind, key, record=PulledRecord.from_wire(change["data"]))
        if kind == KIND_VERIFICATION:
            return cls(counter, kind, key, verification=PulledVerification.from_wire(change["data"]))
        if kind == KIND_PAYMENT_FAILURE:
            return cls(counter, kind, key, payment_failure=PulledPaymentFailure.from_wire(change["data"]))
        return _refuse(E_BAD_CHANGE, f"unknown kind {kind!r}")


@dataclass(frozen=True)
class PushError:
    code: str
    message: str
    field: str | None
    data: dict[str, Any]

    @classmethod
    def from_wire(cls, error: Any) -> PushError:
        error = _object(error, E_BAD_PUSH_RESULT, "error")
        return cls(code=_need(error, "code", str, E_BAD_PUSH_RESULT),
                   message=_need(error, "message", str, E_BAD_PUSH_RESULT, optional=True) or "",
                   field=_need(error, "field", str, E_BAD_PUSH_RESULT, optional=True),
                   data=_need(error, "data", dict, E_BAD_PUSH_RESULT, optional=True) or {})


@dataclass(frozen=True)
class ServerVersion:
    """The version the registry holds, sent with a conflict (and with an unchanged repeat of an older one)."""

    version: int
    payload: dict[str, Any] | None
    deleted: bool
    content_hash: str | None

    @classmethod
    def from_wire(cls, server: Any) -> ServerVersion:
        server = _object(server, E_BAD_PUSH_RESULT, "server")
        return cls(version=_need(server, "version", int, E_BAD_PUSH_RESULT),
                   payload=_need(server, "payload", dict, E_BAD_PUSH_RESULT, optional=True),
                   deleted=_need(server, "deleted", bool, E_BAD_PUSH_RESULT),
                   content_hash=_need(server, "content_hash", str, E_BAD_PUSH_RESULT, optional=True))


@dataclass(frozen=True)
class PushResult:
    """The registry's answer for one pushed record: ``version`` for accepted/unchanged, ``server`` for a
    conflict, ``error`` for a refusal (and a conflict's reason)."""

    status: str
    version: int | None = None
    error: PushError | None = None
    server: ServerVersion | None = None
    content_hash: str | None = None   # when given: the content the answer is about

    @classmethod
    def from_wire(cls, result: Any) -> PushResult:
        result = _object(result, E_BAD_PUSH_RESULT, "result")
        status = _need(result, "status", str, E_BAD_PUSH_RESULT)
        version = _need(result, "version", int, E_BAD_PUSH_RESULT, optional=status in (CONFLICT, REFUSED))
        error, server = result.get("error"), result.get("server")
        if status not in (ACCEPTED, UNCHANGED, CONFLICT, REFUSED):
            _refuse(E_BAD_PUSH_RESULT, f"unknown status {status!r}")
        if status == CONFLICT and server is None:
            _refuse(E_BAD_PUSH_RESULT, "server missing")
        if status == REFUSED and error is None:
            _refuse(E_BAD_PUSH_RESULT, "error missing")
        return cls(status=status, version=version,
                   error=None if error is None else PushError.from_wire(error),
                   server=None if server is None else ServerVersion.from_wire(server),
                   content_hash=_need(result, "content_hash", str, E_BAD_PUSH_RESULT, optional=True))
