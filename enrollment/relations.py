"""Family relations as the household register writes them (GB/T 4761-2008 家庭关系代码).

A record and a roster row store the two-digit standard code ("22"); people read its standard
name (长子). What a cadre or a roster file may give: the code, the standard name, an everyday
word (老婆, 儿子 ...), or one of the seven simplified values stored before issue 12 (户主, 子女 ...).
The table, its source and the words are data: ``resources/relations/gbt4761.json``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

import resources

from .errors import DomainError

EMPTY = "relation.invalid"      # nothing chosen (the form's wording: 请选择与户主关系)
UNKNOWN = "relation.unknown"    # a value that is no code, name or known word (data: relation, the value)

# The codes that name the head of the household: 02 户主, and 01 本人 on the head's own page.
HEAD_CODES = ("02", "01")


@dataclass(frozen=True)
class Table:
    names: dict[str, str]                 # code -> standard name, in the standard's order
    words: dict[str, str]                 # everyday word -> code
    legacy: dict[str, str | dict[str, str]]  # pre-issue-12 simplified value -> code (or by sex)


@functools.cache
def table() -> Table:
    doc = json.loads(resources.path("relations", "gbt4761.json").read_text(encoding="utf-8"))
    return Table(names={c["code"]: c["name"] for c in doc["codes"]}, words=dict(doc["everyday_words"]),
                 legacy=dict(doc["legacy_values"]))


def codes() -> tuple[tuple[str, str], ...]:
    """(code, name) for every standard relation, in the standard's order."""
    return tuple(table().names.items())


def name(code: str | None) -> str:
    """The standard name of a code; anything else (an old value, a typo) comes back as it is."""
    return table().names.get(code or "", code or "")


def legacy_code(value: str, sex: str | None) -> str | None:
    """The code of a simplified pre-issue-12 value (子女 needs the sex: 男 → 20, else 30), or None."""
    target = table().legacy.get(value)
    if isinstance(target, dict):
        return target["男"] if sex == "男" else target["女"]
    return target


def is_legacy(value: Any) -> bool:
    return isinstance(value, str) and value in table().legacy


def to_code(raw: Any, *, sex: str | None = None) -> str:
    """The standard code for what was typed or written; DomainError(EMPTY/UNKNOWN) otherwise.

    Tried in order: a two-digit code, a standard name, an everyday word, a pre-issue-12 value
    (five of the seven are standard names with the same code; 子女 and 孙子女 map by the table)."""
    value = "".join(str(raw or "").split())
    if not value:
        raise DomainError(EMPTY, "relation")
    t = table()
    if value in t.names:
        return value
    for code, standard in t.names.items():
        if value == standard:
            return code
    if value in t.words:
        return t.words[value]
    legacy = legacy_code(value, sex)
    if legacy is not None:
        return legacy
    raise DomainError(UNKNOWN, "relation", relation=value)


# 户主: a value pulled from a registry before issue 12 (or a roster kept from then)
HEAD_VALUES = (*HEAD_CODES, "户主")


def is_head(code: str | None) -> bool:
    return code in HEAD_VALUES


def matches(code: str, text: str) -> bool:
    """Whether a search text finds a relation: its code, part of its name, or a word that means it."""
    text = "".join(text.split())
    if not text:
        return True
    t = table()
    return (code.startswith(text) or text in t.names.get(code, "")
            or any(text in word and target == code for word, target in t.words.items()))


def migrate_payload(payload: dict[str, Any]) -> dict[str, Any] | None:
    """A copy of a stored payload with its pre-issue-12 relation replaced by the code, or None when
    there is nothing to change. Shared by the registry's migration 0012, the laptop store's
    migration and the registry's push from a v4 laptop, so all three give the same bytes (hash)."""
    value = payload.get("relation")
    if not is_legacy(value):
        return None
    return {**payload, "relation": legacy_code(value, payload.get("sex"))}
