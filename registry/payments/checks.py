"""Every line of a department's payment roster is checked before it can be paid (issue 13).

A line (``entitlements`` row, state ``ready`` after its data passed) is intercepted when:

- ``no_active_card``: the ID number has no 已激活 card; ``name_mismatch``: the line's name is not the
  active card holder's (the bank pays by account and name: a wrong name bounces or pays the wrong person);
- ``payment_rule``: a cross-comparison rule of ``resources/rules/subsidy_rules.json`` hits a department
  dataset row, the rules taken as they apply to the LINE's item (``RuleSet.applicable((item,))``, the
  enrollment check's own rules and conditions: a 低保 line for a company owner is intercepted whatever the
  enrollment form said). A ``flag`` rule intercepts too: before money moves a person looks (the finding
  keeps the rule's severity);
- ``duplicate_payment``: the same ID number, item and period is on another department's or file's line
  that is ready, in a batch, paid, or failed and waiting for its retry (a failed line is retried, never
  replaced by a second one);
- ``amount_over_standard``: the amount is above the catalogue's ``standard.max_fen`` for the item.

Set-based: a handful of statements per roster whatever its size (the card and village of every line
by two correlated UPDATEs, one query per dataset kind returning only the rows of the roster's ID
numbers, one self-join for duplicates), then one pass in Python over the lines. The findings go to
``payment_findings``; the lines with one become ``intercepted`` in one UPDATE. Comparisons and
interceptions are added to ``payment_rule_stats`` per rule (or check) and paying department.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from enrollment.vocabulary import CardStatus, EntitlementState
from enrollment.vocabulary import PaymentFindingKind as Kind

from ..checks import INTERCEPT
from ..checks.rules import DatasetRow, RuleSet, row_evidence
from ..schema import cards, dataset_rows, entitlements, payment_findings, payment_rule_stats, residents
from .masking import mask_tail

# States of another line that make a new line for the same person, item and period a second payment.
OWED_STATES = (EntitlementState.READY, EntitlementState.IN_BATCH, EntitlementState.PAID_OUT,
               EntitlementState.PAY_FAILED)
FINDING_OPEN = "open"
_CHUNK = 5000
_NUMBER, _ITEM = 2, 4   # the ID number's and the item's positions in a line as check_import selects them
_SCAN_FACTOR = 8        # read a dataset kind whole when it has at most this many rows per roster ID number


@dataclass
class CheckSummary:
    checked: int = 0
    intercepted: int = 0
    by_kind: Counter = field(default_factory=Counter)        # finding kind → lines with one
    by_rule: dict[str, dict[str, int]] = field(default_factory=dict)  # rule or check → compared/intercepted
    intercepted_lines: list[dict[str, Any]] = field(default_factory=list)  # {line, entitlement_id, kinds}

    def to_dict(self) -> dict[str, Any]:
        return {"lines": self.checked, "intercepted": self.intercepted, "by_kind": dict(self.by_kind),
                "by_rule": self.by_rule}


def _ev(evidence: dict[str, Any]) -> str:
    return json.dumps(evidence, ensure_ascii=False, sort_keys=True)


def _card_id_subquery() -> Any:
    return (select(cards.c.id).where(cards.c.id_number == entitlements.c.id_number,
                                     cards.c.status == CardStatus.ACTIVE)
            .order_by(cards.c.status_date.desc(), cards.c.id.desc()).limit(1).scalar_subquery())


# A finding as check_import collects it: a tuple in the order of _FINDING_COLUMNS (a million lines may have
# a hundred thousand findings; dicts and SQLAlchemy's per-row parameter processing were a tenth of the check).
_FINDING_COLUMNS = ("entitlement_id", "kind", "rule", "subject", "severity", "evidence", "status", "created_at")
_F_ENTITLEMENT, _F_KIND = 0, 1


def _insert_findings(conn: Connection, found: list[tuple[Any, ...]]) -> None:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO {payment_findings.name} ({', '.join(_FINDING_COLUMNS)}) "
           f"VALUES ({', '.join(mark for _ in _FINDING_COLUMNS)})")
    for i in range(0, len(found), _CHUNK):
        conn.exec_driver_sql(sql, found[i:i + _CHUNK])


def _plain_rows(conn: Connection, query: Any) -> Iterator[tuple[Any, ...]]:
    """The query's rows as plain tuples from the driver's own cursor, as they come: for a million roster lines,
    building SQLAlchemy rows cost more than the query. The query's values are the caller's own (an import id, a
    state, a dataset kind), rendered as literals so no parameter style is involved."""
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql)
        while batch := cursor.fetchmany(_CHUNK):
            yield from batch
    finally:
        cursor.close()


def _lines_of(import_id: int) -> Any:
    return and_(entitlements.c.import_id == import_id, entitlements.c.state == EntitlementState.READY)


def check_import(conn: Connection, import_id: int, department: str, *, rules: RuleSet, today: str, now: str,
                 standards: dict[str, dict[str, Any]]) -> CheckSummary:
    """Check the import's ready lines (inside the caller's transaction); intercept those with a finding."""
    mine = _lines_of(import_id)
    conn.execute(update(entitlements).where(mine).values(
        card_id=_card_id_subquery(),
        village_code=select(residents.c.village_code).where(residents.c.id_number == entitlements.c.id_number)
        .scalar_subquery()))
    lines = list(_plain_rows(conn,
        select(entitlements.c.id, entitlements.c.line, entitlements.c.id_number, entitlements.c.name,
               entitlements.c.item, entitlements.c.period, entitlements.c.amount_fen, entitlements.c.card_id,
               cards.c.name.label("holder"), cards.c.card_number)
        .select_from(entitlements.outerjoin(cards, cards.c.id == entitlements.c.card_id))
        .where(mine).order_by(entitlements.c.id)))
    summary = CheckSummary(checked=len(lines))
    found: list[tuple[Any, ...]] = []
    hit: dict[str, set[int]] = defaultdict(set)   # rule or check id → lines it stopped

    def add(entitlement_id: int, kind: Kind, evidence: dict[str, Any], *, rule: str = "", subject: str = "",
            severity: str = INTERCEPT) -> None:
        found.append((entitlement_id, str(kind), rule, subject[:100], str(severity), _ev(evidence), FINDING_OPEN, now))
        hit[rule or kind].add(entitlement_id)

    # The rows of the department datasets the rules of the roster's items name: one query per dataset kind,
    # only the rows of the roster's ID numbers.
    items = Counter(ln[_ITEM] for ln in lines)
    rules_by_item = {item: rules.applicable((item,)) for item in items}
    items_by_kind: dict[str, set[str]] = defaultdict(set)
    for item, applicable in rules_by_item.items():
        for rule, _codes in applicable:
            items_by_kind[rule.dataset].add(item)
    rows_by_kind: dict[str, dict[str, list[DatasetRow]]] = {}
    numbers_by_item: dict[str, set[str]] = defaultdict(set)
    for ln in lines:
        numbers_by_item[ln[_ITEM]].add(ln[_NUMBER])
    for kind, kind_items in items_by_kind.items():
        grouped: dict[str, list[DatasetRow]] = defaultdict(list)
        numbers = set().union(*(numbers_by_item[item] for item in kind_items))
        columns = (dataset_rows.c.id, dataset_rows.c.id_number, dataset_rows.c.row, dataset_rows.c.line)
        of_kind = dataset_rows.c.kind == kind
        kind_rows = conn.execute(select(func.count()).select_from(dataset_rows).where(of_kind)).scalar_one()
        if kind_rows <= _SCAN_FACTOR * len(numbers):
            # A roster about as large as the dataset: one pass over the kind's rows, the roster's ID numbers
            # picked out here (an index search per ID number, each with a row look-up, cost several times
            # more; a row not picked is never decoded).
            query = select(*columns).where(of_kind)
        else:
            query = select(*columns).where(of_kind, dataset_rows.c.id_number.in_(
                select(entitlements.c.id_number).where(mine, entitlements.c.item.in_(sorted(kind_items)))))
        for row_id, number, row, line_no in _plain_rows(conn, query.order_by(dataset_rows.c.id)):
            if number in numbers:
                grouped[number].append(DatasetRow(row_id, json.loads(row), line_no))
        rows_by_kind[kind] = grouped
    with_rows = set().union(*(g.keys() for g in rows_by_kind.values())) if rows_by_kind else set()
    other_cards: dict[str, list[dict[str, Any]]] = defaultdict(list)   # a card-less line's other cards
    for c in conn.execute(select(cards).where(cards.c.id_number.in_(
            select(entitlements.c.id_number).where(mine, entitlements.c.card_id.is_(None))))
            .order_by(cards.c.id)):
        other_cards[c.id_number].append({"card": mask_tail(c.card_number), "status": c.status,
                                         "status_date": c.status_date})

    # One pass over the lines: the card (an active one, in the line's name), the datasets by the rules of
    # the line's item, the catalogue's standard.
    no_card = 0
    for eid, _line, number, name, item, _period, amount, card_id, holder, card_number in lines:
        if card_id is None:
            no_card += 1
            add(eid, Kind.NO_ACTIVE_CARD, {"cards": other_cards.get(number, [])})
        elif holder != name:
            add(eid, Kind.NAME_MISMATCH, {"line_name": name, "card_holder": holder, "card": mask_tail(card_number)},
                subject=str(card_id))
        if number in with_rows:
            for rule, _codes in rules_by_item[item]:
                rows = rows_by_kind[rule.dataset].get(number)
                matching = rule.matching(rows, today) if rows else []
                if not matching or len(matching) < rule.count_gte:
                    continue
                for group in ([matching] if rule.count_gte > 1 else [[m] for m in matching]):
                    add(eid, Kind.PAYMENT_RULE, {"rule": rule.describe(), "subsidy": item, "subsidies": [item],
                                                 "rows": [row_evidence(r) for r in group]},
                        rule=rule.id, subject=str(group[0].id), severity=rule.severity)
        standard = standards.get(item)
        if standard and amount > standard["max_fen"]:
            add(eid, Kind.AMOUNT_OVER_STANDARD, {"amount_fen": amount, "max_fen": standard["max_fen"],
                                                 "unit": standard.get("unit", ""), "item": item})
    compared = {r.id: sum(n for item, n in items.items() if r.applies_to is None or item in r.applies_to)
                for r in rules.rules}

    # 3. The same person, item and period owed by another line (another department or file).
    other = entitlements.alias("other")
    dupes = conn.execute(
        select(entitlements.c.id, other.c.id.label("other_id"), other.c.department, other.c.period, other.c.item,
               other.c.line.label("other_line"), other.c.state)
        .select_from(entitlements.join(other, and_(other.c.id_number == entitlements.c.id_number,
                                                   other.c.item == entitlements.c.item,
                                                   other.c.period == entitlements.c.period)))
        .where(mine, other.c.import_id != import_id, other.c.state.in_(OWED_STATES))
        .order_by(entitlements.c.id, other.c.id)).all()
    for d in dupes:
        add(d.id, Kind.DUPLICATE_PAYMENT, {"other": {
            "entitlement_id": d.other_id, "department": d.department, "item": d.item, "period": d.period,
            "line": d.other_line, "state": d.state}}, subject=str(d.other_id))

    _insert_findings(conn, found)
    if found:
        # The lines with a finding, found from the findings' side (a few per cent of the lines) rather than by
        # probing the findings for every line of the roster.
        with_finding = select(payment_findings.c.entitlement_id).where(
            payment_findings.c.entitlement_id >= min(f[_F_ENTITLEMENT] for f in found),
            payment_findings.c.status == FINDING_OPEN)
        conn.execute(update(entitlements).where(mine, entitlements.c.id.in_(with_finding))
                     .values(state=EntitlementState.INTERCEPTED, updated_at=now))

    kinds_by_line: dict[int, list[str]] = defaultdict(list)
    for f in found:
        if f[_F_KIND] not in kinds_by_line[f[_F_ENTITLEMENT]]:
            kinds_by_line[f[_F_ENTITLEMENT]].append(f[_F_KIND])
    summary.intercepted = len(kinds_by_line)
    for kinds in kinds_by_line.values():
        summary.by_kind.update(kinds)
    line_of = {ln[0]: ln[1] for ln in lines} if kinds_by_line else {}
    summary.intercepted_lines = [{"line": line_of[e], "entitlement_id": e, "kinds": k}
                                 for e, k in sorted(kinds_by_line.items())]
    checks = {Kind.NO_ACTIVE_CARD: len(lines), Kind.NAME_MISMATCH: len(lines) - no_card,
              Kind.DUPLICATE_PAYMENT: len(lines),
              Kind.AMOUNT_OVER_STANDARD: sum(n for item, n in items.items() if standards.get(item))}
    counts = [(str(k), str(k), n) for k, n in checks.items()] + \
             [(r.id, str(Kind.PAYMENT_RULE), compared[r.id]) for r in rules.rules]
    for rule_id, _kind, n in counts:
        summary.by_rule[rule_id] = {"compared": n, "intercepted": len(hit.get(rule_id, ()))}
    add_counts(conn, department, [(rule_id, kind, n, len(hit.get(rule_id, ()))) for rule_id, kind, n in counts],
               now)
    return summary


def add_counts(conn: Connection, department: str, counts: list[tuple[str, str, int, int]], now: str) -> None:
    """Add (rule or check, kind, compared, intercepted) to the department's cumulative counters."""
    t = payment_rule_stats
    for rule_id, kind, compared, intercepted in counts:
        if not compared and not intercepted:
            continue
        for _attempt in (1, 2):
            done = conn.execute(update(t).where(t.c.rule_id == rule_id, t.c.department == department).values(
                compared=t.c.compared + compared, intercepted=t.c.intercepted + intercepted, kind=kind,
                updated_at=now)).rowcount
            if done:
                break
            try:
                with conn.begin_nested():
                    conn.execute(insert(t).values(rule_id=rule_id, department=department, kind=kind,
                                                  compared=compared, intercepted=intercepted, updated_at=now))
                break
            except IntegrityError:
                continue  # inserted meanwhile by another import: add to it


def rule_counts(conn: Connection) -> list[dict[str, Any]]:
    """The counters, per rule or check and department (the dashboard's "comparisons and interceptions")."""
    t = payment_rule_stats
    return [{"rule_id": r.rule_id, "department": r.department, "kind": r.kind, "compared": r.compared,
             "intercepted": r.intercepted}
            for r in conn.execute(select(t).order_by(t.c.department, t.c.rule_id))]


__all__ = ["OWED_STATES", "CheckSummary", "add_counts", "check_import", "rule_counts"]
