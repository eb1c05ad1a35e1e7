"""``yikatong registry …``: serve, serve-verify, add-operator, import-roster, import-dataset, stats,
verify-audit, gc-blobs, audit-texts, redact-text, central review (findings, decide, mark-issued,
warnings, dashboard) and remote verification (verification create | list | purge-evidence).

Every subcommand takes ``--db URL`` (default: REGISTRY_DATABASE_URL, else the embedded
SQLite file in the user's data folder) and upgrades that database to the newest migration
before it does anything else.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from enrollment import error_codes
from enrollment.vocabulary import DECISION_TARGET, Action, VerificationState

from . import notice_cmds, payment_import_cmds, selfquery_cmds
from .main import EXIT_FAILURE, EXIT_USAGE, CliError, print_json, read_password

DB_HELP = "database URL: sqlite:///PATH or postgresql://USER:PW@HOST/DB " \
          "(default: $REGISTRY_DATABASE_URL, else the embedded SQLite file in your data folder)"


def register(sub: Any) -> None:
    reg = sub.add_parser("registry", help="the central registry service and its database")
    rsub = reg.add_subparsers(dest="registry_command", required=True, parser_class=type(reg))

    p = rsub.add_parser("serve", help="run the registry's HTTP API")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765, help="0 picks a free port (printed on the ready line)")
    p.add_argument("--token-ttl", type=int, default=None, metavar="SECONDS",
                   help="how long a login token stays valid (default 43200 = 12 h)")
    p.add_argument("--max-body", type=int, default=None, metavar="BYTES",
                   help="largest request body accepted (default 16 MiB)")
    p.add_argument("--warning-limits", default=None, metavar="FILE",
                   help="warning limits JSON (default: resources/review/warning_limits.json)")
    p.add_argument("--allow-approver-issues-card", action="store_true",
                   help="let the staff member who approved a record also mark its card issued "
                        "(default: refused, review.approver_issues_card)")
    p.add_argument("--exit-with-parent", type=int, default=None, metavar="PID",
                   help="shut down when process PID ends (an embedded registry never outlives its app)")
    p.add_argument("--login-max-failures", type=int, default=5, metavar="N",
                   help="wrong passwords for one account within 15 min before a lock (default 5)")
    p.add_argument("--login-address-max-failures", type=int, default=20, metavar="N",
                   help="the same from one client address (default 20)")
    p.add_argument("--login-lock", type=float, default=60, metavar="SECONDS",
                   help="the first lock's length; each further lock doubles, at most an hour (default 60)")
    _blob_gc_args(p)
    p.add_argument("--blob-gc-interval", type=float, default=None, metavar="SECONDS",
                   help="how often the server removes expired uploads and unreferenced blobs (default 3600)")
    _verify_args(p)
    p.set_defaults(handler=cmd_serve)

    p = rsub.add_parser("serve-verify", help="run the public verification process: the worker's page and its "
                                             "API only (no sync or staff route), on the same database; put it "
                                             "behind an HTTPS reverse proxy")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8766, help="0 picks a free port (printed on the ready line)")
    p.add_argument("--max-body", type=int, default=256 * 1024, metavar="BYTES",
                   help="largest request body accepted (default 256 KiB; a frame is at most 40 KB)")
    p.add_argument("--exit-with-parent", type=int, default=None, metavar="PID",
                   help="shut down when process PID ends")
    _verify_args(p)
    selfquery_cmds.add_sms_args(p)
    p.set_defaults(handler=cmd_serve_verify)

    p = rsub.add_parser("verification", help="remote face verification requests (issue 11)")
    vsub = p.add_subparsers(dest="verification_command", required=True, parser_class=type(reg))
    v = vsub.add_parser("create", help="create a request for a resident and print its link, token and expiry "
                                       "(password from stdin)")
    v.add_argument("id_number", metavar="ID_NUMBER")
    v.add_argument("--as", dest="username", required=True, metavar="USERNAME",
                   help="the cadre of the resident's village, or a central/admin operator")
    v.add_argument("--city", default=None, help="where the resident works (外出务工)")
    v.add_argument("--db", help=DB_HELP)
    v.add_argument("--json", action="store_true", help="print JSON (with the QR code's SVG and the SMS text)")
    _verify_args(v, serving=False)
    v.set_defaults(handler=cmd_verification_create)
    v = vsub.add_parser("list", help="requests, newest first (expired ones moved to manual first)")
    v.add_argument("--state", default=None, choices=[str(s) for s in VerificationState])
    v.add_argument("--db", help=DB_HELP)
    v.add_argument("--json", action="store_true", help="print JSON (the only output form; full ID numbers)")
    v.set_defaults(handler=cmd_verification_list)
    v = vsub.add_parser("purge-evidence", help="remove evidence frames' bytes older than the retention (audited; "
                                               "the frames' hashes stay for the replay check)")
    v.add_argument("--older-than", type=float, default=None, metavar="DAYS",
                   help="days since the attempt finished (default 90)")
    v.add_argument("--db", help=DB_HELP)
    v.add_argument("--json", action="store_true", help="print JSON")
    v.set_defaults(handler=cmd_verification_purge)

    p = rsub.add_parser("add-operator", help="create an operator account (password from stdin)")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--username", required=True)
    p.add_argument("--role", required=True, choices=("cadre", "central", "admin"))
    p.add_argument("--village", action="append", default=[], metavar="CODE",
                   help="12-digit village code the operator works in (repeat for several; required for cadre)")
    p.add_argument("--display-name", default="")
    p.set_defaults(handler=cmd_add_operator)

    for name, disabled in (("disable-operator", True), ("enable-operator", False)):
        p = rsub.add_parser(name, help=("refuse this operator's logins and tokens from the next request"
                                        if disabled else "let a disabled operator log in again") + " (audited)")
        p.add_argument("username", metavar="USER")
        p.add_argument("--db", help=DB_HELP)
        p.set_defaults(handler=cmd_set_disabled, disabled=disabled)

    p = rsub.add_parser("import-roster", help="import a village's residents from CSV (all or nothing)")
    p.add_argument("file", metavar="FILE.csv")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--village", required=True, metavar="CODE")
    p.add_argument("--village-name", default=None)
    p.add_argument("--encoding", default="utf-8", help="utf-8 (default) or gbk")
    p.add_argument("--json", action="store_true",
                   help="a refused file's error as JSON on stderr (every bad row with its line, field, code, data)")
    p.set_defaults(handler=cmd_import_roster)

    p = rsub.add_parser("import-dataset", help="replace a department dataset (deaths, allowance, …) from CSV "
                                               "(all or nothing)")
    p.add_argument("kind", metavar="KIND", help="deaths, allowance, poverty, business, property, tax, students, "
                                                "courts, vehicles or reference_photos")
    p.add_argument("file", metavar="FILE.csv")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--encoding", default="utf-8", help="utf-8 (default, BOM tolerated) or gbk")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_import_dataset)

    p = rsub.add_parser("stats", help="counts of residents, records, blobs, operators")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_stats)

    p = rsub.add_parser("run-checks", help="run the automatic checks (same ID, demographics, 1:N face, reference "
                                           "photo, department datasets) on records not yet checked")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--all", action="store_true",
                   help="re-check every undecided and approved record (after importing a dataset)")
    p.add_argument("--json", action="store_true", help="print the run's summary as JSON")
    p.set_defaults(handler=cmd_run_checks)

    p = rsub.add_parser("findings", help="findings of the automatic checks (open by default), with evidence")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--kind", default=None, help="only this kind (same_id, demographic, face_match, "
                                                "reference_photo, dataset_rule)")
    p.add_argument("--status", default="open", choices=("open", "resolved", "superseded"))
    p.add_argument("--json", action="store_true", help="print JSON (the only output form; full ID numbers)")
    p.set_defaults(handler=cmd_findings)

    p = rsub.add_parser("decide", help="approve, reject or return a record's current version "
                                       "(as a central operator; password from stdin)")
    p.add_argument("record_id", metavar="RECORD_ID")
    p.add_argument("action", choices=tuple(Action))
    p.add_argument("--reason", default=None, help="required to reject or return (at most 200 characters)")
    p.add_argument("--as", dest="username", required=True, metavar="USERNAME",
                   help="the central or admin operator deciding")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--json", action="store_true", help="print the record as JSON")
    p.set_defaults(handler=cmd_decide)

    p = rsub.add_parser("mark-issued", help="record that an approved record's card was handed out "
                                            "(password from stdin)")
    p.add_argument("record_id", metavar="RECORD_ID")
    p.add_argument("--as", dest="username", required=True, metavar="USERNAME")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--json", action="store_true", help="print the record as JSON")
    p.set_defaults(handler=cmd_mark_issued)

    p = rsub.add_parser("warnings", help="yellow and red records; --report writes the escalation report (red)")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--at", default=None, metavar="ISO", help="the moment to compute the lights at "
                                                              "(default now), e.g. 2026-12-01T08:00:00Z")
    p.add_argument("--limits", default=None, metavar="FILE", help="warning limits JSON "
                                                                  "(default: resources/review/warning_limits.json)")
    p.add_argument("--report", default=None, metavar="OUT.pdf|OUT.csv")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_warnings)

    p = rsub.add_parser("dashboard", help="the central dashboard's numbers")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_dashboard)

    p = rsub.add_parser("gc-blobs", help="remove partial uploads idle past their TTL and blobs no record "
                                         "references after their grace period (audited); prints the counts")
    p.add_argument("--db", help=DB_HELP)
    _blob_gc_args(p)
    p.add_argument("--dry-run", action="store_true", help="only count what would be removed")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_gc_blobs)

    p = rsub.add_parser("verify-audit", help="walk the audit log's hash chain and the texts it refers to; "
                                             "name the first broken entry, count redacted ones")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_verify_audit)

    p = rsub.add_parser("audit-texts", help="the stored texts (reasons, file names) the audit entries about "
                                            "SUBJECT refer to: their hashes and whether redacted (not the texts)")
    p.add_argument("subject", metavar="SUBJECT", help="a record id, a village code, a dataset kind …")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_audit_texts)

    p = rsub.add_parser("redact-text", help="remove a stored audit text under PIPL (as an admin; password "
                                            "from stdin); audited, and the chain still verifies")
    p.add_argument("sha256", metavar="HASH", help="the text's hash (the entry's <key>_text_ref; see audit-texts)")
    p.add_argument("--by", dest="username", required=True, metavar="USER", help="the admin operator redacting")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_redact_text)
    notice_cmds.register(rsub)

    from . import sms_cmds  # issue 13 item 5: registry sms …, set-operator-phone
    sms_cmds.register(rsub)

    from .payments_cmds import register as register_payments  # issue 13: batches, bank files, results
    register_payments(rsub)
    payment_import_cmds.register(rsub)  # import-cards, import-entitlements, payments decide (issue 13)


_TEN_YEARS = 10 * 366 * 86400


def _verify_args(p: Any, *, serving: bool = True) -> None:
    p.add_argument("--verify-public-url", default=None, metavar="URL",
                   help="the public HTTPS address of serve-verify that links point to "
                        "(default http://127.0.0.1:8766)")
    p.add_argument("--verify-ttl-hours", type=float, default=None, metavar="HOURS",
                   help="how long a verification link stays valid (default 72)")
    p.add_argument("--verify-attempts", type=int, default=None, metavar="N",
                   help="attempts one verification link allows (default 3)")
    if serving:
        p.add_argument("--verify-evidence-days", type=float, default=None, metavar="DAYS",
                       help="how long evidence frames are kept, as told in the consent text (default 90)")
        p.add_argument("--verify-challenge-seed", type=int, default=None, metavar="N",
                       help="TEST-ONLY: draw the challenge actions from a fixed seed (production draws at random)")


def _verify_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Settings fields from the verification flags, defaults where not given."""
    from registry.config import (
        DEFAULT_VERIFY_ATTEMPTS,
        DEFAULT_VERIFY_EVIDENCE_DAYS,
        DEFAULT_VERIFY_PUBLIC_URL,
        DEFAULT_VERIFY_TTL_HOURS,
    )

    url = args.verify_public_url or DEFAULT_VERIFY_PUBLIC_URL
    ttl = DEFAULT_VERIFY_TTL_HOURS if args.verify_ttl_hours is None else args.verify_ttl_hours
    attempts = DEFAULT_VERIFY_ATTEMPTS if args.verify_attempts is None else args.verify_attempts
    days = getattr(args, "verify_evidence_days", None)
    days = DEFAULT_VERIFY_EVIDENCE_DAYS if days is None else days
    if not url.startswith(("http://", "https://")) or not 0 < ttl <= 24 * 366 or not 1 <= attempts <= 20 \
            or not 0 < days <= 3660:
        raise CliError("usage.invalid_value", "--verify-public-url is an http(s) address, --verify-ttl-hours "
                       "positive (at most a year), --verify-attempts 1..20, --verify-evidence-days 0..3660",
                       EXIT_USAGE)
    return {"verify_public_url": url, "verify_ttl_hours": ttl, "verify_attempts": attempts,
            "verify_evidence_days": days, "verify_challenge_seed": getattr(args, "verify_challenge_seed", None)}


def _blob_gc_args(p: Any) -> None:
    p.add_argument("--blob-partial-ttl-hours", type=float, default=None, metavar="HOURS",
                   help="a partial blob upload is removed this long after its last chunk (default 24)")
    p.add_argument("--blob-grace-days", type=float, default=None, metavar="DAYS",
                   help="a complete blob no record references is removed this long after it was last "
                        "uploaded (default 7)")


def _blob_gc_settings(args: argparse.Namespace) -> dict[str, float]:
    """Settings fields from the blob collection flags (seconds), defaults where not given."""
    from registry.config import DEFAULT_BLOB_GC_INTERVAL, DEFAULT_BLOB_GRACE, DEFAULT_BLOB_PARTIAL_TTL

    ttl = DEFAULT_BLOB_PARTIAL_TTL if args.blob_partial_ttl_hours is None else args.blob_partial_ttl_hours * 3600
    grace = DEFAULT_BLOB_GRACE if args.blob_grace_days is None else args.blob_grace_days * 86400
    interval = getattr(args, "blob_gc_interval", None)
    interval = DEFAULT_BLOB_GC_INTERVAL if interval is None else interval
    # At most ten years: the cut-off moment stays a date the clock can compute.
    if not (0 <= ttl <= _TEN_YEARS and 0 <= grace <= _TEN_YEARS and 0 < interval <= _TEN_YEARS):
        raise CliError("usage.invalid_value", "--blob-partial-ttl-hours and --blob-grace-days must be 0 or more, "
                       "--blob-gc-interval positive (each at most ten years)", EXIT_USAGE)
    return {"blob_partial_ttl": ttl, "blob_grace": grace, "blob_gc_interval": interval}


def _engine(args: argparse.Namespace):  # noqa: ANN202
    from registry.config import resolve_db_url
    from registry.db import open_database

    try:
        return open_database(resolve_db_url(args.db))
    except ValueError as e:
        raise CliError("db.url_invalid", str(e), EXIT_USAGE) from None
    except Exception as e:  # noqa: BLE001 - one line with a code, not a traceback
        cause = getattr(e, "orig", None) or e
        first = (str(cause).strip().splitlines() or [""])[0][:200]
        raise CliError("db.unavailable", f"cannot open the database: {type(cause).__name__}: {first}") from None


def cmd_serve(args: argparse.Namespace) -> int:
    from registry.config import DEFAULT_MAX_BODY, DEFAULT_TOKEN_TTL, Settings, resolve_db_url
    from registry.server import serve

    ttl = DEFAULT_TOKEN_TTL if args.token_ttl is None else args.token_ttl
    max_body = DEFAULT_MAX_BODY if args.max_body is None else args.max_body
    if ttl <= 0 or max_body <= 0:
        raise CliError("usage.invalid_value", "--token-ttl and --max-body must be positive", EXIT_USAGE)
    if not 0 <= args.port <= 65535:
        raise CliError("usage.invalid_value", "--port must be 0..65535", EXIT_USAGE)
    blob_gc = _blob_gc_settings(args)
    _limits(args.warning_limits)  # refuse a bad file before binding the port
    engine = _engine(args)
    try:
        serve(resolve_db_url(args.db), args.host, args.port, engine=engine, parent_pid=args.exit_with_parent,
              settings=Settings(token_ttl=ttl, max_body=max_body, warning_limits=args.warning_limits,
                                allow_approver_issues_card=args.allow_approver_issues_card,
                                login_max_failures=args.login_max_failures, login_lock=args.login_lock,
                                login_address_max_failures=args.login_address_max_failures, **blob_gc,
                                **_verify_settings(args)))
    except OSError as e:
        raise CliError("server.bind_failed", f"cannot listen on {args.host}:{args.port}: {e.strerror}") from None
    return 0


def cmd_serve_verify(args: argparse.Namespace) -> int:
    from registry.config import Settings, resolve_db_url
    from registry.server import serve_verify

    if args.max_body <= 0 or not 0 <= args.port <= 65535:
        raise CliError("usage.invalid_value", "--max-body must be positive and --port 0..65535", EXIT_USAGE)
    settings = Settings(max_body=args.max_body, **_verify_settings(args), **selfquery_cmds.sms_settings(args))
    engine = _engine(args)
    try:
        serve_verify(resolve_db_url(args.db), args.host, args.port, engine=engine, parent_pid=args.exit_with_parent,
                     settings=settings)
    except OSError as e:
        raise CliError("server.bind_failed", f"cannot listen on {args.host}:{args.port}: {e.strerror}") from None
    return 0


# ------------------------------------------------------------------------------ remote verification

def _operator(engine, username: str, password: str):  # noqa: ANN001, ANN202
    """The named, enabled operator whose password this is (any role: the request checks the village)."""
    return _named_operator(engine, username, password=password, staff_only=False)


def cmd_verification_create(args: argparse.Namespace) -> int:
    from registry.clock import SystemClock
    from registry.config import Settings
    from registry.verification.request_store import create

    password = read_password()
    settings = Settings(**_verify_settings(args))
    engine = _engine(args)
    operator = _operator(engine, args.username, password)
    created = _api_errors(lambda: create(engine, operator, args.id_number.strip().upper(), args.city,
                                         settings=settings, clock=SystemClock()))
    if args.json:
        print_json(created.to_dict())
    else:
        sys.stdout.write(f"link    {created.link}\ntoken   {created.token}\nexpires {created.request['expires_at']}\n"
                         f"(the token is shown once; the registry keeps only its hash)\n")
    return 0


def cmd_verification_list(args: argparse.Namespace) -> int:
    from registry.auth import Operator
    from registry.clock import SystemClock
    from registry.verification.request_store import list_requests

    everyone = Operator(0, "cli", "admin", "")  # the terminal with the database's URL sees every village
    print_json({"verifications": list_requests(_engine(args), everyone, state=args.state, clock=SystemClock(),
                                               limit=100_000)})
    return 0


def cmd_verification_purge(args: argparse.Namespace) -> int:
    from registry.clock import SystemClock
    from registry.config import DEFAULT_VERIFY_EVIDENCE_DAYS
    from registry.verification.evidence import purge

    days = DEFAULT_VERIFY_EVIDENCE_DAYS if args.older_than is None else args.older_than
    if not 0 <= days <= 3660:
        raise CliError("usage.invalid_value", "--older-than is 0..3660 days", EXIT_USAGE)
    out = purge(_engine(args), older_than_days=days, clock=SystemClock())
    if args.json:
        print_json(out)
    else:
        sys.stdout.write(f"purged {out['frames_purged']} evidence frame(s) ({out['bytes']} bytes) of attempts "
                         f"finished before {out['cutoff']}; {out['clips_released']} video clip(s) released "
                         f"to gc-blobs\n")
    return 0


def cmd_add_operator(args: argparse.Namespace) -> int:
    from registry.auth import add_operator

    if args.role == "cadre" and not args.village:
        raise CliError("operator.village_required", "a cadre needs at least one --village CODE", EXIT_USAGE)
    password = read_password()
    engine = _engine(args)
    with engine.begin() as conn:
        add_operator(conn, username=args.username, password=password, role=args.role,
                     village_codes=args.village, display_name=args.display_name)
    sys.stdout.write(f"operator {args.username} ({args.role}) added\n")
    return 0


def cmd_set_disabled(args: argparse.Namespace) -> int:
    from registry.auth import set_disabled

    engine = _engine(args)
    with engine.begin() as conn:
        changed = set_disabled(conn, args.username, args.disabled)
    state = "disabled" if args.disabled else "enabled"
    sys.stdout.write(f"operator {args.username} {state}\n" if changed else f"operator {args.username} was already {state}\n")
    return 0


def cmd_import_roster(args: argparse.Namespace) -> int:
    from registry.roster import import_roster

    engine = _engine(args)
    result = import_roster(engine, args.file, args.village, village_name=args.village_name,
                           encoding=args.encoding)
    print_json(result.to_dict())
    return 0


def cmd_import_dataset(args: argparse.Namespace) -> int:
    from registry.datasets import KINDS, import_dataset

    if args.kind not in KINDS:
        raise CliError("usage.kind_unknown", f"unknown dataset kind {args.kind!r}; one of: {', '.join(KINDS)}",
                       EXIT_USAGE)
    engine = _engine(args)
    result = import_dataset(engine, args.kind, args.file, encoding=args.encoding)
    if args.json:
        print_json(result.to_dict())
    else:
        sys.stdout.write(f"{result.rows} {result.kind} rows imported from {result.file}\n")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from registry.stats import collect

    stats = collect(_engine(args))
    if args.json:
        print_json(stats)
    else:
        r, b, o = stats["records"], stats["blobs"], stats["operators"]
        sys.stdout.write(
            f"villages {stats['villages']}, residents {stats['residents']}\n"
            f"operators {o['total']} (cadre {o['cadre']}, central {o['central']}, admin {o['admin']})\n"
            f"records {r['live']} live + {r['tombstones']} tombstones; by state {r['by_state']}; "
            f"versions {stats['versions']}; conflicts {stats['conflicts']}\n"
            f"blobs {b['complete']} complete ({b['bytes']} bytes), {b['partial']} partial\n")
    return 0


def cmd_gc_blobs(args: argparse.Namespace) -> int:
    from registry import audit
    from registry.blobs import collect_garbage
    from registry.clock import SystemClock

    gc = _blob_gc_settings(args)
    summary = collect_garbage(_engine(args), clock=SystemClock(), partial_ttl=gc["blob_partial_ttl"],
                              grace=gc["blob_grace"], dry_run=args.dry_run, actor=audit.CLI)
    if args.json:
        print_json(summary.to_dict())
    else:
        verb = "would remove" if summary.dry_run else "removed"
        sys.stdout.write(f"{verb} {summary.partials_removed} partial upload(s) ({summary.partial_bytes} bytes) and "
                         f"{summary.blobs_removed} unreferenced blob(s) ({summary.blob_bytes} bytes)\n")
    return 0


_PROBLEMS = {"text_altered": "its referenced text does not match the hash it holds",
             "text_missing": "its referenced text is missing (deleted, not redacted)",
             "redaction_unaudited": "its referenced text was removed without an audit.text_redacted entry"}


def cmd_verify_audit(args: argparse.Namespace) -> int:
    from registry.audit import check

    report = check(_engine(args))
    message = f"first broken entry seq={report.first_broken_seq}"
    if report.problem in _PROBLEMS:
        message += f": {_PROBLEMS[report.problem]}"
    if args.json:
        out: dict[str, Any] = {"ok": report.ok, "entries_checked": report.checked,
                               "first_broken_seq": report.first_broken_seq, "problem": report.problem,
                               "texts_checked": report.texts_checked, "redacted_seqs": list(report.redacted_seqs)}
        if not report.ok:
            out["error"] = {"code": "audit.broken", "message": message}
        print_json(out)
        return 0 if report.ok else EXIT_FAILURE
    if not report.ok:
        raise CliError("audit.broken", message)
    redacted = f"; {len(report.redacted_seqs)} with a redacted text" if report.redacted_seqs else ""
    sys.stdout.write(f"audit chain intact: {report.checked} entries, {report.texts_checked} text(s){redacted}\n")
    return 0


def cmd_audit_texts(args: argparse.Namespace) -> int:
    import json

    from sqlalchemy import select

    from registry.audit import TEXT_REF, text_refs
    from registry.schema import audit_log, audit_texts

    engine = _engine(args)
    rows = []
    with engine.connect() as conn:
        for e in conn.execute(select(audit_log.c.seq, audit_log.c.at, audit_log.c.actor, audit_log.c.action,
                                     audit_log.c.data).where(audit_log.c.subject == args.subject)
                              .order_by(audit_log.c.seq)):
            data = json.loads(e.data)
            for digest in text_refs(data):
                key = next(k for k, v in data.items() if v == digest)[:-len(TEXT_REF)]
                t = conn.execute(select(audit_texts.c.redacted_at, audit_texts.c.redacted_by)
                                 .where(audit_texts.c.sha256 == digest)).first()
                rows.append({"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "key": key,
                             "sha256": digest, "redacted_at": t.redacted_at if t else None,
                             "redacted_by": t.redacted_by if t else None})
    if args.json:
        print_json({"texts": rows})
    else:
        for r in rows:
            state = f"redacted {r['redacted_at']} by {r['redacted_by']}" if r["redacted_at"] else "stored"
            sys.stdout.write(f"seq={r['seq']} {r['at']} {r['actor']} {r['action']} {r['key']} {r['sha256']} {state}\n")
    return 0


def cmd_redact_text(args: argparse.Namespace) -> int:
    from registry.audit import AuditTextError, redact_text

    password = read_password()
    engine = _engine(args)
    operator = _staff(engine, args.username, password=password)
    if operator.role != "admin":
        raise CliError(error_codes.FORBIDDEN, "only an admin redacts audit texts")
    try:
        seqs = redact_text(engine, args.sha256.lower(), operator.username)
    except AuditTextError as e:
        raise CliError(e.code, e.message) from None
    if args.json:
        print_json({"sha256": args.sha256.lower(), "entries": seqs, "redacted_by": operator.username})
    else:
        sys.stdout.write(f"text {args.sha256.lower()} redacted; entries {', '.join(map(str, seqs)) or 'none'} "
                         f"now verify as redacted\n")
    return 0


# ------------------------------------------------------------------------------ review

def _limits(path: str | None):  # noqa: ANN202 - registry.warnings.WarningLimits
    from registry.warnings import LimitsError, WarningLimits

    try:
        return WarningLimits.load(path)
    except LimitsError as e:
        raise CliError(e.code, str(e)) from None


def _api_errors(fn):  # noqa: ANN001, ANN202
    """Run ``fn``; an ``ApiError`` from the review services becomes the CLI's one-line error, in the code's
    Chinese wording where desktop/errors.py has one (as a ``DomainError`` is printed), else its own message."""
    from registry.errors import ApiError
    from registry.reports import ReportError

    from .main import wording

    try:
        return fn()
    except ApiError as e:
        raise CliError(e.code, wording(e.code, dict(e.data), e.message), **e.data) from None
    except ReportError as e:
        raise CliError(e.code, e.message) from None


def _staff(engine, username: str, *, password: str | None):  # noqa: ANN001, ANN202
    """The named operator, who must be central or admin; with ``password``, it must be theirs."""
    return _named_operator(engine, username, password=password, staff_only=True)


def _named_operator(engine, username: str, *, password: str | None, staff_only: bool):  # noqa: ANN001, ANN202
    """The named, enabled operator (central or admin if ``staff_only``); with ``password``, it must be theirs."""
    from sqlalchemy import select

    from registry.auth import load_operator
    from registry.review import check_password, require_staff
    from registry.schema import operators

    with engine.connect() as conn:
        row = conn.execute(select(operators.c.id, operators.c.disabled)
                           .where(operators.c.username == username)).first()
        if row is None:
            raise CliError(error_codes.BAD_CREDENTIALS, f"no operator {username!r}")
        if row.disabled:
            raise CliError(error_codes.OPERATOR_DISABLED, f"operator {username!r} is disabled")
        operator = load_operator(conn, row.id)
    if staff_only:
        _api_errors(lambda: require_staff(operator))
    if password is not None:
        _api_errors(lambda: check_password(engine, operator, password))
    return operator


def _current_version(engine, record_id: str) -> int:  # noqa: ANN001
    from sqlalchemy import select

    from registry.schema import records

    with engine.connect() as conn:
        version = conn.execute(select(records.c.version).where(records.c.record_id == record_id)).scalar()
    if version is None:
        raise CliError(error_codes.RECORD_UNKNOWN, f"no record {record_id}")
    return version


def cmd_findings(args: argparse.Namespace) -> int:
    from registry.audit import CLI
    from registry.review import read_findings

    # Full ID numbers in bulk: audited like the API's read (actor "cli": a terminal proves no one).
    found = read_findings(_engine(args), CLI, kind=args.kind, status=args.status)
    print_json({"findings": found})
    return 0


def _print_record(args: argparse.Namespace, out: dict[str, Any], verb: str) -> None:
    from enrollment.errors import mask_id_number

    rec = out["record"]
    if args.json:
        print_json(out)
    else:
        sys.stdout.write(f"record {rec['record_id']} v{rec['version']} ({mask_id_number(rec['id_number'])}) "
                         f"{verb}: state {rec['state']}\n")


def cmd_decide(args: argparse.Namespace) -> int:
    from registry.clock import SystemClock
    from registry.review import decide

    password = read_password()
    engine = _engine(args)
    # Every action re-checks the password here: at a terminal, --as alone proves nothing.
    operator = _staff(engine, args.username, password=password)
    version = _current_version(engine, args.record_id)
    out = _api_errors(lambda: decide(engine, operator, args.record_id, args.action, version=version,
                                     reason=args.reason, password=password, clock=SystemClock()))
    _print_record(args, out, DECISION_TARGET[Action(args.action)])
    return 0


def cmd_mark_issued(args: argparse.Namespace) -> int:
    from registry.clock import SystemClock
    from registry.review import mark_card_issued

    password = read_password()
    engine = _engine(args)
    operator = _staff(engine, args.username, password=password)
    version = _current_version(engine, args.record_id)
    out = _api_errors(lambda: mark_card_issued(engine, operator, args.record_id, version=version,
                                               clock=SystemClock()))
    _print_record(args, out, f"card {out['card']['card_number_masked']} issued")
    return 0


def cmd_warnings(args: argparse.Namespace) -> int:
    from registry.clock import MOMENT_MAX, MOMENT_MIN, SystemClock, moment_in_range, parse_moment
    from registry.db import iso
    from registry.warnings import red_items, warnings, write_report_csv, write_report_pdf

    limits = _limits(args.limits)
    try:
        now = parse_moment(args.at) if args.at else SystemClock().now()
    except ValueError:
        raise CliError("usage.invalid_value", "--at is an ISO-8601 moment, e.g. 2026-12-01T08:00:00Z",
                       EXIT_USAGE) from None
    if not moment_in_range(now):
        raise CliError("usage.invalid_value", f"--at lies between {iso(MOMENT_MIN)} and {iso(MOMENT_MAX)}",
                       EXIT_USAGE)
    report = args.report
    if report and not report.lower().endswith((".pdf", ".csv")):
        raise CliError("usage.invalid_value", "--report names a .pdf or .csv file", EXIT_USAGE)
    engine = _engine(args)
    with engine.connect() as conn:
        items = warnings(conn, now, limits)
    written = None
    if report:
        if report.lower().endswith(".pdf"):
            written = _api_errors(lambda: write_report_pdf(items, report, at=now, limits=limits))
        else:
            written = write_report_csv(items, report)
    if args.json:
        out: dict[str, Any] = {"at": iso(now), "limits": limits.to_dict(), "items": items}
        if report:
            out["report"] = {"path": report, "rows": written}
        print_json(out)
    else:
        red = len(red_items(items))
        sys.stdout.write(f"at {iso(now)}: {len(items) - red} yellow, {red} red\n")
        for it in items:
            sys.stdout.write(f"{it['light']:6} {it['reason']:9} {it['record_id']} {it['id_number_masked']} "
                             f"{it['village_code']} since {it['since']} ({it['hours_open']} h) {it['operator']}\n")
        if report:
            sys.stdout.write(f"escalation report: {written} red item(s) written to {report}\n")
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    from registry.clock import SystemClock
    from registry.review import dashboard

    limits = _limits(None)
    engine = _engine(args)
    with engine.connect() as conn:
        out = dashboard(conn, now=SystemClock().now(), limits=limits)
    if args.json:
        print_json(out)
    else:
        sys.stdout.write(
            f"residents {out['residents']}, enrolled {out['enrolled']}, approved {out['approved']}, "
            f"cards issued {out['cards_issued']} (holding rate {out['holding_rate']})\n"
            f"comparisons {out['checks_run']} in {out['check_runs']} run(s); by state {out['by_state']}; "
            f"lights {out['by_light']}; median hours to decision {out['median_hours_to_decision']}\n")
    return 0


def cmd_run_checks(args: argparse.Namespace) -> int:
    from registry import audit
    from registry.checks.background import CheckWorker
    from registry.clock import SystemClock

    engine = _engine(args)
    worker = CheckWorker(engine, clock=SystemClock())

    def progress(summary: dict[str, Any]) -> None:
        sys.stderr.write(f"checked {summary['checked']} record(s), {summary['findings_opened']} new finding(s)\r")
        sys.stderr.flush()

    summary = worker.run_now(audit.CLI, recheck_all=args.all, progress=progress)
    sys.stderr.write("\n")
    if args.json:
        print_json(summary)
    else:
        sys.stdout.write(f"checked {summary['checked']} record(s): {summary.get('needs_review', 0)} need review, "
                         f"{summary.get('cleared', 0)} cleared, {summary['findings_opened']} new finding(s)\n")
    return 0
