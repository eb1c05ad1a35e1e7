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

Set-based, and before anything is written: a handful of reads per roster whatever its size (the
active cards, villages, dataset rows and owed lines of the roster's ID numbers; ``_of_numbers`` reads a
table whole when it is about the roster's size, else by chunks of ID numbers), then one pass in Python over
the lines (``check_roster``). The import then stores every line once, already with its card, village and
state (``ready`` or ``intercepted``), and ``record_check`` writes the findings to ``payment_findings`` and
adds the comparisons and interceptions to ``payment_rule_stats`` per rule (or check) and paying department.
Checking before storing is what makes a million lines fit the target: a check after the insert had to
rewrite every stored line (its card and village, then the intercepted ones' state).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from sqlalchemy import Column, Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from enrollment.vocabulary import CardStatus, EntitlementState
from enrollment.vocabulary import PaymentFindingKind as Kind

from ..checks import INTERCEPT
from ..checks.rules import DatasetRow, RuleSet, row_evidence
from ..schema import cards, dataset_rows, entitlements, payment_findings, payment_rule_stats, residents
from .bulk import insert_tuples, plain_batches
from .masking import mask_tail
from .roster_line import RosterLine

# States of another line that make a new line for the same person, item and period a second payment.
OWED_STATES = (EntitlementState.READY, EntitlementState.IN_BATCH, EntitlementState.PAID_OUT,
               EntitlementState.PAY_FAILED)
FINDING_OPEN = "open"
_SCAN_FACTOR = 8   # read a table whole when it has at most this many rows per roster ID number
_IN_CHUNK = 500    # ID numbers per query otherwise


# A finding as check_roster collects it, keyed by the line of the file (the line has no id yet): a tuple
# (line, kind, rule, subject, severity, evidence); a million lines may have a hundred thousand findings.
_F_LINE, _F_KIND = 0, 1
_FINDING_COLUMNS = ("entitlement_id", "kind", "rule", "subject", "severity", "evidence", "status", "created_at")


@dataclass
class RosterCheck:
    """What ``check_roster`` found, before the lines are stored."""

    checked: int
    cards: dict[str, tuple[int, str, str]]   # ID number → its active card (id, holder, card number)
    villages: dict[str, str]                 # ID number → the village of the person on the enrollment roster
    found: list[tuple[Any, ...]]             # findings in order, see _F_LINE
    hit: dict[str, set[int]]                 # rule or check → the lines it stopped
    counts: list[tuple[str, str, int]]       # (rule or check, finding kind, lines compared)

    def intercepted(self) -> set[int]:
        return {f[_F_LINE] for f in self.found}


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


def _of_numbers(conn: Connection, number: Column, columns: Sequence[Any], where: Sequence[Any],
                numbers: set[str], order_by: Sequence[Any]) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of ``number``'s table that meet ``where`` and belong to one of ``numbers``, as lists of tuples
    (the ID number first, then ``columns``), in ``order_by`` order for each ID number.

    A table about as large as the roster is read in one pass and the roster's ID numbers picked out here: an
    index search with a row look-up per ID number cost several times more, and a row not picked is never
    decoded. A small roster against a big table is read by chunks of its ID numbers through the index.
    ``where`` holds the caller's own values or validated ones (a state, a dataset kind, catalogue codes,
    YYYYMM periods): the whole-table read renders them as literals. The roster's ID numbers are bound."""
    if not numbers:
        return
    query = select(number, *columns).where(*where)
    total = conn.execute(select(func.count()).select_from(number.table).where(*where)).scalar_one()
    if total <= _SCAN_FACTOR * len(numbers):
        for batch in plain_batches(conn, query.order_by(*order_by)):
            yield [row for row in batch if row[0] in numbers]
        return
    ordered = sorted(numbers)
    for i in range(0, len(ordered), _IN_CHUNK):
        chunk = ordered[i:i + _IN_CHUNK]
        yield [tuple(r) for r in conn.execute(query.where(number.in_(chunk)).order_by(*order_by))]


def _active_cards(conn: Connection, numbers: set[str]) -> dict[str, tuple[int, str, str]]:
    """ID number → its active card: the newest by status date, then by id (a later row replaces an earlier)."""
    found: dict[str, tuple[int, str, str]] = {}
    for batch in _of_numbers(conn, cards.c.id_number, (cards.c.id, cards.c.name, cards.c.card_number),
                             (cards.c.status == CardStatus.ACTIVE,), numbers, (cards.c.status_date, cards.c.id)):
        found.update({r[0]: r[1:] for r in batch})
    return found


def _dataset_rows(conn: Connection, rules: RuleSet, numbers_by_item: dict[str, set[str]]
                  ) -> dict[str, dict[str, list[DatasetRow]]]:
    """dataset kind → ID number → its rows, for the kinds the rules of the roster's items name."""
    items_by_kind: dict[str, set[str]] = defaultdict(set)
    for item in numbers_by_item:
        for rule, _codes in rules.applicable((item,)):
            items_by_kind[rule.dataset].add(item)
    by_kind: dict[str, dict[str, list[DatasetRow]]] = {}
    for kind, kind_items in items_by_kind.items():
        grouped: dict[str, list[DatasetRow]] = defaultdict(list)
        numbers = set().union(*(numbers_by_item[item] for item in kind_items))
        for batch in _of_numbers(conn, dataset_rows.c.id_number,
                                 (dataset_rows.c.id, dataset_rows.c.row, dataset_rows.c.line),
                                 (dataset_rows.c.kind == kind,), numbers, (dataset_rows.c.id,)):
            for number, row_id, row, line_no in batch:
                grouped[number].append(DatasetRow(row_id, json.loads(row), line_no))
        by_kind[kind] = grouped
    return by_kind


def _owed_elsewhere(conn: Connection, numbers: set[str], items: Iterable[str], periods: set[str]
                    ) -> dict[tuple[str, str, str], list[tuple]]:
    """(ID number, item, period) → the stored lines already owing that payment (ready, in a batch, paid, or
    failed and waiting for its retry), oldest first. The roster's own lines are not stored yet. A key that is
    not on the roster (another item's period) is never looked up."""
    e = entitlements
    owed: dict[tuple[str, str, str], list[tuple]] = defaultdict(list)
    for batch in _of_numbers(conn, e.c.id_number, (e.c.id, e.c.department, e.c.period, e.c.item, e.c.line, e.c.state),
                             (e.c.item.in_(sorted(items)), e.c.period.in_(sorted(periods)), e.c.state.in_(OWED_STATES)),
                             numbers, (e.c.id,)):
        for number, other_id, department, period, item, line_no, state in batch:
            owed[(number, item, period)].append((other_id, department, period, item, line_no, state))
    return owed


_FIELDS = attrgetter("line", "id_number", "name", "item", "period", "amount_fen")


def check_roster(conn: Connection, lines: Sequence[RosterLine], *, rules: RuleSet, today: str,
                 standards: dict[str, dict[str, Any]]) -> RosterCheck:
    """Check the roster's good lines, those without problems (reads only, inside the caller's transaction)."""
    rows = list(map(_FIELDS, lines))   # plain tuples: a million attribute look-ups per field were a tenth
    numbers_by_item: dict[str, set[str]] = defaultdict(set)
    for _line, number, _name, item, _period, _amount in rows:
        numbers_by_item[item].add(number)
    numbers = set().union(*numbers_by_item.values())
    items = Counter(r[3] for r in rows)
    active = _active_cards(conn, numbers)
    villages = {n: v for batch in _of_numbers(conn, residents.c.id_number, (residents.c.village_code,), (),
                                               numbers, ()) for n, v in batch}
    rows_by_kind = _dataset_rows(conn, rules, numbers_by_item)
    with_rows = set().union(*(g.keys() for g in rows_by_kind.values())) if rows_by_kind else set()
    other_cards: dict[str, list[dict[str, Any]]] = defaultdict(list)   # a card-less line's other cards
    for batch in _of_numbers(conn, cards.c.id_number, (cards.c.card_number, cards.c.status, cards.c.status_date),
                             (), numbers - active.keys(), (cards.c.id,)):
        for number, card_number, status, status_date in batch:
            other_cards[number].append({"card": mask_tail(card_number), "status": status,
                                        "status_date": status_date})
    owed = _owed_elsewhere(conn, numbers, items, {r[4] for r in rows})

    found: list[tuple[Any, ...]] = []
    hit: dict[str, set[int]] = defaultdict(set)

    def add(line: int, kind: Kind, evidence: dict[str, Any], *, rule: str = "", subject: str = "",
            severity: str = INTERCEPT) -> None:
        found.append((line, str(kind), rule, subject[:100], str(severity), _ev(evidence)))
        hit[rule or kind].add(line)

    # One pass over the lines: the card (an active one, in the line's name), the datasets by the rules of
    # the line's item, the catalogue's standard, the same payment owed by another line.
    rules_by_item = {item: rules.applicable((item,)) for item in items}
    max_fen = {item: standard["max_fen"] for item, standard in standards.items()}
    no_card = 0
    for line, number, name, item, period, amount in rows:
        card = active.get(number)
        if card is None:
            no_card += 1
            add(line, Kind.NO_ACTIVE_CARD, {"cards": other_cards.get(number, [])})
        elif card[1] != name:
            add(line, Kind.NAME_MISMATCH, {"line_name": name, "card_holder": card[1], "card": mask_tail(card[2])},
                subject=str(card[0]))
        if number in with_rows:
            for rule, _codes in rules_by_item[item]:
                dataset = rows_by_kind[rule.dataset].get(number)
                matching = rule.matching(dataset, today) if dataset else []
                if not matching or len(matching) < rule.count_gte:
                    continue
                for group in ([matching] if rule.count_gte > 1 else [[m] for m in matching]):
                    add(line, Kind.PAYMENT_RULE, {"rule": rule.describe(), "subsidy": item, "subsidies": [item],
                                                  "rows": [row_evidence(r) for r in group]},
                        rule=rule.id, subject=str(group[0].id), severity=rule.severity)
        if amount > max_fen.get(item, amount):
            add(line, Kind.AMOUNT_OVER_STANDARD, {"amount_fen": amount, "max_fen": max_fen[item],
                                                  "unit": standards[item].get("unit", ""), "item": item})
        if owed:
            for other_id, department, other_period, other_item, other_line, state in owed.get(
                    (number, item, period), ()):
                add(line, Kind.DUPLICATE_PAYMENT, {"other": {
                    "entitlement_id": other_id, "department": department, "item": other_item,
                    "period": other_period, "line": other_line, "state": state}}, subject=str(other_id))

    checks = {Kind.NO_ACTIVE_CARD: len(rows), Kind.NAME_MISMATCH: len(rows) - no_card,
              Kind.DUPLICATE_PAYMENT: len(rows),
              Kind.AMOUNT_OVER_STANDARD: sum(n for item, n in items.items() if standards.get(item))}
    counts = [(str(k), str(k), n) for k, n in checks.items()] + [
        (r.id, str(Kind.PAYMENT_RULE), sum(n for item, n in items.items() if r.applies_to is None or item in r.applies_to))
        for r in rules.rules]
    return RosterCheck(len(rows), active, villages, found, hit, counts)


def record_check(conn: Connection, department: str, check: RosterCheck, entitlement_ids: dict[int, int],
                 now: str) -> CheckSummary:
    """Write the check's findings for the stored lines (file line → entitlement id) and add its comparisons and
    interceptions to the department's counters."""
    insert_tuples(conn, payment_findings, _FINDING_COLUMNS,
                  ((entitlement_ids[f[_F_LINE]], *f[1:], FINDING_OPEN, now) for f in check.found))
    kinds_by_line: dict[int, list[str]] = defaultdict(list)
    for f in check.found:
        if f[_F_KIND] not in kinds_by_line[f[_F_LINE]]:
            kinds_by_line[f[_F_LINE]].append(f[_F_KIND])
    summary = CheckSummary(checked=check.checked, intercepted=len(kinds_by_line))
    for kinds in kinds_by_line.values():
        summary.by_kind.update(kinds)
    summary.intercepted_lines = [{"line": line, "entitlement_id": entitlement_ids[line], "kinds": kinds}
                                 for line, kinds in sorted(kinds_by_line.items())]
    for rule_id, _kind, n in check.counts:
        summary.by_rule[rule_id] = {"compared": n, "intercepted": len(check.hit.get(rule_id, ()))}
    add_counts(conn, department, [(rule_id, kind, n, len(check.hit.get(rule_id, ())))
                                  for rule_id, kind, n in check.counts], now)
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


__all__ = ["OWED_STATES", "CheckSummary", "RosterCheck", "add_counts", "check_roster", "record_check",
           "rule_counts"]
