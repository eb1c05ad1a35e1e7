"""Identity checks: the same ID number enrolled twice, and near-identical people under different ID numbers.

``same_id``: one indexed query per batch (``records.id_number IN (…)``).

``demographic``: a score in [0, 1] from four components (name, birth date, sex, village),
weighted by ``resources/review/demographic_weights.json``, reported from
``ctx.config.demographic_threshold``. Name comparison maps variant characters
(``resources/review/variant_chars.json``: 張/张, 峯/峰 …) and compares toneless pinyin.

Why the candidate search cannot miss a pair (blocking). Every component is 0 exactly when a
*key* of the two people differs, by construction:

- name > 0  ⇔  equal ``name_key`` = pinyin of the variant-mapped name (identical names map to
  the same form; "variant" means equal mapped forms; "pinyin" means equal pinyin of the mapped
  forms: each implies equal keys, and the component is defined as 0 otherwise);
- birth_date > 0  ⇔  same birth year (exact, or only month/day differ);
- sex > 0  ⇔  same sex;  village > 0  ⇔  same village.

If the weights of all OTHER components sum to less than the threshold, a pair scoring 0 on a
component cannot reach the threshold (every component is at most 1), so that component is
*required*, i.e. its key must be equal. ``Scorer.required`` computes this from the weights
and threshold in exact decimals, and candidates are narrowed only by required keys: in SQL
the village (indexed ``records.village_code``), birth year and sex (read from the payload by
the database's JSON functions, so Python never parses the candidates' payloads), then the
name key in Python. With the shipped weights the village is required, so a batch reads only
its own villages; with weights that do not require it the search scans every record
(correct, but slow for millions: keep the village required).
``tests/registry/test_checks_identity.py`` compares the result with a brute-force scorer.
"""

from __future__ import annotations

import functools
import json
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, cast, func, select

import resources
from enrollment.errors import DomainError
from enrollment.text import pinyin_keys
from enrollment.vocabulary import NEW_VERSION_STATE

from ..schema import records
from . import DEMOGRAPHIC, FLAG, SAME_ID, CheckContext, CheckRecord, CheckResult, Finding, RuleCount

VARIANTS_PATH = ("review", "variant_chars.json")
WEIGHTS_PATH = ("review", "demographic_weights.json")
COMPONENTS = ("name", "birth_date", "sex", "village")
WEIGHTS_INVALID = "review.weights_invalid"
_FOUR = Decimal("0.0001")
_ZERO = Decimal(0)
_ONE = Decimal(1)
# Payload fields that say nothing about the person (compared in same_id's differing_fields: no).
_NOT_COMPARED = {"record_id"}


# ---------------------------------------------------------------------------------------------
# same_id

def _current_rows(ctx: CheckContext, where: Any) -> list[Any]:
    q = select(records.c.record_id, records.c.version, records.c.village_code, records.c.id_number,
               records.c.operator, records.c.device_id, records.c.state, records.c.payload,
               records.c.deleted).where(where, records.c.deleted.is_(False))
    return list(ctx.conn.execute(q))


def _differing(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return sorted(k for k in set(a) | set(b) if k not in _NOT_COMPARED and a.get(k) != b.get(k))


def same_id(ctx: CheckContext, batch: list[CheckRecord]) -> CheckResult:
    """Each record against every other non-deleted record with its ID number (batch members included)."""
    result = CheckResult()
    live = [r for r in batch if not r.deleted]
    count = RuleCount(rule_id=SAME_ID, kind=SAME_ID, compared=len(live))
    if not live:
        result.counts = [count]
        return result
    numbers = sorted({r.id_number for r in live})
    others: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)  # id_number -> record_id -> info
    for row in _current_rows(ctx, records.c.id_number.in_(numbers)):
        others[row.id_number][row.record_id] = {
            "record_id": row.record_id, "version": row.version, "village_code": row.village_code,
            "operator": row.operator, "device_id": row.device_id, "state": row.state,
            "payload": json.loads(row.payload) if row.payload else {}}
    # A batch member is compared as the batch sees it (its row may not be written yet).
    for r in batch:
        if r.deleted:
            others[r.id_number].pop(r.record_id, None)
            continue
        state = others[r.id_number].get(r.record_id, {}).get("state", NEW_VERSION_STATE)
        others[r.id_number][r.record_id] = {
            "record_id": r.record_id, "version": r.version, "village_code": r.village_code,
            "operator": r.operator, "device_id": r.device_id, "state": state, "payload": r.payload}
    for r in live:
        hits = [o for rid, o in sorted(others[r.id_number].items()) if rid != r.record_id]
        for o in hits:
            evidence = {"other": {k: o[k] for k in ("record_id", "version", "village_code", "operator",
                                                    "device_id", "state")},
                        "differing_fields": _differing(r.payload, o["payload"])}
            result.add(r.record_id, Finding(SAME_ID, FLAG, evidence, subject=o["record_id"]))
        if hits:
            count.flagged += 1
    result.counts = [count]
    return result


# ---------------------------------------------------------------------------------------------
# demographic

@functools.cache
def _variant_map() -> dict[str, str]:
    data = json.loads(resources.path(*VARIANTS_PATH).read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for group in data["groups"]:
        for ch in group:
            out.setdefault(ch, group[0])
    return out


def normal_name(name: str) -> str:
    """NFC, without spaces and middle dots (minority names are written with and without them)."""
    name = unicodedata.normalize("NFC", name or "")
    return "".join(ch for ch in name if ch not in " \u00b7\u2022\u30fb\u3000")


@functools.lru_cache(maxsize=200_000)
def mapped_name(name: str) -> str:
    """The name with every variant character replaced by its group's canonical form."""
    table = _variant_map()
    return "".join(table.get(ch, ch) for ch in normal_name(name))


@functools.lru_cache(maxsize=200_000)
def name_key(name: str) -> str:
    """Toneless full pinyin of the variant-mapped name: equal for every pair whose name component is > 0."""
    return pinyin_keys(mapped_name(name))[0] if name else ""


@dataclass(frozen=True)
class Person:
    """What the demographic score compares, from a payload (and the record it belongs to)."""

    record_id: str
    version: int
    id_number: str
    name: str
    birth_date: str
    sex: str
    village_code: str

    @classmethod
    def of(cls, record_id: str, version: int, id_number: str, village_code: str, payload: dict[str, Any]) -> Person:
        return cls(record_id, version, id_number, str(payload.get("name") or ""),
                   str(payload.get("birth_date") or ""), str(payload.get("sex") or ""), village_code)

    def describe(self) -> dict[str, Any]:
        return {"record_id": self.record_id, "version": self.version, "id_number": self.id_number,
                "name": self.name, "birth_date": self.birth_date, "sex": self.sex,
                "village_code": self.village_code}


def _dec(value: Any, what: str) -> Decimal:
    try:
        d = Decimal(str(value))
    except ArithmeticError as exc:
        raise DomainError(WEIGHTS_INVALID, None, component=what) from exc
    if not d.is_finite() or d < 0 or d > 1:
        raise DomainError(WEIGHTS_INVALID, None, component=what)
    return d


@dataclass(frozen=True)
class Scorer:
    weights: dict[str, Decimal]
    name_scores: dict[str, Decimal]    # exact, variant, pinyin
    birth_scores: dict[str, Decimal]   # exact, same_year
    threshold: Decimal

    @classmethod
    def load(cls, threshold: float | str | Decimal, path: str | Path | None = None) -> Scorer:
        p = Path(path) if path else resources.path(*WEIGHTS_PATH)
        data = json.loads(p.read_text(encoding="utf-8"))
        weights = {c: _dec(data["weights"][c], c) for c in COMPONENTS}
        if sum(weights.values()) != _ONE:
            raise DomainError(WEIGHTS_INVALID, None, problem="sum_not_one")
        names = {k: _dec(data["name_scores"][k], k) for k in ("exact", "variant", "pinyin")}
        births = {k: _dec(data["birth_scores"][k], k) for k in ("exact", "same_year")}
        # Scores of a component > 0 must be > 0, or "component > 0 ⇔ key equal" breaks.
        if min(names.values()) <= 0 or min(births.values()) <= 0:
            raise DomainError(WEIGHTS_INVALID, None, problem="score_not_positive")
        return cls(weights, names, births, Decimal(str(threshold)))

    @functools.cached_property
    def required(self) -> frozenset[str]:
        """Components whose key must be equal for a pair to reach the threshold (see the module doc)."""
        total = sum(self.weights.values())
        return frozenset(c for c in COMPONENTS if total - self.weights[c] < self.threshold)

    def components(self, a: Person, b: Person) -> dict[str, Decimal]:
        if a.name == b.name:
            name = self.name_scores["exact"]
        elif mapped_name(a.name) == mapped_name(b.name):
            name = self.name_scores["variant"]
        elif name_key(a.name) == name_key(b.name):
            name = self.name_scores["pinyin"]
        else:
            name = _ZERO
        if a.birth_date == b.birth_date:
            birth = self.birth_scores["exact"]
        elif a.birth_date[:4] == b.birth_date[:4]:
            birth = self.birth_scores["same_year"]
        else:
            birth = _ZERO
        return {"name": name, "birth_date": birth, "sex": _ONE if a.sex == b.sex else _ZERO,
                "village": _ONE if a.village_code == b.village_code else _ZERO}

    def score(self, parts: dict[str, Decimal]) -> Decimal:
        return sum((self.weights[c] * parts[c] for c in COMPONENTS), _ZERO)

    def block_key(self, p: Person) -> tuple[str, ...]:
        """The keys of the required components, cheapest first (name_key last: it costs pinyin)."""
        keys = {"village": p.village_code, "birth_date": p.birth_date[:4], "sex": p.sex}
        return tuple(keys[c] for c in ("village", "birth_date", "sex") if c in self.required)

    def evidence(self, a: Person, b: Person, parts: dict[str, Decimal]) -> dict[str, Any]:
        return {"record": a.describe(), "other": b.describe(),
                "components": {c: str(parts[c].quantize(_FOUR)) for c in COMPONENTS},
                "weights": {c: str(self.weights[c]) for c in COMPONENTS},
                "threshold": str(self.threshold.quantize(_FOUR))}


_scorers: dict[str, Scorer] = {}


def scorer_for(ctx: CheckContext) -> Scorer:
    key = str(ctx.config.demographic_threshold)
    if key not in _scorers:
        _scorers[key] = Scorer.load(ctx.config.demographic_threshold)
    return _scorers[key]


def _payload_text(ctx: CheckContext, field: str) -> Any:
    """A top-level text field of the stored payload, extracted by the database (no JSON parsing in Python)."""
    if ctx.conn.dialect.name == "postgresql":
        return func.json_extract_path_text(cast(records.c.payload, JSON), field)
    return func.json_extract(records.c.payload, f"$.{field}")


def _candidates(ctx: CheckContext, scorer: Scorer, live: list[CheckRecord]) -> list[Person]:
    """Current non-deleted records that share every required key with some batch record (a superset of each block)."""
    name, birth, sex = (_payload_text(ctx, f) for f in ("name", "birth_date", "sex"))
    q = select(records.c.record_id, records.c.version, records.c.id_number, records.c.village_code,
               name.label("name"), birth.label("birth_date"), sex.label("sex")).where(records.c.deleted.is_(False))
    people = [Person.of(r.record_id, r.version, r.id_number, r.village_code, r.payload) for r in live]
    if "village" in scorer.required:   # indexed: the search stays within the batch's villages
        q = q.where(records.c.village_code.in_(sorted({p.village_code for p in people})))
    if "birth_date" in scorer.required:
        q = q.where(func.substr(birth, 1, 4).in_(sorted({p.birth_date[:4] for p in people})))
    if "sex" in scorer.required:
        q = q.where(sex.in_(sorted({p.sex for p in people})))
    return [Person(row.record_id, row.version, row.id_number, row.name or "", row.birth_date or "",
                   row.sex or "", row.village_code) for row in ctx.conn.execute(q)]


def demographic(ctx: CheckContext, batch: list[CheckRecord], *, scorer: Scorer | None = None) -> CheckResult:
    """Each record against every non-deleted record with a different ID number scoring ≥ the threshold."""
    scorer = scorer or scorer_for(ctx)
    result = CheckResult()
    live = [r for r in batch if not r.deleted]
    count = RuleCount(rule_id=DEMOGRAPHIC, kind=DEMOGRAPHIC, compared=len(live))
    if not live:
        result.counts = [count]
        return result
    in_batch = {r.record_id: Person.of(r.record_id, r.version, r.id_number, r.village_code, r.payload)
                for r in live}
    deleted_in_batch = {r.record_id for r in batch if r.deleted}
    pool = {p.record_id: p for p in _candidates(ctx, scorer, live) if p.record_id not in deleted_in_batch}
    pool.update(in_batch)  # batch members as the batch sees them
    # Blocks by the cheap required keys, each split by name key on first use (pinyin is the
    # costly part): a record is compared only with people sharing every required key.
    blocks: dict[tuple[str, ...], list[Person]] = defaultdict(list)
    for rid in sorted(pool):
        blocks[scorer.block_key(pool[rid])].append(pool[rid])
    need_name = "name" in scorer.required
    by_name: dict[tuple[str, ...], dict[str, list[Person]]] = {}
    for r in live:
        me = in_batch[r.record_id]
        key = scorer.block_key(me)
        block = blocks.get(key, [])
        if need_name:
            if key not in by_name:
                split: dict[str, list[Person]] = defaultdict(list)
                for p in block:
                    split[name_key(p.name)].append(p)
                by_name[key] = split
            block = by_name[key].get(name_key(me.name), [])
        hit = False
        for other in block:
            if other.record_id == me.record_id or other.id_number == me.id_number:
                continue
            parts = scorer.components(me, other)
            total = scorer.score(parts)
            if total >= scorer.threshold:
                hit = True
                result.add(r.record_id, Finding(DEMOGRAPHIC, FLAG, scorer.evidence(me, other, parts),
                                                subject=other.record_id, score=str(total.quantize(_FOUR))))
        if hit:
            count.flagged += 1
    result.counts = [count]
    return result

