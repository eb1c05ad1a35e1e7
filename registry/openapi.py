"""The exact API description served at ``/openapi.json``.

FastAPI derives paths, parameters and request bodies from the routes in ``registry.api``; this module
adds what it cannot see, once, so the route bodies stay as they are: the Bearer scheme on every route
that needs a token, the protocol version header the ``Guard`` checks, every error answer a route can
give (all in the one shape of ``sync.protocol.error_body``), the answers' schemas, the media types of
the files (CSV, PDF, blob bytes) and the SHA-256 pattern. Vocabularies come from
``enrollment.vocabulary`` and ``sync.protocol``, never from lists spelled here.
schemathesis runs against this description in the test suite (tests/registry/test_schemathesis.py):
an answer the description does not allow fails it.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from enrollment.vocabulary import FindingKind, Light, ReviewState, VerificationMethod, VerificationState
from sync import protocol

from .payments import api_description as payments_description
from .schema import ROLES
from .warnings import UNHANDLED, UNISSUED

SHA256_PATTERN = "^[0-9a-f]{64}$"
BEARER = "bearer"
ERROR_SCHEMA = "Error"
_REF = "#/components/schemas/{model}"

# The worker's page and its API (registry/verification/routes.py): no token, no version header.
VERIFY_PUBLIC = frozenset({
    ("get", protocol.VERIFY_PAGE), ("get", protocol.VERIFY_APP_JS), ("get", protocol.VERIFY_APP_CSS),
    ("post", protocol.VERIFY_UNLOCK), ("post", protocol.VERIFY_CONSENT), ("post", protocol.VERIFY_ATTEMPTS),
    ("put", protocol.VERIFY_FRAME), ("post", protocol.VERIFY_FINISH)})
# The operations anyone may call without a token.
PUBLIC = frozenset({("get", protocol.HEALTH), ("post", protocol.LOGIN)}) | VERIFY_PUBLIC


def versioned(path: str) -> bool:
    """Whether the Guard requires the protocol version header on ``path``."""
    return path.startswith("/api/") and path != protocol.HEALTH and not path.startswith(protocol.VERIFY_API_PREFIX)

PUSH_STATUSES = (protocol.ACCEPTED, protocol.UNCHANGED, protocol.CONFLICT, protocol.REFUSED)
CHANGE_KINDS = (protocol.KIND_RESIDENT, protocol.KIND_RECORD, protocol.KIND_VERIFICATION)

# What each status means on this API; an operation lists the ones it can give (ERRORS below).
STATUS_MEANING = {
    400: "The body is not valid JSON (request.malformed_json).",
    401: "No token, an unknown, revoked or expired one (auth.*); at login or a password re-entry: "
         "wrong credentials (auth.bad_credentials).",
    403: "The token's operator may not do this: a disabled account, a cadre on a central route, a push "
         "from another device or by a non-cadre, a village not assigned, separation of duties; on the "
         "verification page: wrong ID digits (verify.id_mismatch) or a frame without the attempt's nonce.",
    404: "No such record, blob, resident or verification link (or not one this operator may see).",
    409: "The state on the server moved on: a stale version, a decision the state does not allow, "
         "a blob upload resumed at another offset; a verification used up, without consent, or an "
         "attempt already closed; a verification clip this caller did not upload (verify.clip_missing).",
    410: "The verification link has expired (verify.expired).",
    413: "The request body is over the registry's limit (request.too_large), refused while reading.",
    422: "The request does not have the expected shape (request.invalid, with every field in "
         "data.errors) or breaks a rule of the domain (its own code; a verification clip that is no video, "
         "or too short or long: video.*).",
    426: f"{protocol.VERSION_HEADER} is missing or names a version outside "
         f"{protocol.MIN_PROTOCOL_VERSION}–{protocol.PROTOCOL_VERSION} (protocol.unsupported_version).",
    429: "Too many wrong passwords or ID digits: the account, link or address is locked for a while "
         "(auth.locked, verify.rate_limited); Retry-After says how many seconds.",
    503: "The registry lacks a part this needs (no check worker, no CJK font, no liveness engine); "
         "try again later.",
}

_TOKEN = (401, 403, 413, 426)     # every route behind a token: refused token, disabled account, guard
_JSON_BODY = (400, 422)           # a JSON body that may not parse or fit

# Every error status each operation can answer with (besides 500, which is a defect).
ERRORS: dict[tuple[str, str], tuple[int, ...]] = {
    ("get", protocol.HEALTH): (413,),
    ("post", protocol.LOGIN): (*_JSON_BODY, 401, 403, 413, 426, 429),
    ("post", protocol.LOGOUT): _TOKEN,
    ("get", protocol.ME): _TOKEN,
    ("post", protocol.PUSH): (*_TOKEN, *_JSON_BODY),
    ("get", protocol.PULL): (*_TOKEN, 422),
    ("post", protocol.DIGEST): (*_TOKEN, *_JSON_BODY),
    ("post", protocol.BLOB_STATUS): (*_TOKEN, *_JSON_BODY),
    ("put", protocol.BLOB): (*_TOKEN, 409, 422),
    ("get", protocol.BLOB): (*_TOKEN, 404, 422),
    ("get", protocol.REVIEW_QUEUE): (*_TOKEN, 422),
    ("get", protocol.REVIEW_RECORD): (*_TOKEN, 404),
    ("post", protocol.REVIEW_DECISION): (*_TOKEN, *_JSON_BODY, 404, 409, 429),
    ("post", protocol.REVIEW_BULK_APPROVE): (*_TOKEN, *_JSON_BODY, 429),
    ("post", protocol.REVIEW_CARD_ISSUED): (*_TOKEN, *_JSON_BODY, 404, 409),
    ("post", protocol.REVIEW_RUN_CHECKS): (*_TOKEN, 503),
    ("get", protocol.REVIEW_FINDINGS): (*_TOKEN, 422),
    ("get", protocol.REVIEW_WARNINGS): (*_TOKEN, 422),
    ("get", protocol.REVIEW_REPORT_CSV): (*_TOKEN, 422, 503),
    ("get", protocol.REVIEW_REPORT_PDF): (*_TOKEN, 422, 503),
    ("get", protocol.REVIEW_DASHBOARD): _TOKEN,
    ("post", protocol.VERIFICATIONS): (*_TOKEN, *_JSON_BODY, 404),
    ("get", protocol.VERIFICATIONS): (*_TOKEN, 422),
    ("get", protocol.VERIFICATION): (*_TOKEN, 404, 422),
    ("get", protocol.VERIFICATION_EVIDENCE): (*_TOKEN, 404, 422),
    ("post", protocol.VERIFICATION_VIDEO): (*_TOKEN, *_JSON_BODY, 404, 409, 503),
    ("get", protocol.VERIFY_PAGE): (404, 413, 422),
    ("get", protocol.VERIFY_APP_JS): (404, 413),
    ("get", protocol.VERIFY_APP_CSS): (404, 413),
    ("post", protocol.VERIFY_UNLOCK): (*_JSON_BODY, 403, 404, 409, 410, 413, 429),
    ("post", protocol.VERIFY_CONSENT): (*_JSON_BODY, 401, 409, 410, 413),
    ("post", protocol.VERIFY_ATTEMPTS): (*_JSON_BODY, 401, 409, 410, 413),
    ("put", protocol.VERIFY_FRAME): (403, 409, 413, 422),
    ("post", protocol.VERIFY_FINISH): (*_JSON_BODY, 401, 409, 413, 503),
}

_UNLISTED = (*_TOKEN, 422)

# The answers that are files, not JSON: media type and schema.
_ATTACHMENT = {"Content-Disposition": {"description": "attachment; filename=\"escalation-….csv|pdf\"",
                                       "schema": {"type": "string"}}}
FILES: dict[tuple[str, str], tuple[str, dict[str, Any], dict[str, Any]]] = {
    ("get", protocol.REVIEW_REPORT_CSV): ("text/csv", {"type": "string"}, _ATTACHMENT),
    ("get", protocol.REVIEW_REPORT_PDF): ("application/pdf", {"type": "string", "format": "binary"}, _ATTACHMENT),
    ("get", protocol.BLOB): ("application/octet-stream", {"type": "string", "format": "binary"}, {}),
    ("get", protocol.VERIFICATION_EVIDENCE): ("image/jpeg", {"type": "string", "format": "binary"}, {}),
    ("get", protocol.VERIFY_PAGE): ("text/html", {"type": "string"}, {}),
    ("get", protocol.VERIFY_APP_JS): ("text/javascript", {"type": "string"}, {}),
    ("get", protocol.VERIFY_APP_CSS): ("text/css", {"type": "string"}, {}),
}


def enum_of(values: Any) -> dict[str, Any]:
    """``json_schema_extra`` declaring a field's allowed strings (a vocabulary enum or a tuple)."""
    return {"enum": [str(v) for v in values]}


# ------------------------------------------------------------------------------ answers' schemas
# Documentation of the JSON answers (the routes keep returning plain dicts); extra keys are allowed, as
# a newer registry may add some (sync/protocol.py: an older laptop ignores what it does not know).

class ErrorDetail(BaseModel):
    code: str = Field(description="A stable code (enrollment/error_codes.py)")
    message: str = Field(description="English, for logs and API clients; the desktop words it in Chinese")
    field: str | None
    data: dict[str, Any]


class Error(BaseModel):
    """The one error shape every refusal has (sync.protocol.error_body)."""

    error: ErrorDetail


class Village(BaseModel):
    code: str
    name: str | None = None


class OperatorView(BaseModel):
    username: str
    display_name: str
    role: str = Field(json_schema_extra=enum_of(ROLES))
    villages: list[Village]


class Health(BaseModel):
    status: Literal["ok"]
    protocol_version: int
    min_protocol_version: int
    server_time: str


class LoginAnswer(BaseModel):
    token: str
    expires_at: str
    operator: OperatorView
    server_time: str


class LogoutAnswer(BaseModel):
    logged_out: bool


class MeAnswer(BaseModel):
    operator: OperatorView
    device_id: str
    expires_at: str
    server_time: str


class PushResult(BaseModel):
    record_id: str
    status: str = Field(json_schema_extra=enum_of(PUSH_STATUSES))
    version: int | None = None
    counter: int | None = None
    error: ErrorDetail | None = None
    server: dict[str, Any] | None = None


class PushAnswer(BaseModel):
    protocol_version: int
    results: list[PushResult]


class PullChange(BaseModel):
    counter: int
    kind: str = Field(json_schema_extra=enum_of(CHANGE_KINDS))
    key: str
    data: dict[str, Any]


class PullAnswer(BaseModel):
    protocol_version: int
    changes: list[PullChange]
    last_counter: int
    more: bool
    server_time: str


class DigestAnswer(BaseModel):
    match: bool
    server_digest: str
    server_count: int


class BlobProgress(BaseModel):
    sha256: str = Field(pattern=SHA256_PATTERN)
    received: int
    complete: bool
    size: int | None = Field(default=None, description="The server's size, when it differs from the asked one")


class BlobStatusAnswer(BaseModel):
    blobs: list[BlobProgress]


class QueueItem(BaseModel):
    record_id: str
    version: int
    village_code: str
    id_number_masked: str
    name: str | None
    sex: str | None
    birth_date: str | None
    age: int | None
    state: ReviewState
    state_at: str
    received_at: str
    operator: str
    deleted: bool
    finding_kinds: list[FindingKind]
    findings_open: int
    severity: Literal["intercept", "flag"] | None
    light: Light
    card_issued_at: str | None


class QueueAnswer(BaseModel):
    items: list[QueueItem]
    total: int
    server_time: str


class RecordView(BaseModel):
    record_id: str
    version: int
    village_code: str
    id_number: str
    payload: dict[str, Any] | None
    deleted: bool
    state: ReviewState
    state_at: str
    review_reason: str | None
    decided_by: str | None
    decided_at: str | None
    card_issued_at: str | None
    operator: str
    device_id: str
    received_at: str
    light: Light


class _FindingFields(BaseModel):
    version: int
    kind: FindingKind
    rule: str
    subject: str
    severity: str
    score: str | None
    status: str
    evidence: Any
    created_at: str


class FindingView(_FindingFields):
    id: int


class HistoryEntry(BaseModel):
    at: str
    actor: str
    action: str
    data: Any


class VersionEntry(BaseModel):
    version: int
    content_hash: str
    operator: str
    device_id: str
    received_at: str
    deleted: bool


class ReferencePhoto(BaseModel):
    sha256: str = Field(pattern=SHA256_PATTERN)


class RecordDetail(BaseModel):
    record: RecordView
    findings: list[FindingView]
    related: dict[str, RecordView]
    reference_photo: ReferencePhoto | None
    history: list[HistoryEntry]
    versions: list[VersionEntry]


class RecordAnswer(BaseModel):
    record: RecordView


class IssuedCardView(BaseModel):
    """The card the bank made for the record's ID number (``registry import-cards``), numbers masked."""

    card_id: int
    card_number_masked: str
    bank_account_masked: str
    bank: str
    status: str
    status_label: str
    status_date: str


class CardIssuedAnswer(RecordAnswer):
    card: IssuedCardView


class Skipped(BaseModel):
    record_id: str
    code: str


class BulkApproveAnswer(BaseModel):
    approved: list[str]
    skipped: list[Skipped]


class FindingItem(_FindingFields):
    record_id: str
    id_number: str


class FindingsAnswer(BaseModel):
    findings: list[FindingItem]


class WarningItem(BaseModel):
    record_id: str
    version: int
    village_code: str
    village_name: str
    id_number_masked: str
    state: ReviewState
    light: Light
    reason: str = Field(json_schema_extra=enum_of((UNHANDLED, UNISSUED)))
    since: str
    yellow_at: str
    red_at: str
    hours_open: int
    hours_overdue: int
    operator: str


class WarningsAnswer(BaseModel):
    at: str
    limits: dict[str, Any]
    items: list[WarningItem]


class DashboardAnswer(BaseModel):
    residents: int
    enrolled: int
    approved: int
    cards_issued: int
    holding_rate: str
    checks_run: int
    check_runs: int
    rules: list[dict[str, Any]]
    departments: list[dict[str, Any]]
    by_state: dict[str, int]
    by_light: dict[str, int]
    median_hours_to_decision: str | None
    decisions: int
    by_village: list[dict[str, Any]]
    server_time: str


class RunChecksAnswer(BaseModel):
    """The check runner's summary (registry/checks/runner.py): records checked, how many went to each state."""

    run_id: int
    checked: int
    needs_review: int
    cleared: int
    approved: int
    findings_opened: int
    cancelled: bool
    related_rechecked: int | None = None


class VideoChallenge(BaseModel):
    """What a worker who cannot open the link says and does in a clip (docs/verification-api.md)."""

    digits: str = Field(description="4 decimal digits, said facing the camera")
    actions: list[str] = Field(description="Two different actions, done in this order after the digits")


class VerificationView(BaseModel):
    """A remote verification request (docs/verification-api.md); never its token."""

    request: str
    id_number: str
    village_code: str
    record_id: str | None
    city: str
    method: VerificationMethod
    state: VerificationState
    created_by: str
    created_at: str
    expires_at: str
    updated_at: str
    attempts_max: int
    attempts_used: int
    attempts_left: int
    result: dict[str, Any] | None
    video_challenge: VideoChallenge | None = Field(
        description="The offline video path's challenge, drawn with the request (null on none)")


class CreatedVerificationAnswer(BaseModel):
    request: VerificationView
    link: str
    token: str = Field(description="Shown once; the registry keeps only its SHA-256")
    expires_at: str
    qr_svg: str
    sms_text: str


class VerificationsAnswer(BaseModel):
    verifications: list[VerificationView]


class ConsentText(BaseModel):
    version: str
    text: str


class UnlockAnswer(BaseModel):
    session: str
    state: VerificationState
    attempts_left: int
    expires_at: str
    name_masked: str
    consent: ConsentText


class OkAnswer(BaseModel):
    ok: bool


class ChallengeStep(BaseModel):
    action: str
    deadline_ms: int


class FrameLimits(BaseModel):
    max_width: int
    max_bytes: int
    interval_ms: int
    max_count: int
    max_attempt_bytes: int


class AttemptAnswer(BaseModel):
    attempt: str
    nonce: str
    steps: list[ChallengeStep]
    frames: FrameLimits


class FrameAnswer(BaseModel):
    received: int


class FinishAnswer(BaseModel):
    result: Literal["passed", "failed", "retry"]
    reasons: list[str]
    attempts_left: int
    state: VerificationState


class VideoAttemptAnswer(FinishAnswer):
    decision: dict[str, Any] = Field(description="The stored decision: passed, reasons, checks (with "
                                     "digits_heard), match_distance, passive_score, evidence, reference, frames")
class VerificationAttemptView(BaseModel):
    """One attempt of a request: its challenge and its stored decision (docs/verification-api.md)."""

    attempt: str
    number: int
    state: str
    method: str = Field(description="live | video (the offline path: weaker than a live check)")
    clip_sha256: str | None = Field(description="A video attempt's clip while it is kept (staff download it as "
                                                "a blob, audited); null for a live attempt or once purged")
    started_at: str
    finished_at: str | None
    steps: list[ChallengeStep]
    frames_received: int
    decision: dict[str, Any] | None = Field(description="passed, reasons, checks [{name, passed, value, threshold, "
                                                        "reason}], match_distance, passive_score, evidence [seqs], "
                                                        "reference, frames")
    evidence_kept: list[int] = Field(description="The evidence frames whose bytes are still kept (not purged)")


class VerificationDetail(BaseModel):
    request: VerificationView
    attempts: list[VerificationAttemptView]


ANSWERS: dict[tuple[str, str], type[BaseModel]] = {
    ("get", protocol.HEALTH): Health,
    ("post", protocol.LOGIN): LoginAnswer,
    ("post", protocol.LOGOUT): LogoutAnswer,
    ("get", protocol.ME): MeAnswer,
    ("post", protocol.PUSH): PushAnswer,
    ("get", protocol.PULL): PullAnswer,
    ("post", protocol.DIGEST): DigestAnswer,
    ("post", protocol.BLOB_STATUS): BlobStatusAnswer,
    ("put", protocol.BLOB): BlobProgress,
    ("get", protocol.REVIEW_QUEUE): QueueAnswer,
    ("get", protocol.REVIEW_RECORD): RecordDetail,
    ("post", protocol.REVIEW_DECISION): RecordAnswer,
    ("post", protocol.REVIEW_BULK_APPROVE): BulkApproveAnswer,
    ("post", protocol.REVIEW_CARD_ISSUED): CardIssuedAnswer,
    ("post", protocol.REVIEW_RUN_CHECKS): RunChecksAnswer,
    ("get", protocol.REVIEW_FINDINGS): FindingsAnswer,
    ("get", protocol.REVIEW_WARNINGS): WarningsAnswer,
    ("get", protocol.REVIEW_DASHBOARD): DashboardAnswer,
    ("post", protocol.VERIFICATIONS): CreatedVerificationAnswer,
    ("get", protocol.VERIFICATIONS): VerificationsAnswer,
    ("get", protocol.VERIFICATION): VerificationDetail,
    ("post", protocol.VERIFY_UNLOCK): UnlockAnswer,
    ("post", protocol.VERIFY_CONSENT): OkAnswer,
    ("post", protocol.VERIFY_ATTEMPTS): AttemptAnswer,
    ("put", protocol.VERIFY_FRAME): FrameAnswer,
    ("post", protocol.VERIFY_FINISH): FinishAnswer,
    ("post", protocol.VERIFICATION_VIDEO): VideoAttemptAnswer,
}

# The payments staff API's rows (registry/payments/api_description.py).
ERRORS.update(payments_description.ERRORS)
FILES.update(payments_description.FILES)
ANSWERS.update(payments_description.ANSWERS)

# ------------------------------------------------------------------------------ building

_VERSION_PARAMETER = {
    "name": protocol.VERSION_HEADER, "in": "header", "required": True,
    "description": f"The sync protocol version the client speaks ({protocol.MIN_PROTOCOL_VERSION}–"
                   f"{protocol.PROTOCOL_VERSION}; sync/protocol.py); any other answers 426.",
    "schema": {"type": "integer", "minimum": protocol.MIN_PROTOCOL_VERSION, "maximum": protocol.PROTOCOL_VERSION},
}


def _answers_components() -> dict[str, Any]:
    models = [Error, *dict.fromkeys(ANSWERS.values())]
    _, defs = models_json_schema([(m, "serialization") for m in models], ref_template=_REF)
    return defs.get("$defs", {})


def _error_response(status: int) -> dict[str, Any]:
    out: dict[str, Any] = {"description": STATUS_MEANING[status],
                           "content": {"application/json": {"schema": {"$ref": _REF.format(model=ERROR_SCHEMA)}}}}
    if status == 429:
        out["headers"] = {"Retry-After": {"description": "Seconds until the lock ends",
                                          "schema": {"type": "integer", "minimum": 1}}}
    return out


def _sha256_parameters(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        if parameter["name"] == "sha256":
            parameter["schema"]["pattern"] = SHA256_PATTERN


def refine(schema: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's generated ``schema`` made exact (see the module docstring). A route without a row in
    ``ERRORS`` gets the token route's errors (tests/registry/test_openapi.py requires a row for each)."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas.update(_answers_components())
    components["securitySchemes"] = {BEARER: {
        "type": "http", "scheme": "bearer",
        "description": "The token from POST " + protocol.LOGIN + ": Authorization: Bearer <token>"}}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            key = (method, path)
            if key not in PUBLIC:
                operation["security"] = [{BEARER: []}]
            if versioned(path):
                operation["parameters"] = [dict(_VERSION_PARAMETER), *operation.get("parameters", [])]
            _sha256_parameters(operation)
            responses = operation["responses"]
            success = responses.pop("200")
            if key in FILES:
                media, body, headers = FILES[key]
                success["content"] = {media: {"schema": body}}
                if headers:
                    success["headers"] = headers
            elif key in ANSWERS:
                success["content"] = {"application/json": {"schema": {"$ref": _REF.format(model=ANSWERS[key].__name__)}}}
            responses.clear()
            responses["200"] = success
            for status in sorted(ERRORS.get(key, _UNLISTED)):
                responses[str(status)] = _error_response(status)
    return schema


def install(app: FastAPI) -> None:
    """Serve the refined description at ``app.openapi_url`` (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = refine(get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
