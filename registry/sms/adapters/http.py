"""A generic HTTP SMS gateway: one POST of JSON per message to a configured URL, with a bearer token.

Request: ``{"id", "phone", "template", "params", "text"}`` (``id``: the outbox row, also sent as the
``Idempotency-Key`` header so a gateway that deduplicates can). Answer: any 2xx means accepted; its
JSON ``message_id`` (if any) is what delivery reports name, else the outbox id is. 429 and 5xx are tried
again later, any other status is this message refused (docs/payments/sms.md).
"""

from __future__ import annotations

from enrollment import error_codes

from ..gateway import Sent, SmsFailed, SmsMessage
from ..http_client import DEFAULT_TIMEOUT, GatewayHttp


class HttpGateway:
    name = "http"
    max_concurrency = 8   # requests' connection pool is shared safely between threads

    def __init__(self, url: str, token: str = "", *, timeout: tuple[float, float] = DEFAULT_TIMEOUT,
                 client: GatewayHttp | None = None) -> None:
        self.url, self._token = url, token
        self.client = client or GatewayHttp(timeout=timeout)
        self.max_send_seconds = self.client.max_seconds

    def __repr__(self) -> str:  # never the token
        return f"HttpGateway({self.url!r})"

    def send(self, message: SmsMessage) -> Sent:
        headers = {"Idempotency-Key": message.out_id}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        body = {"id": message.out_id, "phone": message.phone, "template": message.template,
                "params": message.params, "text": message.text}
        resp = self.client.post_json(self.url, body, headers)
        if 200 <= resp.status_code < 300:
            try:
                answer = resp.json()
            except ValueError:
                answer = None
            message_id = answer.get("message_id") if isinstance(answer, dict) else None
            return Sent(self.name, str(message_id or message.out_id))
        if resp.status_code == 429:
            raise SmsFailed(error_codes.SMS_RATE_LIMITED, True)
        if resp.status_code >= 500:
            raise SmsFailed(error_codes.SMS_GATEWAY_ERROR, True, str(resp.status_code))
        if resp.status_code in (401, 403):
            raise SmsFailed(error_codes.SMS_GATEWAY_AUTH, True, str(resp.status_code))
        raise SmsFailed(error_codes.SMS_REFUSED, False, str(resp.status_code))
