"""The bank's return file (回盘) applied to the payment lines, and reversals (issue 13, item 4;
docs/payments/batches-and-bank-files.md).

The file is CSV ``reference,status,reason`` (+ optional columns; an ``amount`` column in yuan is compared
with the line), status 成功 or 失败. The same file (by SHA-256, ``result_imports.sha256`` unique) is taken
once: a second import changes nothing and answers the first import's summary with
``already_imported`` (not a failure: what the operator wants — the file applied — holds, and a script
that retries after a lost answer must not stop). A line that cannot be applied becomes a
``result_errors`` row with its code, never a crash; the rest is applied. A credited line's entitlement
is ``paid_out``, a bounced one's ``pay_failed`` (paid again only after the card data is corrected, see
``batches``); a batch with no line left at the bank is ``settled``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, Engine, Integer, MetaData, String, Table, insert, select, update
from sqlalchemy.exc import IntegrityError

import resources
from enrollment import error_codes as codes
from enrollment.errors import DomainError
from enrollment.roster_csv import COLUMNS_MISSING, CsvFileError, RowError, data_rows, open_table
from enrollment.vocabulary import BatchState, EntitlementState, PaymentLineState

from .. import audit
from ..auth import Operator
from ..db import iso
from ..errors import ApiError
from ..review import require_staff
from ..schema import entitlements, payment_batches, payment_lines, result_errors, result_imports
from . import field_notices
from .batches import _chunks
from .money import yuan_to_fen

# Audit actions.
RESULTS_IMPORTED = "payments.results_imported"   # subject: the file's SHA-256
BATCH_SETTLED = "payments.batch_settled"         # subject: the batch id
LINE_REVERSED = "payments.line_reversed"         # subject: the line's reference

# A result line that could not be applied (result_errors.code).
E_REFERENCE_UNKNOWN = "result.reference_unknown"      # no payment line has this reference
E_AMOUNT_MISMATCH = "result.amount_mismatch"          # the file's amount is not the line's
E_AMOUNT_INVALID = "result.amount_invalid"            # the amount column holds no yuan amount
E_DUPLICATE_LINE = "result.duplicate_line"            # the reference appears again in the same file
E_BATCH_NOT_EXPORTED = "result.batch_not_exported"    # the line's batch was never sent to the bank
E_STATUS_INVALID = "result.status_invalid"            # status is neither 成功 nor 失败
E_LINE_SETTLED = "result.line_settled"                # the line already has its result (an earlier file)
E_ROW_LENGTH = "result.row_length"                    # a row with another number of columns than the header

COLUMNS = ("reference", "status", "reason")
CREDITED_WORD, BOUNCED_WORD = "成功", "失败"
REASON_MAX = 200


@dataclass(frozen=True)
class BankReasons:
    """``resources/payments/bank_reasons.json``: the bank's wording → a code and our wording."""

    reasons: tuple[tuple[str, tuple[str, ...], str], ...]   # (code, bank phrases, wording)
    other: tuple[str, str]

    @classmethod
    def load(cls, path: str | Path | None = None) -> BankReasons:
        try:
            text = Path(path).read_text(encoding="utf-8") if path else \
                resources.path("payments", "bank_reasons.json").read_text(encoding="utf-8")
            raw = json.loads(text)
            reasons = tuple((str(r["code"]), tuple(str(p) for p in r["bank"]), str(r["wording"]))
                            for r in raw["reasons"])
            other = (str(raw["other"]["code"]), str(raw["other"]["wording"]))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ApiError(codes.PAYMENTS_BANK_REASONS_INVALID, f"bank reasons unreadable: {e}") from None
        if not all(code and phrases and all(phrases) and wording for code, phrases, wording in reasons) \
                or not all(other) or len({r[0] for r in reasons} | {other[0]}) != len(reasons) + 1:
            raise ApiError(codes.PAYMENTS_BANK_REASONS_INVALID, "each reason needs a unique code, bank phrases "
                           "and a wording; other needs a code and a wording")
        return cls(reasons, other)

    def code_of(self, bank_reason: str) -> str:
        text = bank_reason.strip()
        for code, phrases, _wording in self.reasons:
            if any(p in text for p in phrases):
                return code
        return self.other[0]

    def wording(self, code: str) -> str:
        return next((w for c, _p, w in self.reasons if c == code), self.other[1])


def _summary(row: Any, errors: list[dict[str, Any]], *, already: bool) -> dict[str, Any]:
    return {"import_id": row.id, "sha256": row.sha256, "file": row.file_name, "lines": row.lines,
            "credited": row.credited, "bounced": row.bounced, "errors": row.errors, "error_lines": errors,
            "imported_at": row.imported_at, "already_imported": already,
            **({"notice": codes.PAYMENTS_RESULTS_ALREADY_IMPORTED} if already else {})}


def _earlier(engine: Engine, sha256: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(result_imports).where(result_imports.c.sha256 == sha256)).first()
        if row is None:
            return None
        errors = [{"line": r.line, "reference": r.reference, "code": r.code, "data": json.loads(r.data)}
                  for r in conn.execute(select(result_errors).where(result_errors.c.import_id == row.id)
                                        .order_by(result_errors.c.line, result_errors.c.id))]
    return _summary(row, errors, already=True)


def import_results(engine: Engine, operator: Operator, path: str | Path, *, encoding: str = "utf-8", clock: Any,
                   reasons: BankReasons | None = None) -> dict[str, Any]:
    """Apply a return file once; its summary (the earlier one, ``already_imported``, for the same file)."""
    require_staff(operator)
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ApiError(codes.PAYMENTS_FILE_UNREADABLE, f"cannot read {path}: {e.strerror}") from None
    return import_result_bytes(engine, operator, raw, path.name, encoding=encoding, clock=clock, reasons=reasons)


def import_result_bytes(engine: Engine, operator: Operator, raw: bytes, file_name: str, *, encoding: str = "utf-8",
                        clock: Any, reasons: BankReasons | None = None) -> dict[str, Any]:
    """``import_results`` of a file's bytes (the CLI reads a file, the central API takes the upload)."""
    require_staff(operator)
    file_name = Path(file_name or "").name
    sha256 = hashlib.sha256(raw).hexdigest()
    earlier = _earlier(engine, sha256)
    if earlier is not None:
        return earlier
    reasons = reasons or BankReasons.load()
    reader, header = open_table(raw, encoding)
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise CsvFileError(COLUMNS_MISSING, columns=missing)
    row_errors: list[RowError] = []
    parsed = list(data_rows(reader, header, row_errors))
    now = iso(clock.now())
    try:
        with engine.begin() as conn:
            out = _apply(conn, operator, file_name, sha256, parsed, row_errors, reasons, header, now)
    except IntegrityError:
        # The same file imported at the same moment by another command: its import stands.
        earlier = _earlier(engine, sha256)
        if earlier is None:
            raise
        return earlier
    return out


def _apply(conn: Connection, operator: Operator, file_name: str, sha256: str, parsed: list[tuple[int, dict]],
           row_errors: list[RowError], reasons: BankReasons, header: list[str], now: str) -> dict[str, Any]:
    pl, b = payment_lines.c, payment_batches.c
    import_id = conn.execute(insert(result_imports).values(
        sha256=sha256, file_name=file_name[:255], lines=len(parsed) + len(row_errors), credited=0, bounced=0,
        errors=0, imported_at=now, actor=operator.username)).inserted_primary_key[0]
    errors: list[dict[str, Any]] = [{"line": r.line, "reference": "", "code": E_ROW_LENGTH, "data": r.data}
                                    for r in row_errors]
    references = sorted({f.get("reference", "") for _line, f in parsed if f.get("reference")})
    # The lines at the bank of exported batches first, in one query (what a return file is about); the
    # file's other references (unknown, settled, not exported) by the reference's unique index, in chunks.
    line_columns = (pl.id, pl.reference, pl.entitlement_id, pl.amount_fen, pl.state, pl.batch_id)
    exported = select(b.id).where(b.state == BatchState.EXPORTED)
    known: dict[str, Any] = {r.reference: r for r in conn.execute(select(*line_columns).where(
        pl.batch_id.in_(exported), pl.state == PaymentLineState.AT_BANK))}
    for chunk in _chunks([ref for ref in references if ref not in known]):
        for r in conn.execute(select(*line_columns).where(pl.reference.in_(chunk))):
            known[r.reference] = r
    batch_states = dict(conn.execute(select(b.id, b.state).where(b.id.in_({r.batch_id for r in known.values()}))
                                     ).all()) if known else {}
    has_amount = "amount" in header
    first_line: dict[str, int] = {}
    credited: list[Any] = []
    bounced: list[tuple[Any, str, str]] = []   # (line, reason code, bank's words)

    def error(line: int, reference: str, code: str, **data: Any) -> None:
        errors.append({"line": line, "reference": reference[:64], "code": code, "data": data})

    for line, f in parsed:
        ref, status = f.get("reference", ""), f.get("status", "")
        if ref in first_line:
            error(line, ref, E_DUPLICATE_LINE, first_line=first_line[ref])
            continue
        if ref:
            first_line[ref] = line
        target = known.get(ref)
        if target is None:
            error(line, ref, E_REFERENCE_UNKNOWN)
            continue
        if status not in (CREDITED_WORD, BOUNCED_WORD):
            error(line, ref, E_STATUS_INVALID, status=status[:20])
            continue
        if batch_states[target.batch_id] not in (BatchState.EXPORTED, BatchState.SETTLED):
            error(line, ref, E_BATCH_NOT_EXPORTED, batch=target.batch_id, batch_state=batch_states[target.batch_id])
            continue
        if target.state != PaymentLineState.AT_BANK:
            error(line, ref, E_LINE_SETTLED, state=target.state)
            continue
        if has_amount:
            try:
                fen = yuan_to_fen(f.get("amount", ""))
            except DomainError:
                error(line, ref, E_AMOUNT_INVALID, amount=f.get("amount", "")[:32])
                continue
            if fen != target.amount_fen:
                error(line, ref, E_AMOUNT_MISMATCH, file_fen=fen, line_fen=target.amount_fen)
                continue
        if status == CREDITED_WORD:
            credited.append(target)
        else:
            words = f.get("reason", "").strip()
            bounced.append((target, reasons.code_of(words), words[:REASON_MAX]))

    applied = _apply_outcomes(conn, import_id, now, [(t.id, t.entitlement_id, None, None) for t in credited],
                              [(t.id, t.entitlement_id, code, words or None) for t, code, words in bounced])
    if applied != len(credited) + len(bounced):
        raise IntegrityError("payment lines changed during the import", None, Exception("concurrent"))
    if errors:
        conn.execute(insert(result_errors), [
            {"import_id": import_id, "line": x["line"], "reference": x["reference"], "code": x["code"],
             "data": json.dumps(x["data"], ensure_ascii=False, sort_keys=True)} for x in errors])
    errors.sort(key=lambda x: x["line"])
    conn.execute(update(result_imports).where(result_imports.c.id == import_id).values(
        credited=len(credited), bounced=len(bounced), errors=len(errors)))
    touched = sorted({t.batch_id for t in credited} | {t.batch_id for t, _c, _w in bounced})
    settled = _settle(conn, operator, touched, now)
    audit.append(conn, operator.username, RESULTS_IMPORTED, sha256, {
        "import_id": import_id, "lines": len(parsed) + len(row_errors), "credited": len(credited),
        "bounced": len(bounced), "errors": len(errors), "batches": touched, "settled": settled},
        texts={"file_name": file_name})
    row = conn.execute(select(result_imports).where(result_imports.c.id == import_id)).one()
    return _summary(row, errors, already=False)


def _outcomes_table() -> Table:
    """The file's applicable lines, loaded once so that each outcome is ONE set-based UPDATE of the lines and
    one of their entitlements (not a statement per 900 ids and one per bounced line). Temporary:
    dropped at the commit on PostgreSQL, by ``_apply_outcomes`` on SQLite; a rollback drops it on both."""
    return Table("result_outcomes", MetaData(),
                 Column("line_id", Integer, primary_key=True, autoincrement=False),
                 Column("entitlement_id", Integer, nullable=False),
                 Column("outcome", String(16), nullable=False),
                 Column("reason_code", String(32)),
                 Column("bank_reason", String(REASON_MAX)),
                 prefixes=["TEMPORARY"], postgresql_on_commit="DROP")


def _apply_outcomes(conn: Connection, import_id: int, now: str, credited: list[tuple[int, int, None, None]],
                    bounced: list[tuple[int, int, str, str | None]]) -> int:
    """credited / bounced lines (line id, entitlement id, reason code, bank's words) → the lines still at
    the bank take their result, their entitlements ``paid_out`` / ``pay_failed``; the lines changed."""
    if not credited and not bounced:
        return 0
    pl, e = payment_lines.c, entitlements.c
    tmp = _outcomes_table()
    tmp.create(conn)
    rows = [(line_id, ent, PaymentLineState.CREDITED.value, code, words) for line_id, ent, code, words in credited] \
        + [(line_id, ent, PaymentLineState.BOUNCED.value, code, words) for line_id, ent, code, words in bounced]
    if conn.dialect.name == "postgresql":
        with conn.connection.cursor() as cur, cur.copy(
                "COPY result_outcomes (line_id, entitlement_id, outcome, reason_code, bank_reason) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.exec_driver_sql("ANALYZE result_outcomes")
    else:
        conn.exec_driver_sql("INSERT INTO result_outcomes (line_id, entitlement_id, outcome, reason_code, "
                             "bank_reason) VALUES (?, ?, ?, ?, ?)", rows)
    t = tmp.c
    at_bank, applied = PaymentLineState.AT_BANK, 0
    for line_state, entitlement_state in ((PaymentLineState.CREDITED, EntitlementState.PAID_OUT),
                                          (PaymentLineState.BOUNCED, EntitlementState.PAY_FAILED)):
        # By the file's lines (an IN over the temporary table's key): the lines table, which keeps every
        # month's lines, is never scanned.
        values = {} if line_state == PaymentLineState.CREDITED else {
            c: select(t[c]).where(t.line_id == pl.id).scalar_subquery() for c in ("reason_code", "bank_reason")}
        applied += conn.execute(update(payment_lines).where(
            pl.id.in_(select(t.line_id).where(t.outcome == line_state.value)), pl.state == at_bank).values(
            state=line_state, settled_at=now, result_import_id=import_id, **values)).rowcount
        conn.execute(update(entitlements).where(
            e.id.in_(select(t.entitlement_id).where(t.outcome == line_state.value)))
            .values(state=entitlement_state, updated_at=now))
        # The village's laptops hear of every failure, and of the retry that pays it (protocol v6).
        field_notices.bump(conn, select(t.entitlement_id).where(t.outcome == line_state.value),
                           only_noticed=line_state == PaymentLineState.CREDITED)
    if conn.dialect.name != "postgresql":
        tmp.drop(conn)
    return applied


def _settle(conn: Connection, operator: Operator, batch_ids: list[str], now: str) -> list[str]:
    """Exported batches with no line left at the bank → settled."""
    pl, b = payment_lines.c, payment_batches.c
    settled = []
    for batch_id in batch_ids:
        waiting = conn.execute(select(pl.id).where(pl.batch_id == batch_id, pl.state == PaymentLineState.AT_BANK)
                               .limit(1)).first()
        if waiting is None and conn.execute(update(payment_batches).where(
                b.id == batch_id, b.state == BatchState.EXPORTED).values(
                state=BatchState.SETTLED, settled_at=now)).rowcount:
            audit.append(conn, operator.username, BATCH_SETTLED, batch_id, {})
            settled.append(batch_id)
    return settled


def reverse_line(engine: Engine, operator: Operator, reference: str, reason: str, *, clock: Any) -> dict[str, Any]:
    """credited → reversed (the bank took the money back); its entitlement is ready to be paid again."""
    require_staff(operator)
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_MAX:
        raise ApiError(codes.PAYMENTS_REASON_REQUIRED, "a reversal needs its reason (at most 200 characters)",
                       field="reason")
    pl = payment_lines.c
    now = iso(clock.now())
    with engine.begin() as conn:
        query = select(pl.id, pl.reference, pl.state, pl.entitlement_id, pl.batch_id, pl.amount_fen).where(
            pl.reference == reference.strip())
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        line = conn.execute(query).first()
        if line is None:
            raise ApiError(codes.PAYMENTS_LINE_UNKNOWN, f"no payment line {reference}", field="reference")
        if line.state != PaymentLineState.CREDITED:
            raise ApiError(codes.PAYMENTS_LINE_STATE, f"only a credited line is reversed (this one is {line.state})",
                           field="reference", state=line.state)
        conn.execute(update(payment_lines).where(pl.id == line.id).values(state=PaymentLineState.REVERSED))
        conn.execute(update(entitlements).where(entitlements.c.id == line.entitlement_id).values(
            state=EntitlementState.READY, updated_at=now))
        field_notices.bump(conn, [line.entitlement_id])
        audit.append(conn, operator.username, LINE_REVERSED, line.reference,
                     {"batch": line.batch_id, "amount_fen": line.amount_fen}, texts={"reason": reason})
    return {"reference": line.reference, "state": str(PaymentLineState.REVERSED), "batch": line.batch_id,
            "amount_fen": line.amount_fen, "entitlement_state": str(EntitlementState.READY)}
