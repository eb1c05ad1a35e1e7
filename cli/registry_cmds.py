"""``yikatong registry …``: serve, add-operator, import-roster, import-dataset, stats, verify-audit.

Every subcommand takes ``--db URL`` (default: REGISTRY_DATABASE_URL, else the embedded
SQLite file in the user's data folder) and upgrades that database to the newest migration
before it does anything else.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

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
    p.set_defaults(handler=cmd_serve)

    p = rsub.add_parser("add-operator", help="create an operator account (password from stdin)")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--username", required=True)
    p.add_argument("--role", required=True, choices=("cadre", "central", "admin"))
    p.add_argument("--village", action="append", default=[], metavar="CODE",
                   help="12-digit village code the operator works in (repeat for several; required for cadre)")
    p.add_argument("--display-name", default="")
    p.set_defaults(handler=cmd_add_operator)

    p = rsub.add_parser("import-roster", help="import a village's residents from CSV (all or nothing)")
    p.add_argument("file", metavar="FILE.csv")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--village", required=True, metavar="CODE")
    p.add_argument("--village-name", default=None)
    p.add_argument("--encoding", default="utf-8", help="utf-8 (default) or gbk")
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

    p = rsub.add_parser("verify-audit", help="walk the audit log's hash chain; name the first broken entry")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_verify_audit)


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
    engine = _engine(args)
    try:
        serve(resolve_db_url(args.db), args.host, args.port, engine=engine,
              settings=Settings(token_ttl=ttl, max_body=max_body))
    except OSError as e:
        raise CliError("server.bind_failed", f"cannot listen on {args.host}:{args.port}: {e.strerror}") from None
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


def cmd_verify_audit(args: argparse.Namespace) -> int:
    from registry.audit import verify

    ok, bad_seq, checked = verify(_engine(args))
    if args.json:
        out: dict[str, Any] = {"ok": ok, "entries_checked": checked, "first_broken_seq": bad_seq}
        if not ok:
            out["error"] = {"code": "audit.broken", "message": f"first broken entry seq={bad_seq}"}
        print_json(out)
        return 0 if ok else EXIT_FAILURE
    if not ok:
        raise CliError("audit.broken", f"first broken entry seq={bad_seq}")
    sys.stdout.write(f"audit chain intact: {checked} entries\n")
    return 0
