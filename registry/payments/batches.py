"""Batches of ready payment lines, their approval by a second person, and the bank's 代发 file (issue 13,
item 3; docs/payments/batches-and-bank-files.md).

A batch gathers the ``ready`` entitlements of one item and period (optionally one township: the first 9
digits of the village code) into one ``payment_lines`` row each (``at_bank``), and the entitlements go
``in_batch``. The database's partial unique indexes (migration 0014) make a second open or credited line
for one entitlement, or for one person, item and period, impossible; a build that runs into them is
refused whole (``payments.line_conflict``) and changes nothing. On PostgreSQL the candidate rows are
locked (``FOR UPDATE``), so a concurrent build waits and then sees them ``in_batch``; SQLite serialises
writers (``BEGIN IMMEDIATE``).

A failed (``pay_failed``) entitlement goes into a later batch only when its person's card data was
corrected after the bank bounced it: an active card of the same name that is a different card, or the
same card row updated (``cards.updated_at``) after the bounced line settled. Until then it waits
(``payments.awaiting_card_fix`` in the build's skipped list).

The bank file is the one place a whole card number is written: built from the lines sorted by reference,
no timestamp, so rebuilding gives the same bytes; its SHA-256 is stored on the batch at the first export and
appended to the audit chain, and a later export that would give other bytes is refused.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import re
import secrets
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

import resources
from enrollment import error_codes as codes
from enrollment.records import SUBSIDIES_UNKNOWN, subsidy_codes
from enrollment.vocabulary import BatchState, CardStatus, EntitlementState, PaymentLineState

from .. import audit
from ..auth import Operator
from ..db import iso
from ..errors import ApiError
from ..review import require_staff
from ..schema import cards, entitlements, payment_batches, payment_lines
from . import field_notices
from .money import fen_to_yuan

# Audit actions (subject: the batch id).
BATCH_BUILT = "payments.batch_built"
BATCH_AUTHORISED = "payments.batch_authorised"
APPROVAL_REFUSED = "payments.approval_refused"
BATCH_EXPORTED = "payments.batch_exported"
BATCH_REEXPORTED = "payments.batch_reexported"

ENCODINGS = ("utf-8", "gbk")
_PERIOD = re.compile(r"^(19|20)[0-9]{2}(0[1-9]|1[0-2])$")
_TOWNSHIP = re.compile(r"^[0-9]{9}$")
OPEN_LINE_STATES = (PaymentLineState.AT_BANK, PaymentLineState.CREDITED)
_CHUNK = 900  # ids per IN (...): under SQLite's oldest variable limit


def pay_key(id_number: str, item: str, period: str) -> str:
    """One person, item and period: the key the database allows one open or credited line for."""
    return f"{id_number}|{item}|{period}"


def new_reference() -> str:
    """``YK`` + 16 base32 characters (80 random bits): only A-Z and 2-7, safe in any bank's file; the
    unique index on ``reference`` is the backstop against the (2^-80-ish) collision."""
    return "YK" + base64.b32encode(secrets.token_bytes(10)).decode("ascii")


def validate_selection(item: str, period: str, township: str | None) -> tuple[str, str, str]:
    item, period, township = (item or "").strip(), (period or "").strip(), (township or "").strip()
    if item not in subsidy_codes():
        raise ApiError(SUBSIDIES_UNKNOWN, f"unknown subsidy item {item!r}", field="item", item=item)
    if not _PERIOD.match(period):
        raise ApiError(codes.PAYMENTS_PERIOD_INVALID, "the period is YYYYMM, e.g. 202612", field="period")
    if township and not _TOWNSHIP.match(township):
        raise ApiError(codes.PAYMENTS_TOWNSHIP_INVALID, "a township is the 9 digits a village code starts with",
                       field="township")
    return item, period, township


@dataclass(frozen=True)
class BuiltBatch:
    id: str
    lines: int
    total_fen: int
    skipped: list[dict[str, Any]] = field(default_factory=list)   # [{entitlement_id, code}]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "lines": self.lines, "total_fen": self.total_fen,
                "skipped": self.skipped, "skipped_by_code": dict(Counter(s["code"] for s in self.skipped))}


def _chunks(values: list[Any], size: int = _CHUNK) -> list[list[Any]]:
    return [values[i:i + size] for i in range(0, len(values), size)]


def _pick_card(ent: Any, person_cards: list[Any], bounce: tuple[str, int] | None) -> tuple[Any, str | None]:
    """The active card of the line's name to pay to, else why not (the line stays as it is)."""
    active = [c for c in person_cards if c.status == CardStatus.ACTIVE]
    if not active:
        return None, codes.PAYMENTS_CARD_NOT_ACTIVE
    named = [c for c in active if c.name.strip() == ent.name.strip()]
    if not named:
        return None, codes.PAYMENTS_CARD_NAME_MISMATCH
    if bounce is not None:
        settled_at, bounced_card = bounce
        named = [c for c in named if c.id != bounced_card or c.updated_at > settled_at]
        if not named:
            return None, codes.PAYMENTS_AWAITING_CARD_FIX
    same = [c for c in named if c.id == ent.card_id]
    return (same[0] if same else max(named, key=lambda c: (c.updated_at, c.id))), None


def build_batch(engine: Engine, operator: Operator, item: str, period: str, township: str | None = None, *,
                clock: Any) -> BuiltBatch:
    """Gather the selection's ready (and card-corrected failed) entitlements into a new ``built`` batch."""
    require_staff(operator)
    item, period, township = validate_selection(item, period, township)
    now = iso(clock.now())
    e = entitlements.c
    where = [e.item == item, e.period == period, e.state.in_((EntitlementState.READY, EntitlementState.PAY_FAILED))]
    if township:
        where.append(e.village_code.like(township + "%"))
    try:
        with engine.begin() as conn:
            query = select(e.id, e.id_number, e.name, e.amount_fen, e.card_id, e.state).where(*where).order_by(e.id)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update()  # a concurrent build waits, then sees these in_batch
            rows = conn.execute(query).all()
            if not rows:
                raise ApiError(codes.PAYMENTS_NOTHING_TO_BATCH, f"no ready line of {item} {period}"
                               + (f" in township {township}" if township else ""), item=item, period=period)
            lines, skipped, card_changes = _plan_lines(conn, rows, item, period, where)
            if not lines:
                raise ApiError(codes.PAYMENTS_NOTHING_TO_BATCH, f"no line of {item} {period} can be paid now",
                               item=item, period=period, skipped=dict(Counter(s["code"] for s in skipped)))
            batch_id = str(uuid.uuid4())
            total = sum(line["amount_fen"] for line in lines)
            conn.execute(insert(payment_batches).values(
                id=batch_id, item=item, period=period, township=township, state=BatchState.BUILT,
                lines=len(lines), total_fen=total, created_by=operator.username, created_at=now))
            conn.execute(insert(payment_lines), [{**line, "batch_id": batch_id, "state": PaymentLineState.AT_BANK,
                                                  "created_at": now} for line in lines])
            _mark_in_batch(conn, lines, card_changes, now)
            audit.append(conn, operator.username, BATCH_BUILT, batch_id, {
                "item": item, "period": period, "township": township, "lines": len(lines), "total_fen": total,
                "skipped": dict(Counter(s["code"] for s in skipped))})
    except IntegrityError:
        raise ApiError(codes.PAYMENTS_LINE_CONFLICT, "the database refused a second open payment line for one of "
                       "these entitlements (another batch took it meanwhile); nothing was built, run the batch "
                       "again") from None
    return BuiltBatch(batch_id, len(lines), total, skipped)


def _plan_lines(conn: Connection, rows: list[Any], item: str, period: str, where: list[Any]
                ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[int, int]]:
    """One line per payable entitlement (its card re-checked now), and the ones left as they are."""
    e, pl = entitlements.c, payment_lines.c
    person_cards: dict[str, list[Any]] = {}
    persons = select(e.id_number).where(*where)
    for c in conn.execute(select(cards.c.id, cards.c.id_number, cards.c.name, cards.c.status, cards.c.updated_at)
                          .where(cards.c.id_number.in_(persons))):
        person_cards.setdefault(c.id_number, []).append(c)
    bounces: dict[int, tuple[str, int]] = {}
    failed = select(e.id).where(*where, e.state == EntitlementState.PAY_FAILED)
    for b in conn.execute(select(pl.entitlement_id, pl.settled_at, pl.card_id, pl.id)
                          .where(pl.entitlement_id.in_(failed), pl.state == PaymentLineState.BOUNCED)
                          .order_by(pl.id)):
        bounces[b.entitlement_id] = (b.settled_at or "", b.card_id)  # the newest bounce wins (ordered by id)
    open_keys = set(conn.execute(select(pl.pay_key).join(entitlements, entitlements.c.id == pl.entitlement_id)
                                 .where(e.item == item, e.period == period, pl.state.in_(OPEN_LINE_STATES)))
                    .scalars())
    lines: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    taken: set[str] = set()
    card_changes: dict[int, int] = {}
    for ent in rows:
        bounce = bounces.get(ent.id) if ent.state == EntitlementState.PAY_FAILED else None
        card, why = _pick_card(ent, person_cards.get(ent.id_number, []), bounce)
        key = pay_key(ent.id_number, item, period)
        if why is None and (key in open_keys or key in taken):
            why = codes.PAYMENTS_ALREADY_OPEN
        if why is not None:
            skipped.append({"entitlement_id": ent.id, "code": why})
            continue
        taken.add(key)
        lines.append({"reference": new_reference(), "entitlement_id": ent.id, "pay_key": key, "card_id": card.id,
                      "amount_fen": ent.amount_fen})
        if card.id != ent.card_id:
            card_changes[ent.id] = card.id
    return lines, skipped, card_changes


def _mark_in_batch(conn: Connection, lines: list[dict[str, Any]], card_changes: dict[int, int], now: str) -> None:
    """Entitlements → in_batch (only from ready or pay_failed: anything else means a concurrent change)."""
    e = entitlements.c
    changed = 0
    for ids in _chunks([line["entitlement_id"] for line in lines]):
        changed += conn.execute(update(entitlements).where(
            e.id.in_(ids), e.state.in_((EntitlementState.READY, EntitlementState.PAY_FAILED)))
            .values(state=EntitlementState.IN_BATCH, updated_at=now)).rowcount
    if changed != len(lines):
        raise IntegrityError("entitlements changed state during the build", None, Exception("concurrent"))
    for entitlement_id, card_id in card_changes.items():  # paid to another (newer) card than the check found
        conn.execute(update(entitlements).where(e.id == entitlement_id).values(card_id=card_id))
    # A line that failed before is sent again: its village's laptops see it (protocol v6 payment_failure).
    for ids in _chunks([line["entitlement_id"] for line in lines]):
        field_notices.bump(conn, ids, only_noticed=True)


# ------------------------------------------------------------------------------ approval

def _load_batch(conn: Connection, batch_id: str, *, lock: bool = False) -> Any:
    query = select(payment_batches).where(payment_batches.c.id == str(batch_id).strip())
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise ApiError(codes.PAYMENTS_BATCH_UNKNOWN, f"no batch {batch_id}", field="batch")
    return row


def approve_batch(engine: Engine, operator: Operator, batch_id: str, *, clock: Any) -> dict[str, Any]:
    """built → authorised, by someone other than the batch's creator (the database's four_eyes CHECK
    refuses it too); a refused approval stays in the audit chain."""
    require_staff(operator)
    refusal: ApiError | None = None
    try:
        with engine.begin() as conn:
            batch = _load_batch(conn, batch_id, lock=True)
            if batch.state != BatchState.BUILT:
                raise ApiError(codes.PAYMENTS_BATCH_STATE, f"only a built batch is approved (this one is "
                               f"{batch.state})", field="batch", state=batch.state)
            if batch.created_by == operator.username:
                audit.append(conn, operator.username, APPROVAL_REFUSED, batch.id,
                             {"code": codes.PAYMENTS_APPROVER_IS_CREATOR})
                refusal = ApiError(codes.PAYMENTS_APPROVER_IS_CREATOR, "the batch's creator cannot approve it: "
                                   "a second person must", field="batch")
            else:
                conn.execute(update(payment_batches).where(payment_batches.c.id == batch.id).values(
                    state=BatchState.AUTHORISED, authorised_by=operator.username, authorised_at=iso(clock.now())))
                audit.append(conn, operator.username, BATCH_AUTHORISED, batch.id,
                             {"lines": batch.lines, "total_fen": batch.total_fen})
    except IntegrityError:
        raise ApiError(codes.PAYMENTS_APPROVER_IS_CREATOR, "the batch's creator cannot approve it",
                       field="batch") from None
    if refusal is not None:  # raised after the commit: the refusal stays in the audit chain
        raise refusal
    with engine.connect() as conn:
        return batch_view(_load_batch(conn, batch_id))


def batch_view(batch: Any) -> dict[str, Any]:
    return {k: batch._mapping[k] for k in ("id", "item", "period", "township", "state", "lines", "total_fen",
                                           "created_by", "created_at", "authorised_by", "authorised_at",
                                           "export_sha256", "exported_at", "settled_at")}


# ------------------------------------------------------------------------------ the bank file

FIELDS = ("reference", "name", "card_number", "bank_account", "bank", "amount_yuan", "amount_fen", "item",
          "period")
_AMOUNT_FEN = FIELDS.index("amount_fen")
SUMMARY_FIELDS = ("count", "total_fen", "total_yuan", "batch_id", "item", "period")


@dataclass(frozen=True)
class BankFileFormat:
    """``resources/payments/bank_file.json``: the summary line, the column titles, the columns."""

    summary: tuple[str, ...]
    column_titles: bool
    columns: tuple[tuple[str, str], ...]   # (title, field)
    line_ending: str

    @classmethod
    def load(cls, path: str | Path | None = None) -> BankFileFormat:
        try:
            text = Path(path).read_text(encoding="utf-8") if path else \
                resources.path("payments", "bank_file.json").read_text(encoding="utf-8")
            raw = json.loads(text)
            summary = tuple(str(t) for t in raw["summary"])
            columns = tuple((str(c["title"]), str(c["field"])) for c in raw["columns"])
            fmt = cls(summary, bool(raw.get("column_titles", True)), columns, str(raw.get("line_ending", "\r\n")))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ApiError(codes.PAYMENTS_BANK_FILE_INVALID, f"bank file format unreadable: {e}") from None
        bad = [f for _t, f in fmt.columns if f not in FIELDS]
        placeholders = [p for t in fmt.summary for p in re.findall(r"{([^{}]*)}", t)]
        if (bad or not fmt.columns or "reference" not in [f for _t, f in fmt.columns]
                or any(p not in SUMMARY_FIELDS for p in placeholders) or fmt.line_ending not in ("\r\n", "\n")
                or not all(t for t, _f in fmt.columns)):
            raise ApiError(codes.PAYMENTS_BANK_FILE_INVALID, "bank file format: every column needs a title and "
                           f"one of {', '.join(FIELDS)} (reference among them); summary placeholders are "
                           f"{', '.join(SUMMARY_FIELDS)}; line_ending \\r\\n or \\n", fields=bad)
        return fmt


def bank_file_bytes(conn: Connection, batch: Any, fmt: BankFileFormat, encoding: str) -> bytes:
    """The batch's bank file: the same bytes every time for the same lines and card data."""
    pl = payment_lines.c
    # Plain tuples in FIELDS' order (the per-batch fields filled in here): a dict and attribute look-ups
    # per line were most of a 100,000-line export's time.
    rows = [(reference, name, card_number, bank_account, bank, fen_to_yuan(fen), fen, batch.item, batch.period)
            for reference, fen, name, card_number, bank_account, bank in conn.execute(
                select(pl.reference, pl.amount_fen, cards.c.name, cards.c.card_number, cards.c.bank_account,
                       cards.c.bank)
                .join(cards, cards.c.id == pl.card_id).where(pl.batch_id == batch.id)
                .order_by(pl.reference)).all()]
    total = sum(r[_AMOUNT_FEN] for r in rows)
    values = {"count": len(rows), "total_fen": total, "total_yuan": fen_to_yuan(total), "batch_id": batch.id,
              "item": batch.item, "period": batch.period}
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator=fmt.line_ending)
    writer.writerow([t.format(**values) for t in fmt.summary])
    if fmt.column_titles:
        writer.writerow([title for title, _f in fmt.columns])
    pick = itemgetter(*(FIELDS.index(f) for _t, f in fmt.columns))
    writer.writerows(pick(r) if len(fmt.columns) > 1 else (pick(r),) for r in rows)
    text = out.getvalue()
    try:
        return text.encode(encoding)
    except UnicodeEncodeError:
        unwritable = [r[0] for r in rows if not _encodes(r[1] + r[4], encoding)]
        raise ApiError(codes.PAYMENTS_EXPORT_ENCODING, f"{len(unwritable)} line(s) hold characters {encoding} "
                       "cannot write; export as utf-8 if the bank takes it", encoding=encoding,
                       references=unwritable[:20]) from None


def _encodes(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
        return True
    except UnicodeEncodeError:
        return False


def write_atomically(path: str | Path, data: bytes) -> None:
    """A temporary file beside the target (owner-only: it holds whole card numbers), then a rename: a
    reader never sees half a file."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise ApiError(codes.PAYMENTS_FILE_UNWRITABLE, f"cannot write beside {path}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise ApiError(codes.PAYMENTS_FILE_UNWRITABLE, f"cannot write {path}: {e.strerror}") from None
        raise


def export_batch(engine: Engine, batch_id: str, out_path: str | Path, *, encoding: str = "utf-8", clock: Any,
                 actor: str = audit.CLI, fmt: BankFileFormat | None = None) -> dict[str, Any]:
    """Write the bank file of an authorised batch (→ exported), or again the same bytes of an exported one."""
    out, _data = export_batch_bytes(engine, batch_id, encoding=encoding, clock=clock, actor=actor, fmt=fmt,
                                    deliver=lambda data: write_atomically(out_path, data))
    return {**out, "file": str(out_path)}


def export_batch_bytes(engine: Engine, batch_id: str, *, encoding: str = "utf-8", clock: Any,
                       actor: str = audit.CLI, fmt: BankFileFormat | None = None,
                       deliver: Callable[[bytes], None] | None = None) -> tuple[dict[str, Any], bytes]:
    """The bank file's bytes with ``export_batch``'s rules (the central API's download). ``deliver`` runs
    inside the transaction, before the batch is marked exported: a file that cannot be written changes
    nothing."""
    encoding = encoding.lower().replace("_", "-")
    encoding = "utf-8" if encoding in ("utf8", "utf-8") else encoding
    if encoding not in ENCODINGS:
        raise ApiError(codes.PAYMENTS_EXPORT_ENCODING, "the bank file is utf-8 or gbk", encoding=encoding)
    fmt = fmt or BankFileFormat.load()
    with engine.begin() as conn:
        batch = _load_batch(conn, batch_id, lock=True)
        if batch.state not in (BatchState.AUTHORISED, BatchState.EXPORTED, BatchState.SETTLED):
            raise ApiError(codes.PAYMENTS_BATCH_STATE, f"only an approved batch is exported (this one is "
                           f"{batch.state})", field="batch", state=batch.state)
        data = bank_file_bytes(conn, batch, fmt, encoding)
        digest = hashlib.sha256(data).hexdigest()
        first = batch.export_sha256 is None
        if not first and digest != batch.export_sha256:
            raise ApiError(codes.PAYMENTS_EXPORT_MISMATCH, "this export would differ from the file first sent to "
                           "the bank (another encoding, a changed column file or corrected card data): refused",
                           sha256=digest, first_sha256=batch.export_sha256)
        if deliver is not None:
            deliver(data)
        if first:
            conn.execute(update(payment_batches).where(payment_batches.c.id == batch.id).values(
                state=BatchState.EXPORTED, export_sha256=digest, exported_at=iso(clock.now())))
            audit.append(conn, actor, BATCH_EXPORTED, batch.id, {
                "sha256": digest, "lines": batch.lines, "total_fen": batch.total_fen, "encoding": encoding})
        else:
            audit.append(conn, actor, BATCH_REEXPORTED, batch.id, {"sha256": digest})
    return {"batch": batch.id, "item": batch.item, "period": batch.period, "sha256": digest, "lines": batch.lines,
            "total_fen": batch.total_fen, "encoding": encoding, "first_export": first}, data


# ------------------------------------------------------------------------------ status

def payment_status(conn: Connection, batch_id: str | None = None) -> dict[str, Any]:
    """Counts and fen: issued (the batches' own totals, fixed when built), paid (credited), failed (bounced
    or reversed), pending (at the bank), intercepted; issued = paid + failed + pending when nothing is lost.
    Counts are per payment line: a retried entitlement counts once failed and once paid."""
    pl, b, e = payment_lines.c, payment_batches.c, entitlements.c
    batch = _load_batch(conn, batch_id) if batch_id else None
    issued_q = select(func.count(), func.coalesce(func.sum(b.lines), 0), func.coalesce(func.sum(b.total_fen), 0))
    lines_q = select(pl.state, func.count(), func.coalesce(func.sum(pl.amount_fen), 0)).group_by(pl.state)
    inter_q = select(func.count(), func.coalesce(func.sum(e.amount_fen), 0)).where(
        e.state == EntitlementState.INTERCEPTED)
    if batch is not None:
        issued_q = issued_q.where(b.id == batch.id)
        lines_q = lines_q.where(pl.batch_id == batch.id)
        inter_q = inter_q.where(e.item == batch.item, e.period == batch.period)
        if batch.township:
            inter_q = inter_q.where(e.village_code.like(batch.township + "%"))
    _batches, issued_n, issued_fen = conn.execute(issued_q).one()
    by_state = {s: (int(n), int(fen)) for s, n, fen in conn.execute(lines_q)}

    def part(*states: str) -> dict[str, int]:
        return {"count": sum(by_state.get(s, (0, 0))[0] for s in states),
                "fen": sum(by_state.get(s, (0, 0))[1] for s in states)}

    inter_n, inter_fen = conn.execute(inter_q).one()
    out: dict[str, Any] = {
        "issued": {"count": int(issued_n), "fen": int(issued_fen)},
        "paid": part(PaymentLineState.CREDITED),
        "failed": part(PaymentLineState.BOUNCED, PaymentLineState.REVERSED),
        "reversed": part(PaymentLineState.REVERSED),
        "pending": part(PaymentLineState.AT_BANK),
        "intercepted": {"count": int(inter_n), "fen": int(inter_fen)},
    }
    out["balanced"] = all(out["issued"][k] == out["paid"][k] + out["failed"][k] + out["pending"][k]
                          for k in ("count", "fen"))
    if batch is not None:
        out["batch"] = batch_view(batch)
    else:
        out["batches"] = {str(s): int(n) for s, n in conn.execute(
            select(b.state, func.count()).group_by(b.state).order_by(b.state))}
    return out
