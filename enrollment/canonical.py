"""The one canonical byte form of a record.

Sorted keys, NFC-normalised strings, compact separators, UTF-8 (characters outside the
BMP such as 𠈌 stay as themselves, never as surrogate escapes), and no floats: a float's
text differs between platforms, so money and measures travel as integers or strings.
The content hash used for idempotent sync is SHA-256 over these bytes; later issues sign
the same bytes with a device key.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from typing import Any


class CanonicalFormError(TypeError):
    pass


def _normalise(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        raise CanonicalFormError("floats have no canonical form; use an integer or a string")
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise CanonicalFormError(f"keys must be strings, not {type(k).__name__}")
            out[unicodedata.normalize("NFC", k)] = _normalise(v)
        return out
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    raise CanonicalFormError(f"{type(value).__name__} has no canonical form")


def canonical_bytes(value: Any) -> bytes:
    return json.dumps(
        _normalise(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def content_hash(value: Any) -> str:
    return hashlib.sha256(canonical_bytes(value)).hexdigest()
