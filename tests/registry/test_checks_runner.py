"""The check runner on a real database (SQLite and PostgreSQL): batches, routing, idempotence,
cancellation, counts and the audit chain."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from checkkit import store_record, store_rows
from regkit import VILLAGE_B, import_test_roster, payload, resident
from sqlalchemy import func, select, update

from registry import audit
from registry.checks import CheckConfig
from registry.checks.faces import RegistryFaceIndex
from registry.checks.rules import RuleSet
from registry.checks.runner import run_checks
from registry.db import open_database
from registry.schema import audit_log, findings, records, rule_stats, server_counter

NOW = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def engine(registry_db_url, tmp_path):
    eng = open_database(registry_db_url)
    import_test_roster(eng, tmp_path)  # payload(i) people are on village A's roster
    yield eng
    eng.dispose()


def _run(engine, **kw):
    return run_checks(engine, config=CheckConfig.load(), rules=RuleSet.load(), face_index=RegistryFaceIndex.load(engine),
                      now=NOW, actor="test", **kw)


def _states(engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(records.c.record_id, records.c.state)).all())


def test_every_received_record_is_routed_across_many_batches(engine):
    """Seven records checked two at a time all leave received: the deceased one to needs_review, the rest cleared."""
    people = [store_record(engine, payload(i)) for i in range(1, 8)]
    store_rows(engine, "deaths", [{"id_number": resident(3)["id_number"], "name": "x", "death_date": "2026-01-01"}])
    summary = _run(engine, batch=2)
    assert summary["checked"] == 7 and summary["needs_review"] == 1 and summary["cleared"] == 6
    states = _states(engine)
    assert states[people[2].record_id] == "needs_review"
    assert sorted(states.values()) == ["cleared"] * 6 + ["needs_review"]


def test_a_second_run_checks_nothing_and_a_recheck_adds_no_duplicate_findings(engine):
    """Checked versions are skipped by the routine run; --all re-checks them without storing or counting a
    finding twice."""
    store_record(engine, payload(1))
    store_record(engine, payload(1, VILLAGE_B))  # the same ID number twice: a same_id pair
    first = _run(engine)
    # two same_id findings, and B's record is of a resident on village A's roster: roster_other_village
    assert first["checked"] == 2 and first["findings_opened"] == 3
    assert _run(engine)["checked"] == 0
    again = _run(engine, recheck_all=True)
    assert again["checked"] == 2 and again["findings_opened"] == 0
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(findings)).scalar_one() == 3
        stats = conn.execute(select(rule_stats).where(rule_stats.c.rule_id == "same_id")).one()
    assert stats.compared == 4  # comparisons run are counted per run: 2 + 2 …
    assert stats.flagged == 2   # … a record's finding once, however often it is found again


@pytest.mark.parametrize("cancelled", [False, True], ids=["whole run", "cancelled after the batch"])
def test_a_pair_found_while_another_run_holds_the_older_record_shows_on_both_sides(engine, cancelled):
    """PostgreSQL, two check runs at once (the server's worker and run-checks): when the new record's run
    finds its same-ID twin locked by a run that read before the new record came in, it re-checks the twin
    once that lock is gone, so both records carry the pair (CI once saw it on one side only); also when the
    run is cancelled after that batch."""
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks: SQLite has one writer at a time, so no check run overlaps another")
    older = store_record(engine, payload(1))
    other_run = engine.connect()
    held = other_run.begin()
    # The other run has locked the older record and read the registry before the twin arrived.
    other_run.execute(select(records.c.record_id).where(records.c.record_id == older.record_id).with_for_update())
    twin = store_record(engine, payload(1, VILLAGE_B))
    summaries: list[dict] = []
    batches: list[dict] = []
    stop = (lambda: bool(batches)) if cancelled else None
    worker = threading.Thread(target=lambda: summaries.append(_run(engine, cancel=stop, progress=batches.append)))
    worker.start()
    deadline = time.monotonic() + 60
    while True:   # this run's batch (the twin) is committed; the older record was skipped as locked
        with engine.connect() as conn:
            if conn.execute(select(records.c.checked_version).where(
                    records.c.record_id == twin.record_id)).scalar_one() == 1:
                break
        assert time.monotonic() < deadline and worker.is_alive(), "the twin was never checked"
        time.sleep(0.05)
    # The other run finishes the older record as it saw it: checked, nothing found.
    other_run.execute(update(records).where(records.c.record_id == older.record_id)
                      .values(checked_version=1, state="cleared"))
    held.commit()
    other_run.close()
    worker.join(60)
    assert not worker.is_alive() and summaries and summaries[0]["cancelled"] is cancelled
    with engine.connect() as conn:
        pairs = set(conn.execute(select(findings.c.record_id, findings.c.subject)
                                 .where(findings.c.kind == "same_id")).all())
    assert pairs == {(twin.record_id, older.record_id), (older.record_id, twin.record_id)}
    assert _states(engine)[older.record_id] == "needs_review"


def test_cancel_between_batches_leaves_the_rest_received_and_whole(engine):
    """A cancelled run stops after the batch in flight; what it did not reach is still received, untouched."""
    for i in range(1, 6):
        store_record(engine, payload(i))
    calls = []
    summary = _run(engine, batch=2, cancel=lambda: len(calls) >= 1, progress=calls.append)
    assert summary["cancelled"] is True and summary["checked"] == 2
    assert sorted(_states(engine).values()) == ["cleared"] * 2 + ["received"] * 3
    assert _run(engine)["checked"] == 3


def test_routing_moves_the_pull_counter_and_keeps_the_audit_chain(engine):
    """Each record whose state changes gets a new pull counter (laptops pull the state) and one audit entry."""
    recs = [store_record(engine, payload(i)) for i in range(1, 4)]
    with engine.connect() as conn:
        before = conn.execute(select(server_counter.c.value)).scalar_one()
    _run(engine)
    with engine.connect() as conn:
        counters = sorted(conn.execute(select(records.c.counter)).scalars())
        entries = conn.execute(select(audit_log.c.action, audit_log.c.subject)
                               .where(audit_log.c.action == "review.checked")).all()
    assert counters == [before + 1, before + 2, before + 3]
    assert sorted(s for _a, s in entries) == sorted(r.record_id for r in recs)
    assert audit.verify(engine)[0] is True


def test_check_thresholds_file_with_a_misspelt_key_is_refused(tmp_path):
    """A thresholds file with a key that is no threshold is refused with checks.config_invalid, not ignored."""
    from enrollment.errors import DomainError

    bad = tmp_path / "checks.json"
    bad.write_text('{"_comment": "x", "face_radius": 0.5, "face_radus": 0.4}', encoding="utf-8")
    with pytest.raises(DomainError) as e:
        CheckConfig.load(bad)
    assert e.value.code == "checks.config_invalid" and e.value.data["unknown"] == ["face_radus"]
    good = tmp_path / "good.json"
    good.write_text('{"face_radius": 0.5}', encoding="utf-8")
    assert CheckConfig.load(good).face_radius == 0.5
