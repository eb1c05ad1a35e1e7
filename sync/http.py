"""The one HTTP client between a laptop and the registry.

This is the only module that touches ``requests``: one ``Session``, a (connect, read)
timeout on every call, ``X-Yikatong-Protocol`` on every request, the bearer token.

Two kinds of failure, the two branches of the one error tree (``enrollment.errors``):

``TransportError``  an ``Unavailable``: no answer, a timeout, a 5xx, or anything that is not the
                    registry's JSON (a captive portal's 200 HTML page is *not* an answer).
                    Retryable. Its ``kind`` comes from the exception type and the status:
                    timeout, unreachable, server_error (any 5xx), bad_response.
``ApiError``        a ``Refusal``: the registry's one JSON error shape with a 4xx status and its
                    stable code. Not retried.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import requests

from enrollment.errors import Kind, Refusal, Unavailable

from . import protocol

log = logging.getLogger("yikatong.sync.http")

DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds


class TransportError(Unavailable):
    """No usable answer from the registry; retrying later may help.

    ``code`` is ``network.<kind>``; ``status`` the HTTP status if there was an answer at all;
    ``registry_code`` the code of a 5xx that came in the registry's error shape (``server.internal``).
    """

    def __init__(self, message: str, status: int | None = None, registry_code: str | None = None, *,
                 kind: Kind | str = Kind.UNREACHABLE) -> None:
        super().__init__(kind, message)
        self.status, self.registry_code = status, registry_code


class ApiError(Refusal):
    """The registry refused the request in its JSON error shape (a 4xx)."""

    def __init__(self, status: int, code: str, message: str = "", field: str | None = None,
                 data: dict[str, Any] | None = None) -> None:
        super().__init__(code, field)
        self.args = (f"{status} {code}: {message}",)
        self.status, self.message, self.data = status, message, dict(data or {})

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
            raise TransportError(f"timeout on {method} {path}", kind=Kind.TIMEOUT) from e
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as e:
            raise TransportError(f"broken answer on {method} {path}: {type(e).__name__}",
                                 kind=Kind.BAD_RESPONSE) from e
        except requests.RequestException as e:
            raise TransportError(f"no answer on {method} {path}: {type(e).__name__}",
                                 kind=Kind.UNREACHABLE) from e

    def _error(self, resp: requests.Response, method: str, path: str) -> Exception:
        """Turn a non-2xx response into ApiError (our JSON, 4xx) or TransportError."""
        body = None
        if _is_json(resp):
            try:
                body = resp.json()
            except ValueError:
                body = None
        err = body.get("error") if isinstance(body, dict) else None
        ours = isinstance(err, dict) and isinstance(err.get("code"), str)
        if resp.status_code >= 500:
            # The registry's own 500, or a proxy's 502/503/504 in front of it: the server side failed.
            return TransportError(f"{resp.status_code} {err['code'] if ours else 'server error'} on {method} {path}",
                                  resp.status_code, err["code"] if ours else None, kind=Kind.SERVER_ERROR)
        if ours:
            return ApiError(resp.status_code, err["code"], str(err.get("message") or ""), err.get("field"),
                            err.get("data") if isinstance(err.get("data"), dict) else {})
        return TransportError(f"{resp.status_code} without the registry's error shape on {method} {path}",
                              resp.status_code, kind=Kind.BAD_RESPONSE)

    def request(self, method: str, path: str, *, json: Any = None, data: bytes | None = None,
                params: dict[str, Any] | None = None, timeout: tuple[float, float] | float | None = None
                ) -> dict[str, Any]:
        """One call; returns the registry's JSON object or raises TransportError / ApiError."""
        resp = self._send(method, path, json_body=json, data=data, params=params, timeout=timeout)
        if not 200 <= resp.status_code < 300:
            raise self._error(resp, method, path)
        if not _is_json(resp):
            raise TransportError(f"{resp.status_code} answer that is not JSON on {method} {path} "
                                 "(a captive portal or proxy?)", resp.status_code, kind=Kind.BAD_RESPONSE)
        try:
            body = resp.json()
        except ValueError as e:
            raise TransportError(f"unreadable JSON on {method} {path}", resp.status_code,
                                 kind=Kind.BAD_RESPONSE) from e
        if not isinstance(body, dict):
            raise TransportError(f"JSON that is not an object on {method} {path}", resp.status_code,
                                 kind=Kind.BAD_RESPONSE)
        return body

    def get_bytes(self, path: str, *, params: dict[str, Any] | None = None) -> bytes:
        """GET raw bytes (a blob). Errors as in :meth:`request`."""
        return self.get_file(path, params=params)[0]

    def get_file(self, path: str, *, params: dict[str, Any] | None = None) -> tuple[bytes, Mapping[str, str]]:
        """GET raw bytes with the answer's headers (case-insensitive: a download's name and checksum). Errors as
        in :meth:`request`."""
        resp = self._send("GET", path, params=params)
        if not 200 <= resp.status_code < 300:
            raise self._error(resp, "GET", path)
        if _is_json(resp) or resp.headers.get("Content-Type", "").startswith("text/html"):
            raise TransportError(f"{resp.status_code} answer that is not the blob's bytes on GET {path}",
                                 resp.status_code, kind=Kind.BAD_RESPONSE)
        return resp.content, resp.headers

    def put_chunk(self, sha256: str, offset: int, size: int, chunk: bytes) -> dict[str, Any]:
        """PUT one chunk of a blob at ``offset`` (raw bytes)."""
        return self.request("PUT", protocol.BLOB.format(sha256=sha256), data=chunk,
                            params={"offset": int(offset), "size": int(size)})
