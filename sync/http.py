"""The one HTTP client between a laptop and the registry.

This is the only module that touches ``requests``: one ``Session``, a (connect, read)
timeout on every call, ``X-Yikatong-Protocol`` on every request, the bearer token.

Two kinds of failure:

``TransportError``  no answer, a timeout, a 5xx, or anything that is not the registry's JSON
                    (a captive portal's 200 HTML page is *not* an answer). Retryable.
``ApiError``        the registry's one JSON error shape, with its stable code. Not retried.
"""

from __future__ import annotations

import logging
from typing import Any

import requests

from . import protocol

log = logging.getLogger("yikatong.sync.http")

DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds


class TransportError(Exception):
    """No usable answer from the registry; retrying later may help."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message, self.status, self.code = message, status, code


class ApiError(Exception):
    """The registry answered with its JSON error shape."""

    def __init__(self, status: int, code: str, message: str = "", field: str | None = None,
                 data: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.field, self.data = status, code, message, field, data or {}

    def to_error(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "field": self.field, "data": self.data}


def _is_json(resp: requests.Response) -> bool:
    ctype = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
    return ctype == "application/json" or ctype.endswith("+json")


class RegistryHttp:
    def __init__(self, base_url: str, token: str | None = None, *,
                 timeout: tuple[float, float] = DEFAULT_TIMEOUT, session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers[protocol.VERSION_HEADER] = str(protocol.PROTOCOL_VERSION)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> RegistryHttp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, method: str, path: str, *, json_body: Any = None, data: bytes | None = None,
              params: dict[str, Any] | None = None, timeout: tuple[float, float] | float | None = None
              ) -> requests.Response:
        headers = {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if data is not None:
            headers["Content-Type"] = "application/octet-stream"
        try:
            return self.session.request(method, self.base_url + path, json=json_body, data=data, params=params,
                                        headers=headers, timeout=timeout or self.timeout, allow_redirects=False)
        except requests.Timeout as e:
            raise TransportError(f"timeout on {method} {path}") from e
        except requests.RequestException as e:
            raise TransportError(f"no answer on {method} {path}: {type(e).__name__}") from e

    def _error(self, resp: requests.Response, method: str, path: str) -> Exception:
        """Turn a non-2xx response into ApiError (our JSON, 4xx) or TransportError."""
        body = None
        if _is_json(resp):
            try:
                body = resp.json()
            except ValueError:
                body = None
        err = body.get("error") if isinstance(body, dict) else None
        if isinstance(err, dict) and isinstance(err.get("code"), str):
            if resp.status_code >= 500:
                return TransportError(f"{resp.status_code} {err['code']} on {method} {path}",
                                      resp.status_code, err["code"])
            return ApiError(resp.status_code, err["code"], str(err.get("message") or ""), err.get("field"),
                            err.get("data") if isinstance(err.get("data"), dict) else {})
        return TransportError(f"{resp.status_code} without the registry's error shape on {method} {path}",
                              resp.status_code)

    def request(self, method: str, path: str, *, json: Any = None, data: bytes | None = None,
                params: dict[str, Any] | None = None, timeout: tuple[float, float] | float | None = None
                ) -> dict[str, Any]:
        """One call; returns the registry's JSON object or raises TransportError / ApiError."""
        resp = self._send(method, path, json_body=json, data=data, params=params, timeout=timeout)
        if not 200 <= resp.status_code < 300:
            raise self._error(resp, method, path)
        if not _is_json(resp):
            raise TransportError(f"{resp.status_code} answer that is not JSON on {method} {path} "
                                 "(a captive portal or proxy?)", resp.status_code)
        try:
            body = resp.json()
        except ValueError as e:
            raise TransportError(f"unreadable JSON on {method} {path}", resp.status_code) from e
        if not isinstance(body, dict):
            raise TransportError(f"JSON that is not an object on {method} {path}", resp.status_code)
        return body

    def get_bytes(self, path: str, *, params: dict[str, Any] | None = None) -> bytes:
        """GET raw bytes (a blob). Errors as in :meth:`request`."""
        resp = self._send("GET", path, params=params)
        if not 200 <= resp.status_code < 300:
            raise self._error(resp, "GET", path)
        if _is_json(resp) or resp.headers.get("Content-Type", "").startswith("text/html"):
            raise TransportError(f"{resp.status_code} answer that is not the blob's bytes on GET {path}",
                                 resp.status_code)
        return resp.content

    def put_chunk(self, sha256: str, offset: int, size: int, chunk: bytes) -> dict[str, Any]:
        """PUT one chunk of a blob at ``offset`` (raw bytes)."""
        return self.request("PUT", protocol.BLOB.format(sha256=sha256), data=chunk,
                            params={"offset": int(offset), "size": int(size)})
