"""Cross-comparison of every enrolled resident with the department datasets (target: 1,000,000 records in ≤ 60 s on SQLite).

Synthetic data straight into a registry database (migrated as usual): N records whose payloads
carry subsidy items, and 7 department datasets (deaths, allowance, business, property, tax,
courts, vehicles) of M rows each, ~70 % of them about enrolled residents. Timed: reading every
record in pages of ``--batch`` (keyset on the push counter), building ``CheckRecord``s from the rows,
and running ``registry.checks.rules.dataset_rules`` on each page, as the check runner does.

Baseline ``naive_per_record_queries`` (same run): for a sample of records, one
``dataset_rows`` query per record and applicable rule (what a straightforward loop would do),
timed and extrapolated to N. Both paths must agree on the sample's compared/intercepted/flagged
counts, which the script checks.

PostgreSQL: with YK_TEST_POSTGRES_URL set, the same is measured on a throw-away database
``yk_bench_<random>`` created as that URL's role and dropped afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

from bench.synthetic import GIVEN, SURNAMES
from registry.checks import CheckConfig, CheckContext, CheckRecord
from registry.checks.rules import RuleSet, dataset_rules
from registry.db import normalize_url, open_database
from registry.schema import dataset_imports, dataset_rows, records

TARGET_S = 60.0
REGIONS = ["510902", "510903", "510904", "510921", "510923", "510922"]
OUTSIDE_REGION = "511002"   # people in the department files who never enrolled here
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
SUBSIDY_SHARE = {"farmland": 0.40, "pension_rural": 0.25, "elderly_allowance": 0.10, "education_aid": 0.08,
                 "dibao": 0.06, "disability_living": 0.03, "tekun": 0.01}
AT = "2026-11-27T08:00:00.000000Z"
TODAY = dt.date(2026, 11, 27)


def id_number(i: int, region: str | None = None) -> str:
    """The i-th distinct valid ID number (region, birth date and sequence are a bijection of i)."""
    region = region or REGIONS[i % 6]
    birth = dt.date(1940, 1, 1) + dt.timedelta(days=(i // 6000) * 173)
    body = f"{region}{birth:%Y%m%d}{(i // 6) % 1000:03d}"
    return body + _CHECK[sum(int(c) * w for c, w in zip(body, _WEIGHTS, strict=True)) % 11]


def record_rows(n: int, rnd: random.Random):
    for i in range(n):
        number = id_number(i)
        subsidies = sorted(code for code, share in SUBSIDY_SHARE.items() if rnd.random() < share)
        village = f"5109031022{i % 50:02d}"
        rid = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
        payload = {"schema": 1, "record_id": rid, "village_code": village, "household_id": f"{village}{i // 4:05d}",
                   "relation": "户主", "id_number": number, "name": rnd.choice(SURNAMES) + rnd.choice(GIVEN), "sex": "男" if int(number[16]) % 2 else "女",
                   "birth_date": f"{number[6:10]}-{number[10:12]}-{number[12:14]}", "address": "大石村1组",
                   "phone": "", "consent": True, "attachments": [], "subsidies": subsidies}
        yield {"record_id": rid, "village_code": village, "id_number": number, "version": 1,
               "content_hash": "0" * 64, "payload": json.dumps(payload, ensure_ascii=False, sort_keys=True,
                                                             separators=(",", ":")),
               "deleted": False, "operator": "cadre_a", "device_id": "laptop-1", "state": "received",
               "counter": i + 1, "created_at": AT, "updated_at": AT, "state_at": AT}


def _dates(rnd: random.Random) -> tuple[str, str]:
    start = dt.date(2018, 1, 1) + dt.timedelta(days=rnd.randrange(3000))
    end = "" if rnd.random() < 0.5 else (start + dt.timedelta(days=rnd.randrange(100, 3000))).isoformat()
    return start.isoformat(), end


def dataset_values(kind: str, rnd: random.Random) -> dict[str, str]:
    if kind == "deaths":
        return {"death_date": (dt.date(2020, 1, 1) + dt.timedelta(days=rnd.randrange(2500))).isoformat()}
    if kind == "allowance":
        start, end = _dates(rnd)
        return {"program": rnd.choice(["低保", "特困"]), "start_date": start, "end_date": end}
    if kind == "business":
        return {"company_name": "大石农机合作社", "credit_code": "91510921MA6ABCDE1X",
                "role": rnd.choice(["法定代表人", "股东"])}
    if kind == "property":
        return {"property_type": rnd.choice(["住宅", "商业", "车库"]), "area_m2": f"{rnd.randrange(20, 200)}.5",
                "address": "大石镇1号"}
    if kind == "tax":
        return {"year": "2025", "annual_income": f"{rnd.randrange(0, 120000)}.{rnd.randrange(100):02d}"}
    if kind == "courts":
        start, end = _dates(rnd)
        return {"case_type": rnd.choice(["服刑", "失信被执行人"]), "start_date": start, "end_date": end}
    if kind == "vehicles":
        return {"plate": "川J12345", "vehicle_type": rnd.choice(["小型轿车", "摩托车", "农用车", "货车"]),
                "registered_date": "2020-05-01"}
    raise ValueError(kind)


KINDS = ("deaths", "allowance", "business", "property", "tax", "courts", "vehicles")


def dataset_rows_of(kind: str, m: int, n: int, import_id: int, rnd: random.Random):
    for _ in range(m):
        if rnd.random() < 0.7:
            number = id_number(rnd.randrange(n))
        else:
            number = id_number(rnd.randrange(n * 2), OUTSIDE_REGION)
        row = {"id_number": number, "name": "王明学", **dataset_values(kind, rnd)}
        yield {"kind": kind, "id_number": number, "import_id": import_id,
               "row": json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":"))}


def load(engine, n: int, m: int, seed: int) -> float:
    """Fill the database; return the seconds it took (not part of the measurement)."""
    rnd = random.Random(seed)
    t0 = time.perf_counter()
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        import_ids = {k: conn.execute(insert(dataset_imports).values(
            kind=k, file_name=f"{k}.csv", sha256="0" * 64, rows=m, imported_at=AT, actor="bench",
        ).returning(dataset_imports.c.id)).scalar_one() for k in KINDS}
    tables = [(records, record_rows(n, rnd))] + [(dataset_rows, dataset_rows_of(k, m, n, import_ids[k], rnd))
                                                 for k in KINDS]
    for table, rows in tables:
        if postgres:
            _copy(engine, table, rows)
            continue
        _executemany(engine, table, rows)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - t0


def _executemany(engine, table, rows) -> None:
    """SQLite: plain DB-API executemany of tuples in one transaction (what a bulk load would do)."""
    first = next(rows)
    columns = list(first)
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("BEGIN")
        cur.execute(sql, [first[c] for c in columns])
        chunk: list[tuple] = []
        for r in rows:
            chunk.append(tuple(r[c] for c in columns))
            if len(chunk) == 50_000:
                cur.executemany(sql, chunk)
                chunk = []
        if chunk:
            cur.executemany(sql, chunk)
        cur.execute("COMMIT")
        cur.close()
    finally:
        raw.close()


def _copy(engine, table, rows) -> None:
    """PostgreSQL's COPY through psycopg: the bulk path a real data migration would use."""
    first = next(rows)
    columns = list(first)
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            copy.write_row([first[c] for c in columns])
            for r in rows:
                copy.write_row([r[c] for c in columns])
        raw.commit()
    finally:
        raw.close()


def _check_records(rows) -> list[CheckRecord]:
    loads = json.loads
    return [CheckRecord(rid, version, village, number, operator, device, loads(payload) if payload else {}, deleted)
            for rid, version, village, number, operator, device, payload, deleted, *_ in rows]


_COLS = (records.c.record_id, records.c.version, records.c.village_code, records.c.id_number, records.c.operator,
         records.c.device_id, records.c.payload, records.c.deleted)


def cross_check_all(engine, rules: RuleSet, batch: int) -> dict:
    totals = {"records": 0, "compared": 0, "intercepted": 0, "flagged": 0, "findings": 0}
    with engine.connect().execution_options(readonly=True) as conn:
        ctx = CheckContext(conn=conn, config=CheckConfig(), today=TODAY, rules=rules)
        last = 0
        while True:
            # Pages in push order (records.counter, indexed and unique): the order in which the
            # runner meets received records, and the table's own order on disk.
            rows = conn.execute(select(*_COLS, records.c.counter).where(records.c.counter > last)
                                .order_by(records.c.counter).limit(batch)).all()
            if not rows:
                break
            last = rows[-1].counter
            checked = _check_records(rows)
            result = dataset_rules(ctx, checked)
            totals["records"] += len(checked)
            totals["findings"] += sum(len(f) for f in result.findings.values())
            for c in result.counts:
                totals["compared"] += c.compared
                totals["intercepted"] += c.intercepted
                totals["flagged"] += c.flagged
        conn.rollback()
    return totals


def naive_sample(engine, rules: RuleSet, sample: int) -> tuple[float, dict, dict]:
    """One query per record and applicable rule over the first ``sample`` records (push order)."""
    totals = {"records": 0, "compared": 0, "intercepted": 0, "flagged": 0, "findings": 0}
    today = TODAY.isoformat()
    with engine.connect().execution_options(readonly=True) as conn:
        rows = conn.execute(select(*_COLS).order_by(records.c.counter).limit(sample)).all()
        checked = _check_records(rows)
        t0 = time.perf_counter()
        for rec in _check_records(rows):
            totals["records"] += 1
            for rule in rules.rules:
                if rule.subsidies_hit(rec) is None:
                    continue
                totals["compared"] += 1
                found = [(rid, json.loads(row)) for rid, row in conn.execute(
                    select(dataset_rows.c.id, dataset_rows.c.row).where(
                        dataset_rows.c.kind == rule.dataset, dataset_rows.c.id_number == rec.id_number)
                    .order_by(dataset_rows.c.id))]
                matching = rule.matching(found, today)
                if matching and len(matching) >= rule.count_gte:
                    totals["findings"] += 1 if rule.count_gte > 1 else len(matching)
                    totals["intercepted" if rule.severity == "intercept" else "flagged"] += 1
        elapsed = time.perf_counter() - t0
        ctx = CheckContext(conn=conn, config=CheckConfig(), today=TODAY, rules=rules)
        set_based = {"records": len(checked), "compared": 0, "intercepted": 0, "flagged": 0, "findings": 0}
        for start in range(0, len(checked), 1000):
            result = dataset_rules(ctx, checked[start:start + 1000])
            set_based["findings"] += sum(len(f) for f in result.findings.values())
            for c in result.counts:
                for k in ("compared", "intercepted", "flagged"):
                    set_based[k] += getattr(c, k)
        conn.rollback()
    return elapsed, totals, set_based


def measure(url: str, backend: str, n: int, m: int, batch: int, sample: int, seed: int) -> dict:
    engine = open_database(url)
    try:
        load_s = load(engine, n, m, seed)
        rules = RuleSet.load()
        t0 = time.perf_counter()
        totals = cross_check_all(engine, rules, batch)
        elapsed = time.perf_counter() - t0
        naive_s, naive_totals, set_totals = naive_sample(engine, rules, min(sample, n))
    finally:
        engine.dispose()
    if naive_totals != set_totals:
        raise SystemExit(f"baseline and set-based disagree on the sample: {naive_totals} vs {set_totals}")
    extrapolated = naive_s * n / max(1, naive_totals["records"])
    return {
        "backend": backend, "records": n, "dataset_rows": m * len(KINDS), "batch": batch,
        "load_s": round(load_s, 1), "seconds": round(elapsed, 2),
        "records_per_s": round(n / elapsed) if elapsed else None,
        "target_s": TARGET_S, "meets_target": elapsed <= TARGET_S, **{f"total_{k}": v for k, v in totals.items()},
        "baseline": "naive_per_record_queries", "baseline_sample": naive_totals["records"],
        "baseline_sample_s": round(naive_s, 2), "baseline_extrapolated_s": round(extrapolated, 1),
        "speedup_vs_baseline": round(extrapolated / elapsed, 1) if elapsed else None,
        "sample_counts_equal": True,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--rows", type=int, default=100_000, help="rows per department dataset")
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--sample", type=int, default=20_000, help="records in the baseline's sample")
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    out = []
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
            out.append(measure(url, "sqlite", args.records, args.rows, args.batch, args.sample, args.seed))
    pg = os.environ.get("YK_TEST_POSTGRES_URL")
    if args.backend in ("postgres", "both") and pg:
        admin = create_engine(normalize_url(pg), isolation_level="AUTOCOMMIT")
        name = f"yk_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(normalize_url(pg)).set(database=name).render_as_string(hide_password=False)
            out.append(measure(url, "postgresql", args.records, args.rows, args.batch, args.sample, args.seed))
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    elif args.backend in ("postgres", "both"):
        out.append({"backend": "postgresql", "skipped": "YK_TEST_POSTGRES_URL not set"})
    print(json.dumps({"benchmark": "cross_check", "results": out}, ensure_ascii=False))


if __name__ == "__main__":
    main()
