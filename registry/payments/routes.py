"""``/api/payments/*``: the central staff's payments API (issue 13; docs/payments/central-api.md).

Central and admin operators only (``Staff``: a cadre gets 403 ``auth.forbidden``). The routes call the same
functions as the ``registry`` commands (``entitlements``, ``batches``, ``results``): an upload is the file's
bytes (``import_entitlement_bytes``, ``import_result_bytes``), a bank file download is ``export_batch_bytes``
(the first download exports the batch, later ones give the same bytes). Reads are in ``views``. A decision
on an intercepted line and a batch's approval re-check the operator's password behind the login throttle,
as review decisions do. Money is integer fen; ID numbers are masked except in one line's audited detail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from enrollment.roster_csv import CsvFileError
from enrollment.vocabulary import BatchState
from sync import protocol

from .. import accounts
from ..clock import Clock
from ..config import Settings
from ..db import iso
from ..errors import ApiError
from ..request_auth import Staff
from ..review import check_password
from . import views
from .batches import approve_batch, build_batch, export_batch_bytes, payment_status
from .entitlements import DECISIONS, DEPARTMENT_MAX, decide, import_entitlement_bytes
from .results import import_result_bytes

T = TypeVar("T")

_INT32_MAX = 2**31 - 1        # the id columns are INTEGER (int4 on PostgreSQL)
PROBLEMS_MAX = 1000           # a refused file's problems listed in the answer (``problems_total``: all)
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"   # no control characters (PostgreSQL refuses NUL in text)
_ENCODING = Query(pattern="^(utf-8|gbk)$", json_schema_extra={"enum": list(protocol.PAYMENT_ENCODINGS)})
_UPLOAD = {"requestBody": {"required": True, "content": {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}

Limit = Annotated[int, Query(ge=1, le=protocol.PAYMENT_LIST_LIMIT_MAX)]
Offset = Annotated[int, Query(ge=0, le=_INT32_MAX)]
FileName = Annotated[str, Query(min_length=1, max_length=255, pattern=_PRINTABLE)]
EntitlementId = Annotated[int, PathParam(ge=1, le=_INT32_MAX)]
BatchId = Annotated[str, PathParam(min_length=1, max_length=36)]
ImportId = Annotated[int, PathParam(ge=1, le=_INT32_MAX)]


class _Body(BaseModel):
    """Typed strictly, as registry.api.StrictBody: ``"password": 1`` is a 422, not coerced."""

    model_config = ConfigDict(strict=True)


class EntitlementDecision(_Body):
    # Checked by entitlements.decide (review.action_invalid, review.reason_*), so they fail with their codes.
    action: str = Field(max_length=32, json_schema_extra={"enum": list(DECISIONS)})
    reason: str | None = Field(default=None, max_length=10_000)
    password: str | None = Field(default=None, max_length=1024)


class BuildBatch(_Body):
    # Checked by batches.validate_selection (subsidies.unknown, payments.period_invalid, township_invalid).
    item: str = Field(max_length=32)
    period: str = Field(max_length=16)
    township: str = Field(default="", max_length=16)


class ApproveBatch(_Body):
    password: str | None = Field(default=None, max_length=1024)


def _file_refusal(e: CsvFileError) -> ApiError:
    """A refused upload in the one error shape: its code, and every problem (line, code, field) listed."""
    data = {k: v for k, v in e.to_dict()["data"].items() if k != "rows"}
    return ApiError(e.code, "the file is refused", field=e.field, **data,
                    problems=[r.to_dict() for r in e.rows[:PROBLEMS_MAX]], problems_total=len(e.rows))


def register(app: FastAPI, engine: Engine, settings: Settings, clock: Clock) -> None:
    """Add the payments routes to the staff registry's ``app`` (never to ``serve-verify``'s)."""
    r = app

    def reading() -> Any:
        return engine.connect().execution_options(readonly=True)

    def with_password(request: Request, staff: Any, during: str, call: Callable[[], T], password: str | None) -> T:
        def checked() -> T:
            check_password(engine, staff.operator, password)
            return call()
        return accounts.throttled_password(engine, request.app.state.throttle, staff.operator.username,
                                           request.client.host if request.client else None, during, checked)

    @r.get(protocol.PAYMENT_ITEMS, summary="The subsidy items a roster may name: name, paying department, standard")
    def payment_items(_staff: Staff) -> dict[str, Any]:
        return {"items": views.items()}

    @r.post(protocol.PAYMENT_ENTITLEMENT_IMPORTS, openapi_extra=_UPLOAD,
            summary="Import a department's payment roster (the CSV file's bytes); every line checked, bad ones "
                    "refused by line; the same file again changes nothing")
    async def import_roster(request: Request, staff: Staff,
                            department: Annotated[str, Query(min_length=1, max_length=DEPARTMENT_MAX,
                                                             pattern=_PRINTABLE)],
                            file_name: FileName, encoding: Annotated[str, _ENCODING] = "utf-8") -> dict[str, Any]:
        raw = await request.body()

        def run() -> dict[str, Any]:
            try:
                return import_entitlement_bytes(engine, raw, file_name, department, encoding=encoding,
                                                actor=staff.operator.username, clock=clock).to_dict()
            except CsvFileError as e:
                raise _file_refusal(e) from None
        return await run_in_threadpool(run)

    @r.get(protocol.PAYMENT_ENTITLEMENT_IMPORTS, summary="The roster imports, newest first, with their line counts")
    def roster_imports(_staff: Staff, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
        with reading() as conn, conn.begin():
            return views.entitlement_import_list(conn, limit=limit, offset=offset)

    @r.get(protocol.PAYMENT_INTERCEPTIONS, summary="Intercepted roster lines (open: to decide; decided), oldest "
                                                   "first, with their findings; ID numbers masked")
    def interception_queue(
        _staff: Staff,
        status: Annotated[str, Query(pattern=f"^({'|'.join(protocol.PAYMENT_INTERCEPTION_STATUSES)})$",
                                     json_schema_extra={"enum": list(protocol.PAYMENT_INTERCEPTION_STATUSES)})
                          ] = protocol.PAYMENT_INTERCEPTIONS_OPEN,
        department: Annotated[str, Query(max_length=DEPARTMENT_MAX, pattern=_PRINTABLE)] = "",
        item: Annotated[str, Query(max_length=32, pattern=_PRINTABLE)] = "",
        period: Annotated[str, Query(max_length=6, pattern=_PRINTABLE)] = "",
        limit: Limit = 200, offset: Offset = 0,
    ) -> dict[str, Any]:
        with reading() as conn, conn.begin():
            return views.interceptions(conn, status=status, department=department, item=item, period=period,
                                       limit=limit, offset=offset)

    @r.get(protocol.PAYMENT_ENTITLEMENT, summary="One roster line in full: the whole ID number (the read is "
                                                 "audited), its card (masked), findings with evidence, history")
    def roster_line(entitlement_id: EntitlementId, staff: Staff) -> dict[str, Any]:
        return views.entitlement_detail(engine, staff.operator, entitlement_id)

    @r.post(protocol.PAYMENT_DECISION, summary="Release or reject an intercepted line, with a reason and your "
                                               "password")
    def decide_line(entitlement_id: EntitlementId, body: EntitlementDecision, staff: Staff,
                    request: Request) -> dict[str, Any]:
        return with_password(request, staff, "payments.decision", lambda: decide(
            engine, staff.operator, entitlement_id, body.action, reason=body.reason, clock=clock), body.password)

    @r.get(protocol.PAYMENT_READY, summary="What a batch can be built from: ready lines (and corrected retries) "
                                           "per item and period, with their townships")
    def ready(_staff: Staff) -> dict[str, Any]:
        with reading() as conn, conn.begin():
            return views.ready_groups(conn)

    @r.post(protocol.PAYMENT_BATCHES, summary="Build a batch of the ready lines of one item and period "
                                              "(optionally one township)")
    def new_batch(body: BuildBatch, staff: Staff) -> dict[str, Any]:
        return build_batch(engine, staff.operator, body.item, body.period, body.township or None,
                           clock=clock).to_dict()

    @r.get(protocol.PAYMENT_BATCHES, summary="Batches, newest first, with what was paid, failed and is pending")
    def batch_list(_staff: Staff, state: Annotated[BatchState | None, Query()] = None, limit: Limit = 100,
                   offset: Offset = 0) -> dict[str, Any]:
        with reading() as conn, conn.begin():
            return views.batch_list(conn, state=state or "", limit=limit, offset=offset)

    @r.get(protocol.PAYMENT_BATCH, summary="One batch's status and its lines (names, ID and card numbers masked)")
    def batch_detail(batch_id: BatchId, _staff: Staff) -> dict[str, Any]:
        with reading() as conn, conn.begin():
            return views.batch_detail(conn, batch_id)

    @r.post(protocol.PAYMENT_BATCH_APPROVE, summary="Approve a built batch with your password (not its creator)")
    def approve(batch_id: BatchId, body: ApproveBatch, staff: Staff, request: Request) -> dict[str, Any]:
        return with_password(request, staff, "payments.approve", lambda: approve_batch(
            engine, staff.operator, batch_id, clock=clock), body.password)

    @r.get(protocol.PAYMENT_BANK_FILE, response_class=Response,
           summary="The batch's bank file (CSV): the first download exports the batch, later ones give the same "
                   "bytes; header X-Content-SHA256")
    def bank_file(batch_id: BatchId, staff: Staff, encoding: Annotated[str, _ENCODING] = "utf-8") -> Response:
        info, data = export_batch_bytes(engine, batch_id, encoding=encoding, clock=clock,
                                        actor=staff.operator.username)
        name = f"batch-{info['item']}-{info['period']}-{info['batch'][:8]}.csv"
        return Response(data, media_type=f"text/csv; charset={info['encoding']}", headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            protocol.PAYMENT_CONTENT_SHA256_HEADER: info["sha256"]})

    @r.post(protocol.PAYMENT_RESULT_IMPORTS, openapi_extra=_UPLOAD,
            summary="Import the bank's return file (its bytes); lines that cannot be applied are kept as errors; "
                    "the same file again changes nothing")
    async def import_results(request: Request, staff: Staff, file_name: FileName,
                             encoding: Annotated[str, _ENCODING] = "utf-8") -> dict[str, Any]:
        raw = await request.body()

        def run() -> dict[str, Any]:
            try:
                out = import_result_bytes(engine, staff.operator, raw, file_name, encoding=encoding, clock=clock)
            except CsvFileError as e:
                raise _file_refusal(e) from None
            with reading() as conn, conn.begin():
                return {**out, "balanced": payment_status(conn)["balanced"]}
        return await run_in_threadpool(run)

    @r.get(protocol.PAYMENT_RESULT_IMPORTS, summary="The bank's return files imported, newest first")
    def result_imports(_staff: Staff, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
        with reading() as conn, conn.begin():
            return views.result_import_list(conn, limit=limit, offset=offset)

    @r.get(protocol.PAYMENT_RESULT_ERRORS, summary="The lines of one return file that could not be applied")
    def result_errors(import_id: ImportId, _staff: Staff) -> dict[str, Any]:
        with reading() as conn, conn.begin():
            return views.result_error_list(conn, import_id)

    @r.get(protocol.PAYMENT_STATUS, summary="Issued, paid, failed, pending and intercepted (count and fen); "
                                            "balanced; batches by state")
    def status(_staff: Staff) -> dict[str, Any]:
        with reading() as conn, conn.begin():
            return payment_status(conn)

    @r.get(protocol.PAYMENT_DASHBOARD, summary="The dashboard's payment figures: totals, success rate, by item, "
                                               "by department, the checks' counters")
    def dashboard(_staff: Staff) -> dict[str, Any]:
        now = clock.now()
        with reading() as conn, conn.begin():
            return {**views.dashboard(conn), "server_time": iso(now)}
