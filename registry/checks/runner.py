"""Run the automatic checks on synced records and route them: received → checked →
needs_review | cleared.

One transaction per batch: the batch's rows are locked (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), every check reads, then findings, per-rule counts,
states and audit entries are written together. A run that dies leaves every record either
untouched (still ``received``, picked up by the next run) or fully checked; never findings
without a state or a state without its findings.

A record's checks see the database as it is in that transaction; the face index is kept in
memory and updated here, before the batch is searched, so two records of the same batch find
each other.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from enrollment.canonical import canonical_bytes
from enrollment.errors import mask_id_number
from enrollment.vocabulary import FindingKind, ReviewState

from .. import audit
from ..db import iso
from ..schema import (
    check_runs,
    findings,
    records,
    rule_stats,
    server_counter,
)
from . import FLAG, INTERCEPT, CheckConfig, CheckContext, CheckRecord, CheckResult, Finding, RuleCount

log = logging.getLogger("registry.checks")

REVIEW_CHECKED = "review.checked"
REVIEW_REOPENED = "review.reopened"  # a checked or approved record that a later check found something on
CHECKS_RUN = "checks.run"

# States a re-check of every record (``recheck_all``) looks at: undecided ones, and approved
# ones — a resident who died after approval must come back to review. Rejected and returned
# records wait for the cadre's new version.
RECHECK_STATES = (ReviewState.RECEIVED, ReviewState.NEEDS_REVIEW, ReviewState.CLEARED, ReviewState.APPROVED)

Check = Callable[[CheckContext, list[CheckRecord]], CheckResult]


def default_checks() -> list[Check]:
    from . import faces, identity, roster, rules

    return [identity.same_id, identity.demographic, faces.face_match, faces.reference_photo,
            rules.dataset_rules, roster.roster]


# Checks whose findings name another record. When a new record finds an older one, the older one
# is checked again with these, so the pair shows up on both sides even if the older record was
# already cleared (or approved: one face under two ID numbers puts both in front of a person).
PAIR_KINDS = (FindingKind.SAME_ID, FindingKind.DEMOGRAPHIC, FindingKind.FACE_MATCH)
RELATED_STATES = (ReviewState.NEEDS_REVIEW, ReviewState.CLEARED, ReviewState.APPROVED)


def pair_checks(checks: list[Check]) -> list[Check]:
    names = set(PAIR_KINDS)
    return [c for c in checks if getattr(c, "__name__", "") in names]


class Cancelled(Exception):
    pass


def _check_record(row: Any) -> CheckRecord:
    payload = json.loads(row.payload) if row.payload else {}
    return CheckRecord(record_id=row.record_id, version=row.version, village_code=row.village_code,
                       id_number=row.id_number, operator=row.operator, device_id=row.device_id,
                       payload=payload, deleted=bool(row.deleted))


def _lock_batch(conn: Connection, states: Iterable[str], after: str, size: int,
                record_ids: list[str] | None, recheck: bool) -> list[Any]:
    q = select(records).where(records.c.state.in_(list(states)), records.c.record_id > after)
    if record_ids is not None:
        q = q.where(records.c.record_id.in_(record_ids))
    if not recheck:
        # A version already checked is not checked again by the routine run.
        q = q.where((records.c.checked_version.is_(None)) | (records.c.checked_version != records.c.version))
    q = q.order_by(records.c.record_id).limit(size)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return conn.execute(q).all()


def _existing_findings(conn: Connection, recs: list[CheckRecord]) -> dict[str, dict[tuple, str]]:
    """The findings already stored for these versions: record_id -> {(kind, rule, subject): status}."""
    out: dict[str, dict[tuple, str]] = {r.record_id: {} for r in recs}
    versions = {r.record_id: r.version for r in recs}
    for row in conn.execute(select(findings.c.record_id, findings.c.version, findings.c.kind, findings.c.rule,
                                   findings.c.subject, findings.c.status)
                            .where(findings.c.record_id.in_(list(versions)))):
        if versions[row.record_id] == row.version:
            out[row.record_id][(row.kind, row.rule, row.subject)] = (row.status, row.kind)
    return out


def _store_findings(conn: Connection, recs: list[CheckRecord], found: dict[str, list[Finding]], now: str,
                    opened: list[dict[str, Any]] | None = None) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Insert the findings not already stored for each version. Returns per record how many were new
    and the kinds of its open findings (stored before or now)."""
    existing = _existing_findings(conn, recs)
    new: dict[str, int] = {}
    kinds: dict[str, list[str]] = {}
    values = []
    for rec in recs:
        known = existing[rec.record_id]
        open_kinds = {kind for status, kind in known.values() if status == "open"}
        count = 0
        for f in found.get(rec.record_id, []):
            subject = f.subject[:100]
            key = (f.kind, f.rule, subject)
            if key in known:
                continue
            known[key] = ("open", f.kind)
            open_kinds.add(f.kind)
            values.append({"record_id": rec.record_id, "version": rec.version, "kind": f.kind, "rule": f.rule,
                           "subject": subject, "severity": f.severity, "score": f.score,
                           "evidence": canonical_bytes(f.evidence).decode("utf-8"), "status": "open",
                           "created_at": now})
            count += 1
        new[rec.record_id] = count
        kinds[rec.record_id] = sorted(open_kinds)
    if values:
        conn.execute(insert(findings), values)
    if opened is not None:
        opened.extend(values)
    return new, kinds


def _add_counts(conn: Connection, counts: list[RuleCount], opened: list[dict[str, Any]], now: str) -> None:
    """Comparisons as the checks counted them; interceptions and flags as the findings this run
    opened (a record version counts once per rule, however often it is checked again)."""
    merged: dict[str, RuleCount] = {}
    for c in counts:
        m = merged.setdefault(c.rule_id, RuleCount(c.rule_id, c.kind, c.department, c.dataset))
        m.compared += c.compared
    hits: dict[str, dict[str, set[str]]] = {}
    for f in opened:
        hits.setdefault(f["rule"] or f["kind"], {}).setdefault(f["severity"], set()).add(f["record_id"])
    for rule_id, by_severity in hits.items():
        m = merged.setdefault(rule_id, RuleCount(rule_id, next(f["kind"] for f in opened
                                                              if (f["rule"] or f["kind"]) == rule_id)))
        m.intercepted += len(by_severity.get(INTERCEPT, set()))
        m.flagged += len(by_severity.get(FLAG, set()) - by_severity.get(INTERCEPT, set()))
    for c in merged.values():
        for _attempt in (1, 2):
            done = conn.execute(update(rule_stats).where(rule_stats.c.rule_id == c.rule_id).values(
                compared=rule_stats.c.compared + c.compared, intercepted=rule_stats.c.intercepted + c.intercepted,
                flagged=rule_stats.c.flagged + c.flagged, kind=c.kind, department=c.department,
                dataset=c.dataset, updated_at=now)).rowcount
            if done:
                break
            try:
                with conn.begin_nested():
                    conn.execute(insert(rule_stats).values(
                        rule_id=c.rule_id, kind=c.kind, department=c.department, dataset=c.dataset,
                        compared=c.compared, intercepted=c.intercepted, flagged=c.flagged, updated_at=now))
                break
            except IntegrityError:
                continue  # inserted meanwhile by another run: add to it


def _take_counters(conn: Connection, n: int) -> list[int]:
    """``n`` consecutive pull counters in one statement (the last one handed out comes back)."""
    last = conn.execute(update(server_counter).where(server_counter.c.id == 1)
                        .values(value=server_counter.c.value + n).returning(server_counter.c.value)).scalar_one()
    return list(range(last - n + 1, last + 1))


_SET_ROUTED = (update(records).where(records.c.record_id == bindparam("rid"))
               .values(checked_version=bindparam("cv"), state=bindparam("st"), state_at=bindparam("sa"),
                       counter=bindparam("ctr"), updated_at=bindparam("ua")))
_SET_CHECKED = (update(records).where(records.c.record_id == bindparam("rid"))
                .values(checked_version=bindparam("cv")))


def _route(conn: Connection, routed: list[tuple[Any, CheckRecord, int, list[str]]], now: str, actor: str
           ) -> list[str]:
    """Set each record's state from its findings; one audit entry per record checked or reopened.
    ``routed``: (row, record, new findings, open kinds). Returns the new states in order."""
    targets = []
    for row, rec, new_findings, open_kinds in routed:
        kinds = [] if rec.deleted else open_kinds
        if row.state == ReviewState.APPROVED:
            # A decision stands unless this check found something new on the approved version.
            targets.append(ReviewState.NEEDS_REVIEW if new_findings else ReviewState.APPROVED)
        else:
            targets.append(ReviewState.NEEDS_REVIEW if kinds else ReviewState.CLEARED)
    moving = [i for i, (item, target) in enumerate(zip(routed, targets, strict=True)) if item[0].state != target]
    counters = iter(_take_counters(conn, len(moving)) if moving else [])
    changed, unchanged, entries = [], [], []
    for (row, rec, _new, open_kinds), target in zip(routed, targets, strict=True):
        kinds = [] if rec.deleted else open_kinds
        if target != row.state:
            changed.append({"rid": rec.record_id, "cv": rec.version, "st": target, "sa": now,
                            "ctr": next(counters), "ua": now})
        else:
            unchanged.append({"rid": rec.record_id, "cv": rec.version})
        if row.state == ReviewState.RECEIVED:
            # One entry for received → checked → needs_review | cleared.
            entries.append((actor, REVIEW_CHECKED, rec.record_id, {
                "version": rec.version, "via": ReviewState.CHECKED, "state": target, "findings": len(kinds),
                "kinds": kinds}))
        elif target != row.state:
            entries.append((actor, REVIEW_REOPENED, rec.record_id, {
                "version": rec.version, "from": row.state, "state": target, "findings": len(kinds), "kinds": kinds}))
    if changed:
        conn.execute(_SET_ROUTED, changed)
    if unchanged:
        conn.execute(_SET_CHECKED, unchanged)
    audit.append_many(conn, entries)
    return targets


def _recheck_related(conn: Connection, ctx: CheckContext, ids: list[str], checks: list[Check], stamp: str,
                     actor: str, summary: dict[str, Any], opened: list[dict[str, Any]], *,
                     wait: bool = False) -> list[str]:
    """Check already-checked records that a new record pointed at, with the pair checks only (counted in
    ``summary["related_rechecked"]``). Returns the ids left out (not yet checked at their version, or, on
    PostgreSQL, locked by another check run); ``wait`` waits for such a lock instead of skipping the row."""
    q = select(records).where(records.c.record_id.in_(ids), records.c.state.in_(RELATED_STATES),
                              records.c.deleted.is_(False), records.c.checked_version == records.c.version)
    if conn.dialect.name == "postgresql":
        if wait:
            # Lock by id first: FOR UPDATE only waits for rows that match its WHERE in its own snapshot, and
            # a record another run is checking does not match yet. The select below is a new statement,
            # so it reads what that run committed.
            conn.execute(select(records.c.record_id).where(records.c.record_id.in_(ids))
                         .order_by(records.c.record_id).with_for_update())
        q = q.with_for_update(skip_locked=not wait)
    rows = conn.execute(q.order_by(records.c.record_id)).all()
    left_out = sorted(set(ids) - {r.record_id for r in rows})
    if not rows or not checks:
        return left_out
    recs = [_check_record(r) for r in rows]
    found: dict[str, list[Finding]] = {}
    for check in checks:
        for rid, fs in check(ctx, recs).findings.items():
            found.setdefault(rid, []).extend(fs)
    new, kinds = _store_findings(conn, recs, found, stamp, opened)
    routed = [(row, rec, new[rec.record_id], kinds[rec.record_id])
              for row, rec in zip(rows, recs, strict=True) if new[rec.record_id]]
    _route(conn, routed, stamp, actor)
    summary["findings_opened"] += sum(new.values())
    summary["related_rechecked"] = summary.get("related_rechecked", 0) + len(rows)
    return left_out


def _recheck_left_out(engine: Engine, ids: list[str], checks: list[Check], config: CheckConfig, rules: Any,
                      face_index: Any, today: dt.date, stamp: str, actor: str, summary: dict[str, Any]) -> None:
    """The related records a batch could not re-check, each in a transaction of its own that waits for
    its lock. A record another run was checking at that moment may not have seen the new record (it
    came in after that run read), so without this the pair would show on one side only. One record per
    transaction, after the batch committed: a run waiting here holds no other lock, so two runs cannot
    deadlock. A record still unchecked at its version is left to its own check, which will see the pair."""
    for record_id in ids:
        with engine.begin() as conn:
            ctx = CheckContext(conn=conn, config=config, today=today, face_index=face_index, rules=rules)
            opened: list[dict[str, Any]] = []
            _recheck_related(conn, ctx, [record_id], checks, stamp, actor, summary, opened, wait=True)
            _add_counts(conn, [], opened, stamp)


def run_checks(engine: Engine, *, config: CheckConfig, rules: Any, face_index: Any, now: dt.datetime,
               actor: str = audit.SYSTEM, record_ids: list[str] | None = None, recheck_all: bool = False,
               batch: int = 200, checks: list[Check] | None = None,
               progress: Callable[[dict[str, int]], None] | None = None,
               cancel: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Check every ``received`` record not yet checked at its version (or the given ids, or with
    ``recheck_all`` every record in ``RECHECK_STATES``); returns the run's summary."""
    checks = checks if checks is not None else default_checks()
    started = iso(now)
    with engine.begin() as conn:
        run_id = conn.execute(insert(check_runs).values(started_at=started, actor=actor)
                              .returning(check_runs.c.id)).scalar_one()
    states = RECHECK_STATES if (recheck_all or record_ids is not None) else (ReviewState.RECEIVED,)
    summary = {"run_id": run_id, "checked": 0, ReviewState.NEEDS_REVIEW: 0, ReviewState.CLEARED: 0,
               ReviewState.APPROVED: 0,
               "findings_opened": 0, "cancelled": False}
    after = ""
    deferred: set[str] = set()   # related records a batch skipped: re-checked once the batches are done
    today = now.astimezone(dt.timezone(dt.timedelta(hours=8))).date()  # Beijing date for "active on"
    try:
        while True:
            if cancel and cancel():
                raise Cancelled
            with engine.begin() as conn:
                rows = _lock_batch(conn, states, after, batch, record_ids, recheck_all or record_ids is not None)
                if not rows:
                    break
                after = rows[-1].record_id
                recs = [_check_record(r) for r in rows]
                live = [r for r in recs if not r.deleted]
                if face_index is not None:
                    face_index.upsert_records(conn, recs)
                ctx = CheckContext(conn=conn, config=config, today=today, face_index=face_index, rules=rules)
                found: dict[str, list[Finding]] = {}
                counts: list[RuleCount] = []
                if live:
                    for check in checks:
                        result = check(ctx, live)
                        for rid, fs in result.findings.items():
                            found.setdefault(rid, []).extend(fs)
                        counts.extend(result.counts)
                stamp = iso(now)
                opened: list[dict[str, Any]] = []
                new, kinds = _store_findings(conn, recs, found, stamp, opened)
                routed = _route(conn, [(row, rec, new[rec.record_id], kinds[rec.record_id])
                                       for row, rec in zip(rows, recs, strict=True)], stamp, actor)
                for rec, state in zip(recs, routed, strict=True):
                    summary["checked"] += 1
                    summary[state] = summary.get(state, 0) + 1
                    summary["findings_opened"] += new[rec.record_id]
                    if new[rec.record_id]:
                        log.info("record %s v%d (%s): %d finding(s)", rec.record_id, rec.version,
                                 mask_id_number(rec.id_number), new[rec.record_id])
                related = sorted({f.subject for fs in found.values() for f in fs if f.kind in PAIR_KINDS}
                                 - {r.record_id for r in recs})
                if related:
                    deferred.update(_recheck_related(conn, ctx, related, pair_checks(checks), stamp, actor,
                                                     summary, opened))
                _add_counts(conn, counts, opened, stamp)
            if progress:
                progress(dict(summary))
    except Cancelled:
        summary["cancelled"] = True
    # Also after a cancel: these belong to batches already committed.
    _recheck_left_out(engine, sorted(deferred), pair_checks(checks), config, rules, face_index, today,
                      iso(now), actor, summary)
    with engine.begin() as conn:
        conn.execute(update(check_runs).where(check_runs.c.id == run_id).values(
            finished_at=iso(dt.datetime.now(dt.UTC)), records_checked=summary["checked"],
            findings_opened=summary["findings_opened"], cancelled=summary["cancelled"]))
        if summary["checked"]:
            audit.append(conn, actor, CHECKS_RUN, f"run:{run_id}", {
                k: v for k, v in summary.items() if k != "run_id"})
    return summary
