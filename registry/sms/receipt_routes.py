"""Delivery reports pushed by the SMS gateway, on the public process (``registry serve-verify``).

``POST /api/sms/receipts`` (``sync.protocol.SMS_RECEIPTS``) with ``Authorization: Bearer <secret>``
(``YIKATONG_SMS_RECEIPT_SECRET``, compared in constant time) and a JSON list of
``{"message_id", "status": "delivered" | "failed", "delivered_at": ISO-8601 with its zone, or null}``.
Each goes through ``registry.sms.outbox.record_receipts``, the code path of ``registry sms receipt
FILE``: a report already recorded changes nothing, one naming no message of ours is counted. Without a
secret configured the route does not exist (404, like any absent route): a gateway cannot write receipts
to a registry that has not agreed a secret with it. The gateway's name is the configured one
(``YIKATONG_SMS_GATEWAY``): reports name the message ids that gateway gave us. docs/payments/sms.md.
"""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from enrollment import error_codes
from sync import protocol

from ..clock import Clock, moment_in_range, parse_moment
from ..config import Settings
from ..errors import ApiError
from . import outbox

# The audit actor of a push (no operator is behind it).
ACTOR = "sms-gateway"
# Reports in one push: gateways push in batches of tens to hundreds; more is a misbehaving caller.
MAX_RECEIPTS = 1000
# Bytes of one push (the serve-verify process's own --max-body, 256 KiB by default, is checked first).
MAX_BODY = 256 * 1024
PUBLIC_ROUTES = frozenset({("POST", protocol.SMS_RECEIPTS)})


class ReceiptIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")  # a gateway may add its own fields

    message_id: str = Field(min_length=1, max_length=64)
    status: str = Field(max_length=16)
    delivered_at: str | None = Field(default=None, max_length=40)

    @field_validator("status")
    @classmethod
    def _state(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in outbox.RECEIPT_STATES:
            raise ValueError(f"status is one of {', '.join(outbox.RECEIPT_STATES)}")
        return value

    @field_validator("delivered_at")
    @classmethod
    def _moment(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValueError("delivered_at is an ISO-8601 moment, e.g. 2026-12-01T08:00:00+08:00") from None
        # A gateway's local time without its zone would be recorded hours off: refused, not guessed.
        if moment.tzinfo is None:
            raise ValueError("delivered_at needs its zone (Z or +08:00)")
        if not moment_in_range(moment):
            raise ValueError("delivered_at is outside the moments the registry records")
        return value

    def to_receipt(self) -> outbox.Receipt:
        return outbox.Receipt(self.message_id, self.status,
                              parse_moment(self.delivered_at) if self.delivered_at else None)


_PUSH = TypeAdapter(list[ReceiptIn])


def _authorized(header: str | None, secret: str) -> bool:
    scheme, _, given = (header or "").partition(" ")
    # compare_digest on bytes: its time does not depend on where the first difference is.
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode("utf-8"), secret.encode("utf-8"))


def register(app: FastAPI, engine: Engine, settings: Settings, clock: Clock) -> None:
    """Add the receipt route to the public ``app`` when a receipt secret is configured (else nothing)."""
    sms = settings.sms
    secret, gateway = sms.receipt_secret, sms.gateway
    if not secret or not gateway:
        return

    @app.post(protocol.SMS_RECEIPTS, summary="The SMS gateway's delivery reports (shared secret)")
    async def receipts(request: Request) -> dict[str, Any]:
        if not _authorized(request.headers.get("authorization"), secret):
            raise ApiError(error_codes.SMS_RECEIPT_UNAUTHORIZED, "no or wrong receipt secret")
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise ApiError(413, protocol.E_TOO_LARGE, f"request body over {MAX_BODY} bytes", limit=MAX_BODY)
        try:
            pushed = _PUSH.validate_json(raw)
        except ValidationError as e:
            raise RequestValidationError(e.errors(include_url=False, include_context=False)) from None
        if len(pushed) > MAX_RECEIPTS:
            raise ApiError(error_codes.SMS_RECEIPT_INVALID, f"at most {MAX_RECEIPTS} reports in one push",
                           field="receipts", limit=MAX_RECEIPTS)
        return await run_in_threadpool(outbox.record_receipts, engine, gateway,
                                       [r.to_receipt() for r in pushed], clock=clock, actor=ACTOR)
