"""``yikatong registry notice --village CODE --period YYYYMM -o FILE.csv|FILE.pdf``: the public notice
(公示) of one village and period (``registry.payments.notice``; docs/payments/self-query-and-notice.md)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from enrollment import error_codes

from .main import CliError, print_json

DB_HELP = "database URL: sqlite:///PATH or postgresql://USER:PW@HOST/DB " \
          "(default: $REGISTRY_DATABASE_URL, else the embedded SQLite file in your data folder)"


def register(rsub: Any) -> None:
    p = rsub.add_parser("notice", help="write the public notice (公示) of a village and period: masked names, "
                                       "item, amount, period; never an ID, card, phone or disability detail")
    p.add_argument("--village", required=True, metavar="CODE", help="the 12-digit village code")
    p.add_argument("--period", required=True, metavar="YYYYMM", help="the payment period, e.g. 201906")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="FILE.csv (UTF-8 with BOM) or FILE.pdf")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--json", action="store_true", help="print JSON (the file, its format, rows and total)")
    p.set_defaults(handler=cmd_notice)


def cmd_notice(args: argparse.Namespace) -> int:
    from registry import audit
    from registry.clock import SystemClock
    from registry.errors import ApiError
    from registry.payments import notice
    from registry.reports import ReportError

    from .registry_cmds import _engine

    out = args.output
    kind = out.lower().rsplit(".", 1)[-1] if "." in out else ""
    if kind not in ("csv", "pdf"):
        raise CliError(error_codes.NOTICE_FORMAT_UNKNOWN, "-o names a .csv or .pdf file")
    engine = _engine(args)
    try:
        with engine.connect() as conn:
            built = notice.build(conn, args.village.strip(), args.period)
        written = notice.write_csv(built, out) if kind == "csv" else notice.write_pdf(built, out, at=SystemClock().now())
    except ApiError as e:
        raise CliError(e.code, e.message, **e.data) from None
    except ReportError as e:
        raise CliError(e.code, e.message) from None
    except OSError as e:
        raise CliError("file.unwritable", f"cannot write {out}: {e.strerror}") from None
    with engine.begin() as conn:
        audit.append(conn, audit.CLI, notice.WRITTEN, built.village_code, {
            "period": built.period, "format": kind, "rows": written, "total_fen": built.total_fen})
    result = {"file": out, "format": kind, "village": built.village_code, "period": built.period,
              "rows": written, "total_fen": built.total_fen}
    if args.json:
        print_json(result)
    else:
        sys.stdout.write(f"notice {built.village_code} {built.period}: {written} line(s), "
                         f"{notice.fen_to_yuan(built.total_fen)} yuan written to {out}\n")
    return 0
