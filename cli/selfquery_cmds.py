"""The SMS flags of ``yikatong registry serve-verify``: which gateway sends the self-query page's codes
(``registry.selfquery.gateway``)."""

from __future__ import annotations

import argparse
from typing import Any

from .main import EXIT_USAGE, CliError


def add_sms_args(p: Any) -> None:
    p.add_argument("--sms-gateway", default="none", choices=("none", "file"),
                   help="how the self-query page's SMS codes are sent: none (default: nothing is sent) or file "
                        "(appended to --sms-file, one JSON line each: tests and the demo)")
    p.add_argument("--sms-file", default=None, metavar="FILE", help="the file the 'file' gateway appends to")


def sms_settings(args: argparse.Namespace) -> dict[str, Any]:
    from registry.config import SmsSettings

    if args.sms_gateway == "file" and not args.sms_file:
        raise CliError("usage.invalid_value", "--sms-gateway file needs --sms-file FILE", EXIT_USAGE)
    # YIKATONG_SMS_*: the receipt endpoint's secret and the gateway whose reports it takes.
    return {"sms_gateway": args.sms_gateway, "sms_file": args.sms_file, "sms": SmsSettings.from_env()}
