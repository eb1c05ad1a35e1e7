"""The SMS templates file (``resources/sms/templates.json``, or the file YIKATONG_SMS_TEMPLATES names).

A template has the text people read, with ``{variables}``, the variables in Tencent's order (``params``)
and the code each gateway knows it by (``aliyun``, ``tencent``: the text itself is approved on the
gateway's console). ``default`` names the template per kind (``credited``: to the resident; ``bounced``:
to the village's cadres); ``items`` may name another per subsidy item code and give the item's name as
the SMS says it (else the catalogue's name). docs/payments/sms.md shows the format.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from enrollment import error_codes
from enrollment.errors import DomainError
from resources import path as resource_path

KINDS = ("credited", "bounced")


@dataclass(frozen=True)
class Template:
    key: str
    text: str
    params: tuple[str, ...]
    codes: dict[str, str]          # gateway name → the template code it knows


@dataclass(frozen=True)
class Templates:
    sign_name: str
    templates: dict[str, Template]
    default: dict[str, str]        # kind → template key
    items: dict[str, dict[str, Any]]

    def key_for(self, item: str, kind: str) -> str:
        return str(self.items.get(item, {}).get(kind) or self.default[kind])

    def item_name(self, item: str, catalogue_name: str) -> str:
        return str(self.items.get(item, {}).get("item_name") or catalogue_name or item)

    def get(self, key: str) -> Template:
        try:
            return self.templates[key]
        except KeyError:
            raise DomainError(error_codes.SMS_TEMPLATES_INVALID, "template", template=key) from None

    def render(self, key: str, params: dict[str, str]) -> str:
        return self.get(key).text.format_map(params)


def _invalid(why: str) -> DomainError:
    return DomainError(error_codes.SMS_TEMPLATES_INVALID, "templates", reason=why)


def parse(data: Any) -> Templates:
    """The templates from the file's JSON; a missing template, a variable the text uses but ``params``
    does not list, or a kind without a default is ``sms.templates_invalid``."""
    if not isinstance(data, dict) or not isinstance(data.get("templates"), dict):
        raise _invalid("no templates object")
    templates: dict[str, Template] = {}
    for key, t in data["templates"].items():
        if not isinstance(t, dict) or not isinstance(t.get("text"), str) or not isinstance(t.get("params"), list):
            raise _invalid(f"template {key}: text and params are required")
        used = {f for _, f, _, _ in string.Formatter().parse(t["text"]) if f}
        if not used <= set(t["params"]):
            raise _invalid(f"template {key}: variables {sorted(used - set(t['params']))} not in params")
        codes = {g: str(t[g]) for g in ("aliyun", "tencent") if t.get(g)}
        templates[key] = Template(key, t["text"], tuple(map(str, t["params"])), codes)
    default = data.get("default") or {}
    items = data.get("items") or {}
    if not isinstance(items, dict):
        raise _invalid("items is not an object")
    for kind in KINDS:
        if default.get(kind) not in templates:
            raise _invalid(f"default {kind} names no template")
    for code, entry in items.items():
        for kind in KINDS:
            if isinstance(entry, dict) and entry.get(kind) and entry[kind] not in templates:
                raise _invalid(f"item {code} {kind} names no template")
    return Templates(str(data.get("sign_name") or ""), templates, dict(default), dict(items))


def load(file: str | Path | None = None) -> Templates:
    """The templates file named, else the packaged default."""
    if file is None:
        return _default()
    try:
        return parse(json.loads(Path(file).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        raise _invalid("unreadable") from None


@cache
def _default() -> Templates:
    return parse(json.loads(resource_path("sms", "templates.json").read_text(encoding="utf-8")))


@cache
def catalogue_names() -> dict[str, str]:
    """Subsidy item code → its name (resources/subsidies/catalogue.json)."""
    data = json.loads(resource_path("subsidies", "catalogue.json").read_text(encoding="utf-8"))
    return {str(i["code"]): str(i["name"]) for i in data.get("items", [])}
