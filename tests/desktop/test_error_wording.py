"""Every error code the project defines has its own Chinese wording in desktop/errors.py.

The codes are collected from the modules, not listed here, so a code added without wording fails
this test instead of reaching a cadre as the generic "操作未能完成（错误代码：…）".
"""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

from desktop.errors import code_of, describe, message_for
from enrollment import error_codes
from enrollment.errors import DomainError, Kind, Unavailable
from sync.http import ApiError, TransportError

_CODE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")

# Modules whose every upper-case dotted constant is an error code (the rules that refuse).
_CODE_MODULES = ("enrollment", "capture.errors", "registry.auth", "registry.datasets", "registry.checks",
                 "registry.reports", "registry.warnings")
# Dotted constants that name audit actions, not errors; they are never shown as an error.
_NOT_ERRORS = {"registry.datasets.IMPORTED", "registry.checks.runner.REVIEW_CHECKED",
               "registry.checks.runner.REVIEW_REOPENED", "registry.checks.runner.CHECKS_RUN"}


def _modules(package: str) -> list:
    root = importlib.import_module(package)
    mods = [root]
    for info in pkgutil.walk_packages(getattr(root, "__path__", []), package + "."):
        if ".migrations" in info.name:
            continue
        mods.append(importlib.import_module(info.name))
    return mods


def _collect() -> dict[str, str]:
    """code -> where it is defined (the first place found)."""
    found: dict[str, str] = {}

    def take(module, name: str, value: object) -> None:
        where = f"{module.__name__}.{name}"
        if isinstance(value, str) and _CODE.match(value) and where not in _NOT_ERRORS:
            found.setdefault(value, where)

    for name, value in vars(error_codes).items():
        if name.isupper():
            take(error_codes, name, value)
    for package in ("enrollment", "sync", "registry", "capture"):
        for module in _modules(package):
            every = any(module.__name__ == m or module.__name__.startswith(m + ".") for m in _CODE_MODULES)
            for name, value in vars(module).items():
                if name.startswith("E_") or (every and name.isupper() and name != "__all__"):
                    take(module, name, value)
    return found


CODES = _collect()


def test_the_collection_finds_the_codes_of_every_layer():
    for code in (error_codes.RECORD_NOT_NORMALIZED, error_codes.STORE_TOO_NEW, "id_number.check_character",
                 "camera.unavailable", "operator.username_taken", "csv.columns_missing", "dataset.date",
                 "sync.network", "network.server_error", "review.version_stale"):
        assert code in CODES, code


@pytest.mark.parametrize("code", sorted(CODES), ids=sorted(CODES))
def test_every_code_has_specific_chinese_wording(qapp, code):
    text = message_for(code)
    generic = message_for("no.such_code_anywhere")
    assert "错误代码" in generic
    assert text != generic and "错误代码" not in text, f"{code} ({CODES[code]}) has no wording"
    assert re.search(r"[\u4e00-\u9fff]", text), text
    assert describe(DomainError(code)) == text


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_of_unavailability_has_wording(qapp, kind):
    text = describe(Unavailable(kind, "english text is never read"))
    assert "错误代码" not in text and text == message_for(kind.code)


def test_code_of_reads_the_kind_never_the_text(qapp):
    """Text that says "timeout" or "500" does not change the code; the kind does."""
    assert code_of(TransportError("500 timeout not json", kind=Kind.UNREACHABLE)) == "network.unreachable"
    assert code_of(TransportError("no answer", kind=Kind.TIMEOUT)) == "network.timeout"
    assert code_of(TransportError("503 server error on GET /api/health", 503, kind=Kind.SERVER_ERROR)
                   ) == "network.server_error"
    assert describe(TransportError("503 on GET /api/health", 503, kind=Kind.SERVER_ERROR)).startswith("登记中心出错")
    # A 500 in the registry's own shape: its code, worded as the registry failing, not the network.
    internal = TransportError("500 server.internal on POST /api/sync/push", 500, "server.internal",
                              kind=Kind.SERVER_ERROR)
    assert describe(internal).startswith("登记中心出错")
    # A 503 the registry explains (no check worker) keeps its specific wording.
    checks = TransportError("503", 503, "review.checks_unavailable", kind=Kind.SERVER_ERROR)
    assert describe(checks) == message_for("review.checks_unavailable")
    assert describe(ApiError(422, error_codes.RECORD_NOT_NORMALIZED, "x")) == message_for("record.not_normalized")
    assert message_for("sync.server_error").startswith("登记中心出错")
