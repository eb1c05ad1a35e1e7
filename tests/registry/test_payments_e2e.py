"""Money to the card end to end, through the real commands on one database (SQLite and PostgreSQL): the
demo's datasets, cards and two departments' rosters; planted ineligible lines intercepted with evidence; a
batch built, exported byte-identically, approved by a second person; the bank's results (successes and a
failure) imported twice; one SMS per paid line through a stub gateway that times out and answers 500; the
failed line paid once after its card is corrected, its village's cadre told on the laptop at each step; a
public notice without an ID, card or phone number."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from registry import schema as s
from registry.clock import FixedClock
from registry.db import open_database
from registry.sms import outbox
from sync.client import SyncClient, login_online
from sync.store import Store
from tests.conftest import ROOT, RegistryProcess, yikatong
from tests.registry.paymentkit import results_file
from tests.registry.test_sms_outbox import StubGateway, http_gateway

DEMO = ROOT / "resources" / "demo"
VILLAGE = "510903102201"
PASSWORD = "payments-e2e-1"
ITEM, PERIOD = "elderly_allowance", "202612"
ID_NUMBER = re.compile(r"\d{17}[\dXx]")
CARD_OR_ACCOUNT = re.compile(r"\d{16,19}")
PHONE = re.compile(r"1[3-9]\d{9}")


def _ok(*args: str, password: bool = False) -> dict:
    done = yikatong(*args, "--json", input=PASSWORD + "\n" if password else None, timeout=300)
    assert done.returncode == 0, (args, done.stderr[-2000:])
    return json.loads(done.stdout)


def _seed(db: list[str]) -> None:
    done = yikatong("registry", "import-roster", str(DEMO / f"roster_{VILLAGE}.csv"), "--village", VILLAGE,
                    "--village-name", "大石村", *db)
    assert done.returncode == 0, done.stderr
    for kind in ("deaths", "business", "vehicles", "courts"):
        done = yikatong("registry", "import-dataset", kind, str(DEMO / "datasets" / f"{kind}.csv"), *db)
        assert done.returncode == 0, done.stderr
    for username in ("central", "issuer"):
        done = yikatong("registry", "add-operator", "--username", username, "--role", "central", *db,
                        input=PASSWORD + "\n")
        assert done.returncode == 0, done.stderr
    done = yikatong("registry", "add-operator", "--username", "cadre", "--role", "cadre", "--village", VILLAGE,
                    *db, input=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr


def _laptop_failures(registry: RegistryProcess, store: Store) -> list[dict]:
    """The cadre's laptop syncs; the village's failed payments it keeps."""
    report = SyncClient(store).run()
    assert report.error is None and report.digest_match, report
    return store.payment_failures()


def _findings(engine) -> dict[str, list[tuple[str, str, dict]]]:
    with engine.connect() as conn:
        rows = conn.execute(select(s.entitlements.c.name, s.payment_findings.c.kind, s.payment_findings.c.rule,
                                   s.payment_findings.c.evidence)
                            .join(s.payment_findings, s.payment_findings.c.entitlement_id == s.entitlements.c.id))
        out: dict[str, list[tuple[str, str, dict]]] = {}
        for name, kind, rule, evidence in rows:
            out.setdefault(name, []).append((kind, rule, json.loads(evidence)))
    return out


def _bank_file(path: Path) -> tuple[list[str], list[list[str]]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[0].split(","), [line.split(",") for line in lines[2:]]


def _pay(db: list[str], tmp_path: Path, tag: str, outcome: dict[str, tuple[str, str]]) -> tuple[str, Path]:
    """Batch the ready lines, approve (the creator refused, the second person taken), export twice, answer
    with the bank's results for each holder's name; returns the batch id and its bank file."""
    batch = _ok("registry", "payments", "batch", "--item", ITEM, "--period", PERIOD, "--as", "central", *db,
                password=True)["id"]
    refused = yikatong("registry", "payments", "approve", batch, "--as", "central", *db, input=PASSWORD + "\n")
    assert refused.returncode != 0 and "payments.approver_is_creator" in refused.stderr
    _ok("registry", "payments", "approve", batch, "--as", "issuer", *db, password=True)
    first, again = tmp_path / f"{tag}-代发.csv", tmp_path / f"{tag}-代发-again.csv"
    _ok("registry", "payments", "export", batch, "-o", str(first), *db)
    _ok("registry", "payments", "export", batch, "-o", str(again), *db)
    assert first.read_bytes() == again.read_bytes()
    header, rows = _bank_file(first)
    assert int(header[1]) == len(rows) and int(header[2]) == sum(round(float(r[3]) * 100) for r in rows)
    answer = results_file(tmp_path / f"{tag}-回盘.csv", [(r[0], *outcome[r[1]]) for r in rows])
    _ok("registry", "payments", "import-results", str(answer), "--as", "central", *db, password=True)
    return batch, answer


def _status_holds(db: list[str], batch: str | None = None) -> dict:
    status = _ok("registry", "payments", "status", *([batch] if batch else []), *db)
    issued, paid, failed, pending = (status[k] for k in ("issued", "paid", "failed", "pending"))
    assert issued["count"] == paid["count"] + failed["count"] + pending["count"], status
    assert issued["fen"] == paid["fen"] + failed["fen"] + pending["fen"], status
    return status


def test_money_reaches_the_card_once_and_nothing_personal_is_published(registry_db_url, tmp_path, httpserver):
    """The whole payment flow on the demo's data, every step through the command a person runs."""
    db = ["--db", registry_db_url]
    _seed(db)
    registry = RegistryProcess(registry_db_url, tmp_path / "registry").start()
    laptop = Store.open(tmp_path / "laptop.sqlite3")
    login_online(laptop, registry.url, "cadre", PASSWORD)
    try:
        _flow(db, registry_db_url, tmp_path, httpserver, registry, laptop)
    finally:
        laptop.close()
        registry.stop()


def _flow(db: list[str], registry_db_url: str, tmp_path: Path, httpserver, registry: RegistryProcess,
          laptop: Store) -> None:
    _ok("registry", "import-cards", str(DEMO / "cards.csv"), *db)
    civil = _ok("registry", "import-entitlements", str(DEMO / "entitlements_民政局.csv"), "--department", "民政局",
                "--as", "central", *db, password=True)
    disabled = _ok("registry", "import-entitlements", str(DEMO / "entitlements_残联.csv"), "--department", "残联",
                   "--as", "central", *db, password=True)
    assert (civil["ready"], civil["intercepted"], disabled["refused"]) == (5, 7, 1)

    engine = open_database(registry_db_url)
    try:
        findings = _findings(engine)
        # Planted: a dead woman, a company owner and a car owner on 低保, a second department paying the same
        # person the same month, each stopped with the row or line that shows why.
        assert [(k, r) for k, r, _ in findings["赵欣怡"]] == [("payment_rule", "deceased")]
        assert [(k, r) for k, r, _ in findings["刘永福"]] == [("payment_rule", "assist_business_owner")]
        assert [(k, r) for k, r, _ in findings["徐德华"]] == [("payment_rule", "assist_vehicle_owner")]
        assert all(evidence for name in ("赵欣怡", "刘永福", "徐德华") for _, _, evidence in findings[name])
        assert [k for k, _, _ in findings["漆明学"]] == ["duplicate_payment"]
        assert "民政局" in json.dumps(findings["漆明学"][0][2], ensure_ascii=False)

        # The first run: two holders paid, the third's account closed.
        names = {"杨小红": ("成功", ""), "林玉梅": ("成功", ""), "周芳": ("失败", "账户已销户")}
        batch, answer = _pay(db, tmp_path, "first", names)
        paid = _status_holds(db, batch)
        assert (paid["paid"]["count"], paid["failed"]["count"], paid["pending"]["count"]) == (2, 1, 0)
        again = _ok("registry", "payments", "import-results", str(answer), "--as", "central", *db, password=True)
        assert again.get("already_imported") is True
        assert _status_holds(db, batch) == paid

        # No SMS to 周芳 (her card is the problem): her village's cadre sees it on the laptop after a sync.
        (failure,) = _laptop_failures(registry, laptop)
        assert (failure["name"], failure["reason_code"], failure["needs_help"]) == ("周芳", "account_closed", True)
        assert laptop.payment_failures_needing_help() == 1

        # One SMS per paid line, through a gateway that first times out, then answers 500.
        stub = StubGateway(httpserver)
        clock = FixedClock(dt.datetime.now(dt.UTC))
        for _ in range(4):
            outbox.run(engine, http_gateway(stub), clock=clock, actor="cli")
            clock.advance(hours=1)
        with engine.connect() as conn:
            sms = conn.execute(select(s.sms_outbox.c.id, s.sms_outbox.c.kind, s.sms_outbox.c.state)).all()
        credited = [row for row in sms if row.kind == "credited"]
        assert len(credited) == 2 and {row.state for row in credited} == {"sms_sent"}
        assert stub.delivered == Counter({str(row.id): 1 for row in sms if row.state == "sms_sent"})

        # 周芳's card is replaced (the bank's next file): her line goes into the next batch and is paid once.
        with engine.connect() as conn:
            card = conn.execute(select(s.cards).where(s.cards.c.name == "周芳")).one()
        new_card = card.card_number[:-1] + ("1" if card.card_number[-1] == "0" else "0")
        new_account = card.bank_account[:-1] + ("1" if card.bank_account[-1] == "0" else "0")
        cards = tmp_path / "cards-new.csv"
        cards.write_text("id_number,name,card_number,bank_account,bank,status,date\n"
                         f"{card.id_number},周芳,{card.card_number},{card.bank_account},{card.bank},已注销,2026-12-20\n"
                         f"{card.id_number},周芳,{new_card},{new_account},{card.bank},已激活,2026-12-20\n",
                         encoding="utf-8")
        _ok("registry", "import-cards", str(cards), *db)
        retry, _ = _pay(db, tmp_path, "retry", {"周芳": ("成功", "")})
        assert _ok("registry", "payments", "status", retry, *db)["paid"]["count"] == 1
        with engine.connect() as conn:
            lines = conn.execute(select(s.payment_lines.c.pay_key, s.payment_lines.c.state)).all()
        assert Counter(key for key, state in lines if state == "credited") == Counter(
            {key: 1 for key, state in lines if state == "credited"})
        assert len([1 for _, state in lines if state == "credited"]) == 3
        # The laptop follows her line to the retry's credit: no longer waiting for the cadre's help.
        (failure,) = _laptop_failures(registry, laptop)
        assert (failure["state"], failure["line_state"], failure["needs_help"]) == ("paid_out", "credited", False)
    finally:
        engine.dispose()

    # The village's notice for the month: who receives what, masked; never an ID, card or phone number.
    for suffix in ("csv", "pdf"):
        target = tmp_path / f"公示.{suffix}"
        _ok("registry", "notice", "--village", VILLAGE, "--period", PERIOD, "-o", str(target), *db)
        assert target.stat().st_size > 0
    text = (tmp_path / "公示.csv").read_text(encoding="utf-8-sig")
    assert "杨*红" in text and "杨小红" not in text
    for pattern in (ID_NUMBER, CARD_OR_ACCOUNT, PHONE):
        assert not pattern.search(text), pattern.pattern
