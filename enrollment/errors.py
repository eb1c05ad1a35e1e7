"""Typed errors with stable codes.

The domain never words an error for a person: it raises a code plus data, and
``desktop/errors.py`` turns codes into Chinese text, while the registry API sends the
code in its one JSON error shape. Codes are part of the protocol: never rename one.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal with a stable machine code, the field it concerns, and data for wording."""

    def __init__(self, code: str, field: str | None = None, **data: Any) -> None:
        self.code = code
        self.field = field
        self.data = data
        detail = ", ".join(f"{k}={v!r}" for k, v in data.items() if k not in _PERSONAL_KEYS)
        super().__init__(f"{code}" + (f" [{field}]" if field else "") + (f" ({detail})" if detail else ""))

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "field": self.field, "data": _public(self.data)}


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
