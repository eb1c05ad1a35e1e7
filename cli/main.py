"""Entry point: ``yikatong registry …``, ``yikatong field …``, ``yikatong app``, ``yikatong demo``.

Exit codes: 0 ok, 1 failure, 2 bad usage. An error is one line on stderr that starts with
its stable code, e.g. ``error: id_number.check_character: …``. Subcommand modules register
themselves with ``register(subparsers)`` and raise DomainError (or CliError) on failure.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from enrollment.errors import DomainError

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A failure worded for an operator at a terminal, with a stable code."""

    def __init__(self, code: str, message: str, exit_code: int = EXIT_FAILURE, **data: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.exit_code, self.data = code, message, exit_code, data


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, code first, exit 2
        sys.stderr.write(f"error: usage: {message}\n")
        sys.exit(EXIT_USAGE)


def version() -> str:
    """The installed distribution's version (a frozen build ships its metadata: installer/yikatong.spec)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("yikatong")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    from . import app_cmds, capture_cmds, field_cmds, registry_cmds

    parser = _Parser(prog="yikatong", description="一卡通 field enrollment and central registry")
    parser.add_argument("--version", action="version", version=f"yikatong {version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    registry_cmds.register(sub)
    field_cmds.register(sub)
    app_cmds.register(sub)
    capture_cmds.register(sub)
    return parser


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


def read_password(prompt_name: str = "password") -> str:
    """Passwords come from stdin (never argv, which other users can see in ps)."""
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"{prompt_name}: ")
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise CliError("auth.password_empty", "no password on stdin", EXIT_USAGE)
    return password


def wording(code: str, data: dict[str, Any], fallback: str = "") -> str:
    """The code's Chinese wording (desktop/errors.py, the one table), else the error's own message."""
    try:
        from desktop.errors import message_for, template_for
    except ImportError:  # pragma: no cover - an install without the desktop part
        return fallback
    return message_for(code, data) if template_for(code) else fallback


def readable_error(e: DomainError) -> str:
    """``error: CODE: wording`` and, for a refused file, one line per bad row: its line, field, code and
    wording (the JSON shape is for ``--json``)."""
    data = dict(getattr(e, "data", None) or {})
    text = wording(e.code, data, str(getattr(e, "message", "") or ""))
    suggested = str(data.get("suggested_encoding") or "")
    if suggested:
        text += f"（文件看来是 {suggested.upper()} 编码：请加 --encoding {suggested}）"
    out = [f"error: {e.code}: {text}".rstrip(": ")]
    problems = list(getattr(e, "rows", None) or [])
    for row in problems:
        where = f"line {row.line}" + (f", {row.field}" if row.field else "")
        out.append(f"  {where}: {row.code}: {wording(row.code, dict(row.data or {}), '')}".rstrip(": "))
    for sub in getattr(e, "errors", None) or []:   # ValidationErrors: one line per field
        if sub is not e:
            out.append(f"  {sub.field or '-'}: {sub.code}: {wording(sub.code, dict(sub.data or {}), '')}"
                       .rstrip(": "))
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.handler(args)
        return int(result or EXIT_OK)
    except CliError as e:
        extra = f" {json.dumps(e.data, ensure_ascii=False)}" if e.data else ""
        sys.stderr.write(f"error: {e.code}: {e.message}{extra}\n")
        return e.exit_code
    except DomainError as e:
        if getattr(args, "json", False):
            sys.stderr.write(f"error: {e.code}: {json.dumps(e.to_dict(), ensure_ascii=False)}\n")
        else:
            sys.stderr.write(readable_error(e))
        return EXIT_FAILURE
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return EXIT_FAILURE


if __name__ == "__main__":
    # Run as ``python -m cli.main`` this file is ``__main__``, while the subcommand modules
    # import ``cli.main``: delegate to that module so the CliError they raise is the one
    # caught above (otherwise it escapes as a traceback with exit 1).
    from cli.main import main as _main

    sys.exit(_main())
