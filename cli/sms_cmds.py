"""``yikatong registry sms …`` (send-pending, status, receipt) and ``registry set-operator-phone``:
the SMS outbox of issue 13 (registry/sms; docs/payments/sms.md).

The gateway and its parameters come from the environment (``YIKATONG_SMS_*``, registry.config); a flag
may override the gateway, the HTTP URL and the templates file, never a secret.
"""

from __future__ import annotations

import argparse
import csv
import sys
from typing import Any

from .main import EXIT_USAGE, CliError, print_json
from .payment_words import worded
from .registry_cmds import DB_HELP, _engine


def register(rsub: Any) -> None:
    p = rsub.add_parser("sms", help="the SMS outbox: one message per paid line (credited: the resident; "
                                    "bounced: the village's cadres)")
    ssub = p.add_subparsers(dest="sms_command", required=True, parser_class=type(p))

    s = ssub.add_parser("send-pending", help="add the missing outbox rows for settled payment lines, then send "
                                             "the due ones; prints sent / failed / gave_up / left")
    s.add_argument("--db", help=DB_HELP)
    s.add_argument("--json", action="store_true", help="print JSON")
    s.add_argument("--limit", type=int, default=None, metavar="N", help="send at most N messages this run")
    s.add_argument("--batch-size", type=int, default=100, metavar="N",
                   help="rows claimed at a time (default 100)")
    s.add_argument("--max-attempts", type=int, default=5, metavar="N",
                   help="attempts before a message is given up (default 5)")
    _gateway_args(s)
    s.set_defaults(handler=cmd_send_pending)

    s = ssub.add_parser("status", help="outbox counts by kind and state, given-up reasons, receipts")
    s.add_argument("--db", help=DB_HELP)
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(handler=cmd_status)

    s = ssub.add_parser("receipt", help="record a gateway's delivery reports from a CSV file "
                                        "(message_id,status; status delivered or failed)")
    s.add_argument("file", metavar="FILE.csv")
    s.add_argument("--gateway", required=True, metavar="NAME", help="the gateway that sent them (http, aliyun, …)")
    s.add_argument("--db", help=DB_HELP)
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(handler=cmd_receipt)

    p = rsub.add_parser("set-operator-phone", help="a cadre's mobile number, where notices of bounced payments "
                                                   "in their villages go (empty clears it; audited)")
    p.add_argument("username", metavar="USER")
    p.add_argument("phone", metavar="PHONE", help="11-digit mainland mobile number, or '' to clear")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_set_operator_phone)


def _gateway_args(p: Any) -> None:
    from registry.config import SMS_GATEWAYS

    p.add_argument("--gateway", default=None, choices=SMS_GATEWAYS,
                   help="overrides YIKATONG_SMS_GATEWAY (the one gateway the self-query page's codes use too)")
    p.add_argument("--sms-file", default=None, metavar="FILE", help="overrides YIKATONG_SMS_FILE (gateway file)")
    p.add_argument("--http-url", default=None, metavar="URL", help="overrides YIKATONG_SMS_HTTP_URL")
    p.add_argument("--templates", default=None, metavar="FILE",
                   help="templates JSON (overrides YIKATONG_SMS_TEMPLATES; default resources/sms/templates.json)")


def cmd_send_pending(args: argparse.Namespace) -> int:
    from registry import audit
    from registry.clock import SystemClock
    from registry.config import SmsSettings
    from registry.sms import outbox
    from registry.sms import templates as sms_templates
    from registry.sms.adapters import gateway_from_settings

    if (args.limit is not None and args.limit < 1) or not 1 <= args.batch_size <= 1000 \
            or not 1 <= args.max_attempts <= 100:
        raise CliError("usage.invalid_value", "--limit is at least 1, --batch-size 1..1000, --max-attempts 1..100",
                       EXIT_USAGE)
    settings = SmsSettings.from_env(gateway=args.gateway, http_url=args.http_url, templates=args.templates,
                                    file=args.sms_file)
    templates = sms_templates.load(settings.templates)
    gateway = gateway_from_settings(settings, templates)
    out = outbox.run(_engine(args), gateway, clock=SystemClock(), actor=audit.CLI, batch_size=args.batch_size,
                     max_attempts=args.max_attempts, limit=args.limit, templates=templates)
    if args.json:
        print_json(out)
    else:
        e = out["enqueued"]
        sys.stdout.write(f"enqueued {e['credited']} credited + {e['bounced']} bounced ({e['no_phone']} without a "
                         f"phone); sent {out['sent']}, failed {out['failed']}, gave_up {out['gave_up']}, "
                         f"left {out['left']} (gateway {out['gateway']})\n")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from registry.sms import outbox

    with _engine(args).connect() as conn:
        out = outbox.status(conn)
    if args.json:
        print_json(out)
    else:
        t = out["totals"]
        receipts = ", ".join(f"{name} {n}" for name, n in sorted(out["receipts"].items())) or "-"
        sys.stdout.write(f"to send {t['sms_to_send']}, sent {t['sms_sent']}, gave up {t['sms_gave_up']}; "
                         f"receipts: {receipts}; next due {out['next_due'] or '-'}\n")
        for code, n in sorted(out["gave_up_reasons"].items(), key=lambda kv: str(kv[0])):
            sys.stdout.write(f"  gave up {n}: {worded(code) if code else '-'}\n")
    return 0


def cmd_receipt(args: argparse.Namespace) -> int:
    from registry import audit
    from registry.clock import SystemClock
    from registry.sms import outbox

    receipts = read_receipts(args.file)
    out = outbox.record_receipts(_engine(args), args.gateway, receipts, clock=SystemClock(), actor=audit.CLI)
    if args.json:
        print_json(out)
    else:
        sys.stdout.write(f"{out['recorded']} receipt(s) recorded, {out['unchanged']} already recorded, "
                         f"{out['unknown']} naming no message of ours\n")
    return 0


def read_receipts(file: str) -> list[Any]:
    """``message_id,status`` rows (UTF-8, a BOM tolerated) as ``registry.sms.outbox.Receipt``; a file of
    another shape is refused whole."""
    from enrollment import error_codes
    from registry.sms.outbox import RECEIPT_STATES, Receipt

    try:
        with open(file, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error):
        raise CliError(error_codes.SMS_RECEIPT_INVALID, f"cannot read {file} as UTF-8 CSV") from None
    out = []
    for line, row in enumerate(rows, start=2):
        message_id, state = (row.get("message_id") or "").strip(), (row.get("status") or "").strip().lower()
        if not message_id or state not in RECEIPT_STATES:
            raise CliError(error_codes.SMS_RECEIPT_INVALID,
                           f"line {line}: needs message_id and status delivered or failed", line=line)
        out.append(Receipt(message_id, state))
    return out


def cmd_set_operator_phone(args: argparse.Namespace) -> int:
    from sqlalchemy import update

    from enrollment.text import normalize_mobile
    from registry import audit
    from registry.auth import OPERATOR_UNKNOWN
    from registry.schema import operators
    from registry.sms import outbox

    phone = normalize_mobile(args.phone) or None
    engine = _engine(args)
    with engine.begin() as conn:
        changed = conn.execute(update(operators).where(operators.c.username == args.username)
                               .values(phone=phone)).rowcount
        if not changed:
            raise CliError(OPERATOR_UNKNOWN, f"no operator {args.username!r}")
        audit.append(conn, audit.CLI, outbox.OPERATOR_PHONE_SET, args.username, {"set": phone is not None})
    if args.json:
        print_json({"username": args.username, "phone_set": phone is not None})
    else:
        sys.stdout.write(f"operator {args.username}: phone {'set' if phone else 'cleared'}\n")
    return 0
