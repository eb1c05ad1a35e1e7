"""Findings' evidence in readable Chinese (no Qt widgets: plain text lines for the record view).

The checks store evidence as JSON with stable keys (docs/review-api.md §2); known keys get
Chinese labels and known values (datasets, columns, subsidies) their names. A key this module
does not know is still shown, under its own name, so no evidence is ever hidden.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication

from enrollment.vocabulary import FindingKind

from .labels import column_name, dataset_name, device_label, kind_name, severity_name, subsidy_names

_CTX = "central"


def _t(text: str) -> str:
    return QCoreApplication.translate(_CTX, text)


def key_names() -> dict[str, str]:
    return {
        "rule": _t("规则"), "rule_id": _t("规则编号"), "rule_name": _t("规则名称"), "name": _t("名称"),
        "department": _t("部门"), "dataset": _t("比对数据"), "row": _t("匹配的数据行"),
        "source_row": _t("匹配的数据行"), "matching_row": _t("匹配的数据行"), "subsidy": _t("补贴项目"),
        "subsidy_item": _t("补贴项目"), "subsidies": _t("补贴项目"), "condition": _t("条件"),
        "distance": _t("人脸距离"), "threshold": _t("阈值"), "radius": _t("判定距离"),
        "candidates": _t("相似人脸"), "record_id": _t("记录编号"), "version": _t("版本"),
        "village_code": _t("村代码"), "village": _t("村代码"), "operator": _t("登记人"),
        "device_id": _t("登记电脑"), "state": _t("审核状态"), "id_number": _t("身份证号码"),
        "differing_fields": _t("不同的字段"), "differences": _t("不同的字段"), "fields": _t("字段"),
        "score": _t("相似度"), "scores": _t("分项得分"), "components": _t("分项得分"),
        "names": _t("姓名"), "births": _t("出生日期"), "birth_dates": _t("出生日期"), "sexes": _t("性别"),
        "villages": _t("村代码"), "reference_sha256": _t("户籍照片"), "reference_photo": _t("户籍照片"),
        "template_sha256": _t("人脸特征"), "sha256": _t("文件校验"), "other": _t("另一条记录"),
        "this": _t("本记录"), "count": _t("数量"), "severity": _t("处理"), "kind": _t("类型"),
        "birth_date": _t("出生日期"), "sex": _t("性别"), "pinyin": _t("拼音"), "variant": _t("异体字"),
        "top_k": _t("候选数"), "reason": _t("理由"), "rows": _t("匹配的数据行"), "row_id": _t("数据行编号"),
        "id": _t("编号"), "weights": _t("权重"), "record": _t("本记录"), "matches": _t("相同人脸数"),
        "same_id_number": _t("证号相同"), "reference_photo_sha256": _t("户籍照片"),
    }


def _value(key: str, value: Any) -> str:
    if key == "dataset":
        return dataset_name(str(value))
    if key in ("subsidy", "subsidy_item", "subsidies"):
        names = subsidy_names()
        if isinstance(value, (list, tuple)):
            return "、".join(names.get(str(v), str(v)) for v in value)
        return names.get(str(value), str(value))
    if key == "severity":
        return severity_name(str(value))
    if key == "kind":
        return kind_name(str(value))
    if isinstance(value, bool):
        return _t("是") if value else _t("否")
    return str(value)


def lines(value: Any, indent: int = 0, key: str = "") -> list[str]:
    """A nested evidence value as indented "名称：值" lines."""
    pad = "　" * indent
    names = key_names()
    out: list[str] = []
    if isinstance(value, dict):
        row_like = key in ("row", "source_row", "matching_row")
        for k, v in value.items():
            label = column_name(k) if row_like else names.get(k, k)
            if isinstance(v, (dict, list)) and v and not _flat_list(v):
                out.append(f"{pad}{label}：")
                out += lines(v, indent + 1, k)
            else:
                out.append(f"{pad}{label}：{_flat(k, v)}")
    elif isinstance(value, list):
        for n, v in enumerate(value, 1):
            if isinstance(v, dict):
                out.append(f"{pad}{n}.")
                out += lines(v, indent + 1, key)
            else:
                out.append(f"{pad}{n}. {_value(key, v)}")
    else:
        out.append(f"{pad}{_value(key, value)}")
    return out


def _flat_list(v: Any) -> bool:
    return isinstance(v, list) and all(not isinstance(x, (dict, list)) for x in v)


def _flat(key: str, v: Any) -> str:
    if isinstance(v, list):
        if key in ("subsidy", "subsidy_item", "subsidies"):
            return _value(key, v)
        return " / ".join(_value(key, x) for x in v) if v else _t("无")
    if v is None or v == "":
        return _t("无")
    return _value(key, v)


def _rule(ev: dict[str, Any]) -> dict[str, Any]:
    rule = ev.get("rule")
    if isinstance(rule, dict):
        return rule
    return {"id": rule or ev.get("rule_id") or "", "name": ev.get("rule_name") or ev.get("name") or "",
            "department": ev.get("department") or "", "dataset": ev.get("dataset") or ""}


def _rule_name(rule: dict[str, Any]) -> str:
    """The rule's Chinese name; its id (deceased, assist_business_owner) only when no name is known."""
    from .dashboard_view import rule_names

    rule_id = str(rule.get("id") or "")
    return str(rule.get("name") or rule_names().get(rule_id) or rule_id)


def _subsidy(code: Any) -> str:
    if code in (None, "", "*"):
        return _t("全部待遇（不论申请哪项补贴）")
    return subsidy_names().get(str(code), str(code))


def readable(finding: dict[str, Any]) -> list[str]:
    """The evidence of one finding as lines a reviewer reads, per kind; unknown shapes generically."""
    from .labels import payload_key_name, state_name

    kind = finding.get("kind")
    ev = finding.get("evidence") or {}
    out: list[str] = []
    if kind == FindingKind.DATASET_RULE:
        rule = _rule(ev)
        out.append(_t("规则：{name}").format(name=_rule_name(rule)))
        out.append(_t("部门：{dept}").format(dept=rule.get("department") or _t("未注明")))
        out.append(_t("比对数据：{ds}").format(ds=dataset_name(rule.get("dataset"))))
        out.append(_t("补贴项目：{s}").format(s=_subsidy(ev.get("subsidy"))))
        for n, row in enumerate(ev.get("rows") or ([ev["row"]] if isinstance(ev.get("row"), dict) else []), 1):
            # the file's line is what a reviewer finds in the department's file; the row id is internal
            where = _t("（导入文件第 {line} 行）").format(line=row["line"]) if row.get("line") else ""
            out.append(_t("匹配的数据行 {n}{where}：").format(n=n, where=where))
            for col, value in row.items():
                if col not in ("row_id", "line"):
                    out.append(f"　{column_name(col)}：{value}")
        return out
    if kind in (FindingKind.NOT_ON_ROSTER, FindingKind.ROSTER_OTHER_VILLAGE):
        here = ev.get("village") or {}
        out.append(_t("登记的村：{name}（{code}）").format(name=here.get("village_name") or _t("未命名"),
                                                     code=here.get("village_code") or ""))
        if kind == FindingKind.NOT_ON_ROSTER:
            out.append(_t("此身份证号码不在本村花名册上，也不在任何村的花名册上；请核实此人是否为本村居民"))
        else:
            there = ev.get("roster_village") or {}
            out.append(_t("此人在另一个村的花名册上：{name}（{code}）").format(
                name=there.get("village_name") or _t("未命名"), code=there.get("village_code") or ""))
            out.append(_t("请核实此人户籍所在村，是否应由该村登记"))
        return out
    if kind == FindingKind.SAME_ID:
        other = ev.get("other") or {}
        out.append(_t("同一身份证号码的另一条记录："))
        out.append(_t("　村代码：{v}").format(v=other.get("village_code") or ""))
        out.append(_t("　登记人：{v}　登记电脑：{d}").format(v=other.get("operator") or "",
                                                       d=device_label(str(other.get("device_id") or ""))))
        out.append(_t("　审核状态：{s}　第{n}版").format(s=state_name(other.get("state")), n=other.get("version") or "?"))
        out.append(_t("　记录编号：{r}").format(r=other.get("record_id") or ""))
        diff = [payload_key_name(k) for k in ev.get("differing_fields") or [] if k != "record_id"]
        out.append(_t("不同的字段：{f}").format(f="、".join(diff) if diff else _t("无（内容相同）")))
        return out
    if kind == FindingKind.DEMOGRAPHIC:
        parts = ev.get("components") or {}
        names = {"name": _t("姓名"), "birth_date": _t("出生日期"), "sex": _t("性别"), "village": _t("村")}
        out.append(_t("综合相似度：{s}（阈值 {t}）").format(s=finding.get("score") or "?", t=ev.get("threshold") or "?"))
        out.append(_t("分项得分：") + "　".join(f"{names.get(k, k)} {v}" for k, v in parts.items()))
        for key, title in (("record", _t("本记录")), ("other", _t("相似记录"))):
            person = ev.get(key) or {}
            out.append(_t("{title}：{name}　{sex}　{birth}　村 {village}　{id}").format(
                title=title, name=person.get("name") or "", sex=person.get("sex") or "",
                birth=person.get("birth_date") or "", village=person.get("village_code") or "",
                id=person.get("id_number") or ""))
        return out
    if kind == FindingKind.FACE_MATCH:
        out.append(_t("判定距离：小于 {r} 视为同一人（越小越像）").format(r=ev.get("radius") or "?"))
        for n, c in enumerate(ev.get("candidates") or [], 1):
            same = _t("（证号相同）") if c.get("same_id_number") else ""
            out.append(_t("{n}. 距离 {d}　{id}{same}　村 {v}").format(
                n=n, d=c.get("distance") or "?", id=c.get("id_number") or "", same=same, v=c.get("village_code") or ""))
        return out
    if kind == FindingKind.REFERENCE_PHOTO:
        out.append(_t("与户籍照片的人脸距离：{d}（大于 {t} 判为不是同一人）").format(
            d=ev.get("distance") or finding.get("score") or "?", t=ev.get("threshold") or "?"))
        return out
    if kind in (FindingKind.VERIFICATION_FAILED, FindingKind.VERIFICATION_MANUAL):
        return _verification_lines(ev)
    return lines(ev)


def _verification_lines(ev: dict[str, Any]) -> list[str]:
    """A remote verification that ended without a pass: why, with the failed attempt's numbers."""
    from ..verification.labels import check_name, check_value
    from .labels import beijing_minute, reference_name, verification_reason

    out: list[str] = []
    if ev.get("outcome") == "expired":
        out.append(_t("核验链接已过期（{at}，北京时间），本人没有完成核验").format(at=beijing_minute(ev.get("expires_at"))))
        out.append(_t("已用 {used} 次，共 {max} 次").format(used=ev.get("attempts_used", 0), max=ev.get("attempts_max", 0)))
        out.append(_t("请上门或人工核实本人"))
        return out
    out.append(_t("远程核验次数已用完，最后一次未通过"))
    reasons = ev.get("reasons") or []
    if reasons:
        out.append(_t("原因：{r}").format(r="；".join(verification_reason(r) for r in reasons)))
    if ev.get("match_distance") is not None:
        out.append(_t("与{ref}的人脸距离：{d}").format(ref=reference_name(ev.get("reference")), d=ev["match_distance"]))
    if ev.get("passive_score") is not None:
        out.append(_t("活体评分：{s}").format(s=ev["passive_score"]))
    failed = [c for c in ev.get("checks") or [] if not c.get("passed")]
    for c in failed:
        out.append(_t("　未通过：{name}　测得 {v}　标准 {t}").format(
            name=check_name(c.get("name")), v=check_value(c.get("value")), t=check_value(c.get("threshold"))))
    out.append(_t("留存画面：{n} 张（点“查看远程核验详情与画面”）").format(n=len(ev.get("evidence_frames") or [])))
    return out


def headline(finding: dict[str, Any]) -> str:
    """One line for the findings list: severity, kind, and the number a reviewer weighs."""
    kind = finding.get("kind")
    ev = finding.get("evidence") or {}
    score = finding.get("score")
    text = f"【{severity_name(finding.get('severity'))}】{kind_name(kind)}"
    if kind == FindingKind.FACE_MATCH and score:
        text += _t("：人脸距离 {d}").format(d=score)
    elif kind == FindingKind.REFERENCE_PHOTO and (score or ev.get("distance")):
        text += _t("：距离 {d}").format(d=score or ev.get("distance"))
    elif kind == FindingKind.DEMOGRAPHIC and score:
        text += _t("：相似度 {s}").format(s=score)
    elif kind == FindingKind.VERIFICATION_FAILED and ev.get("reasons"):
        from .labels import verification_reason

        text += "：" + "；".join(verification_reason(r) for r in ev["reasons"])
    elif kind == FindingKind.DATASET_RULE:
        rule = _rule(ev)
        name = _rule_name({**rule, "id": rule.get("id") or finding.get("rule") or ""})
        dept = rule.get("department") or ""
        text += f"：{name}" + (f"（{dept}）" if dept else "")
    return text


def metric(finding: dict[str, Any]) -> str:
    """The comparison's measure line: face distance, demographic score or the rule."""
    kind = finding.get("kind")
    ev = finding.get("evidence") or {}
    score = finding.get("score")
    if kind == FindingKind.FACE_MATCH:
        return _t("人脸距离 {d}（小于 {r} 判为同一人，越小越像）").format(
            d=score or "?", r=ev.get("radius") or ev.get("threshold") or "0.6")
    if kind == FindingKind.REFERENCE_PHOTO:
        return _t("与户籍照片的人脸距离 {d}（大于 {t} 判为不符）").format(
            d=score or ev.get("distance") or "?", t=ev.get("threshold") or "0.6")
    if kind == FindingKind.DEMOGRAPHIC:
        return _t("姓名/出生/性别/村 综合相似度 {s}（阈值 {t}）").format(s=score or "?", t=ev.get("threshold") or "?")
    if kind == FindingKind.SAME_ID:
        return _t("同一身份证号码已有另一条登记记录")
    if kind == FindingKind.VERIFICATION_FAILED:
        from .labels import verification_reason

        reasons = "；".join(verification_reason(r) for r in ev.get("reasons") or [])
        return _t("远程刷脸核验未通过：{r}").format(r=reasons or _t("见核验详情"))
    if kind == FindingKind.VERIFICATION_MANUAL:
        return _t("远程核验链接已过期，需上门或人工核实")
    if kind == FindingKind.DATASET_RULE:
        rule = _rule(ev)
        return _t("规则：{name}　部门：{dept}　数据：{ds}").format(
            name=_rule_name({**rule, "id": rule.get("id") or finding.get("rule") or ""}),
            dept=rule.get("department") or "?",
            ds=dataset_name(rule.get("dataset")))
    return ""


def source_row(finding: dict[str, Any]) -> dict[str, Any] | None:
    """The department dataset row a rule matched, if the evidence carries it."""
    ev = finding.get("evidence") or {}
    rows = ev.get("rows")
    if isinstance(rows, list) and rows and isinstance(rows[0], dict):
        return {k: v for k, v in rows[0].items() if k not in ("row_id", "line")}
    for key in ("row", "source_row", "matching_row", "source"):
        if isinstance(ev.get(key), dict):
            return ev[key]
    return None


def rule_of(finding: dict[str, Any]) -> dict[str, Any]:
    """A dataset rule finding's rule: {id, name, department, dataset}."""
    return _rule(finding.get("evidence") or {})
