"""The HTTP API (FastAPI), implementing exactly ``sync.protocol``.

Every error leaves in one shape, ``sync.protocol.error_body``: ``{"error": {code, message,
field, data}}``. A pure ASGI guard in front of the app checks the protocol version header
and enforces the body-size limit while reading (never trusting Content-Length alone),
and turns any unexpected exception into a 500 ``server.internal`` whose body and log line
carry no personal data.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import tempfile
import traceback
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from enrollment import error_codes
from enrollment.errors import DomainError
from enrollment.vocabulary import Action, FindingKind, Light, ReviewState
from sync import protocol

from . import accounts, blobs, review, service
from . import openapi as api_description
from . import warnings as warn
from .auth import authenticate
from .clock import MOMENT_MAX, MOMENT_MIN, Clock, SystemClock, moment_in_range, parse_moment
from .config import Settings
from .db import iso, now_iso
from .errors import ApiError, status_of
from .payments import routes as payment_routes
from .reports import ReportError
from .request_auth import Auth, Staff
from .selfquery import routes as selfquery_public
from .sms import receipt_routes as sms_receipts_public
from .throttle import Throttle, ThrottleLimits
from .verification import routes as verification_public
from .verification import staff_routes as verification_staff

log = logging.getLogger("registry.api")

# How much of an oversized body is read and thrown away so the client sees the 413
# instead of a reset connection; beyond this the connection is simply closed.
_DRAIN_MAX = 64 * 1024 * 1024
# Numbers from clients stay inside what the database columns hold (else a 500, not a 422).
_INT32_MAX = 2**31 - 1
_INT63_MAX = 2**63 - 1


# Query parameters that may carry personal data (the queue's name/ID prefix search) or a secret (a
# verification link's token, /verify?t=); their values never reach the access log.
_PERSONAL_QUERY = re.compile(r"([?&](?:q|t)=)[^&\s]*")


class ScrubQueryFilter(logging.Filter):
    """Masks personal query values in uvicorn's access log lines (args: client, method, path, …)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and ("q=" in args[2] or "t=" in args[2]):
            record.args = (*args[:2], _PERSONAL_QUERY.sub(r"\1***", args[2]), *args[3:])
        return True


def _scrub_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, ScrubQueryFilter) for f in access.filters):
        access.addFilter(ScrubQueryFilter())


def _encodable(value: Any) -> Any:
    """``value`` with every string made encodable as UTF-8: a refusal never echoes a lone
    surrogate (``"\\ud800"`` in a client's JSON), which would fail the answer itself."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_encodable(k): _encodable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encodable(v) for v in value]
    return value


class EncodableJSONResponse(JSONResponse):
    """Every answer's JSON: a lone surrogate from the client's JSON, echoed in a refusal (an unknown
    subsidy code, a record id), leaves as "?" instead of failing the answer with a 500."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return super().render(_encodable(content))


def _json_error(status: int, code: str, message: str, field: str | None = None, **data: Any) -> JSONResponse:
    return EncodableJSONResponse(protocol.error_body(code, message, field=field, **data), status_code=status)


async def _send_json(send: Any, status: int, body: dict[str, Any]) -> None:
    raw = json.dumps(_encodable(body), ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": raw})


# Endpoints that take a body before any token.
_NO_TOKEN_PATHS = frozenset({protocol.HEALTH, protocol.LOGIN})


def _public_verify(path: str) -> bool:
    """The worker's page API (registry.verification.routes): no version header, no bearer token."""
    return path.startswith(protocol.VERIFY_API_PREFIX)


def _token_refusal(engine: Engine, authorization: str | None) -> ApiError | None:
    """Why this Authorization header gets no session (401/403), or None when it does."""
    try:
        with engine.connect().execution_options(readonly=True) as conn, conn.begin():
            authenticate(conn, authorization)
    except ApiError as exc:
        return exc
    return None


class Guard:
    """Protocol version check, body-size limit, and the last line of defence against 500 leaks."""

    def __init__(self, app: Any, max_body: int, *, public_only: bool = False) -> None:
        # public_only (serve-verify): no route there takes a token or a version header, so neither is
        # checked; anything but the page, its API and health is simply absent (404).
        self.app, self.max_body, self.public_only = app, max_body, public_only

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if path.startswith("/api/") and path != protocol.HEALTH and not _public_verify(path) and not self.public_only:
            raw = headers.get(protocol.VERSION_HEADER.lower(), "").strip()
            # isdigit() alone takes "١" or "²", which int() refuses.
            if not (raw.isascii() and raw.isdigit() and protocol.MIN_PROTOCOL_VERSION <= int(raw) <= protocol.PROTOCOL_VERSION):
                if headers.get("content-length", "0") != "0" or "transfer-encoding" in headers:
                    await self._drain(receive, _DRAIN_MAX)
                await _send_json(send, 426, protocol.error_body(
                    protocol.E_VERSION,
                    f"this registry speaks protocol versions {protocol.MIN_PROTOCOL_VERSION}"
                    f"–{protocol.PROTOCOL_VERSION}; send {protocol.VERSION_HEADER}",
                    min_version=protocol.MIN_PROTOCOL_VERSION, max_version=protocol.PROTOCOL_VERSION))
                return
        declared = headers.get("content-length", "")
        if not (declared.isascii() and declared.isdigit()):
            declared = ""
        has_body = declared not in ("", "0") or "transfer-encoding" in headers
        # A request with a body to an authenticated endpoint shows its token before a byte of the
        # body is read: 20 unauthenticated 15 MiB posts once took the registry from 252 to 727 MiB.
        if (has_body and path.startswith("/api/") and path not in _NO_TOKEN_PATHS and not _public_verify(path)
                and not self.public_only):
            refusal = await run_in_threadpool(_token_refusal, self.app.state.engine, headers.get("authorization"))
            if refusal is not None:
                await _send_json(send, refusal.status, protocol.error_body(
                    refusal.code, refusal.message, field=refusal.field, **refusal.data))
                return
        # Read the whole body first, counting; refuse it once it passes the limit.
        too_large = declared.isdigit() and int(declared) > self.max_body
        chunks: list[bytes] = []
        size = 0
        more = not too_large
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            more = message.get("more_body", False)
            if size > self.max_body:
                too_large = True
                break
            chunks.append(body)
        if too_large:
            if more or (declared.isdigit() and size == 0 and int(declared) <= _DRAIN_MAX):
                await self._drain(receive, _DRAIN_MAX)
            await _send_json(send, 413, protocol.error_body(
                protocol.E_TOO_LARGE, f"request body over {self.max_body} bytes", limit=self.max_body))
            return
        buffered = b"".join(chunks)
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": buffered, "more_body": False}
            return await receive()

        started = False

        async def tracking_send(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, replay, tracking_send)
        except Exception as exc:  # noqa: BLE001 - turned into the one error shape, logged without data
            log.error("internal error %s on %s %s\n%s", type(exc).__name__, scope.get("method"), path,
                      "".join(traceback.format_tb(exc.__traceback__)))
            if not started:
                await _send_json(send, 500, protocol.error_body(protocol.E_INTERNAL, "internal server error"))

    @staticmethod
    async def _drain(receive: Any, limit: int) -> None:
        seen = 0
        while seen <= limit:
            message = await receive()
            if message["type"] != "http.request":
                return
            seen += len(message.get("body", b""))
            if not message.get("more_body", False):
                return


# ------------------------------------------------------------------------------------ models

class StrictBody(BaseModel):
    """A JSON body read as typed: ``"deleted": 0``, ``"count": false`` or ``"size": "3"`` is a 422
    ``request.invalid``, not quietly coerced (the laptop never sends them; anything else might)."""

    model_config = ConfigDict(strict=True)


class LoginRequest(StrictBody):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    device_id: str = Field(min_length=1, max_length=100)


class PushItem(StrictBody):
    record_id: str = Field(min_length=1, max_length=64)
    base_version: int = Field(le=_INT32_MAX)
    deleted: bool = False
    payload: dict[str, Any] | None = None
    content_hash: str = Field(pattern=api_description.SHA256_PATTERN)


class PushRequest(StrictBody):
    device_id: str = Field(min_length=1, max_length=100)
    records: list[PushItem] = Field(max_length=protocol.PUSH_BATCH_MAX)


class BlobRef(StrictBody):
    sha256: str = Field(pattern=api_description.SHA256_PATTERN)
    size: int = Field(ge=0, le=protocol.BLOB_MAX)


class BlobStatusRequest(StrictBody):
    blobs: list[BlobRef] = Field(max_length=1000)


class DigestRequest(StrictBody):
    digest: str = Field(min_length=1, max_length=64)
    count: int = Field(ge=0, le=_INT63_MAX)


class DecisionRequest(StrictBody):
    # Checked by registry.review (review.action_invalid); the description lists the actions.
    action: str = Field(max_length=32, json_schema_extra=api_description.enum_of(Action))
    version: int = Field(ge=0, le=_INT32_MAX)
    # Length and presence are checked by registry.review, so they fail with review.* codes.
    reason: str | None = Field(default=None, max_length=10_000)
    password: str | None = Field(default=None, max_length=1024)


class BulkItem(StrictBody):
    record_id: str = Field(min_length=1, max_length=64)
    version: int = Field(ge=0, le=_INT32_MAX)


class BulkApproveRequest(StrictBody):
    items: list[BulkItem] = Field(max_length=review.BULK_MAX)
    password: str | None = Field(default=None, max_length=1024)
    reason: str | None = Field(default=None, max_length=10_000)


class CardIssuedRequest(StrictBody):
    version: int = Field(ge=0, le=_INT32_MAX)


# ------------------------------------------------------------------------------------ app

def _field_of(loc: tuple) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or None


def _allowed_methods(app: FastAPI, path: str) -> str:
    """Every method the routes of ``path`` serve, for a 405's ``Allow``. As in OpenAPI, a concrete path
    (``/api/blobs/status``) is matched before a templated one (``/api/blobs/{sha256}``)."""
    matching = [r for r in app.routes if getattr(r, "methods", None) and getattr(r, "path_regex", None)
                and r.path_regex.match(path)]
    concrete = [r for r in matching if not r.param_convertors]
    methods: set[str] = set()
    for route in concrete or matching:
        methods |= route.methods
    return ", ".join(sorted(methods))


_FINDING_STATUSES = (service.FINDING_OPEN, service.FINDING_RESOLVED, service.FINDING_SUPERSEDED)
_FINDING_STATUS = Query(pattern=f"^({'|'.join(_FINDING_STATUSES)})$",
                        json_schema_extra=api_description.enum_of(_FINDING_STATUSES))

# A blob's name in a path: its SHA-256 in lower-case hex.
Sha256 = Annotated[str, PathParam(pattern=api_description.SHA256_PATTERN)]


def _moment(at: str | None, clock: Clock) -> dt.datetime:
    if at is None:
        return clock.now()
    try:
        moment = parse_moment(at)
    except ValueError:
        raise ApiError(422, protocol.E_INVALID, "at is an ISO-8601 moment, e.g. 2026-12-01T08:00:00Z",
                       field="at") from None
    if not moment_in_range(moment):
        raise ApiError(error_codes.MOMENT_OUT_OF_RANGE, "at is outside the moments the registry evaluates",
                       field="at", min=iso(MOMENT_MIN), max=iso(MOMENT_MAX))
    return moment


def create_app(engine: Engine, settings: Settings | None = None, clock: Clock | None = None, *,
               public_only: bool = False) -> Any:
    """The ASGI app. Hooks the server may set on ``.app.state`` (``create_app(...).app``):
    ``run_checks(actor=USERNAME) -> summary`` for POST run-checks, and ``records_received()``,
    called after a push stored at least one new version (wakes the check worker). ``public_only``:
    the app of ``registry serve-verify`` (the worker's page and its API, and health; nothing else)."""
    settings = settings or Settings()
    _scrub_access_log()
    app = FastAPI(title="Yikatong registry", version=str(protocol.PROTOCOL_VERSION),
                  docs_url=None, redoc_url=None,  # their pages load scripts from a CDN
                  default_response_class=EncodableJSONResponse,
                  description="The central registry's sync API (see sync/protocol.py). Every request "
                              f"but {protocol.HEALTH} carries {protocol.VERSION_HEADER}; every refusal "
                              "has the one shape {\"error\": {code, message, field, data}}.")
    api_description.install(app)
    app.state.engine = engine
    app.state.clock = clock = clock or SystemClock()
    app.state.limits = limits = warn.WarningLimits.load(settings.warning_limits)
    app.state.throttle = throttle = Throttle(
        ThrottleLimits(max_failures=settings.login_max_failures, lock=settings.login_lock,
                       address_max_failures=settings.login_address_max_failures), clock)
    app.state.run_checks = None
    app.state.records_received = None

    @app.exception_handler(Exception)
    async def _internal(_request: Request, _exc: Exception) -> JSONResponse:
        # Starlette re-raises after sending this; Guard logs it without the message.
        return _json_error(status_of(protocol.E_INTERNAL), protocol.E_INTERNAL, "internal server error")

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        response = _json_error(exc.status, exc.code, exc.message, exc.field, **exc.data)
        if exc.code in (error_codes.AUTH_LOCKED, error_codes.VERIFY_RATE_LIMITED, error_codes.SELFQUERY_RATE_LIMITED):
            response.headers["Retry-After"] = str(exc.data.get("retry_after", 1))
        return response

    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        d = exc.to_dict()
        return _json_error(status_of(exc.code), exc.code, "the request breaks a rule", d["field"], **d["data"])

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return _json_error(400, protocol.E_MALFORMED, "the body is not valid JSON")
        listed = [{"field": _field_of(tuple(e.get("loc", ()))), "type": e.get("type"), "message": e.get("msg")}
                  for e in errors]
        return _json_error(422, protocol.E_INVALID, "the request does not have the expected shape",
                           listed[0]["field"] if listed else None, errors=listed)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: protocol.E_NOT_FOUND, 405: protocol.E_METHOD, 400: protocol.E_MALFORMED,
                413: protocol.E_TOO_LARGE}.get(exc.status_code, f"request.http_{exc.status_code}")
        response = _json_error(exc.status_code, code, str(exc.detail))
        for k, v in (exc.headers or {}).items():
            response.headers[k] = v
        if exc.status_code == 405:
            # Starlette names only the first route's methods; a path may have several routes (GET and PUT).
            response.headers["Allow"] = _allowed_methods(request.app, request.scope["path"])
        return response

    @app.get(protocol.HEALTH, summary="Is the registry up; which protocol versions it speaks (no auth)")
    def health() -> dict[str, Any]:
        with engine.connect().execution_options(readonly=True) as conn, conn.begin():
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "protocol_version": protocol.PROTOCOL_VERSION,
                "min_protocol_version": protocol.MIN_PROTOCOL_VERSION, "server_time": now_iso()}

    @app.post(protocol.LOGIN, summary="Exchange username and password for an expiring token")
    def do_login(body: LoginRequest, request: Request) -> dict[str, Any]:
        token, expires, operator = accounts.throttled_login(
            engine, throttle, body.username, body.password, body.device_id, settings.token_ttl,
            request.client.host if request.client else None)
        return {"token": token, "expires_at": iso(expires), "operator": operator.to_dict(),
                "server_time": now_iso()}

    @app.post(protocol.LOGOUT, summary="Revoke the caller's token (the next call with it is 401)")
    def logout(request: Request, session: Auth) -> dict[str, Any]:
        token = (request.headers.get("authorization") or "").partition(" ")[2].strip()
        accounts.logout(engine, token, session.operator.username, session.device_id)
        return {"logged_out": True}

    @app.get(protocol.ME, summary="Who this token belongs to")
    def me(session: Auth) -> dict[str, Any]:
        return {"operator": session.operator.to_dict(), "device_id": session.device_id,
                "expires_at": iso(session.expires_at), "server_time": now_iso()}

    @app.post(protocol.PUSH, summary="Push a batch of record versions; one result per record")
    def push(body: PushRequest, session: Auth, request: Request) -> dict[str, Any]:
        if body.device_id != session.device_id:
            raise ApiError(error_codes.DEVICE_MISMATCH, "the push names another device than the token's",
                           field="device_id")
        results = service.push(engine, session.operator, body.device_id,
                               [item.model_dump() for item in body.records], clock=clock,
                               client_version=int(request.headers[protocol.VERSION_HEADER]))
        hook = app.state.records_received
        if hook is not None and any(r["status"] == protocol.ACCEPTED for r in results):
            hook()
        return {"protocol_version": protocol.PROTOCOL_VERSION, "results": results}

    @app.get(protocol.PULL, summary="Changes after a counter, oldest first, restricted to your villages")
    def pull(session: Auth, request: Request, since: Annotated[int, Query(ge=0, le=_INT63_MAX)] = 0,
             limit: Annotated[int, Query(ge=1, le=protocol.PULL_LIMIT_MAX)] = 500) -> dict[str, Any]:
        # The Guard let only a version in range through; newer kinds go to clients that parse them.
        return service.pull(engine, session.operator, since, limit,
                            client_version=int(request.headers[protocol.VERSION_HEADER]))

    @app.post(protocol.DIGEST, summary="Compare the client's digest of synced records with the server's")
    def digest(body: DigestRequest, session: Auth) -> dict[str, Any]:
        server_digest, server_count = service.digest(engine, session.operator)
        return {"match": server_digest == body.digest and server_count == body.count,
                "server_digest": server_digest, "server_count": server_count}

    @app.post(protocol.BLOB_STATUS, summary="Your uploads: how many bytes of each blob you sent; complete for "
                                            "blobs you uploaded or your villages' records name")
    def blob_status(body: BlobStatusRequest, session: Auth) -> dict[str, Any]:
        return {"blobs": blobs.status(engine, session.operator, session.device_id,
                                      [(b.sha256, b.size) for b in body.blobs], clock=clock)}

    @app.put(protocol.BLOB, summary="Upload one chunk of a blob at an offset (resumable)",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
    async def put_blob(sha256: Sha256, request: Request, session: Auth,
                       offset: Annotated[int, Query(ge=0, le=protocol.BLOB_MAX)],
                       size: Annotated[int, Query(ge=0, le=protocol.BLOB_MAX)],
                       ) -> dict[str, Any]:
        chunk = await request.body()
        return await run_in_threadpool(lambda: blobs.put_chunk(engine, session.operator, session.device_id, sha256,
                                                               offset, size, chunk, clock=clock))

    @app.get(protocol.BLOB, summary="The bytes of a complete blob (a staff download is audited)")
    def get_blob(sha256: Sha256, session: Auth) -> Response:
        data = blobs.read(engine, session.operator, sha256)
        if data is None:
            # The same answer for "absent" and "not yours": a hash is no proof of entitlement.
            raise ApiError(404, protocol.E_NOT_FOUND, "no complete blob with that SHA-256 among your records",
                           field="sha256")
        return Response(data, media_type="application/octet-stream")

    _review_routes(app, engine, clock, limits, settings)
    verification_staff.register(app, engine, settings, clock)
    verification_public.register(app, engine, settings, clock)
    payment_routes.register(app, engine, settings, clock)  # staff only; absent from serve-verify (allow-list)
    if public_only:
        # registry serve-verify: the route table is the allow-list (the page, its API, health);
        # the staff and sync API and the API description are not there at all.
        # The residents' self-query page lives only here, never in the staff registry.
        selfquery_public.register(app, engine, settings, clock)
        sms_receipts_public.register(app, engine, settings, clock)  # only with a receipt secret configured
        allowed = {*verification_public.PUBLIC_ROUTES, *selfquery_public.PUBLIC_ROUTES,
                   *sms_receipts_public.PUBLIC_ROUTES, ("GET", protocol.HEALTH)}
        app.router.routes = [r for r in app.router.routes
                             if {(m, getattr(r, "path", "")) for m in getattr(r, "methods", None) or ()} & allowed]
    return Guard(app, settings.max_body, public_only=public_only)


def _review_routes(app: FastAPI, engine: Engine, clock: Clock, limits: warn.WarningLimits,
                   settings: Settings) -> None:
    """Central review (docs/review-api.md §3): central and admin operators only."""

    def reading() -> Any:
        return engine.connect().execution_options(readonly=True)

    @app.get(protocol.REVIEW_QUEUE, summary="The review queue, filtered; oldest version first")
    def review_queue(
        _staff: Staff,
        state: Annotated[list[ReviewState] | None, Query(max_length=20)] = None,
        kind: Annotated[FindingKind | None, Query()] = None,
        village: Annotated[str | None, Query(max_length=12)] = None,
        light: Annotated[Light | None, Query()] = None,
        age_min: Annotated[int | None, Query(ge=0, le=150)] = None,
        age_max: Annotated[int | None, Query(ge=0, le=150)] = None,
        q: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=review.QUEUE_LIMIT_MAX)] = 100,
        offset: Annotated[int, Query(ge=0, le=_INT32_MAX)] = 0,
    ) -> dict[str, Any]:
        filters = review.QueueFilters(states=state or list(review.DEFAULT_QUEUE_STATES), kind=kind,
                                      village=village, light=light, age_min=age_min, age_max=age_max, q=q,
                                      limit=limit, offset=offset)
        now = clock.now()
        with reading() as conn, conn.begin():
            out = review.queue(conn, filters, now=now, limits=limits)
        return {**out, "server_time": iso(now)}

    @app.get(protocol.REVIEW_RECORD, summary="One record in full, with findings, related records and history "
                                             "(the view is audited)")
    def review_record(record_id: str, staff: Staff) -> dict[str, Any]:
        return review.record_detail(engine, staff.operator, record_id, clock=clock, limits=limits,
                                    allow_approver_issues_card=settings.allow_approver_issues_card)

    @app.post(protocol.REVIEW_DECISION, summary="Approve, reject or return the version you looked at")
    def review_decision(record_id: str, body: DecisionRequest, staff: Staff, request: Request) -> dict[str, Any]:
        return accounts.throttled_password(
            engine, request.app.state.throttle, staff.operator.username, request.client.host if request.client else None,
            "review.decision",
            lambda: review.decide(engine, staff.operator, record_id, body.action, version=body.version,
                                  reason=body.reason, password=body.password, clock=clock, limits=limits))

    @app.post(protocol.REVIEW_BULK_APPROVE, summary="Approve many cleared records with one password")
    def review_bulk_approve(body: BulkApproveRequest, staff: Staff, request: Request) -> dict[str, Any]:
        return accounts.throttled_password(
            engine, request.app.state.throttle, staff.operator.username, request.client.host if request.client else None,
            "review.bulk_approve",
            lambda: review.bulk_approve(engine, staff.operator, [i.model_dump() for i in body.items],
                                        password=body.password, reason=body.reason, clock=clock))

    @app.post(protocol.REVIEW_CARD_ISSUED, summary="The approved record's card was handed out")
    def review_card_issued(record_id: str, body: CardIssuedRequest, staff: Staff) -> dict[str, Any]:
        return review.mark_card_issued(engine, staff.operator, record_id, version=body.version, clock=clock,
                                       limits=limits,
                                       allow_approver_issues_card=settings.allow_approver_issues_card)

    @app.post(protocol.REVIEW_RUN_CHECKS, summary="Run the automatic checks now; the run's summary")
    def review_run_checks(request: Request, staff: Staff) -> dict[str, Any]:
        run = getattr(request.app.state, "run_checks", None)
        if run is None:
            raise ApiError(error_codes.REVIEW_CHECKS_UNAVAILABLE, "this registry runs no checks")
        return run(actor=staff.operator.username)

    @app.get(protocol.REVIEW_FINDINGS, summary="Findings (open by default), with full ID numbers "
                                               "(each read is audited)")
    def review_findings(staff: Staff, kind: Annotated[FindingKind | None, Query()] = None,
                        status: Annotated[str, _FINDING_STATUS] = service.FINDING_OPEN,
                        ) -> dict[str, Any]:
        return {"findings": review.read_findings(engine, staff.operator.username, kind=kind, status=status)}

    @app.get(protocol.REVIEW_WARNINGS, summary="Yellow and red records at a moment (default: now)")
    def review_warnings(_staff: Staff, at: Annotated[str | None, Query(max_length=40)] = None) -> dict[str, Any]:
        now = _moment(at, clock)
        with reading() as conn, conn.begin():
            items = warn.warnings(conn, now, limits)
        return {"at": iso(now), "limits": limits.to_dict(), "items": items}

    def report(at: str | None, suffix: str) -> tuple[bytes, str]:
        now = _moment(at, clock)
        with reading() as conn, conn.begin():
            items = warn.warnings(conn, now, limits)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"report{suffix}"
            try:
                if suffix == ".pdf":
                    warn.write_report_pdf(items, path, at=now, limits=limits)
                else:
                    warn.write_report_csv(items, path)
            except ReportError as e:
                raise ApiError(503, e.code, e.message) from None
            data = path.read_bytes()
        return data, f"escalation-{now.strftime('%Y%m%dT%H%MZ')}{suffix}"

    @app.get(protocol.REVIEW_REPORT_CSV, summary="The escalation report (red items) as CSV, UTF-8 with BOM")
    def review_report_csv(_staff: Staff, at: Annotated[str | None, Query(max_length=40)] = None) -> Response:
        data, name = report(at, ".csv")
        return Response(data, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @app.get(protocol.REVIEW_REPORT_PDF, summary="The escalation report (red items) as a PDF in Chinese")
    def review_report_pdf(_staff: Staff, at: Annotated[str | None, Query(max_length=40)] = None) -> Response:
        data, name = report(at, ".pdf")
        return Response(data, media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @app.get(protocol.REVIEW_DASHBOARD, summary="The central dashboard's numbers")
    def review_dashboard(_staff: Staff) -> dict[str, Any]:
        now = clock.now()
        with reading() as conn, conn.begin():
            out = review.dashboard(conn, now=now, limits=limits)
        return {**out, "server_time": iso(now)}
