"""The SMS outbox: one message per paid line, exactly once, although no gateway is idempotent.

``enqueue_settled`` adds the rows that are missing, set-based: a credited payment line gets one row for
its resident, a bounced one a row for each cadre of the village (the resident is not told by SMS that
money did not arrive; the cadre who can correct the card data is). The unique key (payment line, kind,
recipient) makes a second enqueue, or two at once, add nothing. Without a phone the row is recorded as
given up (``sms.no_phone``) and counted, so nobody waits for it.

``send_pending`` claims due rows, sends them and records each answer:

- *Claim*: one short transaction selects due rows (``sms_to_send``, ``next_attempt_at`` ≤ now), writes a
  random claim token on them and moves ``next_attempt_at`` to the end of a lease. On PostgreSQL the
  select is ``FOR UPDATE SKIP LOCKED``, so two senders at once take different rows; on SQLite every
  writing transaction is ``BEGIN IMMEDIATE`` (registry.db), so claims run one after the other and the
  second sees the first's rows as not due. No lock is held while the gateway is called.
- *Send* several at once (the gateway's ``max_concurrency`` threads: 8 for HTTP, 1 for an SDK not known
  to be thread-safe) and *record* the answers as they arrive, each only under our claim token:
  ``sms_sent`` with the gateway's message id, or the failure's code with ``attempts + 1`` and a backoff; a
  failure the gateway says will not improve, or the ``max_attempts``-th, gives up. The answers that
  arrived while one commit ran go into the next (a group commit): a commit per message (an fsync each)
  held the outbox to ~30 messages/s on the test machine.
- A sender that dies leaves its claimed rows due again when the lease ends. The lease outlasts the
  claimed rows' sends (their count, plus the sends still in flight ahead of them, × the gateway's longest
  send, plus a margin), and no send starts once it could outlast the lease. The next batch is claimed
  while the previous one's last sends are in flight, so the threads never wait for a batch's slowest
  send; each batch's answers are recorded under its own claim token.

The one window where a message can go twice: the gateway accepted it, and the sender died (or lost the
database) before the commit that records it — an answer waits at most one commit (milliseconds; with 8
in flight, at most the handful of answers that arrived during the previous commit) — or the gateway's
answer was lost on the way back (a timeout after the gateway had sent). The row's id goes to the
gateway as its out-id (Aliyun ``OutId``, Tencent ``SessionContext``, the HTTP gateway's ``id`` and
``Idempotency-Key``), so a gateway that deduplicates does, and a receipt names the row either way.

No phone number, name or ID number goes into a log line: rows are named by their outbox id.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from collections import defaultdict
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from enrollment import error_codes
from enrollment.vocabulary import PaymentLineState, SmsState

from .. import audit
from ..clock import Clock
from ..db import iso
from ..payments.masking import mask_tail
from ..payments.money import fen_to_words
from ..schema import (
    cards,
    entitlements,
    operator_villages,
    operators,
    payment_lines,
    records,
    residents,
    sms_outbox,
    villages,
)
from . import templates as sms_templates
from .gateway import Sent, SmsFailed, SmsGateway, SmsMessage

log = logging.getLogger("registry.sms")

# Audit actions (registry.audit): counts only, never a phone or a name.
SMS_RUN = "sms.run"                      # one send-pending run: rows enqueued, sent, failed, given up
SMS_RECEIPTS = "sms.receipts"            # delivery reports recorded
OPERATOR_PHONE_SET = "operator.phone_set"  # a cadre's phone set or cleared (data: set true/false)

CREDITED, BOUNCED = "credited", "bounced"
RESIDENT = "resident"
NO_CADRE = "cadres"          # the recipient of a bounced line's row when its village has no cadre at all
DEFAULT_BATCH = 100
DEFAULT_MAX_ATTEMPTS = 5
BACKOFF_FIRST = 60.0         # seconds before the second attempt; doubled each time
BACKOFF_MAX = 3600.0
LEASE_MARGIN = 60.0
_CHUNK = 500


def operator_recipient(operator_id: int) -> str:
    return f"operator:{operator_id}"


def card_tail(card_number: str) -> str:
    """The last four digits, as the bank's own SMS says them (``5341``)."""
    return mask_tail(card_number).removeprefix("****")


@dataclass
class EnqueueResult:
    credited: int = 0        # rows added for residents
    bounced: int = 0         # rows added for cadres
    no_phone: int = 0        # of those, recorded as given up: sms.no_phone

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class SendResult:
    sent: int = 0
    failed: int = 0          # failed this time, to be tried again
    gave_up: int = 0         # gave up this time (not retryable, or the last attempt)
    lease_lost: int = 0      # answers not recorded: another sender had taken the row over
    left: int = 0            # rows still to send after this run (due now or later)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _insert_ignoring_duplicates(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """INSERT … ON CONFLICT DO NOTHING: the unique key, not a prior read, decides what is new."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    for i in range(0, len(rows), _CHUNK):
        conn.execute(dialect.insert(sms_outbox).on_conflict_do_nothing(), rows[i:i + _CHUNK])


def _record_phones(conn: Connection, id_numbers: list[str]) -> dict[str, str]:
    """ID number → the phone of its latest enrolled record that has one (the resident gave it to the
    cadre in person, so it beats the population roster's)."""
    found: dict[str, tuple[str, str]] = {}
    for i in range(0, len(id_numbers), _CHUNK):
        chunk = id_numbers[i:i + _CHUNK]
        for row in conn.execute(select(records.c.id_number, records.c.payload, records.c.updated_at)
                                .where(records.c.id_number.in_(chunk), records.c.deleted.is_(False))):
            try:
                phone = str((json.loads(row.payload or "{}") or {}).get("phone") or "").strip()
            except ValueError:
                continue
            if phone and (row.id_number not in found or row.updated_at > found[row.id_number][1]):
                found[row.id_number] = (phone, row.updated_at)
    return {k: v[0] for k, v in found.items()}


def _common_params(row: Any, tpl: sms_templates.Templates) -> dict[str, str]:
    return {"name": row.name, "period": row.period,
            "item_name": tpl.item_name(row.item, sms_templates.catalogue_names().get(row.item, "")),
            "amount": fen_to_words(row.amount_fen), "card_tail": card_tail(row.card_number)}


def _row(line_id: int, kind: str, recipient: str, phone: str | None, key: str, params: dict[str, str],
         now: str) -> dict[str, Any]:
    base = {"payment_line_id": line_id, "kind": kind, "recipient": recipient, "template": key,
            "params": json.dumps(params, ensure_ascii=False, sort_keys=True), "created_at": now, "attempts": 0}
    if phone:
        return {**base, "phone": phone, "state": SmsState.TO_SEND.value, "next_attempt_at": now,
                "last_error": None}
    return {**base, "phone": None, "state": SmsState.GAVE_UP.value, "next_attempt_at": None,
            "last_error": error_codes.SMS_NO_PHONE}


def _lines_without(kind: str, state: PaymentLineState):  # noqa: ANN202 - a Select
    """The payment lines in ``state`` with no outbox row of ``kind`` yet, with what a message says."""
    o = sms_outbox.alias("o")
    return (select(payment_lines.c.id, payment_lines.c.amount_fen, payment_lines.c.bank_reason,
                   payment_lines.c.reason_code, entitlements.c.id_number, entitlements.c.name,
                   entitlements.c.item, entitlements.c.period, cards.c.card_number,
                   func.coalesce(entitlements.c.village_code, residents.c.village_code).label("village_code"),
                   residents.c.phone.label("roster_phone"))
            .select_from(payment_lines.join(entitlements, entitlements.c.id == payment_lines.c.entitlement_id)
                         .join(cards, cards.c.id == payment_lines.c.card_id)
                         .outerjoin(residents, residents.c.id_number == entitlements.c.id_number))
            .where(payment_lines.c.state == state.value,
                   ~exists().where(and_(o.c.payment_line_id == payment_lines.c.id, o.c.kind == kind)))
            .order_by(payment_lines.c.id))


def enqueue_settled(conn: Connection, *, now: str, templates: sms_templates.Templates | None = None
                    ) -> EnqueueResult:
    """Add the missing outbox rows for every credited and bounced payment line (inside the caller's
    transaction); a second call adds nothing."""
    tpl = templates or sms_templates.load()
    result = EnqueueResult()
    rows: list[dict[str, Any]] = []

    credited = conn.execute(_lines_without(CREDITED, PaymentLineState.CREDITED)).all()
    phones = _record_phones(conn, sorted({r.id_number for r in credited}))
    for r in credited:
        phone = phones.get(r.id_number) or (r.roster_phone or "").strip() or None
        key = tpl.key_for(r.item, CREDITED)
        rows.append(_row(r.id, CREDITED, RESIDENT, phone, key, _common_params(r, tpl), now))
        result.credited += 1
        result.no_phone += phone is None

    bounced = conn.execute(_lines_without(BOUNCED, PaymentLineState.BOUNCED)).all()
    codes = sorted({r.village_code for r in bounced if r.village_code})
    cadres: dict[str, list[tuple[int, str | None]]] = defaultdict(list)
    names: dict[str, str] = {}
    for i in range(0, len(codes), _CHUNK):
        chunk = codes[i:i + _CHUNK]
        for c in conn.execute(select(operator_villages.c.village_code, operators.c.id, operators.c.phone)
                              .join(operators, operators.c.id == operator_villages.c.operator_id)
                              .where(operator_villages.c.village_code.in_(chunk), operators.c.role == "cadre",
                                     operators.c.disabled.is_(False)).order_by(operators.c.id)):
            cadres[c.village_code].append((c.id, (c.phone or "").strip() or None))
        names.update({v.code: v.name for v in conn.execute(select(villages.c.code, villages.c.name)
                                                           .where(villages.c.code.in_(chunk)))})
    for r in bounced:
        key = tpl.key_for(r.item, BOUNCED)
        params = {**_common_params(r, tpl), "village": names.get(r.village_code or "", "") or "",
                  "reason": (r.bank_reason or "").strip() or "银行退回"}
        targets = [(operator_recipient(op), phone) for op, phone in cadres.get(r.village_code or "", [])]
        for recipient, phone in targets or [(NO_CADRE, None)]:
            rows.append(_row(r.id, BOUNCED, recipient, phone, key, params, now))
            result.bounced += 1
            result.no_phone += phone is None

    _insert_ignoring_duplicates(conn, rows)
    return result


# ------------------------------------------------------------------------------------------- sending

def backoff_seconds(attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failed ones: 60, 120, 240 … at most an hour."""
    return min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


def _claim(engine: Engine, now: dt.datetime, count: int, lease: float) -> tuple[str, list[Any]]:
    token = secrets.token_hex(16)
    with engine.begin() as conn:
        due = (select(sms_outbox.c.id)
               .where(sms_outbox.c.state == SmsState.TO_SEND.value, sms_outbox.c.next_attempt_at <= iso(now))
               .order_by(sms_outbox.c.next_attempt_at, sms_outbox.c.id).limit(count))
        if conn.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = list(conn.execute(due).scalars())
        if not ids:
            return token, []
        conn.execute(update(sms_outbox).where(sms_outbox.c.id.in_(ids))
                     .values(claim=token, next_attempt_at=iso(now + dt.timedelta(seconds=lease))))
        rows = conn.execute(select(sms_outbox.c.id, sms_outbox.c.phone, sms_outbox.c.template,
                                   sms_outbox.c.params, sms_outbox.c.attempts)
                            .where(sms_outbox.c.id.in_(ids)).order_by(sms_outbox.c.id)).all()
    return token, rows


def _still_ours(conn: Connection, token: str, ids: list[int]) -> set[int]:
    """Of ``ids``, the rows still claimed by ``token`` and unsent (locked on PostgreSQL until the commit, and
    SQLite's writing transaction holds its lock already): only those take this sender's answers."""
    query = select(sms_outbox.c.id).where(sms_outbox.c.id.in_(ids), sms_outbox.c.claim == token,
                                          sms_outbox.c.state == SmsState.TO_SEND.value)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return set(conn.execute(query).scalars())


def _update_statement(columns: tuple[str, ...]):  # noqa: ANN202 - an Update
    """One row's answer by its id: compiled once per set of columns, run for many rows at once."""
    return (update(sms_outbox).where(sms_outbox.c.id == bindparam("row_id"))
            .values({c: bindparam(f"v_{c}") for c in columns}))


def send_pending(engine: Engine, gateway: SmsGateway, *, clock: Clock, batch_size: int = DEFAULT_BATCH,
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS, limit: int | None = None,
                 templates: sms_templates.Templates | None = None, concurrency: int | None = None) -> SendResult:
    """Send the due rows (at most ``limit``), ``batch_size`` claimed at a time, ``concurrency`` gateway calls
    in flight (default: the gateway's ``max_concurrency``, else 1); returns the counts.

    Answers are recorded as they arrive: every answer that came in while the previous commit ran goes into
    the next one (a group commit), so a commit's fsync is shared instead of paid per message, and an
    answer waits for its record at most one commit."""
    tpl = templates or sms_templates.load()
    result = SendResult()
    per_send = float(getattr(gateway, "max_send_seconds", 30.0))
    workers = max(1, int(concurrency or getattr(gateway, "max_concurrency", 1)))
    remaining = limit
    pending: dict[Future, str] = {}   # a send in flight → its claim's token
    dry = False                        # the last claim found nothing due while sends were in flight
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sms-send") as pool:
        while True:
            # The next batch is claimed while the last sends of this one are still in flight (at most one
            # per thread left), so no thread waits for a batch's slowest send; once a claim finds nothing,
            # the next is tried only after every send has been recorded (a row let go is due again).
            if (remaining is None or remaining > 0) and len(pending) <= workers and not (dry and pending):
                count = batch_size if remaining is None else min(batch_size, remaining)
                # The claim outlasts its own sends queued behind the ones in flight.
                lease = (count + len(pending)) * per_send + LEASE_MARGIN
                claimed_at = clock.now()
                token, rows = _claim(engine, claimed_at, count, lease)
                dry = not rows
                if remaining is not None:
                    remaining -= len(rows)
                # A send starts only while a whole send still fits inside the claim's lease.
                deadline = claimed_at + dt.timedelta(seconds=lease - LEASE_MARGIN / 2 - per_send)
                pending.update({pool.submit(_attempt, gateway, tpl, row, clock, deadline): token for row in rows})
            if not pending:
                break
            done, _running = wait(pending, return_when=FIRST_COMPLETED)
            by_token: dict[str, list[_Outcome]] = defaultdict(list)
            for f in done:
                by_token[pending.pop(f)].append(f.result())
            for token, outcomes in by_token.items():
                _record(engine, gateway, token, outcomes, clock, max_attempts, result)
    with engine.connect() as conn:
        result.left = conn.execute(select(func.count()).select_from(sms_outbox)
                                   .where(sms_outbox.c.state == SmsState.TO_SEND.value)).scalar_one()
    return result


@dataclass
class _Outcome:
    row: Any
    sent: Sent | None = None
    failure: SmsFailed | None = None
    broken: str | None = None     # not a gateway answer: a template error, a gateway's bug (its code)
    released: bool = False        # not tried: the claim's lease was running out


def _attempt(gateway: SmsGateway, tpl: sms_templates.Templates, row: Any, clock: Clock,
             deadline: dt.datetime) -> _Outcome:
    if clock.now() > deadline:
        return _Outcome(row, released=True)
    try:
        params = json.loads(row.params)
        message = SmsMessage(phone=row.phone, template=row.template, params=params,
                             text=tpl.render(row.template, params), out_id=str(row.id))
        return _Outcome(row, sent=gateway.send(message))
    except SmsFailed as failure:
        return _Outcome(row, failure=failure)
    except Exception as exc:  # noqa: BLE001 - kept on the row by its code; never its text (it may hold a phone)
        log.error("sms outbox=%s: %s", row.id, type(exc).__name__)
        return _Outcome(row, broken=str(getattr(exc, "code", None) or error_codes.SMS_REFUSED))


def _record(engine: Engine, gateway: SmsGateway, token: str, outcomes: list[_Outcome], clock: Clock,
            max_attempts: int, result: SendResult) -> None:
    """The answers that have arrived, in one transaction, each only under our claim."""
    now = clock.now()
    counted: list[tuple[_Outcome, str]] = []
    answers: list[tuple[_Outcome, str, dict[str, Any]]] = []
    for o in outcomes:
        attempts = o.row.attempts + 1
        if o.released:
            values: dict[str, Any] = {"claim": None, "next_attempt_at": iso(now)}
            kind = "released"
        elif o.sent is not None:
            values = {"state": SmsState.SENT.value, "attempts": attempts, "gateway": o.sent.gateway,
                      "gateway_ref": o.sent.message_id[:100], "sent_at": iso(now), "claim": None,
                      "next_attempt_at": None, "last_error": None}
            kind = "sent"
        else:
            code = o.failure.code if o.failure is not None else str(o.broken)
            give_up = o.failure is None or not o.failure.retry or attempts >= max_attempts
            values = {"attempts": attempts, "last_error": code[:200], "claim": None, "gateway": gateway.name}
            if give_up:
                values.update(state=SmsState.GAVE_UP.value, next_attempt_at=None)
            else:
                values.update(next_attempt_at=iso(now + dt.timedelta(seconds=backoff_seconds(attempts))))
            kind = "gave_up" if give_up else "failed"
        answers.append((o, kind, values))
    # One statement per kind of answer for all of its rows (a statement per row, built and compiled each
    # time, was most of the sender's own time): the rows still ours are read first, under the lock.
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    with engine.begin() as conn:
        ours = _still_ours(conn, token, [o.row.id for o, _k, _v in answers])
        for o, kind, values in answers:
            if o.row.id in ours:
                by_columns[tuple(sorted(values))].append(
                    {"row_id": o.row.id, **{f"v_{c}": v for c, v in values.items()}})
                counted.append((o, kind))
            else:
                result.lease_lost += 1
                log.warning("sms outbox=%s: answer not recorded, another sender had taken the row over", o.row.id)
        for columns, params in by_columns.items():
            conn.execute(_update_statement(columns), params)
    for o, kind in counted:
        if kind == "sent":
            result.sent += 1
        elif kind in ("failed", "gave_up"):
            setattr(result, kind, getattr(result, kind) + 1)
            code = o.failure.code if o.failure is not None else o.broken
            log.info("sms outbox=%s attempt %s failed: %s%s", o.row.id, o.row.attempts + 1, code,
                     " (gave up)" if kind == "gave_up" else "")


# ------------------------------------------------------------------------------------------- reading

def status(conn: Connection) -> dict[str, Any]:
    """Counts per kind and state, the given-up rows' reasons, receipts, and when the next row is due."""
    by: dict[str, dict[str, int]] = defaultdict(dict)
    for kind, state, n in conn.execute(select(sms_outbox.c.kind, sms_outbox.c.state, func.count())
                                       .group_by(sms_outbox.c.kind, sms_outbox.c.state)):
        by[kind][state] = n
    reasons = {code: n for code, n in conn.execute(
        select(sms_outbox.c.last_error, func.count()).where(sms_outbox.c.state == SmsState.GAVE_UP.value)
        .group_by(sms_outbox.c.last_error))}
    receipts = {r or "none": n for r, n in conn.execute(
        select(sms_outbox.c.receipt, func.count()).where(sms_outbox.c.state == SmsState.SENT.value)
        .group_by(sms_outbox.c.receipt))}
    next_due = conn.execute(select(func.min(sms_outbox.c.next_attempt_at))
                            .where(sms_outbox.c.state == SmsState.TO_SEND.value)).scalar()
    totals = {str(s): sum(k.get(str(s), 0) for k in by.values()) for s in SmsState}
    return {"by_kind": {k: dict(v) for k, v in sorted(by.items())}, "totals": totals,
            "gave_up_reasons": reasons, "receipts": receipts, "next_due": next_due}


# ------------------------------------------------------------------------------------------- receipts

RECEIPT_STATES = ("delivered", "failed")


@dataclass(frozen=True)
class Receipt:
    """One delivery report: the gateway's message id, ``delivered`` or ``failed``, and when the gateway
    says it happened (None: when we learn it)."""

    message_id: str
    state: str
    at: dt.datetime | None = None


def record_receipts(engine: Engine, gateway: str, receipts: list[Receipt], *, clock: Clock, actor: str
                    ) -> dict[str, int]:
    """The gateway's delivery reports (the CLI's file and the public process's endpoint both come here):
    each sets the receipt of the row the gateway sent under that id. A report the row already carries
    changes nothing (gateways repeat their pushes) and is counted ``unchanged``; one naming no row of
    ours is counted ``unknown``, not stored. One ``sms.receipts`` audit entry with the counts when a
    receipt was recorded, in the same transaction; none for a push that changed nothing."""
    recorded = unchanged = unknown = 0
    now = iso(clock.now())
    with engine.begin() as conn:
        for r in receipts:
            mine = and_(sms_outbox.c.gateway == gateway, sms_outbox.c.gateway_ref == r.message_id,
                        sms_outbox.c.state == SmsState.SENT.value)
            n = conn.execute(update(sms_outbox)
                             .where(mine, (sms_outbox.c.receipt.is_(None)) | (sms_outbox.c.receipt != r.state))
                             .values(receipt=r.state, receipt_at=iso(r.at) if r.at else now)).rowcount
            if n:
                recorded += 1
            elif conn.execute(select(exists().where(mine))).scalar():
                unchanged += 1
            else:
                unknown += 1
        out = {"recorded": recorded, "unchanged": unchanged, "unknown": unknown}
        if recorded:
            audit.append(conn, actor, SMS_RECEIPTS, "sms_outbox", {"gateway": gateway, **out})
    return out


def run(engine: Engine, gateway: SmsGateway, *, clock: Clock, actor: str, batch_size: int = DEFAULT_BATCH,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS, limit: int | None = None,
        templates: sms_templates.Templates | None = None, concurrency: int | None = None) -> dict[str, Any]:
    """``registry sms send-pending``: enqueue what is missing, send what is due, audit the counts."""
    tpl = templates or sms_templates.load()
    with engine.begin() as conn:
        enqueued = enqueue_settled(conn, now=iso(clock.now()), templates=tpl)
    sent = send_pending(engine, gateway, clock=clock, batch_size=batch_size, max_attempts=max_attempts,
                        limit=limit, templates=tpl, concurrency=concurrency)
    out = {"enqueued": enqueued.to_dict(), **sent.to_dict(), "gateway": gateway.name}
    with engine.begin() as conn:
        audit.append(conn, actor, SMS_RUN, "sms_outbox", out)
    return out
