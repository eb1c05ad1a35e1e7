"""Export a 100,000-line payment batch to the bank's 代发 file and import its return file (回盘).

Targets: ≤ 10 s each. Baselines in the same run, on the same rows:
``csv_writer_only`` — the same rows, already in memory, written with ``csv.writer`` and hashed (no
database, no config): the floor of writing that file in Python; ``csv_reader_dict_only`` — the same return
file parsed with ``csv.reader`` and applied to a dict of reference → state (no database). Reported per round
and as medians; the round's database is fresh (seeded with bulk inserts, not timed).

    PYTHONPATH=. .venv/bin/python -m bench.payments_files [--lines 100000] [--rounds 3] [--backend sqlite|postgres]

``--backend postgres`` needs YK_TEST_POSTGRES_URL (a throw-away database is created and dropped per round).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import io
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

from registry import schema as s
from registry.auth import add_operator, load_operator
from registry.clock import FixedClock
from registry.db import open_database
from registry.payments.batches import approve_batch, build_batch, export_batch
from registry.payments.results import import_results

ITEM, PERIOD = "disability_living", "202612"
AT = "2026-12-01T00:00:00.000000Z"
SUCCESS_RATE = 0.9957            # Suining's first run: 29,234 payments, 99.57 % successful
REASONS = ("户名不符", "账户已销户", "账户冻结", "卡未激活", "系统繁忙")


def seed(engine, n: int) -> None:  # noqa: ANN001
    with engine.begin() as conn:
        card_import = conn.execute(insert(s.card_imports).values(
            file_name="cards.csv", sha256="0" * 64, rows=n, imported_at=AT, actor="bench")).inserted_primary_key[0]
        conn.execute(insert(s.cards), [
            {"id_number": f"5109{i:014d}", "name": f"居民{i}", "card_number": f"62148300{i:010d}",
             "bank_account": f"6230{i:014d}", "bank": "遂宁银行", "status": "active", "status_date": "2026-01-01",
             "import_id": card_import, "updated_at": AT} for i in range(n)])
        card_ids = dict(conn.execute(select(s.cards.c.id_number, s.cards.c.id)).all())
        imp = conn.execute(insert(s.entitlement_imports).values(
            department="残联", file_name="roster.csv", sha256="1" * 64, rows=n, imported_at=AT, actor="bench")
        ).inserted_primary_key[0]
        conn.execute(insert(s.entitlements), [
            {"import_id": imp, "line": i + 2, "department": "残联", "id_number": f"5109{i:014d}", "name": f"居民{i}",
             "item": ITEM, "period": PERIOD, "amount_fen": 9000 + i % 100, "village_code": "510903102201",
             "card_id": card_ids[f"5109{i:014d}"], "state": "ready", "created_at": AT, "updated_at": AT}
            for i in range(n)])
        for name in ("maker", "checker"):
            add_operator(conn, username=name, password="bench-password-1", role="central", village_codes=[])


def csv_writer_only(rows: list[tuple], out: Path) -> float:
    t0 = time.perf_counter()
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["H", len(rows), sum(r[3] for r in rows)])
    for ref, name, card, fen in rows:
        w.writerow([ref, name, card, f"{fen // 100}.{fen % 100:02d}"])
    data = buf.getvalue().encode("utf-8")
    hashlib.sha256(data).hexdigest()
    out.write_bytes(data)
    return time.perf_counter() - t0


def csv_reader_dict_only(path: Path, refs: list[str]) -> float:
    state = dict.fromkeys(refs, "at_bank")
    t0 = time.perf_counter()
    raw = path.read_bytes()
    hashlib.sha256(raw).hexdigest()
    reader = csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""))
    next(reader)
    for ref, status, _reason in reader:
        if state.get(ref) == "at_bank":
            state[ref] = "credited" if status == "成功" else "bounced"
    return time.perf_counter() - t0


def one_round(url: str, n: int, tmp: Path) -> dict[str, float]:
    engine = open_database(url)
    try:
        seed(engine, n)
        clock = FixedClock(dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC))
        with engine.connect() as conn:
            maker, checker = (load_operator(conn, conn.execute(select(s.operators.c.id).where(
                s.operators.c.username == name)).scalar()) for name in ("maker", "checker"))
        t0 = time.perf_counter()
        built = build_batch(engine, maker, ITEM, PERIOD, clock=clock)
        build_s = time.perf_counter() - t0
        assert built.lines == n
        approve_batch(engine, checker, built.id, clock=clock)
        t0 = time.perf_counter()
        first = export_batch(engine, built.id, tmp / "bank.csv", clock=clock)
        export_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = export_batch(engine, built.id, tmp / "bank2.csv", clock=clock)
        reexport_s = time.perf_counter() - t0
        assert again["sha256"] == first["sha256"]
        with engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(
                select(s.payment_lines.c.reference, s.cards.c.name, s.cards.c.card_number, s.payment_lines.c.amount_fen)
                .join(s.cards, s.cards.c.id == s.payment_lines.c.card_id).order_by(s.payment_lines.c.reference))]
        writer_s = csv_writer_only(rows, tmp / "baseline.csv")

        failures = int(round(n * (1 - SUCCESS_RATE)))
        back = io.StringIO(newline="")
        w = csv.writer(back, lineterminator="\r\n")
        w.writerow(["reference", "status", "reason"])
        for i, (ref, *_rest) in enumerate(rows):
            w.writerow([ref, "失败", REASONS[i % len(REASONS)]] if i < failures else [ref, "成功", ""])
        (tmp / "back.csv").write_bytes(back.getvalue().encode("utf-8"))
        t0 = time.perf_counter()
        summary = import_results(engine, checker, tmp / "back.csv", clock=clock)
        import_s = time.perf_counter() - t0
        assert (summary["credited"], summary["bounced"], summary["errors"]) == (n - failures, failures, 0)
        t0 = time.perf_counter()
        assert import_results(engine, checker, tmp / "back.csv", clock=clock)["already_imported"]
        reimport_s = time.perf_counter() - t0
        reader_s = csv_reader_dict_only(tmp / "back.csv", [r[0] for r in rows])
        return {"build_s": build_s, "export_s": export_s, "reexport_s": reexport_s, "csv_writer_only_s": writer_s,
                "import_s": import_s, "reimport_same_file_s": reimport_s, "csv_reader_dict_only_s": reader_s,
                "file_bytes": (tmp / "bank.csv").stat().st_size}
    finally:
        engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    args = ap.parse_args()
    rounds = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            if args.backend == "sqlite":
                rounds.append(one_round(f"sqlite:///{tmp / 'registry.sqlite3'}", args.lines, tmp))
                continue
            admin_url = os.environ["YK_TEST_POSTGRES_URL"]
            admin = create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://", 1),
                                  isolation_level="AUTOCOMMIT")
            name = f"yk_bench_{uuid.uuid4().hex[:12]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
                rounds.append(one_round(url, args.lines, tmp))
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    print(json.dumps({
        "backend": args.backend, "lines": args.lines, "rounds": rounds, "median": med, "target_s": 10,
        "export_vs_csv_writer_only": round(med["export_s"] / med["csv_writer_only_s"], 2),
        "import_vs_csv_reader_dict_only": round(med["import_s"] / med["csv_reader_dict_only_s"], 2),
        "export_within_target": med["export_s"] <= 10, "import_within_target": med["import_s"] <= 10,
    }, indent=2))


if __name__ == "__main__":
    main()
