"""The one interface every SMS gateway adapter implements, and the recording gateway tests and the demo
use behind it (an SMS gateway cannot exist here).

An adapter's ``send`` makes one attempt: it returns ``Sent`` with the gateway's message id, or raises
``SmsFailed`` saying whether trying again later may work (a timeout, a 5xx: ``retry=True``) or not (a
refused number, a template the gateway does not know: ``retry=False``). Phone numbers never go into a
log line or an exception's text."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class SmsMessage:
    phone: str
    template: str                 # the template code the gateway knows (resources, per item)
    params: dict[str, str]        # the template's variables, all strings
    text: str                     # the whole message as the resident reads it (for the record and the stub)
    # The outbox row's id: passed to the gateway where its API takes one (Aliyun OutId, Tencent
    # SessionContext, the generic HTTP gateway's "id" and Idempotency-Key), so a resend after a lost
    # answer can be matched, or deduplicated by a gateway that does so.
    out_id: str = ""


@dataclass(frozen=True)
class Sent:
    gateway: str
    message_id: str


class SmsFailed(Exception):
    def __init__(self, code: str, retry: bool, detail: str = "") -> None:
        super().__init__(f"{code}{': ' + detail if detail else ''}")
        self.code, self.retry, self.detail = code, retry, detail


class SmsGateway(Protocol):
    name: str
    # The longest one ``send`` can take (its timeouts): the outbox's claim on a row outlasts it.
    max_send_seconds: float
    # How many sends may be in flight at once (threads); 1 for a client not known to be thread-safe.
    max_concurrency: int

    def send(self, message: SmsMessage) -> Sent: ...


@dataclass
class RecordingGateway:
    """Keeps every message it is given (the demo's and the tests' gateway; nothing leaves the machine)."""

    name: str = "recording"
    sent: list[SmsMessage] = field(default_factory=list)
    max_send_seconds: float = 1.0
    max_concurrency: int = 8
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def send(self, message: SmsMessage) -> Sent:
        with self._lock:
            self.sent.append(message)
            # The outbox id, when there is one: a count would repeat in every new process.
            return Sent(self.name, f"rec-{message.out_id or len(self.sent)}")
