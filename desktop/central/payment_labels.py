"""Chinese names and spellings for the payment screens (支付拦截, 代发, the dashboard's payment figures).

The states and finding kinds are named once in ``enrollment.vocabulary`` (through tr(), context
``"vocabulary"``, as ``labels.state_name`` names a review state); amounts arrive as integer fen and are
spelled here with integer arithmetic only (a float would round 0.1 + 0.2 away from a fen).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication

from enrollment.vocabulary import BatchState, EntitlementState, PaymentFindingKind, PaymentLineState

from ..review_labels import vocabulary_name
from ..ui import yuan
from .labels import column_name, dataset_name, subsidy_names

_CTX = "central"

BATCH_COLOURS = {BatchState.BUILT: "#b26a00", BatchState.AUTHORISED: "#1d5fb4", BatchState.EXPORTED: "#6a1b9a",
                 BatchState.SETTLED: "#1a7f37"}
LINE_COLOURS = {PaymentLineState.AT_BANK: "#555555", PaymentLineState.CREDITED: "#1a7f37",
                PaymentLineState.BOUNCED: "#c62828", PaymentLineState.REVERSED: "#8e24aa"}


def _t(text: str) -> str:
    return QCoreApplication.translate(_CTX, text)


def count_and_yuan(part: dict[str, Any] | None) -> str:
    """``{"count": 3, "fen": 80000}`` → ``3 笔 / 800.00 元``."""
    part = part or {}
    return _t("{n} 笔 / {y} 元").format(n=int(part.get("count") or 0), y=yuan(part.get("fen")))


def finding_kind_name(kind: str | None) -> str:
    return vocabulary_name(kind, PaymentFindingKind)


def entitlement_state_name(state: str | None) -> str:
    return vocabulary_name(state, EntitlementState)


def batch_state_name(state: str | None) -> str:
    return vocabulary_name(state, BatchState)


def line_state_name(state: str | None) -> str:
    return vocabulary_name(state, PaymentLineState)


def item_name(code: str | None, given: str | None = None) -> str:
    """A subsidy item's Chinese name: the registry's (``item_name``) else the catalogue's, else its code."""
    return str(given or subsidy_names().get(str(code or "")) or code or "")


def period_text(period: str | None) -> str:
    """``202612`` → ``2026年12月``."""
    p = str(period or "")
    return _t("{y}年{m}月").format(y=p[:4], m=p[4:6]) if len(p) == 6 and p.isdigit() else p


def rule_name(rule_id: str | None) -> str:
    """A payment rule or check of the counters (``payment_rule_stats``): a dataset rule's name from
    resources/rules/subsidy_rules.json, a line check's (no_active_card …) from the vocabulary."""
    from .dashboard_view import rule_names

    rule = str(rule_id or "")
    if rule in {k.value for k in PaymentFindingKind}:
        return finding_kind_name(rule)
    return rule_names().get(rule) or rule


def finding_reason(finding: dict[str, Any]) -> str:
    """One finding as the list's 拦截原因 says it: the kind, and for a dataset rule which one."""
    kind = finding.get("kind")
    name = finding_kind_name(kind)
    if kind == PaymentFindingKind.PAYMENT_RULE and finding.get("rule"):
        return _t("{kind}：{rule}").format(kind=name, rule=rule_name(finding["rule"]))
    return name


def short_reason(finding: dict[str, Any]) -> str:
    """The list's short form: a dataset rule by its name without the parenthesis (已故人员, 低保/特困申请人名下有
    机动车), any other finding by its kind; the whole wording is in the tooltip and the detail."""
    if finding.get("kind") == PaymentFindingKind.PAYMENT_RULE and finding.get("rule"):
        return rule_name(finding["rule"]).split("（")[0]
    return finding_kind_name(finding.get("kind"))


def reasons_text(findings: list[dict[str, Any]], *, short: bool = False) -> str:
    seen: list[str] = []
    for f in findings or []:
        text = short_reason(f) if short else finding_reason(f)
        if text not in seen:
            seen.append(text)
    return "；".join(seen)


def card_status_name(status: str | None) -> str:
    from enrollment.vocabulary import CardStatus

    return vocabulary_name(status, CardStatus)


def evidence_lines(finding: dict[str, Any]) -> list[str]:
    """A payment finding's evidence as the lines a person checks before releasing money (which dataset
    row and rule, which other department's line, which card); an unknown shape still shown whole."""
    from .evidence import lines as generic_lines

    kind = finding.get("kind")
    ev = finding.get("evidence") or {}
    out: list[str] = []
    if kind == PaymentFindingKind.PAYMENT_RULE:
        rule = ev.get("rule") if isinstance(ev.get("rule"), dict) else {"id": finding.get("rule") or ""}
        out.append(_t("规则：{name}").format(name=rule.get("name") or rule_name(rule.get("id"))))
        out.append(_t("数据提供部门：{dept}　比对数据：{ds}").format(
            dept=rule.get("department") or _t("未注明"), ds=dataset_name(rule.get("dataset"))))
        out.append(_t("本行补贴项目：{item}").format(item=item_name(ev.get("subsidy"))))
        for n, row in enumerate(ev.get("rows") or [], 1):
            where = _t("（导入文件第 {line} 行）").format(line=row["line"]) if row.get("line") else ""
            out.append(_t("匹配的数据行 {n}{where}：").format(n=n, where=where))
            out += [f"　{column_name(col)}：{value}" for col, value in row.items() if col not in ("row_id", "line")]
        return out
    if kind == PaymentFindingKind.DUPLICATE_PAYMENT:
        other = ev.get("other") or {}
        out.append(_t("同一人同一项目同一期别的另一条发放记录："))
        out.append(_t("　部门：{d}　项目：{i}　期别：{p}").format(
            d=other.get("department") or "", i=item_name(other.get("item")), p=period_text(other.get("period"))))
        out.append(_t("　该部门名单第 {line} 行，状态：{state}").format(
            line=other.get("line") or "?", state=entitlement_state_name(other.get("state"))))
        return out
    if kind == PaymentFindingKind.NAME_MISMATCH:
        out.append(_t("发放名单上的姓名：{n}").format(n=ev.get("line_name") or ""))
        out.append(_t("社保卡持卡人：{n}（卡号 {c}）").format(n=ev.get("card_holder") or "", c=ev.get("card") or ""))
        return out
    if kind == PaymentFindingKind.NO_ACTIVE_CARD:
        cards = ev.get("cards") or []
        if not cards:
            out.append(_t("卡银行的数据中此人没有社保卡"))
        for c in cards:
            out.append(_t("社保卡 {card}：{status}（{date}）").format(
                card=c.get("card") or "", status=card_status_name(c.get("status")), date=c.get("status_date") or ""))
        return out
    if kind == PaymentFindingKind.AMOUNT_OVER_STANDARD:
        unit = {"month": _t("每月"), "year": _t("每年")}.get(str(ev.get("unit") or ""), str(ev.get("unit") or ""))
        out.append(_t("发放金额 {a} 元，超过{item}的标准 {m} 元{unit}").format(
            a=yuan(ev.get("amount_fen")), item=item_name(ev.get("item")), m=yuan(ev.get("max_fen")), unit=unit))
        return out
    return generic_lines(ev)


def refusal_text(refused: dict[str, Any]) -> str:
    """A refused roster line (``refused_lines``: line, code, field, data) in Chinese."""
    from desktop.errors import message_for

    return _t("第 {line} 行：{why}").format(line=refused.get("line") or "?",
                                          why=message_for(str(refused.get("code") or ""), refused.get("data") or {}))
