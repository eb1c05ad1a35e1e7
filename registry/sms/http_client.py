"""The SMS gateways' one HTTP client: a ``requests.Session`` (kept-alive connections) with a
(connect, read) timeout on every call, whose failures are ``SmsFailed`` codes.

Not ``sync.http``: that is the laptop's client of the registry (it sends the protocol version header
and a bearer token and reads the registry's own error shape); a gateway speaks neither. The import
contracts would allow it; its meaning would not.
"""

from __future__ import annotations

from typing import Any

import requests
import requests.adapters

from enrollment import error_codes

from .gateway import SmsFailed

DEFAULT_TIMEOUT = (3.0, 10.0)  # (connect, read) seconds


class GatewayHttp:
    def __init__(self, *, timeout: tuple[float, float] = DEFAULT_TIMEOUT,
                 session: requests.Session | None = None, pool_size: int = 16) -> None:
        self.timeout = timeout
        self.session = session or requests.Session()
        # One kept-alive connection per sender thread (registry.sms.outbox sends several at once).
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    @property
    def max_seconds(self) -> float:
        return float(sum(self.timeout))

    def post_json(self, url: str, body: Any, headers: dict[str, str]) -> requests.Response:
        """One POST; no answer in time is ``sms.timeout``, no connection ``sms.unreachable`` (both retried).
        The URL, the body and the headers (a token, a phone) never go into the failure's text."""
        try:
            return self.session.post(url, json=body, headers=headers, timeout=self.timeout, allow_redirects=False)
        except requests.Timeout:
            raise SmsFailed(error_codes.SMS_TIMEOUT, True) from None
        except requests.RequestException as e:
            raise SmsFailed(error_codes.SMS_UNREACHABLE, True, type(e).__name__) from None

    def close(self) -> None:
        self.session.close()
