"""Typed errors with stable codes: the one error tree of the project.

::

    YikatongError            code, field, data
    ├── Refusal              the input or the state is wrong; asking again unchanged gets the same
    │   │                    answer (HTTP 4xx). Never retried.
    │   ├── DomainError      a rule of the domain (ValidationErrors, CaptureError, CsvFileError ...)
    │   ├── registry.errors.ApiError / registry.service.Refused   the registry's refusals
    │   └── sync.http.ApiError                                     the same refusal, on the laptop
    └── Unavailable          no usable answer; later may work. ``kind`` (Kind) says why: timeout,
        │                    unreachable, bad_response (not the registry's JSON: a captive
        │                    portal), server_error (5xx). Its code is ``network.<kind>``.
        └── sync.http.TransportError

The domain never words an error for a person: it raises a code plus data, and
``desktop/errors.py`` turns codes and kinds into Chinese text, while the registry API sends the
code in its one JSON error shape. The codes that cross a boundary live once, in
``enrollment/error_codes.py``. Codes are part of the protocol: never rename one.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from . import error_codes


class YikatongError(Exception):
    """A stable machine code, the field it concerns, and data for wording."""

    def __init__(self, code: str, field: str | None = None, **data: Any) -> None:
        self.code = code
        self.field = field
        self.data = data
        detail = ", ".join(f"{k}={v!r}" for k, v in data.items() if k not in _PERSONAL_KEYS)
        super().__init__(f"{code}" + (f" [{field}]" if field else "") + (f" ({detail})" if detail else ""))

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "field": self.field, "data": _public(self.data)}


class Refusal(YikatongError):
    """The input or the state is wrong (4xx-like): fix it before asking again."""


class DomainError(Refusal):
    """A refusal by a rule of the domain."""


class Kind(StrEnum):
    """Why there was no usable answer; set from the exception type and the status, never from text."""

    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"
    BAD_RESPONSE = "bad_response"
    SERVER_ERROR = "server_error"

    @property
    def code(self) -> str:
        return _KIND_CODES[self]


_KIND_CODES = {
    Kind.TIMEOUT: error_codes.NETWORK_TIMEOUT,
    Kind.UNREACHABLE: error_codes.NETWORK_UNREACHABLE,
    Kind.BAD_RESPONSE: error_codes.NETWORK_BAD_RESPONSE,
    Kind.SERVER_ERROR: error_codes.NETWORK_SERVER_ERROR,
}


class Unavailable(YikatongError):
    """No usable answer (retrying later may help); ``str()`` is ``message``, for logs."""

    def __init__(self, kind: Kind | str, message: str = "", field: str | None = None, **data: Any) -> None:
        self.kind = Kind(kind)
        self.message = message
        super().__init__(self.kind.code, field, **data)
        self.args = (message or self.kind.code,)


class ValidationErrors(DomainError):
    """Several field errors at once, so a form can show every problem, not just the first."""

    def __init__(self, errors: list[DomainError]) -> None:
        self.errors = errors
        first = errors[0]
        super().__init__(first.code, first.field, **first.data)
        self.args = ("; ".join(str(e) for e in errors),)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["data"] = {"errors": [e.to_dict() for e in self.errors]}
        return out


# Keys whose values may identify a person; they never reach str(error), hence never a log line.
_PERSONAL_KEYS = frozenset({"value", "id_number", "name", "phone", "address"})


def _public(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in _PERSONAL_KEYS}


def mask_id_number(id_number: str | None) -> str:
    """5109**********1234: enough to tell records apart in a log, not enough to identify."""
    if not id_number:
        return ""
    s = str(id_number)
    if len(s) <= 8:
        return "*" * len(s)
    return s[:4] + "*" * (len(s) - 8) + s[-4:]
