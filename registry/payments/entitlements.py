"""A department's payment roster (``yikatong registry import-entitlements FILE --department NAME``) and a
person's decision on an intercepted line (``registry payments decide``).

CSV (UTF-8 with or without BOM, or GBK when asked) with exactly ``id_number,name,item,period,amount``:
item a code of ``resources/subsidies/catalogue.json``, period YYYYMM, amount in yuan with at most two
decimals (kept as integer fen, ``money.yuan_to_fen``). A file-level problem (encoding, columns, no line)
refuses the file. A line with bad data (ID number, empty name, unknown item, period, amount, the same ID
number + item + period again in the file) is stored ``refused`` with its code and reported by line: unlike a
dataset, a roster is a list of payments, and the department must see which of its lines will not be paid
while the others go on. A file whose lines are ALL bad is refused whole (``entitlement.all_lines_refused``,
every line listed, nothing written): no line of it can be paid, so it is almost surely the wrong file (another
layout, a wrong encoding, amounts in fen), and recording it would only fill the queue with refusals that
the corrected file repeats.

Every other line is checked (``registry.payments.checks``) in the same transaction and ends ``ready`` or
``intercepted``. The same file (SHA-256) for the same department again changes nothing. One
``entitlements.imported`` audit entry (department, counts, hash; the file name as a text).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, select, update

import resources
from enrollment import error_codes as codes
from enrollment import id_number as idn
from enrollment.errors import DomainError
from enrollment.roster_csv import CsvFileError, RowError, data_rows, open_table
from enrollment.vocabulary import EntitlementState

from .. import audit
from ..auth import Operator
from ..checks.rules import RuleSet
from ..db import iso
from ..errors import ApiError
from ..schema import entitlement_imports, entitlements, payment_findings
from .bulk import insert_tuples, plain_rows
from .checks import FINDING_OPEN, OWED_STATES, RosterCheck, check_roster, record_check
from .money import yuan_to_fen
from .roster_line import RosterLine

COLUMNS = ("id_number", "name", "item", "period", "amount")
ENTITLEMENTS_IMPORTED = "entitlements.imported"   # audit actions
ENTITLEMENT_RELEASED = "entitlement.released"
ENTITLEMENT_REJECTED = "entitlement.rejected"
RELEASE, REJECT = "release", "reject"
DECISIONS = {RELEASE: EntitlementState.READY, REJECT: EntitlementState.NOT_PAID}
REASON_MAX = 200
DEPARTMENT_MAX = 64
FINDING_RESOLVED = "resolved"

_PERIOD = re.compile(r"^(19|20)\d\d(0[1-9]|1[0-2])$")


@functools.cache
def catalogue() -> dict[str, dict[str, Any]]:
    """item code → its catalogue entry (name, standard)."""
    data = json.loads(resources.path("subsidies", "catalogue.json").read_text(encoding="utf-8"))
    return {item["code"]: item for item in data["items"]}


def standards() -> dict[str, dict[str, Any]]:
    return {code: item["standard"] for code, item in catalogue().items() if item.get("standard")}


@functools.cache
def _default_rules() -> RuleSet:
    return RuleSet.load()


@dataclass
class EntitlementImport:
    department: str
    file: str
    sha256: str
    rows: int
    ready: int = 0
    intercepted: int = 0
    refused: int = 0
    import_id: int | None = None
    already_imported: bool = False
    refused_lines: list[dict[str, Any]] = field(default_factory=list)
    intercepted_lines: list[dict[str, Any]] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _check_line(line: int, f: dict[str, str], items: dict[str, Any], today: dt.date) -> RosterLine:
    out = RosterLine(line, f["id_number"].replace(" ", "").upper(), f["name"], f["item"], f["period"], 0)
    try:
        out.id_number = idn.parse(f["id_number"], today=today).number
    except DomainError as e:
        out.problems.append(RowError(line, e.code, "id_number", {k: v for k, v in e.data.items() if k != "value"}))
    if not f["name"] or len(f["name"]) > 100:
        out.problems.append(RowError(line, codes.ENTITLEMENT_NAME_EMPTY, "name"))
    if f["item"] not in items:
        out.problems.append(RowError(line, codes.ENTITLEMENT_ITEM_UNKNOWN, "item", {"item": f["item"][:32]}))
    if not _PERIOD.match(f["period"]):
        out.problems.append(RowError(line, codes.ENTITLEMENT_PERIOD, "period"))
    try:
        out.amount_fen = yuan_to_fen(f["amount"])
    except DomainError as e:
        out.problems.append(RowError(line, e.code, "amount", dict(e.data)))
    return out


def read_roster(raw: bytes, *, encoding: str = "utf-8") -> list[RosterLine]:
    """Every line with its problems (none for a good line); CsvFileError for a file-level problem."""
    reader, header = open_table(raw, encoding, encoding_code=codes.ENTITLEMENT_ENCODING,
                                empty_code=codes.ENTITLEMENT_EMPTY)
    if sorted(header) != sorted(COLUMNS):
        raise CsvFileError(codes.ENTITLEMENT_COLUMNS, expected=list(COLUMNS),
                           missing=[c for c in COLUMNS if c not in header],
                           extra=[c for c in header if c not in COLUMNS])
    items = catalogue()
    today = dt.date.today()
    length_errors: list[RowError] = []
    lines: list[RosterLine] = []
    first: dict[tuple[str, str, str], int] = {}
    for line, fields in data_rows(reader, header, length_errors, row_length_code=codes.ENTITLEMENT_ROW_LENGTH):
        parsed = _check_line(line, fields, items, today)
        if not parsed.problems:
            key = (parsed.id_number, parsed.item, parsed.period)
            if key in first:
                parsed.problems.append(RowError(line, codes.ENTITLEMENT_LINE_REPEATED, "id_number",
                                                {"first_line": first[key]}))
            else:
                first[key] = line
        lines.append(parsed)
    for e in length_errors:   # a line of the wrong width: refused, reported, nothing of it readable
        lines.append(RosterLine(e.line, "", "", "", "", 0, [e]))
    lines.sort(key=lambda ln: ln.line)
    if not lines:
        raise CsvFileError(codes.ENTITLEMENT_EMPTY)
    return lines


def _refusal(problems: list[RowError]) -> str:
    first = problems[0]
    return json.dumps({"code": first.code, "field": first.field, "data": first.data,
                       "problems": [p.to_dict() for p in problems]}, ensure_ascii=False, sort_keys=True)


_LINE_COLUMNS = ("import_id", "line", "department", "id_number", "name", "item", "period", "amount_fen",
                 "village_code", "card_id", "state", "refusal", "created_at", "updated_at")


def store_lines(conn: Connection, import_id: int, department: str, lines: list[RosterLine], check: RosterCheck,
                now: str) -> dict[int, int]:
    """Store every line of the roster once, in file order: a bad one ``refused`` with its problems, a checked
    one with the card and village the check found and its state (``intercepted`` when it has a finding, else
    ``ready``). Returns file line → entitlement id."""
    intercepted = check.intercepted()

    def row(ln: RosterLine) -> tuple[Any, ...]:
        if ln.problems:
            return (import_id, ln.line, department, ln.id_number[:18], ln.name[:100], ln.item[:32], ln.period[:6],
                    ln.amount_fen, None, None, EntitlementState.REFUSED, _refusal(ln.problems), now, now)
        card = check.cards.get(ln.id_number)
        return (import_id, ln.line, department, ln.id_number, ln.name, ln.item, ln.period, ln.amount_fen,
                check.villages.get(ln.id_number), card[0] if card else None,
                EntitlementState.INTERCEPTED if ln.line in intercepted else EntitlementState.READY, None, now, now)

    insert_tuples(conn, entitlements, _LINE_COLUMNS, map(row, lines))
    return dict(plain_rows(conn, select(entitlements.c.line, entitlements.c.id)
                           .where(entitlements.c.import_id == import_id)))


def import_entitlements(engine: Engine, path: str | Path, department: str, *, encoding: str = "utf-8",
                        actor: str = audit.CLI, clock: Any, rules: RuleSet | None = None) -> EntitlementImport:
    """The roster file at ``path``: ``import_entitlement_bytes`` of its bytes under its name."""
    path = Path(path)
    return import_entitlement_bytes(engine, path.read_bytes(), path.name, department, encoding=encoding,
                                    actor=actor, clock=clock, rules=rules)


def import_entitlement_bytes(engine: Engine, raw: bytes, file_name: str, department: str, *,
                             encoding: str = "utf-8", actor: str = audit.CLI, clock: Any,
                             rules: RuleSet | None = None) -> EntitlementImport:
    """Store the roster's lines (bad ones ``refused``), check the others, all in one transaction (the CLI
    reads a file, the central API takes the uploaded bytes)."""
    department = (department or "").strip()
    if not department or len(department) > DEPARTMENT_MAX:
        raise DomainError(codes.ENTITLEMENT_DEPARTMENT, "department", max=DEPARTMENT_MAX)
    sha = hashlib.sha256(raw).hexdigest()
    name = Path(file_name or "").name[:255]
    with engine.connect() as conn:
        done = conn.execute(select(entitlement_imports.c.id, entitlement_imports.c.rows).where(
            entitlement_imports.c.sha256 == sha, entitlement_imports.c.department == department)).first()
        if done is not None:
            out = EntitlementImport(department, name, sha, done.rows, import_id=done.id, already_imported=True)
            for state, n in conn.execute(select(entitlements.c.state, func.count())
                                         .where(entitlements.c.import_id == done.id).group_by(entitlements.c.state)):
                if state in (EntitlementState.READY, EntitlementState.INTERCEPTED, EntitlementState.REFUSED):
                    setattr(out, str(state), n)
            return out
    lines = read_roster(raw, encoding=encoding)
    refused = [ln for ln in lines if ln.problems]
    refused_lines = [p.to_dict() for ln in refused for p in ln.problems]
    if len(refused) == len(lines):
        raise CsvFileError(codes.ENTITLEMENT_ALL_REFUSED, [p for ln in refused for p in ln.problems],
                           count=len(lines))
    result = EntitlementImport(department, name, sha, len(lines), refused=len(refused), refused_lines=refused_lines)
    moment = clock.now()
    now, today = iso(moment), moment.astimezone(dt.UTC).date().isoformat()
    with engine.begin() as conn:
        import_id = conn.execute(insert(entitlement_imports).values(
            department=department, file_name=name, sha256=sha, rows=len(lines), imported_at=now, actor=actor,
        ).returning(entitlement_imports.c.id)).scalar_one()
        good = [ln for ln in lines if not ln.problems]
        check = check_roster(conn, good, rules=rules or _default_rules(), today=today, standards=standards())
        entitlement_ids = store_lines(conn, import_id, department, lines, check, now)
        summary = record_check(conn, department, check, entitlement_ids, now)
        result.import_id = import_id
        result.intercepted = summary.intercepted
        result.ready = summary.checked - summary.intercepted
        result.intercepted_lines = summary.intercepted_lines
        result.checks = summary.to_dict()
        audit.append(conn, actor, ENTITLEMENTS_IMPORTED, f"entitlement_import:{import_id}", {
            "department": department, "sha256": sha, "rows": len(lines), "ready": result.ready,
            "intercepted": result.intercepted, "refused": result.refused,
            "by_kind": dict(summary.by_kind)}, texts={"file": name})
    return result


def decide(engine: Engine, operator: Operator, entitlement_id: int, action: str, *, reason: str | None,
           clock: Any) -> dict[str, Any]:
    """A central person releases an intercepted line (→ ready, its findings resolved) or rejects it
    (→ not_paid). A release is refused while another line for the same person, item and period is owed."""
    from enrollment.masking import mask_personal_numbers

    from ..review import require_staff

    require_staff(operator)
    if action not in DECISIONS:
        raise ApiError(422, codes.REVIEW_ACTION, "action must be release or reject", field="action",
                       allowed=list(DECISIONS))
    text = (reason or "").strip()
    if not text:
        raise ApiError(422, codes.REVIEW_REASON, "a decision on an intercepted payment needs a reason",
                       field="reason")
    if len(text) > REASON_MAX:
        raise ApiError(422, codes.REVIEW_REASON_LONG, f"a reason has at most {REASON_MAX} characters",
                       field="reason", max=REASON_MAX)
    now = iso(clock.now())
    e = entitlements
    with engine.begin() as conn:
        row = conn.execute(select(e).where(e.c.id == entitlement_id)).first()
        if row is None:
            raise ApiError(404, codes.ENTITLEMENT_UNKNOWN, "no roster line with this id", field="entitlement_id")
        if row.state != EntitlementState.INTERCEPTED:
            raise ApiError(409, codes.ENTITLEMENT_STATE, "only an intercepted line is released or rejected",
                           field="entitlement_id", state=row.state)
        if action == RELEASE:
            owed = conn.execute(select(e.c.id, e.c.department, e.c.period).where(
                and_(e.c.id_number == row.id_number, e.c.item == row.item, e.c.period == row.period,
                     e.c.id != row.id, e.c.state.in_(OWED_STATES))).limit(1)).first()
            if owed is not None:
                raise ApiError(409, codes.ENTITLEMENT_DUPLICATE_OPEN, "the same payment is already owed by another "
                               "line", field="entitlement_id", other_entitlement_id=owed.id,
                               department=owed.department, period=owed.period)
        target = DECISIONS[action]
        conn.execute(update(e).where(e.c.id == entitlement_id).values(
            state=target, decided_by=operator.username, decided_at=now, updated_at=now))
        kinds = sorted({k for (k,) in conn.execute(select(payment_findings.c.kind).where(
            payment_findings.c.entitlement_id == entitlement_id, payment_findings.c.status == FINDING_OPEN))})
        conn.execute(update(payment_findings).where(payment_findings.c.entitlement_id == entitlement_id,
                                                    payment_findings.c.status == FINDING_OPEN)
                     .values(status=FINDING_RESOLVED, resolved_at=now, resolved_by=operator.username))
        audit.append(conn, operator.username, ENTITLEMENT_RELEASED if action == RELEASE else ENTITLEMENT_REJECTED,
                     f"entitlement:{entitlement_id}", {
                         "department": row.department, "item": row.item, "period": row.period,
                         "amount_fen": row.amount_fen, "findings": kinds},
                     texts={"reason": mask_personal_numbers(text)})
    return {"entitlement_id": entitlement_id, "state": str(target), "decided_by": operator.username,
            "decided_at": now, "findings_resolved": kinds}
