"""Cross-comparison with department datasets: rules are data (``resources/rules/subsidy_rules.json``).

A rule names one dataset kind (``registry.datasets.KINDS``), the subsidy items it applies to
(``"*"``: every record, subsidies or not), a condition on that dataset's rows and a severity.
The ``dataset_rules`` check is set-based: for a batch it runs ONE query per dataset kind
(``kind = ? AND id_number IN (…)``, served by ``ix_dataset_rows_kind_id_number``) and
evaluates the conditions in Python on the few rows that matched an ID number.

Condition clauses (all must hold on a row): ``{"column", "op": eq|ne|in|not_in, "value"}``,
``{"column", "op": gt|gte|lt|lte, "value": "60000"}`` (decimal strings compared exactly, never
as floats), ``{"op": "active", "start": col, "end": col}`` (``ctx.today`` within the dates, an
empty end is open). ``count_gte`` (default 1) is how many such rows it takes: with 1 each
matching row is its own finding (subject = that row's id); with more, one finding names the
first row's id and carries every matching row.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import String, any_, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY

import resources
from enrollment.errors import DomainError

from ..datasets import DATE_COLUMNS, KINDS
from ..schema import dataset_rows
from . import DATASET_RULE, FLAG, INTERCEPT, CheckContext, CheckRecord, CheckResult, Finding, RuleCount

RULES_PATH = ("rules", "subsidy_rules.json")
CATALOGUE_PATH = ("subsidies", "catalogue.json")

RULES_INVALID = "rules.invalid"
RULES_UNREADABLE = "rules.unreadable"

ALL = "*"
EQUALITY_OPS = ("eq", "ne")
SET_OPS = ("in", "not_in")
NUMERIC_OPS = ("gt", "gte", "lt", "lte")
ACTIVE = "active"
SEVERITIES = (INTERCEPT, FLAG)
# Kinds a rule may compare with: every dataset of rows (reference photos are the face check's).
RULE_DATASETS = tuple(k for k in KINDS if k != "reference_photos")


class RulesError(DomainError):
    """The rules file is refused: ``rules.invalid`` names the rule (or its position) and the problem."""


def _invalid(rule: str, problem: str, **data: Any) -> RulesError:
    return RulesError(RULES_INVALID, None, rule=rule, problem=problem, **data)


def _decimal(value: str) -> Decimal | None:
    try:
        d = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return d if d.is_finite() else None


class DatasetRow(NamedTuple):
    id: int                 # dataset_rows.id: stable while the import stands, counts across imports
    row: dict[str, str]
    line: int | None        # the line of the imported file (the sheet's row for XLSX); None before 0012


@dataclass(frozen=True)
class Clause:
    op: str
    column: str = ""
    value: Any = None        # str (eq/ne/numeric as Decimal), frozenset (in/not_in)
    start: str = ""          # active: the row's start and end date columns
    end: str = ""

    def holds(self, row: dict[str, str], today: str) -> bool:
        if self.op == ACTIVE:
            start, end = row.get(self.start, ""), row.get(self.end, "")
            return (not start or start <= today) and (not end or today <= end)
        v = row.get(self.column, "")
        if self.op == "eq":
            return v == self.value
        if self.op == "ne":
            return v != self.value
        if self.op == "in":
            return v in self.value
        if self.op == "not_in":
            return v not in self.value
        d = _decimal(v)
        if d is None:
            return False
        if self.op == "gt":
            return d > self.value
        if self.op == "gte":
            return d >= self.value
        if self.op == "lt":
            return d < self.value
        return d <= self.value


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    department: str
    dataset: str
    applies_to: frozenset[str] | None   # None: every record ("*")
    clauses: tuple[Clause, ...]
    count_gte: int
    severity: str

    def subsidies_hit(self, record: CheckRecord) -> list[str] | None:
        """The record's subsidy codes this rule applies to (["*"] for every-record rules), or None."""
        if self.applies_to is None:
            return [ALL]
        hit = [s for s in record.subsidies if s in self.applies_to]
        return hit or None

    def matching(self, rows: list[DatasetRow], today: str) -> list[DatasetRow]:
        return [r for r in rows if all(c.holds(r.row, today) for c in self.clauses)]

    def describe(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "department": self.department, "dataset": self.dataset}


def _parse_clause(rule_id: str, dataset: str, raw: Any) -> Clause:
    if not isinstance(raw, dict):
        raise _invalid(rule_id, "clause_not_object")
    op = raw.get("op")
    columns = KINDS[dataset]
    if op == ACTIVE:
        start, end = raw.get("start", "start_date"), raw.get("end", "end_date")
        for col in (start, end):
            if col not in columns:
                raise _invalid(rule_id, "column_unknown", column=col, dataset=dataset)
            if col not in DATE_COLUMNS:
                raise _invalid(rule_id, "column_not_date", column=col, dataset=dataset)
        return Clause(ACTIVE, start=start, end=end)
    column = raw.get("column")
    if column not in columns:
        raise _invalid(rule_id, "column_unknown", column=column, dataset=dataset)
    value = raw.get("value")
    if op in EQUALITY_OPS:
        if not isinstance(value, str):
            raise _invalid(rule_id, "value_not_text", op=op)
        return Clause(op, column, value)
    if op in SET_OPS:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise _invalid(rule_id, "value_not_list", op=op)
        return Clause(op, column, frozenset(value))
    if op in NUMERIC_OPS:
        d = _decimal(value) if isinstance(value, str) else None
        if d is None:
            raise _invalid(rule_id, "value_not_decimal", op=op)
        return Clause(op, column, d)
    raise _invalid(rule_id, "op_unknown", op=op)


def _parse_rule(raw: Any, position: int, subsidy_codes: set[str]) -> Rule:
    if not isinstance(raw, dict):
        raise _invalid(f"#{position}", "rule_not_object")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not rule_id or len(rule_id) > 64:
        raise _invalid(f"#{position}", "id_invalid")
    for key in ("name", "department"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise _invalid(rule_id, f"{key}_missing")
    if len(raw["department"]) > 32:
        raise _invalid(rule_id, "department_too_long")
    dataset = raw.get("dataset")
    if dataset not in RULE_DATASETS:
        raise _invalid(rule_id, "dataset_unknown", dataset=dataset, datasets=list(RULE_DATASETS))
    applies = raw.get("applies_to")
    if applies == ALL:
        applies_to = None
    elif isinstance(applies, list) and applies and all(isinstance(s, str) for s in applies):
        unknown = sorted(set(applies) - subsidy_codes)
        if unknown:
            raise _invalid(rule_id, "subsidy_unknown", subsidies=unknown)
        applies_to = frozenset(applies)
    else:
        raise _invalid(rule_id, "applies_to_invalid")
    condition = raw.get("condition", {})
    if not isinstance(condition, dict) or not isinstance(condition.get("all", []), list):
        raise _invalid(rule_id, "condition_invalid")
    unknown_keys = sorted(set(condition) - {"all", "count_gte"})
    if unknown_keys:
        raise _invalid(rule_id, "condition_invalid", keys=unknown_keys)
    clauses = tuple(_parse_clause(rule_id, dataset, c) for c in condition.get("all", []))
    count = condition.get("count_gte", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise _invalid(rule_id, "count_invalid")
    severity = raw.get("severity")
    if severity not in SEVERITIES:
        raise _invalid(rule_id, "severity_unknown", severity=severity)
    return Rule(rule_id, raw["name"], raw["department"], dataset, applies_to, clauses, count, severity)


def _subsidy_codes() -> set[str]:
    data = json.loads(resources.path(*CATALOGUE_PATH).read_text(encoding="utf-8"))
    return {item["code"] for item in data["items"]}


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]

    @classmethod
    def load(cls, path: str | Path | None = None) -> RuleSet:
        """Read and validate the rules file; any problem → RulesError (``rules.invalid`` naming the rule)."""
        p = Path(path) if path else resources.path(*RULES_PATH)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RulesError(RULES_UNREADABLE, None, file=str(p)) from exc
        if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
            raise _invalid("", "rules_missing")
        return cls.from_list(data["rules"])

    @classmethod
    def from_list(cls, raw_rules: list[Any]) -> RuleSet:
        codes = _subsidy_codes()
        rules = tuple(_parse_rule(r, i, codes) for i, r in enumerate(raw_rules))
        seen: set[str] = set()
        for r in rules:
            if r.id in seen:
                raise _invalid(r.id, "id_repeated")
            seen.add(r.id)
        return cls(rules)

    @property
    def datasets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.dataset for r in self.rules))

    def applicable(self, subsidies: tuple[str, ...]) -> tuple[tuple[Rule, list[str]], ...]:
        """(rule, the record's codes it applies to, ["*"] for every-record rules) for a record with
        these subsidy codes, in file order; cached per code list (there are few distinct ones)."""
        cache = self._by_subsidies
        found = cache.get(subsidies)
        if found is None:
            found = tuple((r, [ALL] if r.applies_to is None else [s for s in subsidies if s in r.applies_to])
                          for r in self.rules if r.applies_to is None or r.applies_to.intersection(subsidies))
            cache[subsidies] = found
        return found

    @functools.cached_property
    def _by_subsidies(self) -> dict[tuple[str, ...], tuple[tuple[Rule, list[str]], ...]]:
        return {}


_default_rules: RuleSet | None = None


def _rules_of(ctx: CheckContext) -> RuleSet:
    global _default_rules
    if ctx.rules is not None:
        return ctx.rules
    if _default_rules is None:
        _default_rules = RuleSet.load()
    return _default_rules


def _rows_query(postgres: bool) -> Any:
    """The dataset query with two parameters (kind, ids): the same statement for every batch."""
    if postgres:
        # One array parameter (psycopg prepares the statement once) instead of a thousand
        # expanded placeholders compiled anew each time.
        wanted = dataset_rows.c.id_number == any_(bindparam("ids", type_=ARRAY(String)))
    else:
        # SQLite: the list as one JSON text unpacked by json_each (still one index probe per
        # ID number, without a placeholder per ID number).
        wanted = dataset_rows.c.id_number.in_(
            select(literal_column("value")).select_from(func.json_each(bindparam("ids", type_=String))))
    return (select(dataset_rows.c.id, dataset_rows.c.id_number, dataset_rows.c.row, dataset_rows.c.line)
            .where(dataset_rows.c.kind == bindparam("kind"), wanted)
            .order_by(dataset_rows.c.id))


_ROWS_QUERY = {True: _rows_query(True), False: _rows_query(False)}


def fetch_rows(ctx: CheckContext, kind: str, id_numbers: list[str]) -> dict[str, list[DatasetRow]]:
    """One query: the kind's rows for these ID numbers, grouped by ID number, in row-id order."""
    out: dict[str, list[DatasetRow]] = defaultdict(list)
    if not id_numbers:
        return out
    postgres = ctx.conn.dialect.name == "postgresql"
    ids = id_numbers if postgres else json.dumps(id_numbers)
    for row_id, number, row, line in ctx.conn.execute(_ROWS_QUERY[postgres], {"kind": kind, "ids": ids}):
        out[number].append(DatasetRow(row_id, json.loads(row), line))
    return out


def row_evidence(r: DatasetRow) -> dict[str, str]:
    """The row's columns, its id (the finding's subject) and, when the import recorded it, the line of the
    department's file it came from (what a reviewer looks up; the id counts across imports)."""
    return {"row_id": str(r.id), **({"line": str(r.line)} if r.line is not None else {}), **r.row}


def dataset_rules(ctx: CheckContext, batch: list[CheckRecord]) -> CheckResult:
    """Compare each non-deleted record of the batch with the department datasets its rules name."""
    ruleset = _rules_of(ctx)
    today = ctx.today.isoformat() if isinstance(ctx.today, dt.date) else str(ctx.today)
    result = CheckResult()
    records = [r for r in batch if not r.deleted]
    # (record, rule, subsidy codes) for every rule that applies to a record
    applicable: list[tuple[CheckRecord, Rule, list[str]]] = []
    ids_by_kind: dict[str, set[str]] = defaultdict(set)
    for record in records:
        for rule, hit in ruleset.applicable(record.subsidies):
            applicable.append((record, rule, hit))
            ids_by_kind[rule.dataset].add(record.id_number)
    rows_by_kind = {kind: fetch_rows(ctx, kind, sorted(ids)) for kind, ids in ids_by_kind.items()}

    counts = {r.id: RuleCount(rule_id=r.id, kind=DATASET_RULE, department=r.department, dataset=r.dataset)
              for r in ruleset.rules}
    for record, rule, subsidies in applicable:
        count = counts[rule.id]
        count.compared += 1
        rows = rows_by_kind[rule.dataset].get(record.id_number)
        if not rows:
            continue
        matching = rule.matching(rows, today)
        if len(matching) < rule.count_gte or not matching:
            continue
        groups = [matching] if rule.count_gte > 1 else [[m] for m in matching]
        for group in groups:
            evidence = {"rule": rule.describe(), "subsidy": subsidies[0], "subsidies": list(subsidies),
                        "rows": [row_evidence(r) for r in group]}
            result.add(record.record_id, Finding(DATASET_RULE, rule.severity, evidence, rule=rule.id,
                                                 subject=str(group[0].id)))
        if rule.severity == INTERCEPT:
            count.intercepted += 1
        else:
            count.flagged += 1
    result.counts = [c for c in counts.values()]
    return result
