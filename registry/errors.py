"""API errors: an HTTP status plus a stable code, sent in the one error shape."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, *, field: str | None = None,
                 **data: Any) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message, self.field, self.data = status, code, message, field, data
