"""Chinese names for the codes the payments commands print to a person, each followed by its code in
brackets (``部门数据比对 [payment_rule]``), so a cadre reads the name and support can still grep the code.

Names are not kept here: a finding kind's or a state's is its label in ``enrollment.vocabulary``; a dataset
rule's is its ``name`` in the rules file (``resources/rules/subsidy_rules.json``, loaded by
``registry.checks.rules``, the names the review side shows). ``--json`` output keeps the bare codes.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from typing import Any

from enrollment.vocabulary import PaymentFindingKind, label


def named(name: str, code: str) -> str:
    """``name [code]``; just the code when there is no name other than the code itself."""
    return f"{name} [{code}]" if name and name != code else code


def worded(code: str, data: dict[str, Any] | None = None) -> str:
    """An error code as ``its Chinese wording [code]`` (the wording from desktop/errors.py, the one table)."""
    from .main import wording

    return named(wording(code, dict(data or {})), code)


def state_name(value: str, enum: type[StrEnum]) -> str:
    return named(label(value, enum), value)


def kind_name(kind: str) -> str:
    return state_name(kind, PaymentFindingKind)


@cache
def _rule_names() -> dict[str, str]:
    from enrollment.errors import DomainError
    from registry.checks.rules import RuleSet

    try:
        return {r.id: r.name for r in RuleSet.load().rules}
    except (DomainError, OSError, ValueError):  # a broken rules file is the import's error, not the printout's
        return {}


def rule_name(rule: str) -> str:
    """A dataset rule's name from the rules file; the line checks counted beside the rules (no active card,
    duplicate payment, …) are counted under their finding kind and named by it."""
    if rule in set(PaymentFindingKind):
        return kind_name(rule)
    return named(_rule_names().get(rule, ""), rule)


def rules_of_lines(engine: Any, entitlement_ids: list[int]) -> dict[int, list[str]]:
    """Entitlement id → the dataset rules that intercepted it (its ``payment_rule`` findings), in order."""
    from sqlalchemy import select

    from registry.schema import payment_findings

    out: dict[int, list[str]] = {}
    if not entitlement_ids:
        return out
    with engine.connect() as conn:
        for i in range(0, len(entitlement_ids), 500):
            rows = conn.execute(select(payment_findings.c.entitlement_id, payment_findings.c.rule)
                                .where(payment_findings.c.entitlement_id.in_(entitlement_ids[i:i + 500]),
                                       payment_findings.c.kind == PaymentFindingKind.PAYMENT_RULE.value)
                                .order_by(payment_findings.c.id))
            for entitlement_id, rule in rows:
                if rule not in out.setdefault(entitlement_id, []):
                    out[entitlement_id].append(rule)
    return out
