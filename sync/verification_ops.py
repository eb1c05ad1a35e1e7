"""The laptop's and the central workspace's calls for remote verification (docs/verification-api.md):
create a request for a resident (its link, QR code and SMS text come back once), list requests, read one
with its attempts' decisions, and fetch a kept evidence frame.
No Qt: the desktop calls these on a worker thread. Errors are ``sync.http``'s typed ones
(``verify.resident_unknown``, ``auth.*``, ``TransportError``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import protocol
from .http import RegistryHttp


@dataclass(frozen=True)
class CreatedVerification:
    request: dict[str, Any]   # the request as GET /api/verifications lists it
    link: str
    token: str                # shown once: only its hash is kept by the registry
    expires_at: str
    qr_svg: str
    sms_text: str

    @classmethod
    def from_wire(cls, body: dict[str, Any]) -> CreatedVerification:
        return cls(request=dict(body["request"]), link=str(body["link"]), token=str(body["token"]),
                   expires_at=str(body["expires_at"]), qr_svg=str(body["qr_svg"]), sms_text=str(body["sms_text"]))


def create_verification(http: RegistryHttp, id_number: str, city: str | None = None) -> CreatedVerification:
    body: dict[str, Any] = {"id_number": id_number}
    if city:
        body["city"] = city
    return CreatedVerification.from_wire(http.request("POST", protocol.VERIFICATIONS, json=body))


def list_verifications(http: RegistryHttp, state: str | None = None) -> list[dict[str, Any]]:
    params = {"state": state} if state else None
    return list(http.request("GET", protocol.VERIFICATIONS, params=params).get("verifications") or [])


def verification_detail(http: RegistryHttp, request_id: str) -> dict[str, Any]:
    """``{"request", "attempts": [{attempt, number, state, started_at, finished_at, steps, decision,
    evidence_kept}]}``: one request with every attempt's stored decision (no images)."""
    return http.request("GET", protocol.VERIFICATION.format(request=request_id))


def evidence_frame(http: RegistryHttp, attempt: str, seq: int) -> bytes:
    """A kept evidence frame's JPEG (central staff; the registry audits each read)."""
    return http.get_bytes(protocol.VERIFICATION_EVIDENCE.format(attempt=attempt, seq=int(seq)))
