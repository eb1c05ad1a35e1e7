"""The payments routes' part of the API description (``registry.openapi`` merges it): each operation's error
statuses, the bank file as a file, and the JSON answers' schemas (docs/payments/central-api.md). Extra keys are
allowed in every answer, as in the rest of the description."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from enrollment.vocabulary import BatchState, EntitlementState, PaymentFindingKind, PaymentLineState
from sync import protocol

_TOKEN = (401, 403, 413, 426)
_JSON_BODY = (400, 422)

ERRORS: dict[tuple[str, str], tuple[int, ...]] = {
    ("get", protocol.PAYMENT_ITEMS): _TOKEN,
    ("post", protocol.PAYMENT_ENTITLEMENT_IMPORTS): (*_TOKEN, 422),
    ("get", protocol.PAYMENT_ENTITLEMENT_IMPORTS): (*_TOKEN, 422),
    ("get", protocol.PAYMENT_INTERCEPTIONS): (*_TOKEN, 422),
    ("get", protocol.PAYMENT_ENTITLEMENT): (*_TOKEN, 404, 422),
    ("post", protocol.PAYMENT_DECISION): (*_TOKEN, *_JSON_BODY, 404, 409, 429),
    ("get", protocol.PAYMENT_READY): _TOKEN,
    ("post", protocol.PAYMENT_BATCHES): (*_TOKEN, *_JSON_BODY, 409),
    ("get", protocol.PAYMENT_BATCHES): (*_TOKEN, 422),
    ("get", protocol.PAYMENT_BATCH): (*_TOKEN, 404, 422),
    ("post", protocol.PAYMENT_BATCH_APPROVE): (*_TOKEN, *_JSON_BODY, 404, 409, 429),
    ("get", protocol.PAYMENT_BANK_FILE): (*_TOKEN, 404, 409, 422),
    ("post", protocol.PAYMENT_RESULT_IMPORTS): (*_TOKEN, 422),
    ("get", protocol.PAYMENT_RESULT_IMPORTS): (*_TOKEN, 422),
    ("get", protocol.PAYMENT_RESULT_ERRORS): (*_TOKEN, 404, 422),
    ("get", protocol.PAYMENT_STATUS): _TOKEN,
    ("get", protocol.PAYMENT_DASHBOARD): _TOKEN,
}

FILES: dict[tuple[str, str], tuple[str, dict[str, Any], dict[str, Any]]] = {
    ("get", protocol.PAYMENT_BANK_FILE): ("text/csv", {"type": "string"}, {
        "Content-Disposition": {"description": "attachment; filename=\"batch-<item>-<period>-<id8>.csv\"",
                                "schema": {"type": "string"}},
        protocol.PAYMENT_CONTENT_SHA256_HEADER: {"description": "The file's SHA-256 (the one in the audit chain)",
                                                 "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}}),
}


class CountFen(BaseModel):
    count: int
    fen: int


class PaymentItem(BaseModel):
    code: str
    name: str
    department: str
    standard_fen: int | None
    standard_unit: str | None


class PaymentItemsAnswer(BaseModel):
    items: list[PaymentItem]


class RosterImportAnswer(BaseModel):
    """``registry.payments.entitlements.EntitlementImport`` (the same file again: ``already_imported``)."""

    import_id: int | None
    department: str
    file: str
    sha256: str
    rows: int
    ready: int
    intercepted: int
    refused: int
    already_imported: bool
    refused_lines: list[dict[str, Any]] = Field(description="{line, code, field, data} per problem")
    intercepted_lines: list[dict[str, Any]] = Field(description="{line, entitlement_id, kinds}")
    checks: dict[str, Any]


class RosterImportView(BaseModel):
    id: int
    department: str
    file_name: str
    sha256: str
    rows: int
    ready: int
    intercepted: int
    refused: int
    imported_at: str
    actor: str


class RosterImportsAnswer(BaseModel):
    imports: list[RosterImportView]
    total: int


class FindingBrief(BaseModel):
    kind: PaymentFindingKind
    rule: str
    subject: str
    summary: str


class _LineFields(BaseModel):
    entitlement_id: int
    department: str
    item: str
    item_name: str
    period: str
    amount_fen: int
    name: str
    id_number_masked: str
    village_code: str
    state: EntitlementState
    created_at: str
    decided_by: str | None
    decided_at: str | None


class InterceptionItem(_LineFields):
    findings: list[FindingBrief]


class InterceptionsAnswer(BaseModel):
    items: list[InterceptionItem]
    total: int


class PaymentFindingView(FindingBrief):
    id: int
    severity: str
    status: str
    evidence: Any
    created_at: str
    resolved_at: str | None
    resolved_by: str | None


class LineCard(BaseModel):
    card_id: int
    card_number_masked: str
    bank_account_masked: str
    bank: str
    status: str
    status_date: str
    holder: str


class LinePayment(BaseModel):
    reference: str
    batch_id: str
    amount_fen: int
    state: PaymentLineState
    card_number_masked: str
    bank_reason_code: str | None
    bank_reason: str | None
    bank_words: str | None
    created_at: str
    settled_at: str | None


class LineHistoryEntry(BaseModel):
    at: str
    actor: str
    action: str
    reason: str | None
    data: Any


class EntitlementDetailAnswer(_LineFields):
    id_number: str
    line: int
    import_id: int
    updated_at: str
    refusal: dict[str, Any] | None
    card: LineCard | None
    findings: list[PaymentFindingView]
    payments: list[LinePayment]
    history: list[LineHistoryEntry]


class EntitlementDecisionAnswer(BaseModel):
    entitlement_id: int
    state: EntitlementState
    decided_by: str
    decided_at: str
    findings_resolved: list[str]


class ReadyTownship(BaseModel):
    township: str
    lines: int
    total_fen: int
    retries: int
    awaiting_card_fix: int


class ReadyGroup(ReadyTownship):
    item: str
    item_name: str
    period: str
    townships: list[ReadyTownship]


class ReadyAnswer(BaseModel):
    groups: list[ReadyGroup]


class SkippedLine(BaseModel):
    entitlement_id: int
    code: str


class BuiltBatchAnswer(BaseModel):
    id: str
    lines: int
    total_fen: int
    skipped: list[SkippedLine]
    skipped_by_code: dict[str, int]


class BatchView(BaseModel):
    id: str
    item: str
    period: str
    township: str
    state: BatchState
    lines: int
    total_fen: int
    created_by: str
    created_at: str
    authorised_by: str | None
    authorised_at: str | None
    export_sha256: str | None
    exported_at: str | None
    settled_at: str | None


class BatchListItem(BatchView):
    item_name: str
    paid: CountFen
    failed: CountFen
    pending: CountFen


class BatchesAnswer(BaseModel):
    batches: list[BatchListItem]
    total: int


class _StatusFields(BaseModel):
    issued: CountFen
    paid: CountFen
    failed: CountFen = Field(description="bounced or reversed")
    reversed: CountFen
    pending: CountFen
    intercepted: CountFen
    balanced: bool = Field(description="issued = paid + failed + pending, in count and in fen")


class PaymentStatusAnswer(_StatusFields):
    batches: dict[str, int]


class BatchLine(BaseModel):
    reference: str
    entitlement_id: int
    name: str = Field(description="masked (漆*学)")
    id_number_masked: str
    card_masked: str
    amount_fen: int
    state: PaymentLineState
    bank_reason_code: str | None
    bank_reason: str | None = Field(description="the wording of resources/payments/bank_reasons.json")
    updated_at: str


class BatchDetailAnswer(_StatusFields):
    batch: BatchView
    item_name: str
    lines: list[BatchLine]
    lines_total: int


class ResultError(BaseModel):
    line: int
    reference: str
    code: str
    data: dict[str, Any]


class ResultImportAnswer(BaseModel):
    import_id: int
    sha256: str
    file: str
    lines: int
    credited: int
    bounced: int
    errors: int
    error_lines: list[ResultError]
    imported_at: str
    already_imported: bool
    balanced: bool
    notice: str | None = Field(default=None, description="payments.results_already_imported, for the same file again")


class ResultImportView(BaseModel):
    id: int
    file_name: str
    sha256: str
    lines: int
    paid: int
    failed: int
    errors: int
    imported_at: str
    actor: str


class ResultImportsAnswer(BaseModel):
    imports: list[ResultImportView]
    total: int


class ResultErrorsAnswer(BaseModel):
    import_id: int
    errors: list[ResultError]


class DashboardTotals(BaseModel):
    paid: CountFen
    failed: CountFen
    pending: CountFen
    intercepted: CountFen
    success_rate: str | None = Field(description="paid / (paid + failed) in lines, 4 decimals; null before any result")


class ItemFigures(BaseModel):
    item: str
    item_name: str
    paid_count: int
    paid_fen: int
    failed_count: int
    failed_fen: int


class DepartmentFigures(BaseModel):
    department: str
    paid_count: int
    paid_fen: int
    failed_count: int
    failed_fen: int
    intercepted_count: int


class RuleFigures(BaseModel):
    rule: str = Field(description="a dataset rule's id or a PaymentFindingKind")
    kind: str
    department: str
    compared: int
    intercepted: int


class PaymentDashboardAnswer(BaseModel):
    totals: DashboardTotals
    balanced: bool
    by_item: list[ItemFigures]
    by_department: list[DepartmentFigures]
    rules: list[RuleFigures]
    server_time: str


ANSWERS: dict[tuple[str, str], type[BaseModel]] = {
    ("get", protocol.PAYMENT_ITEMS): PaymentItemsAnswer,
    ("post", protocol.PAYMENT_ENTITLEMENT_IMPORTS): RosterImportAnswer,
    ("get", protocol.PAYMENT_ENTITLEMENT_IMPORTS): RosterImportsAnswer,
    ("get", protocol.PAYMENT_INTERCEPTIONS): InterceptionsAnswer,
    ("get", protocol.PAYMENT_ENTITLEMENT): EntitlementDetailAnswer,
    ("post", protocol.PAYMENT_DECISION): EntitlementDecisionAnswer,
    ("get", protocol.PAYMENT_READY): ReadyAnswer,
    ("post", protocol.PAYMENT_BATCHES): BuiltBatchAnswer,
    ("get", protocol.PAYMENT_BATCHES): BatchesAnswer,
    ("get", protocol.PAYMENT_BATCH): BatchDetailAnswer,
    ("post", protocol.PAYMENT_BATCH_APPROVE): BatchView,
    ("post", protocol.PAYMENT_RESULT_IMPORTS): ResultImportAnswer,
    ("get", protocol.PAYMENT_RESULT_IMPORTS): ResultImportsAnswer,
    ("get", protocol.PAYMENT_RESULT_ERRORS): ResultErrorsAnswer,
    ("get", protocol.PAYMENT_STATUS): PaymentStatusAnswer,
    ("get", protocol.PAYMENT_DASHBOARD): PaymentDashboardAnswer,
}
