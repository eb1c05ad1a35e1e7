"""The SMS flags of ``yikatong registry serve-verify``: which gateway sends the self-query page's codes.
They override the registry's one SMS setting (``YIKATONG_SMS_*``, ``registry.config.SmsSettings``), the
same the outbox sends through (``registry.sms.adapters.gateway_from_settings``)."""

from __future__ import annotations

import argparse
from typing import Any

from .main import EXIT_USAGE, CliError

NONE = "none"  # the flag's value for "send no code" (the settings say it with no gateway at all)


def add_sms_args(p: Any) -> None:
    from registry.config import SMS_GATEWAYS

    p.add_argument("--sms-gateway", default=None, choices=(NONE, *SMS_GATEWAYS),
                   help="overrides YIKATONG_SMS_GATEWAY for the self-query page's codes: none sends nothing "
                        "(also the default when that variable is unset), file appends each to --sms-file "
                        "(one JSON line: tests and the demo), or a real gateway configured by its variables")
    p.add_argument("--sms-file", default=None, metavar="FILE", help="overrides YIKATONG_SMS_FILE: the file the "
                                                                    "'file' gateway appends to")


def sms_settings(args: argparse.Namespace) -> dict[str, Any]:
    from registry.config import SmsSettings

    gateway = "" if args.sms_gateway == NONE else args.sms_gateway
    settings = SmsSettings.from_env(gateway=gateway, file=args.sms_file)
    if settings.gateway == "file" and not settings.file:
        raise CliError("usage.invalid_value", "--sms-gateway file needs --sms-file FILE (or YIKATONG_SMS_FILE)",
                       EXIT_USAGE)
    return {"sms": settings}
