"""The residents' self-query: ID number + the last 6 digits of the card → an SMS code → their payments.

What an outsider can learn is nothing: asking for a code answers the same (status, body shape, the
same database work; the SMS goes out after the answer) whether the ID number is unknown, the card tail
wrong, the person has no registered phone, or everything matched. A row is written for every request
(``selfquery_codes``); for a miss it holds no ID number and no code hash, so every code tried against it
is simply wrong, counted and refused like a wrong code for a real one.

Limits (``registry.throttle``, in the public process's memory like the verification page's):
* asking for codes: ``CODES_PER_ID`` per ID number and ``CODES_PER_ADDRESS`` per client address within
  an hour, then ``selfquery.rate_limited`` (429, Retry-After) for 15 minutes, doubling up to a day;
* a code lives ``CODE_TTL`` (5 minutes) and takes ``CODE_TRIES`` (5) wrong entries: the 5th wrong one
  kills it and any further entry, the right code included, is ``selfquery.code_dead``;
* wrong codes from one address: ``WRONG_PER_ADDRESS`` within 15 minutes, then locked like the above.

Every request and every code entry is an audit entry (actor ``selfquery``): the ID number masked as the
queue shows it (``5109**********2039``), the outcome, the client address; never the code, the card tail
or the phone. Answers carry only masked values: the card as ``****5341``, the name as ``漆*学``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, desc, insert, select, update

from enrollment import error_codes
from enrollment.masking import mask_personal_numbers
from enrollment.records import subsidy_catalogue
from enrollment.vocabulary import CardStatus, PaymentLineState

from .. import audit
from ..clock import Clock
from ..db import iso, parse_iso
from ..errors import ApiError
from ..payments.masking import mask_id_number, mask_name, mask_tail
from ..payments.money import fen_to_yuan
from ..schema import cards, entitlements, payment_batches, payment_lines, records, residents, selfquery_codes
from ..sms import templates as sms_templates
from ..sms.gateway import SmsFailed, SmsGateway, SmsMessage
from ..sms.templates import Templates
from ..throttle import Throttle, ThrottleLimits, address_key

log = logging.getLogger("registry.selfquery")

ACTOR = "selfquery"
CODE_REQUESTED = "selfquery.code_requested"   # data: id (masked), outcome, client
CODE_ENTERED = "selfquery.code_entered"       # data: id (masked, when known), outcome, client, payments

CODE_DIGITS = 6
CARD_TAIL = 6
CODE_TTL = dt.timedelta(minutes=5)
CODE_TRIES = 5
CODES_PER_ID = 3
CODES_PER_ADDRESS = 20
WRONG_PER_ADDRESS = 20
KEEP_ROWS = dt.timedelta(days=1)       # expired rows are removed this long after their expiry
SENT_MESSAGE = "如果信息正确，验证码已发送到登记的手机"
SMS_TEMPLATE = "selfquery_code"

# Outcomes in the audit (never shown to the caller, who sees SENT_MESSAGE in every case).
SENT, NO_MATCH, NO_PHONE, LIMITED = "sent", "no_match", "no_phone", "rate_limited"
SHOWN, WRONG, DEAD, EXPIRED = "shown", "wrong", "dead", "expired"

STATE_WORDS = {
    PaymentLineState.CREDITED: "已到账",
    PaymentLineState.BOUNCED: "发放失败",
    PaymentLineState.AT_BANK: "发放中",
    PaymentLineState.REVERSED: "已退回",
}
_CST = dt.timezone(dt.timedelta(hours=8), "CST")   # residents read Beijing dates
_LONG_DIGITS = re.compile(r"\d{12,}")                # an account number inside a bank's wording


def throttles(clock: Clock) -> tuple[Throttle, Throttle]:
    """(codes asked for: per ID number and per address; wrong codes: per address)."""
    asking = Throttle(ThrottleLimits(max_failures=CODES_PER_ID, address_max_failures=CODES_PER_ADDRESS,
                                     window=3600, lock=900, max_lock=86400), clock)
    wrong = Throttle(ThrottleLimits(max_failures=WRONG_PER_ADDRESS, address_max_failures=WRONG_PER_ADDRESS,
                                    window=900, lock=900, max_lock=86400), clock)
    return asking, wrong


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _code_hash(ticket: str, code: str) -> str:
    return hmac.new(ticket.encode("utf-8"), code.encode("utf-8"), hashlib.sha256).hexdigest()


def _id_key(id_number: str) -> str:
    return "sqid:" + _digest("selfquery:" + id_number)[:32]


def _rate_limited(throttle: Throttle, *keys: str) -> ApiError | None:
    wait = throttle.retry_after(*keys)
    if wait > 0:
        return ApiError(error_codes.SELFQUERY_RATE_LIMITED, "too many tries; try again later", retry_after=wait)
    return None


def registered_phone(conn: Connection, id_number: str) -> str:
    """The phone the registry has for the person: the newest enrollment record's (a cadre confirmed it
    face to face), else the village roster's; "" when neither has one."""
    rows = conn.execute(select(records.c.payload).where(records.c.id_number == id_number,
                                                        records.c.deleted.is_(False))
                        .order_by(desc(records.c.updated_at))).scalars()
    for payload in rows:
        if payload:
            phone = str(json.loads(payload).get("phone") or "").strip()
            if phone:
                return phone
    return str(conn.execute(select(residents.c.phone).where(residents.c.id_number == id_number)).scalar() or "")


def _card_matches(conn: Connection, id_number: str, card_tail: str) -> bool:
    """Whether one of the person's cards that is not cancelled ends with ``card_tail`` (compared in
    constant time, every card looked at)."""
    numbers = conn.execute(select(cards.c.card_number).where(cards.c.id_number == id_number,
                                                             cards.c.status != CardStatus.CANCELLED.value)).scalars()
    found = False
    for number in numbers:
        found |= hmac.compare_digest(str(number)[-CARD_TAIL:].encode(), card_tail.encode())
    return found


@dataclass(frozen=True)
class PendingSms:
    """A code to send once the answer has left (the gateway's time must not show in the answer's)."""

    phone: str
    code: str

    def message(self, templates: Templates | None = None) -> SmsMessage:
        """The code's SMS from the ``selfquery_code`` template (the county's templates file when it has
        one, else the packaged one): its text, and for Aliyun and Tencent its template code."""
        if templates is None or SMS_TEMPLATE not in templates.templates:
            templates = sms_templates.load()
        params = {"code": self.code, "minutes": str(int(CODE_TTL.total_seconds() // 60))}
        return SmsMessage(self.phone, SMS_TEMPLATE, params, templates.render(SMS_TEMPLATE, params))


def send(gateway: SmsGateway | None, pending: PendingSms | None, templates: Templates | None = None) -> None:
    """Send one code; a failure is logged without the phone or the code (the resident asks again)."""
    if gateway is None or pending is None:
        return
    try:
        gateway.send(pending.message(templates))
    except SmsFailed as e:
        log.warning("self-query code not sent through %s: %s", getattr(gateway, "name", "?"), e.code)
    except Exception as e:  # noqa: BLE001 - an adapter's bug must not reach the (already answered) request
        log.error("self-query code not sent through %s: %s", getattr(gateway, "name", "?"), type(e).__name__)


def request_code(engine: Engine, throttle: Throttle, id_number: str, card_tail: str, client: str | None,
                 *, clock: Clock) -> tuple[dict[str, Any], PendingSms | None]:
    """Ask for a code: the same answer for everyone (or 429 for everyone past the limit); the SMS to send
    after answering, if the ID number and card tail named someone with a phone."""
    id_number, card_tail = id_number.strip().upper(), card_tail.strip()
    keys = (_id_key(id_number), address_key(client))
    now = clock.now()
    refusal = _rate_limited(throttle, *keys)
    ticket = secrets.token_urlsafe(32)
    pending: PendingSms | None = None
    with engine.begin() as conn:
        conn.execute(delete(selfquery_codes).where(selfquery_codes.c.expires_at < iso(now - KEEP_ROWS)))
        if refusal is not None:
            outcome = LIMITED
        else:
            throttle.failure(*keys)
            matched = _card_matches(conn, id_number, card_tail)
            phone = registered_phone(conn, id_number)
            outcome = SENT if matched and phone else (NO_PHONE if matched else NO_MATCH)
            code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
            real = outcome == SENT
            conn.execute(insert(selfquery_codes).values(
                ticket_hash=_digest(ticket), id_number=id_number if real else None,
                code_hash=_code_hash(ticket, code) if real else None, created_at=iso(now),
                expires_at=iso(now + CODE_TTL), wrong_count=0))
            if real:
                pending = PendingSms(phone, code)
        audit.append(conn, ACTOR, CODE_REQUESTED, ACTOR, {"id": mask_id_number(id_number), "outcome": outcome,
                                                          "client": client or "?"})
    if refusal is not None:
        raise refusal
    return {"ticket": ticket, "expires_in": int(CODE_TTL.total_seconds()), "code_length": CODE_DIGITS,
            "message": SENT_MESSAGE}, pending


def check_code(engine: Engine, throttle: Throttle, ticket: str, code: str, client: str | None, *,
               clock: Clock) -> dict[str, Any]:
    """Enter the code: the person's payments, or why not (wrong with tries left, dead, expired)."""
    keys = (address_key(client),)
    now = clock.now()
    refusal = _rate_limited(throttle, *keys)
    answer: dict[str, Any] = {}
    masked_id = "?"
    with engine.begin() as conn:
        if refusal is not None:
            outcome = LIMITED
        else:
            row = conn.execute(select(selfquery_codes).where(selfquery_codes.c.ticket_hash == _digest(ticket))
                               .with_for_update()).first()
            if row is not None and row.id_number:
                masked_id = mask_id_number(row.id_number)
            if row is None or row.used_at is not None or parse_iso(row.expires_at) <= now:
                outcome = EXPIRED
                refusal = ApiError(error_codes.SELFQUERY_CODE_EXPIRED, "the code has expired or was used; ask "
                                   "for a new one")
            elif row.wrong_count >= CODE_TRIES:
                outcome = DEAD
                refusal = ApiError(error_codes.SELFQUERY_CODE_DEAD, "too many wrong codes; ask for a new one")
            elif row.code_hash is None or not hmac.compare_digest(row.code_hash, _code_hash(ticket, code.strip())):
                outcome = WRONG
                throttle.failure(*keys)
                wrong = row.wrong_count + 1
                conn.execute(update(selfquery_codes).where(selfquery_codes.c.ticket_hash == row.ticket_hash)
                             .values(wrong_count=wrong))
                refusal = ApiError(error_codes.SELFQUERY_CODE_WRONG, "the code does not match", field="code",
                                   tries_left=max(0, CODE_TRIES - wrong))
            else:
                outcome = SHOWN
                conn.execute(update(selfquery_codes).where(selfquery_codes.c.ticket_hash == row.ticket_hash)
                             .values(used_at=iso(now)))
                answer = payments_of(conn, row.id_number)
        data: dict[str, Any] = {"id": masked_id, "outcome": outcome, "client": client or "?"}
        if outcome == SHOWN:
            data["payments"] = len(answer["payments"])
        audit.append(conn, ACTOR, CODE_ENTERED, ACTOR, data)
    if refusal is not None:
        raise refusal
    return answer


def _item_names() -> dict[str, str]:
    return dict(subsidy_catalogue())


def _local_date(moment: str | None) -> str:
    return parse_iso(moment).astimezone(_CST).strftime("%Y-%m-%d") if moment else ""


def _reason(text: str | None) -> str:
    """The bank's wording as the resident reads it, with any ID, phone or account number in it masked."""
    text = mask_personal_numbers(str(text or "").strip())
    return _LONG_DIGITS.sub(lambda m: mask_tail(m.group(0)), text) or "银行未说明原因"


def payments_of(conn: Connection, id_number: str) -> dict[str, Any]:
    """Every payment line of the person, newest first, masked: item, period, amount, date, state (paid,
    failed with the bank's reason, at the bank, reversed), the card as ``****5341``."""
    names = _item_names()
    rows = conn.execute(
        select(payment_lines.c.id, payment_lines.c.state, payment_lines.c.amount_fen, payment_lines.c.bank_reason,
               payment_lines.c.settled_at, payment_lines.c.created_at, entitlements.c.item, entitlements.c.period,
               entitlements.c.name, cards.c.card_number, payment_batches.c.exported_at)
        .join(entitlements, entitlements.c.id == payment_lines.c.entitlement_id)
        .join(cards, cards.c.id == payment_lines.c.card_id)
        .join(payment_batches, payment_batches.c.id == payment_lines.c.batch_id)
        .where(entitlements.c.id_number == id_number)
        .order_by(desc(entitlements.c.period), desc(payment_lines.c.created_at), desc(payment_lines.c.id))).all()
    name = rows[0].name if rows else conn.execute(
        select(cards.c.name).where(cards.c.id_number == id_number).order_by(desc(cards.c.id))).scalar()
    out = []
    for r in rows:
        state = PaymentLineState(r.state)
        settled = state in (PaymentLineState.CREDITED, PaymentLineState.BOUNCED, PaymentLineState.REVERSED)
        out.append({
            "item": r.item, "item_name": names.get(r.item, r.item), "period": r.period,
            "amount_fen": int(r.amount_fen), "amount_yuan": fen_to_yuan(r.amount_fen),
            "state": state.value, "state_label": STATE_WORDS[state],
            "date": _local_date(r.settled_at if settled else (r.exported_at or r.created_at)),
            "reason": _reason(r.bank_reason) if state == PaymentLineState.BOUNCED else "",
            "card": mask_tail(r.card_number),
        })
    return {"name_masked": mask_name(name or ""), "payments": out}
