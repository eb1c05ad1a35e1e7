"""The central review client: one method per endpoint of docs/review-api.md §3.

Central and admin operators use it from the desktop's central workspace. It speaks through the
same ``RegistryHttp`` as the field client, so failures are the same typed errors:
``TransportError`` (no usable answer; retry later) and ``ApiError`` (the registry's JSON error
shape with its stable code, e.g. ``review.version_stale``, ``auth.forbidden``).

No Qt here: the desktop calls these methods on a worker thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import protocol
from .http import RegistryHttp

QUEUE_LIMIT_MAX = 500


@dataclass
class QueueFilter:
    """The queue's filters; empty values are not sent (the registry's defaults apply)."""

    states: list[str] = field(default_factory=list)   # empty: needs_review + cleared + received
    kind: str = ""
    village: str = ""
    light: str = ""
    age_min: int | None = None
    age_max: int | None = None
    q: str = ""
    limit: int = 200
    offset: int = 0

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"limit": max(1, min(int(self.limit), QUEUE_LIMIT_MAX)),
                               "offset": max(0, int(self.offset))}
        if self.states:
            out["state"] = list(self.states)   # repeated ?state=…&state=…
        for key in ("kind", "village", "light", "q"):
            value = str(getattr(self, key) or "").strip()
            if value:
                out[key] = value
        if self.age_min is not None:
            out["age_min"] = int(self.age_min)
        if self.age_max is not None:
            out["age_max"] = int(self.age_max)
        return out


class CentralClient:
    """Review calls with the operator's token; ``close()`` ends the HTTP session."""

    def __init__(self, http: RegistryHttp, token: str | None = None) -> None:
        self.http = http
        if token is not None:
            self.http.token = token

    @classmethod
    def connect(cls, registry_url: str, token: str | None) -> CentralClient:
        return cls(RegistryHttp(registry_url), token)

    def close(self) -> None:
        self.http.close()

    # -- the queue and one record
    def queue(self, filters: QueueFilter | Mapping[str, Any] | None = None) -> dict[str, Any]:
        """{"items": [...], "total", "server_time"}."""
        if filters is None:
            filters = QueueFilter()
        params = filters.params() if isinstance(filters, QueueFilter) else dict(filters)
        return self.http.request("GET", protocol.REVIEW_QUEUE, params=params)

    def record(self, record_id: str) -> dict[str, Any]:
        """The full record with findings, related records, history and versions (audited as a view)."""
        return self.http.request("GET", protocol.REVIEW_RECORD.format(record_id=record_id))

    def decide(self, record_id: str, action: str, version: int, reason: str = "",
               password: str | None = None) -> dict[str, Any]:
        """approve / reject / return the version the reviewer saw; {"record": {...}}."""
        body: dict[str, Any] = {"action": action, "version": int(version), "reason": reason or ""}
        if password is not None:
            body["password"] = password
        return self.http.request("POST", protocol.REVIEW_DECISION.format(record_id=record_id), json=body)

    def bulk_approve(self, items: Iterable[Mapping[str, Any]], password: str, reason: str | None = None
                     ) -> dict[str, Any]:
        """{"approved": [record_id...], "skipped": [{record_id, code}]}."""
        body: dict[str, Any] = {
            "items": [{"record_id": str(i["record_id"]), "version": int(i["version"])} for i in items],
            "password": password}
        if reason:
            body["reason"] = reason
        return self.http.request("POST", protocol.REVIEW_BULK_APPROVE, json=body)

    def card_issued(self, record_id: str, version: int) -> dict[str, Any]:
        return self.http.request("POST", protocol.REVIEW_CARD_ISSUED.format(record_id=record_id),
                                 json={"version": int(version)})

    # -- checks, findings, warnings, dashboard
    def run_checks(self) -> dict[str, Any]:
        # A run over many received records may take a while: a longer read timeout than usual.
        return self.http.request("POST", protocol.REVIEW_RUN_CHECKS, json={}, timeout=(5.0, 600.0))

    def findings(self, kind: str | None = None, status: str | None = None) -> dict[str, Any]:
        params = {k: v for k, v in (("kind", kind), ("status", status)) if v}
        return self.http.request("GET", protocol.REVIEW_FINDINGS, params=params)

    def warnings(self, at: str | None = None) -> dict[str, Any]:
        return self.http.request("GET", protocol.REVIEW_WARNINGS, params={"at": at} if at else None)

    def dashboard(self) -> dict[str, Any]:
        return self.http.request("GET", protocol.REVIEW_DASHBOARD)

    # -- bytes
    def blob(self, sha256: str) -> bytes:
        return self.http.get_bytes(protocol.BLOB.format(sha256=sha256))

    def report_pdf(self, at: str | None = None) -> bytes:
        return self.http.get_bytes(protocol.REVIEW_REPORT_PDF, params={"at": at} if at else None)

    def report_csv(self, at: str | None = None) -> bytes:
        return self.http.get_bytes(protocol.REVIEW_REPORT_CSV, params={"at": at} if at else None)
