"""Checking a department's payment roster line by line (issue 13; target: 1,000,000 lines against the seven
department datasets in ≤ 30 s on SQLite).

Synthetic data straight into a registry database (migrated as usual): 7 department datasets (deaths,
allowance, business, property, tax, courts, vehicles) of M rows each, ~70 % about the roster's people
(``bench.bench_cross_check`` synthesises them the same way), an active card for ~98 % of the people (a
few under another name), and an earlier roster of another department paying ~1 % of the same
person-item-periods. Then a roster of N lines (``id_number,name,item,period,amount``) as a CSV file.

Timed, with the functions ``registry.payments.entitlements.import_entitlements`` calls: reading and
validating the file (``read_roster``); the check, the measure of the target (``check_roster``: card, holder
name, every dataset rule by the line's item, duplicates, standard; then ``record_check``: the findings written
and counted); and, between the two, storing the lines with their card, village and state (``store_lines``).
``store_and_check_s`` is everything after the file was read, for those who count the storing too.

Baseline ``naive_per_line_queries`` (same run, same database): for a sample of lines, one query for the
active card, one ``dataset_rows`` query per applicable rule and one duplicate query per line (what a
straightforward loop would do), timed and extrapolated to N. The sample's intercepted lines and finding
kinds must equal the set-based check's, which the script verifies.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from sqlalchemy import and_, insert, select, text

from bench.bench_cross_check import KINDS, OUTSIDE_REGION, SUBSIDY_SHARE, dataset_values, id_number
from bench.synthetic import GIVEN, SURNAMES
from enrollment.vocabulary import CardStatus, EntitlementState
from registry.checks.rules import DatasetRow, RuleSet
from registry.db import iso, migrate, open_database
from registry.payments.checks import OWED_STATES, check_roster, record_check
from registry.payments.entitlements import read_roster, standards, store_lines
from registry.schema import (
    card_imports,
    cards,
    dataset_imports,
    dataset_rows,
    entitlement_imports,
    entitlements,
    payment_findings,
)

TARGET_S = 30.0
AT = "2026-12-01T08:00:00.000000Z"
TODAY = "2026-12-01"
PERIOD = "202612"
AMOUNT = {"farmland": "86.40", "pension_rural": "163", "elderly_allowance": "100", "education_aid": "1250",
          "dibao": "520", "disability_living": "90", "tekun": "900"}


def _name(i: int) -> str:
    return SURNAMES[i % len(SURNAMES)] + GIVEN[(i // len(SURNAMES)) % len(GIVEN)]


def _item(i: int, rnd: random.Random) -> str:
    x, acc = rnd.random(), 0.0
    total = sum(SUBSIDY_SHARE.values())
    for code, share in SUBSIDY_SHARE.items():
        acc += share / total
        if x < acc:
            return code
    return "farmland"


def _bulk(engine, table, columns: list[str], rows) -> None:
    """Plain DB-API executemany in one transaction (a bulk load; not part of the measurement)."""
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("BEGIN")
        chunk: list[tuple] = []
        for r in rows:
            chunk.append(r)
            if len(chunk) == 50_000:
                cur.executemany(sql, chunk)
                chunk = []
        if chunk:
            cur.executemany(sql, chunk)
        cur.execute("COMMIT")
        cur.close()
    finally:
        raw.close()


def load(engine, n: int, m: int, seed: int, roster: Path) -> float:
    rnd = random.Random(seed)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        import_ids = {k: conn.execute(insert(dataset_imports).values(
            kind=k, file_name=f"{k}.csv", sha256="0" * 64, rows=m, imported_at=AT, actor="bench",
        ).returning(dataset_imports.c.id)).scalar_one() for k in KINDS}
        card_import = conn.execute(insert(card_imports).values(
            file_name="cards.csv", sha256="1" * 64, rows=n, imported_at=AT, actor="bench",
        ).returning(card_imports.c.id)).scalar_one()
        earlier = conn.execute(insert(entitlement_imports).values(
            department="残联", file_name="earlier.csv", sha256="2" * 64, rows=n // 100, imported_at=AT, actor="bench",
        ).returning(entitlement_imports.c.id)).scalar_one()
    for kind in KINDS:
        def rows(kind=kind):
            for _ in range(m):
                number = id_number(rnd.randrange(n)) if rnd.random() < 0.7 else id_number(rnd.randrange(2 * n),
                                                                                           OUTSIDE_REGION)
                row = {"id_number": number, "name": "王明学", **dataset_values(kind, rnd)}
                yield (kind, number, json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
                       import_ids[kind])
        _bulk(engine, dataset_rows, ["kind", "id_number", "row", "import_id"], rows())
    items = [_item(i, rnd) for i in range(n)]

    def card_rows():
        for i in range(n):
            if rnd.random() < 0.02:
                continue  # no card yet
            name = _name(i) if rnd.random() > 0.002 else _name(i + 1)
            yield (id_number(i), name, f"62178531{i:011d}", f"62284800{i:011d}", "遂宁银行", CardStatus.ACTIVE,
                   "2026-03-01", card_import, AT)
    _bulk(engine, cards, ["id_number", "name", "card_number", "bank_account", "bank", "status", "status_date",
                          "import_id", "updated_at"], card_rows())

    def earlier_rows():
        for i in range(0, n, 100):
            yield (earlier, 2 + i // 100, "残联", id_number(i), _name(i), items[i], PERIOD, 9000,
                   EntitlementState.READY, AT, AT)
    _bulk(engine, entitlements, ["import_id", "line", "department", "id_number", "name", "item", "period",
                                 "amount_fen", "state", "created_at", "updated_at"], earlier_rows())
    with roster.open("w", encoding="utf-8") as f:
        f.write("id_number,name,item,period,amount\n")
        for i in range(n):
            amount = AMOUNT[items[i]] if rnd.random() > 0.001 else "5000"
            f.write(f"{id_number(i)},{_name(i)},{items[i]},{PERIOD},{amount}\n")
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - t0


def naive_sample(engine, rules: RuleSet, import_id: int, sample: int) -> tuple[float, dict[int, list[str]], int]:
    """Per line: its card, one dataset query per applicable rule, its duplicates; kinds found per line."""
    std = standards()
    found: dict[int, list[str]] = {}
    with engine.connect() as conn:
        lines = conn.execute(select(entitlements).where(entitlements.c.import_id == import_id)
                             .order_by(entitlements.c.id).limit(sample)).all()
        t0 = time.perf_counter()
        for ln in lines:
            kinds: list[str] = []
            card = conn.execute(select(cards.c.id, cards.c.name).where(
                cards.c.id_number == ln.id_number, cards.c.status == CardStatus.ACTIVE)
                .order_by(cards.c.status_date.desc(), cards.c.id.desc()).limit(1)).first()
            if card is None:
                kinds.append("no_active_card")
            elif card.name != ln.name:
                kinds.append("name_mismatch")
            for rule, _codes in rules.applicable((ln.item,)):
                rows = [(rid, json.loads(row), line) for rid, row, line in conn.execute(
                    select(dataset_rows.c.id, dataset_rows.c.row, dataset_rows.c.line).where(
                        dataset_rows.c.kind == rule.dataset, dataset_rows.c.id_number == ln.id_number)
                    .order_by(dataset_rows.c.id))]
                matching = rule.matching([DatasetRow(*r) for r in rows], TODAY)
                if matching and len(matching) >= rule.count_gte and "payment_rule" not in kinds:
                    kinds.append("payment_rule")
            dup = conn.execute(select(entitlements.c.id).where(and_(
                entitlements.c.id_number == ln.id_number, entitlements.c.item == ln.item,
                entitlements.c.period == ln.period, entitlements.c.import_id != import_id,
                entitlements.c.state.in_(OWED_STATES))).limit(1)).first()
            if dup is not None:
                kinds.append("duplicate_payment")
            if ln.item in std and ln.amount_fen > std[ln.item]["max_fen"]:
                kinds.append("amount_over_standard")
            if kinds:
                found[ln.id] = sorted(kinds)
        elapsed = time.perf_counter() - t0
        conn.rollback()
    return elapsed, found, len(lines)


def measure(n: int, m: int, sample: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_database(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        migrate(engine)
        roster = Path(tmp) / "roster.csv"
        try:
            load_s = load(engine, n, m, seed, roster)
            rules = RuleSet.load()
            t0 = time.perf_counter()
            parsed = read_roster(roster.read_bytes())
            t_read = time.perf_counter() - t0
            with engine.begin() as conn:
                import_id = conn.execute(insert(entitlement_imports).values(
                    department="民政局", file_name="roster.csv", sha256="3" * 64, rows=len(parsed), imported_at=AT,
                    actor="bench").returning(entitlement_imports.c.id)).scalar_one()
                t2, c2 = time.perf_counter(), time.process_time()
                check = check_roster(conn, [ln for ln in parsed if not ln.problems], rules=rules, today=TODAY,
                                     standards=standards())
                t_check, cpu_check = time.perf_counter() - t2, time.process_time() - c2
                t3 = time.perf_counter()
                ids = store_lines(conn, import_id, "民政局", parsed, check, AT)
                t_store = time.perf_counter() - t3
                t4, c4 = time.perf_counter(), time.process_time()
                summary = record_check(conn, "民政局", check, ids, AT)
                t_check += time.perf_counter() - t4
                cpu_check += time.process_time() - c4
                del ids
            naive_s, naive_found, sampled = naive_sample(engine, rules, import_id, min(sample, n))
            with engine.connect() as conn:
                ids = select(entitlements.c.id).where(entitlements.c.import_id == import_id) \
                    .order_by(entitlements.c.id).limit(sampled).subquery()
                set_found: dict[int, set[str]] = defaultdict(set)
                for eid, kind in conn.execute(select(payment_findings.c.entitlement_id, payment_findings.c.kind)
                                              .where(payment_findings.c.entitlement_id.in_(select(ids.c.id)))):
                    set_found[eid].add(kind)
        finally:
            engine.dispose()
    if {k: sorted(v) for k, v in set_found.items()} != naive_found:
        raise SystemExit("baseline and set-based disagree on the sample")
    extrapolated = naive_s * n / max(1, sampled)
    return {
        "backend": "sqlite", "lines": n, "dataset_rows": m * len(KINDS), "load_s": round(load_s, 1),
        "read_validate_s": round(t_read, 2), "store_s": round(t_store, 2), "check_s": round(t_check, 2),
        "check_cpu_s": round(cpu_check, 2), "store_and_check_s": round(t_store + t_check, 2),
        "meets_target_store_and_check": t_store + t_check <= TARGET_S,
        "import_total_s": round(t_read + t_store + t_check, 2),
        "target_s": TARGET_S, "meets_target_check": t_check <= TARGET_S,
        "meets_target_import_total": t_read + t_store + t_check <= TARGET_S,
        "intercepted": summary.intercepted, "by_kind": dict(summary.by_kind),
        "baseline": "naive_per_line_queries", "baseline_sample": sampled, "baseline_sample_s": round(naive_s, 2),
        "baseline_extrapolated_s": round(extrapolated, 1),
        "speedup_check_vs_baseline": round(extrapolated / t_check, 1) if t_check else None,
        "sample_findings_equal": True, "measured_at": iso(dt.datetime.now(dt.UTC)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--rows", type=int, default=100_000, help="rows per department dataset")
    ap.add_argument("--sample", type=int, default=20_000, help="lines in the baseline's sample")
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    out = measure(args.lines, args.rows, args.sample, args.seed)
    print(json.dumps({"benchmark": "payments_check", "results": [out]}, ensure_ascii=False))


if __name__ == "__main__":
    main()
