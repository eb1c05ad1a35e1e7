"""``yikatong registry import-cards``, ``registry import-entitlements`` and ``registry payments decide``
(issue 13): the card bank's files, the departments' payment rosters, a person's decision on an
intercepted line. Registered from ``cli.registry_cmds`` with one call.

Card and account numbers never appear whole in any output (masked ``****5341``), JSON included.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .main import print_json, read_password
from .payment_words import worded

DB_HELP = "database URL: sqlite:///PATH or postgresql://USER:PW@HOST/DB " \
          "(default: $REGISTRY_DATABASE_URL, else the embedded SQLite file in your data folder)"
PAYMENTS = "payments"


def payments_group(rsub: Any) -> Any:
    """The ``registry payments`` subcommands, created by whichever payments module registers first (the
    batch, results and decision commands live in several modules)."""
    parser = rsub.choices.get(PAYMENTS)
    if parser is None:
        parser = rsub.add_parser(PAYMENTS, help="payments to the card: decisions, batches, bank files, results")
        parser.set_defaults(payments_sub=parser.add_subparsers(dest="payments_command", required=True,
                                                               parser_class=type(parser)))
    found = parser.get_default("payments_sub")
    if found is None:  # made by a module that did not record it: its subparsers action
        found = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return found


def register(rsub: Any) -> None:
    p = rsub.add_parser("import-cards", help="import the card bank's issuing/activation results from CSV "
                                             "(all or nothing; the same file twice changes nothing)")
    p.add_argument("file", metavar="FILE.csv", help="id_number,name,card_number,bank_account,bank,status,date")
    p.add_argument("--encoding", default="utf-8", help="utf-8 (default, BOM tolerated) or gbk")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--json", action="store_true", help="print JSON (a refused file: the error with every bad "
                                                       "line on stderr)")
    p.set_defaults(handler=cmd_import_cards)

    p = rsub.add_parser("import-entitlements", help="import a department's payment roster for a period and "
                                                    "check every line (ready, intercepted or refused)")
    p.add_argument("file", metavar="FILE.csv", help="id_number,name,item,period,amount")
    p.add_argument("--department", required=True, metavar="NAME", help="the paying department, e.g. 民政局")
    p.add_argument("--encoding", default="utf-8", help="utf-8 (default, BOM tolerated) or gbk")
    p.add_argument("--as", dest="username", default=None, metavar="USERNAME",
                   help="the central or admin operator importing (password from stdin); default: the audit "
                        "names the command line")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_import_entitlements)

    d = payments_group(rsub).add_parser("decide", help="release (→ ready) or reject (→ not paid) an intercepted "
                                                       "roster line (password from stdin; audited)")
    d.add_argument("entitlement_id", type=int, metavar="ENTITLEMENT_ID")
    d.add_argument("action", choices=("release", "reject"))
    d.add_argument("--reason", required=True, help="why (at most 200 characters)")
    d.add_argument("--as", dest="username", required=True, metavar="USERNAME",
                   help="the central or admin operator deciding")
    d.add_argument("--db", help=DB_HELP)
    d.add_argument("--json", action="store_true", help="print JSON")
    d.set_defaults(handler=cmd_payments_decide)


def cmd_import_cards(args: argparse.Namespace) -> int:
    from registry.payments.cards import import_cards

    from .registry_cmds import _engine

    result = import_cards(_engine(args), args.file, encoding=args.encoding)
    if args.json:
        print_json(result.to_dict())
    elif result.already_imported:
        sys.stdout.write(f"{result.file} was imported already (import {result.import_id}): nothing changed\n")
    else:
        sys.stdout.write(f"{result.rows} card line(s) from {result.file}: {result.added} new, {result.updated} "
                         f"updated, {result.unchanged} unchanged, {result.older_ignored} older than stored\n")
    return 0


def cmd_import_entitlements(args: argparse.Namespace) -> int:
    from registry import audit
    from registry.clock import SystemClock
    from registry.payments.entitlements import import_entitlements

    from .registry_cmds import _engine, _staff

    engine = _engine(args)
    actor = audit.CLI
    if args.username:
        actor = _staff(engine, args.username, password=read_password()).username
    result = import_entitlements(engine, args.file, args.department, encoding=args.encoding, actor=actor,
                                 clock=SystemClock())
    if args.json:
        print_json(result.to_dict())
        return 0
    if result.already_imported:
        sys.stdout.write(f"{result.file} was imported already for {result.department} (import "
                         f"{result.import_id}): nothing changed\n")
        return 0
    sys.stdout.write(f"{result.rows} line(s) from {result.file} for {result.department}: {result.ready} ready, "
                     f"{result.intercepted} intercepted, {result.refused} refused\n")
    for r in result.refused_lines:
        sys.stdout.write(f"  line {r['line']}, {r['field'] or '-'}: refused {worded(r['code'], r.get('data'))}\n")
    _print_interceptions(engine, result.intercepted_lines, result.checks)
    return 0


def _print_interceptions(engine: Any, lines: list[dict[str, Any]], checks: dict[str, Any]) -> None:
    """Each intercepted line with its findings' Chinese names (a dataset rule's own name after 部门数据比对),
    then the comparisons and interceptions per rule and check, as the dashboard counts them."""
    from enrollment.vocabulary import PaymentFindingKind

    from .payment_words import kind_name, rule_name, rules_of_lines

    rules = rules_of_lines(engine, [r["entitlement_id"] for r in lines])
    for r in lines:
        names = [kind_name(k) + (": " + "; ".join(rule_name(x) for x in rules.get(r["entitlement_id"], []))
                                 if k == PaymentFindingKind.PAYMENT_RULE and rules.get(r["entitlement_id"]) else "")
                 for k in r["kinds"]]
        sys.stdout.write(f"  line {r['line']} (entitlement {r['entitlement_id']}): intercepted {', '.join(names)}\n")
    counted = {rule: n for rule, n in (checks.get("by_rule") or {}).items() if n.get("compared")}
    if counted:
        sys.stdout.write("compared / intercepted, per rule:\n")
        for rule, n in counted.items():
            sys.stdout.write(f"  {rule_name(rule)}: {n['compared']} / {n['intercepted']}\n")


def cmd_payments_decide(args: argparse.Namespace) -> int:
    from registry.clock import SystemClock
    from registry.payments.entitlements import decide

    from .registry_cmds import _api_errors, _engine, _staff

    password = read_password()
    engine = _engine(args)
    operator = _staff(engine, args.username, password=password)
    out = _api_errors(lambda: decide(engine, operator, args.entitlement_id, args.action, reason=args.reason,
                                     clock=SystemClock()))
    if args.json:
        print_json(out)
    else:
        from enrollment.vocabulary import EntitlementState

        from .payment_words import kind_name, state_name

        sys.stdout.write(f"entitlement {out['entitlement_id']}: {state_name(out['state'], EntitlementState)} "
                         f"(findings resolved: {', '.join(map(kind_name, out['findings_resolved'])) or 'none'})\n")
    return 0
