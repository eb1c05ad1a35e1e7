"""``yikatong registry payments …``: batch, approve, export, import-results, reverse, status (issue 13,
items 3-4; docs/payments/batches-and-bank-files.md). Passwords on stdin, as every staff command; errors one line with a code."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .main import print_json, read_password
from .payment_words import worded
from .registry_cmds import DB_HELP, _api_errors, _engine, _staff


def register(rsub: Any) -> None:
    from .payment_import_cmds import payments_group

    psub = payments_group(rsub)   # the one `registry payments` group (payments decide lives in payment_import_cmds)

    c = psub.add_parser("batch", help="gather the ready lines of one item and period into a new batch and print "
                                      "its id (password from stdin)")
    c.add_argument("--item", required=True, metavar="CODE", help="a code of resources/subsidies/catalogue.json")
    c.add_argument("--period", required=True, metavar="YYYYMM")
    c.add_argument("--township", default=None, metavar="CODE", help="only villages whose code starts with these "
                                                                    "9 digits")
    _common(c, staff=True)
    c.set_defaults(handler=cmd_batch)

    c = psub.add_parser("approve", help="authorise a built batch: someone other than its creator "
                                        "(password from stdin)")
    c.add_argument("batch", metavar="BATCH")
    _common(c, staff=True)
    c.set_defaults(handler=cmd_approve)

    c = psub.add_parser("export", help="write an approved batch's bank file (the same bytes every time)")
    c.add_argument("batch", metavar="BATCH")
    c.add_argument("-o", "--output", required=True, metavar="FILE")
    c.add_argument("--encoding", default="utf-8", choices=("utf-8", "gbk"))
    _common(c, staff=False)
    c.set_defaults(handler=cmd_export)

    c = psub.add_parser("import-results", help="apply the bank's return file (reference,status,reason); the same "
                                               "file twice changes nothing (password from stdin)")
    c.add_argument("file", metavar="FILE")
    c.add_argument("--encoding", default="utf-8", help="utf-8 (default, BOM tolerated) or gbk")
    _common(c, staff=True)
    c.set_defaults(handler=cmd_import_results)

    c = psub.add_parser("reverse", help="a credited line the bank took back: reversed, its entitlement ready "
                                        "again (password from stdin)")
    c.add_argument("reference", metavar="REFERENCE")
    c.add_argument("--reason", required=True)
    _common(c, staff=True)
    c.set_defaults(handler=cmd_reverse)

    c = psub.add_parser("status", help="issued, paid, failed, pending and intercepted, in count and fen")
    c.add_argument("batch", metavar="BATCH", nargs="?", default=None)
    _common(c, staff=False)
    c.set_defaults(handler=cmd_status)


def _common(p: Any, *, staff: bool) -> None:
    if staff:
        p.add_argument("--as", dest="username", required=True, metavar="USERNAME",
                       help="the central or admin operator acting")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--json", action="store_true", help="print JSON")


def _operator(args: argparse.Namespace):  # noqa: ANN202
    password = read_password()
    engine = _engine(args)
    return engine, _staff(engine, args.username, password=password)


def cmd_batch(args: argparse.Namespace) -> int:
    from registry.clock import SystemClock
    from registry.payments.batches import build_batch

    engine, operator = _operator(args)
    built = _api_errors(lambda: build_batch(engine, operator, args.item, args.period, args.township,
                                            clock=SystemClock()))
    if args.json:
        print_json(built.to_dict())
    else:
        from registry.payments.money import fen_to_yuan

        sys.stdout.write(f"{built.id}\n")   # alone on stdout: scripts take the batch id from it
        left = built.to_dict()["skipped_by_code"]
        sys.stderr.write(f"{built.lines} line(s), {fen_to_yuan(built.total_fen)} 元 ({built.total_fen} fen); "
                         f"left out:{' none' if not left else ''}\n")
        for code, count in sorted(left.items()):
            sys.stderr.write(f"  {count} line(s): {worded(code)}\n")
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    from registry.clock import SystemClock
    from registry.payments.batches import approve_batch

    engine, operator = _operator(args)
    out = _api_errors(lambda: approve_batch(engine, operator, args.batch, clock=SystemClock()))
    if args.json:
        print_json(out)
    else:
        sys.stdout.write(f"batch {out['id']} authorised by {out['authorised_by']}\n")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from registry.clock import SystemClock
    from registry.payments.batches import export_batch

    engine = _engine(args)
    out = _api_errors(lambda: export_batch(engine, args.batch, args.output, encoding=args.encoding,
                                           clock=SystemClock()))
    if args.json:
        print_json(out)
    else:
        sys.stdout.write(f"{out['lines']} line(s), {out['total_fen']} fen written to {out['file']}; "
                         f"sha256 {out['sha256']}\n")
    return 0


def cmd_import_results(args: argparse.Namespace) -> int:
    from registry.clock import SystemClock
    from registry.payments.results import import_results

    engine, operator = _operator(args)
    out = _api_errors(lambda: import_results(engine, operator, args.file, encoding=args.encoding,
                                             clock=SystemClock()))
    if args.json:
        print_json(out)
    else:
        if out["already_imported"]:
            sys.stdout.write(f"{out['notice']}: this file was imported at {out['imported_at']}; nothing changed\n")
        sys.stdout.write(f"{out['lines']} line(s): {out['credited']} credited, {out['bounced']} bounced, "
                         f"{out['errors']} error(s)\n")
        for x in out["error_lines"]:
            sys.stdout.write(f"  line {x['line']} {x['reference']}: {worded(x['code'], x.get('data'))}\n")
    return 0


def cmd_reverse(args: argparse.Namespace) -> int:
    from registry.clock import SystemClock
    from registry.payments.results import reverse_line

    engine, operator = _operator(args)
    out = _api_errors(lambda: reverse_line(engine, operator, args.reference, args.reason, clock=SystemClock()))
    if args.json:
        print_json(out)
    else:
        sys.stdout.write(f"line {out['reference']} reversed; its entitlement is ready again\n")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from registry.payments.batches import payment_status

    engine = _engine(args)
    with engine.connect() as conn:
        out = _api_errors(lambda: payment_status(conn, args.batch))
    if args.json:
        print_json(out)
    else:
        for key in ("issued", "paid", "failed", "pending", "intercepted"):
            sys.stdout.write(f"{key:12} {out[key]['count']:>8} {out[key]['fen']:>14} fen\n")
    return 0
