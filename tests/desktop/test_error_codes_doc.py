"""docs/error-codes.md is the page integrators read for the registry's refusals: it must list every
code with its current status and wording."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _generator():
    spec = importlib.util.spec_from_file_location("error_codes_doc", ROOT / "scripts" / "error_codes_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_error_code_page_is_current():
    """The committed page equals what the codes, the status table and the wording give today
    (regenerate with ``python scripts/error_codes_doc.py > docs/error-codes.md``)."""
    gen = _generator()
    page = (ROOT / "docs" / "error-codes.md").read_text(encoding="utf-8")
    assert page == gen.render(), "docs/error-codes.md is stale: regenerate it"
    for code in gen.codes():
        assert f"| `{code}` |" in page
    assert "| `auth.locked` | 429 |" in page and "| `review.own_record` | 403 |" in page
