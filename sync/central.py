"""The central review and payments client: one method per endpoint of docs/review-api.md §3 and of
docs/payments/central-api.md.

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


@dataclass(frozen=True)
class BankDownload:
    """A batch's bank file as downloaded: its bytes, the name the registry gives it and its SHA-256."""

    data: bytes
    file_name: str
    sha256: str


def _attachment_name(disposition: str) -> str:
    for part in disposition.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "filename":
            return value.strip().strip('"')
    return ""


def _page(limit: int, offset: int) -> dict[str, int]:
    return {"limit": max(1, min(int(limit), protocol.PAYMENT_LIST_LIMIT_MAX)), "offset": max(0, int(offset))}


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

    # -- payments (docs/payments/central-api.md)
    def payment_items(self) -> dict[str, Any]:
        """{"items": [{code, name, department, standard_fen}]}."""
        return self.http.request("GET", protocol.PAYMENT_ITEMS)

    def import_entitlements(self, data: bytes, department: str, file_name: str, encoding: str = "utf-8"
                            ) -> dict[str, Any]:
        """A department's roster CSV; the import's summary (``already_imported`` for the same file again)."""
        return self.http.request("POST", protocol.PAYMENT_ENTITLEMENT_IMPORTS, data=bytes(data),
                                 params={"department": department, "file_name": file_name, "encoding": encoding},
                                 timeout=(5.0, 600.0))

    def entitlement_imports(self, limit: int = 100, offset: int = 0) -> dict[str, Any]:
        return self.http.request("GET", protocol.PAYMENT_ENTITLEMENT_IMPORTS, params=_page(limit, offset))

    def interceptions(self, status: str = "open", department: str = "", item: str = "", period: str = "",
                      limit: int = 200, offset: int = 0) -> dict[str, Any]:
        """{"items": [...], "total"}, oldest first; empty filters are not sent."""
        params: dict[str, Any] = {"status": status, **_page(limit, offset)}
        for key, value in (("department", department), ("item", item), ("period", period)):
            if str(value or "").strip():
                params[key] = str(value).strip()
        return self.http.request("GET", protocol.PAYMENT_INTERCEPTIONS, params=params)

    def entitlement(self, entitlement_id: int) -> dict[str, Any]:
        """One roster line in full, the full ID number included (the registry audits the read)."""
        return self.http.request("GET", protocol.PAYMENT_ENTITLEMENT.format(entitlement_id=int(entitlement_id)))

    def decide_entitlement(self, entitlement_id: int, action: str, reason: str, password: str) -> dict[str, Any]:
        """release / reject an intercepted line; {entitlement_id, state, decided_by, decided_at, findings_resolved}."""
        return self.http.request("POST", protocol.PAYMENT_DECISION.format(entitlement_id=int(entitlement_id)),
                                 json={"action": action, "reason": reason, "password": password})

    def ready_groups(self) -> dict[str, Any]:
        return self.http.request("GET", protocol.PAYMENT_READY)

    def build_batch(self, item: str, period: str, township: str = "") -> dict[str, Any]:
        body: dict[str, Any] = {"item": item, "period": period}
        if township:
            body["township"] = township
        return self.http.request("POST", protocol.PAYMENT_BATCHES, json=body, timeout=(5.0, 600.0))

    def batches(self, state: str = "", limit: int = 100, offset: int = 0) -> dict[str, Any]:
        params: dict[str, Any] = _page(limit, offset)
        if state:
            params["state"] = state
        return self.http.request("GET", protocol.PAYMENT_BATCHES, params=params)

    def batch(self, batch_id: str) -> dict[str, Any]:
        return self.http.request("GET", protocol.PAYMENT_BATCH.format(batch_id=batch_id))

    def approve_batch(self, batch_id: str, password: str) -> dict[str, Any]:
        return self.http.request("POST", protocol.PAYMENT_BATCH_APPROVE.format(batch_id=batch_id),
                                 json={"password": password})

    def bank_download(self, batch_id: str, encoding: str = "utf-8") -> BankDownload:
        """The bank file with its name and SHA-256 (the first download exports the batch)."""
        data, headers = self.http.get_file(protocol.PAYMENT_BANK_FILE.format(batch_id=batch_id),
                                           params={"encoding": encoding})
        return BankDownload(data, _attachment_name(headers.get("Content-Disposition", "")),
                            headers.get(protocol.PAYMENT_CONTENT_SHA256_HEADER, ""))

    def bank_file(self, batch_id: str, encoding: str = "utf-8") -> bytes:
        return self.bank_download(batch_id, encoding).data

    def import_results(self, data: bytes, file_name: str, encoding: str = "utf-8") -> dict[str, Any]:
        """The bank's result CSV; the summary (``already_imported`` for the same file again)."""
        return self.http.request("POST", protocol.PAYMENT_RESULT_IMPORTS, data=bytes(data),
                                 params={"file_name": file_name, "encoding": encoding}, timeout=(5.0, 600.0))

    def result_imports(self, limit: int = 100, offset: int = 0) -> dict[str, Any]:
        return self.http.request("GET", protocol.PAYMENT_RESULT_IMPORTS, params=_page(limit, offset))

    def result_errors(self, import_id: int) -> dict[str, Any]:
        return self.http.request("GET", protocol.PAYMENT_RESULT_ERRORS.format(import_id=int(import_id)))

    def payment_status(self) -> dict[str, Any]:
        return self.http.request("GET", protocol.PAYMENT_STATUS)

    def payment_dashboard(self) -> dict[str, Any]:
        return self.http.request("GET", protocol.PAYMENT_DASHBOARD)
