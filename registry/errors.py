"""The registry's refusals and the ONE table from error code to HTTP status.

Every error leaves the registry in ``sync.protocol.error_body``'s shape with the status
``status_of(code)`` gives; a code not in the table is a rule of the domain broken (422).
``ApiError`` is a ``Refusal`` of the one error tree (``enrollment.errors``).
"""

from __future__ import annotations

from typing import Any

from enrollment import error_codes as codes
from enrollment.errors import Refusal

from .reports import FONT_MISSING

# A DomainError (a rule of the domain) that reaches the API as a whole request's refusal.
DEFAULT_STATUS = 422

STATUS: dict[str, int] = {
    codes.MALFORMED_JSON: 400,
    codes.AUTH_MISSING: 401,
    codes.AUTH_INVALID: 401,
    codes.AUTH_EXPIRED: 401,
    codes.BAD_CREDENTIALS: 401,
    codes.FORBIDDEN: 403,
    codes.OPERATOR_DISABLED: 403,
    codes.DEVICE_MISMATCH: 403,
    codes.VILLAGE_NOT_ASSIGNED: 403,
    codes.PUSH_CADRE_ONLY: 403,
    codes.REVIEW_OWN_RECORD: 403,
    codes.REVIEW_APPROVER_ISSUES_CARD: 403,
    codes.NOT_FOUND: 404,
    codes.RECORD_UNKNOWN: 404,
    codes.METHOD_NOT_ALLOWED: 405,
    codes.RECORD_CONFLICT: 409,
    codes.BLOB_OFFSET: 409,
    codes.REVIEW_STATE: 409,
    codes.REVIEW_STALE: 409,
    codes.TOO_LARGE: 413,
    codes.INVALID: 422,
    codes.DEVICE_ID_INVALID: 422,
    codes.BASE_VERSION_INVALID: 422,
    codes.CONTENT_HASH_MISMATCH: 422,
    codes.RECORD_NOT_NORMALIZED: 422,
    codes.BLOB_SIZE: 422,
    codes.BLOB_HASH: 422,
    codes.BLOB_MISSING: 422,
    codes.REVIEW_REASON: 422,
    codes.REVIEW_REASON_LONG: 422,
    codes.REVIEW_PASSWORD: 422,
    codes.REVIEW_ACTION: 422,
    codes.MOMENT_OUT_OF_RANGE: 422,
    codes.PROTOCOL_UNSUPPORTED: 426,
    codes.AUTH_LOCKED: 429,
    codes.SERVER_INTERNAL: 500,
    # Remote verification (docs/verification-api.md).
    codes.VERIFY_TOKEN_UNKNOWN: 404,
    codes.VERIFY_RESIDENT_UNKNOWN: 404,
    codes.VERIFY_EXPIRED: 410,
    codes.VERIFY_USED_UP: 409,
    codes.VERIFY_ID_MISMATCH: 403,
    codes.VERIFY_CONSENT_REQUIRED: 409,
    codes.VERIFY_SESSION_INVALID: 401,
    codes.VERIFY_ATTEMPT_CLOSED: 409,
    codes.VERIFY_NONCE_MISMATCH: 403,
    codes.VERIFY_UPLOAD_TOO_LARGE: 413,
    codes.VERIFY_TOO_MANY_FRAMES: 413,
    codes.VERIFY_RATE_LIMITED: 429,
    codes.VERIFY_ENGINE_UNAVAILABLE: 503,
    codes.VERIFY_CLIP_MISSING: 409,
    codes.VIDEO_UNREADABLE: 422,
    codes.VIDEO_TOO_SHORT: 422,
    codes.VIDEO_TOO_LONG: 422,
    # The registry is up but lacks a part (no check worker, no CJK font): the laptop retries later.
    codes.REVIEW_CHECKS_UNAVAILABLE: 503,
    FONT_MISSING: 503,
    # The residents' self-query page (registry.selfquery) and the public notice.
    codes.SELFQUERY_RATE_LIMITED: 429,
    codes.SELFQUERY_CODE_WRONG: 403,
    codes.SELFQUERY_CODE_DEAD: 410,
    codes.SELFQUERY_CODE_EXPIRED: 410,
    codes.NOTICE_VILLAGE_UNKNOWN: 404,
    codes.NOTICE_PERIOD_INVALID: 422,
    codes.NOTICE_FORMAT_UNKNOWN: 422,
    # Payments: batches, bank files, results (issue 13).
    codes.PAYMENTS_PERIOD_INVALID: 422,
    codes.PAYMENTS_TOWNSHIP_INVALID: 422,
    codes.PAYMENTS_NOTHING_TO_BATCH: 409,
    codes.PAYMENTS_LINE_CONFLICT: 409,
    codes.PAYMENTS_BATCH_UNKNOWN: 404,
    codes.PAYMENTS_BATCH_STATE: 409,
    codes.PAYMENTS_APPROVER_IS_CREATOR: 403,
    codes.PAYMENTS_EXPORT_MISMATCH: 409,
    codes.PAYMENTS_EXPORT_ENCODING: 422,
    codes.PAYMENTS_BANK_FILE_INVALID: 500,
    codes.PAYMENTS_BANK_REASONS_INVALID: 500,
    codes.PAYMENTS_LINE_UNKNOWN: 404,
    codes.PAYMENTS_LINE_STATE: 409,
    codes.PAYMENTS_REASON_REQUIRED: 422,
    # Payments: cards and the departments' rosters (issue 13).
    codes.REVIEW_CARD_MISSING: 409,
    codes.ENTITLEMENT_UNKNOWN: 404,
    codes.ENTITLEMENT_STATE: 409,
    codes.ENTITLEMENT_DUPLICATE_OPEN: 409,
    # Payments: the central staff API (issue 13).
    codes.PAYMENTS_RESULT_IMPORT_UNKNOWN: 404,
    # Delivery reports pushed by the SMS gateway to the public process (registry.sms.receipt_routes).
    codes.SMS_RECEIPT_UNAUTHORIZED: 401,
    codes.SMS_RECEIPT_INVALID: 422,
}


def status_of(code: str) -> int:
    return STATUS.get(code, DEFAULT_STATUS)


class ApiError(Refusal):
    """A refusal with its English ``message`` (for logs and API clients) and its HTTP ``status``.

    ``ApiError(code, message, field=..., **data)``; the older ``ApiError(status, code, message, ...)``
    is still accepted, but the status comes from the table whenever the code is in it.
    """

    def __init__(self, *args: Any, field: str | None = None, **data: Any) -> None:
        given: int | None = None
        if args and isinstance(args[0], int):
            given, args = args[0], args[1:]
        code, message = args[0], (args[1] if len(args) > 1 else "")
        super().__init__(code, field, **data)
        self.args = (f"{code}: {message}",)
        self.message = message
        self.status = STATUS.get(code, given if given is not None else DEFAULT_STATUS)

    def to_error(self) -> dict[str, Any]:
        """The ``error`` member of the one JSON error shape."""
        return {"code": self.code, "message": self.message, "field": self.field, "data": self.data}
