"""SMS outbox to a stub gateway: N credited payment lines enqueued and sent through the generic HTTP gateway
to a local HTTP server (in its own process) that answers 200 at once.

Target: ≥ 200 messages/s (enqueue + send, end to end). Baseline ``raw_requests``: the same N JSON POSTs
through one kept-alive ``requests.Session`` to the same stub, without the outbox (no claim, no
commit): the transport alone. Also reported: the same POSTs from 8 threads (the outbox's HTTP
concurrency), the stub's own ceiling on the machine. Medians of ``--repeat`` runs, each on a
fresh database.

    .venv/bin/python -m bench.sms_outbox [--n 2000] [--repeat 3] [--backend sqlite|postgres|both]
    (postgres: YK_TEST_POSTGRES_URL=postgresql://yk:yk@127.0.0.1:5432/yk_test)
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import tempfile
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
from sqlalchemy import create_engine, insert, text

from registry import schema as s
from registry.clock import SystemClock
from registry.db import open_database
from registry.sms import outbox
from registry.sms.adapters.http import HttpGateway

TARGET = 200.0
AT = "2026-12-01T00:00:00.000000Z"
VILLAGE = "510903102201"


class _Stub(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, as a real gateway
    disable_nagle_algorithm = True  # headers and body go as two writes: without this, 40 ms of delayed ACK each

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        answer = json.dumps({"message_id": f"stub-{body['id']}"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


def _serve(port_queue) -> None:  # noqa: ANN001 - a multiprocessing queue
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    port_queue.put(server.server_address[1])
    server.serve_forever()


def seed(engine, n: int) -> None:  # noqa: ANN001
    """n credited payment lines of n residents, each with a phone and an active card (bulk inserts)."""
    with engine.begin() as conn:
        conn.execute(insert(s.villages).values(code=VILLAGE, name="石溪村", created_at=AT))
        card_import = conn.execute(insert(s.card_imports).values(
            file_name="c.csv", sha256="0" * 64, rows=n, imported_at=AT, actor="bench")).inserted_primary_key[0]
        roster = conn.execute(insert(s.entitlement_imports).values(
            department="残联", file_name="r.csv", sha256="1" * 64, rows=n, imported_at=AT, actor="bench"
        )).inserted_primary_key[0]
        conn.execute(insert(s.payment_batches).values(
            id="b1", item="disability_living", period="201906", state="settled", lines=n, total_fen=9000 * n,
            created_by="bench", created_at=AT))
        ids = [f"5109021961{i:08d}" for i in range(n)]
        conn.execute(insert(s.residents), [dict(
            id_number=x, village_code=VILLAGE, name=f"居民{i}", sex="男", birth_date="1961-05-20", household_id="h",
            relation="02", phone=f"139{i:08d}", counter=i + 1, updated_at=AT) for i, x in enumerate(ids)])
        conn.execute(insert(s.cards), [dict(
            id=i + 1, id_number=x, name=f"居民{i}", card_number=f"62148300{i:08d}", bank_account=f"6{i:08d}",
            bank="遂宁银行", status="active", status_date="2019-01-01", import_id=card_import, updated_at=AT)
            for i, x in enumerate(ids)])
        conn.execute(insert(s.entitlements), [dict(
            id=i + 1, import_id=roster, line=i + 2, department="残联", id_number=x, name=f"居民{i}",
            item="disability_living", period="201906", amount_fen=9000, village_code=VILLAGE, card_id=i + 1,
            state="paid_out", created_at=AT, updated_at=AT) for i, x in enumerate(ids)])
        conn.execute(insert(s.payment_lines), [dict(
            reference=f"R{i:08d}", batch_id="b1", entitlement_id=i + 1, pay_key=f"{x}|disability_living|201906",
            card_id=i + 1, amount_fen=9000, state="credited", created_at=AT, settled_at=AT)
            for i, x in enumerate(ids)])


def raw_requests(url: str, n: int) -> float:
    """Seconds for n JSON POSTs of a message's size through one kept-alive session."""
    body = {"id": "0", "phone": "13900000000", "template": "credited", "params": {"name": "居民0"},
            "text": "【遂宁一卡通】" + "x" * 60}
    with requests.Session() as session:
        t0 = time.perf_counter()
        for i in range(n):
            body["id"] = str(i)
            session.post(url, json=body, headers={"Idempotency-Key": str(i)}, timeout=(3, 10)).raise_for_status()
        return time.perf_counter() - t0


def raw_requests_threads(url: str, n: int, threads: int = 8) -> float:
    """The same n POSTs from ``threads`` threads with a session each (the outbox's HTTP concurrency): the
    stub's and the loopback's own ceiling on this machine."""
    from concurrent.futures import ThreadPoolExecutor

    def part(k: int) -> None:
        with requests.Session() as session:
            for i in range(k, n, threads):
                body = {"id": str(i), "phone": "13900000000", "template": "credited", "params": {"name": "居民0"},
                        "text": "【遂宁一卡通】" + "x" * 60}
                session.post(url, json=body, timeout=(3, 10)).raise_for_status()

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(part, range(threads)))
    return time.perf_counter() - t0


def outbox_run(db_url: str, url: str, n: int) -> dict[str, float]:
    engine = open_database(db_url)
    seed(engine, n)
    gateway = HttpGateway(url, "bench-token")
    t0 = time.perf_counter()
    out = outbox.run(engine, gateway, clock=SystemClock(), actor="bench", batch_size=100)
    seconds = time.perf_counter() - t0
    assert out["sent"] == n and out["left"] == 0, out
    engine.dispose()
    return {"seconds": seconds}


def _pg_database() -> tuple[str, object]:
    admin = os.environ["YK_TEST_POSTGRES_URL"]
    name = f"yk_bench_{uuid.uuid4().hex[:12]}"
    eng = create_engine(admin.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    return admin.rsplit("/", 1)[0] + "/" + name, (eng, name)


def _pg_drop(handle) -> None:  # noqa: ANN001
    eng, name = handle
    with eng.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    eng.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="sqlite")
    args = parser.parse_args()
    ports = multiprocessing.Queue()
    stub = multiprocessing.Process(target=_serve, args=(ports,), daemon=True)
    stub.start()
    url = f"http://127.0.0.1:{ports.get(timeout=30)}/sms"
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    results = {}
    try:
        for backend in backends:
            ours, base, ceiling = [], [], []
            for _ in range(args.repeat):
                base.append(raw_requests(url, args.n))
                ceiling.append(raw_requests_threads(url, args.n))
                with tempfile.TemporaryDirectory() as tmp:
                    if backend == "sqlite":
                        ours.append(outbox_run(f"sqlite:///{Path(tmp) / 'r.sqlite3'}", url, args.n)["seconds"])
                    else:
                        db, handle = _pg_database()
                        try:
                            ours.append(outbox_run(db, url, args.n)["seconds"])
                        finally:
                            _pg_drop(handle)
            rate = args.n / statistics.median(ours)
            base_rate = args.n / statistics.median(base)
            results[backend] = {
                "messages": args.n, "outbox_messages_per_s": round(rate, 1), "target_messages_per_s": TARGET,
                "meets_target": rate >= TARGET, "baseline": "raw_requests",
                "raw_requests_messages_per_s": round(base_rate, 1), "outbox_over_raw": round(rate / base_rate, 3),
                "raw_8_threads_messages_per_s": round(args.n / statistics.median(ceiling), 1),
                # The outbox sends from 8 threads too: against the same concurrency without the outbox.
                "outbox_over_raw_8_threads": round(rate / (args.n / statistics.median(ceiling)), 3),
                "runs_s": [round(x, 3) for x in ours], "raw_runs_s": [round(x, 3) for x in base]}
    finally:
        stub.terminate()
        stub.join(10)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
