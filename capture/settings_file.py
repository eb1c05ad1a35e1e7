"""Limits and specs read from JSON files under resources/ (regions differ, so they are data)."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

from enrollment.errors import DomainError

from .errors import E_SETTINGS_INVALID, CaptureError


def read_known_keys(cls: type, path: str | Path, *, code: str = E_SETTINGS_INVALID) -> dict[str, Any]:
    """The file's values for ``cls``'s fields; keys starting with "_" are comments.

    An unknown key is refused rather than ignored: a misspelt limit would otherwise silently
    fall back to its default. ``code`` names the file's kind in the error (the registry's check
    thresholds use their own code).
    """
    error = CaptureError if code == E_SETTINGS_INVALID else DomainError
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise error(code, file=str(path), reason=type(exc).__name__) from exc
    known = {f.name for f in fields(cls)}
    unknown = sorted(k for k in data if k not in known and not k.startswith("_"))
    if unknown:
        raise error(code, file=str(path), unknown=unknown)
    return {k: v for k, v in data.items() if k in known}
