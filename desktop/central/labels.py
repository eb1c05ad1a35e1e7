"""Chinese names for the review's codes (finding kinds, states, lights, record fields, datasets).

Error wording lives in ``desktop.errors``; these are labels for values, all through tr().
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

from enrollment.vocabulary import Action, FindingKind, Light, ReviewState

from ..review_labels import vocabulary_name
from ..ui import relation_name

_CTX = "central"

LIGHT_COLOURS = {Light.NONE: "#b8c0c8", Light.YELLOW: "#f2b600", Light.RED: "#d32f2f"}
STATE_COLOURS = {
    ReviewState.RECEIVED: "#555555", ReviewState.CHECKED: "#555555", ReviewState.NEEDS_REVIEW: "#b26a00",
    ReviewState.CLEARED: "#1d5fb4", ReviewState.APPROVED: "#1a7f37", ReviewState.REJECTED: "#c62828",
    ReviewState.RETURNED: "#8e24aa",
}
DIFF_BACKGROUND = "#ffe0b2"   # a field that differs between the two records
INTERCEPT_COLOUR = "#c62828"
FLAG_COLOUR = "#b26a00"

# The queue's state filter, most urgent first.
QUEUE_STATES = (ReviewState.NEEDS_REVIEW, ReviewState.CLEARED, ReviewState.RECEIVED, ReviewState.CHECKED,
                ReviewState.APPROVED, ReviewState.REJECTED, ReviewState.RETURNED)
FINDING_KINDS = tuple(FindingKind)
LIGHTS = tuple(Light)


def _t(text: str) -> str:
    return QCoreApplication.translate(_CTX, text)


def state_name(state: str | None) -> str:
    return vocabulary_name(state, ReviewState)


def kind_name(kind: str | None) -> str:
    return vocabulary_name(kind, FindingKind)


def kind_short(kind: str | None) -> str:
    """The queue's column: the same one name (a kind reads alike everywhere)."""
    return kind_name(kind)


def severity_name(severity: str | None) -> str:
    return {"intercept": _t("拦截"), "flag": _t("提示")}.get(severity or "", _t("—") if not severity else severity)


def light_name(light: str | None) -> str:
    return vocabulary_name(light, Light)


def warning_reason_name(reason: str | None) -> str:
    return {"unhandled": _t("超时未处理"), "unissued": _t("批准后未发卡")}.get(reason or "", reason or "")


def action_name(action: str | None) -> str:
    return vocabulary_name(action, Action)


def finding_status_name(status: str | None) -> str:
    return {"open": _t("待处理"), "resolved": _t("已处理"), "superseded": _t("已被新版本取代")}.get(
        status or "", status or "")


def audit_action_name(action: str | None) -> str:
    """History entries: the audit actions a record's history shows."""
    return {
        "record.pushed": _t("收到新版本"), "record.accepted": _t("收到新版本"), "record.created": _t("新建"),
        "record.updated": _t("修改"), "record.conflict": _t("版本冲突"), "record.deleted": _t("删除"),
        "record.tombstoned": _t("删除"), "record.viewed": _t("查看完整记录"),
        "review.checked": _t("自动检查"), "review.approved": _t("批准"), "review.rejected": _t("驳回"),
        "review.returned": _t("退回"), "review.card_issued": _t("已发卡"),
        "review.needs_review": _t("转入待人工审核"), "review.cleared": _t("检查通过"),
        "review.reopened": _t("批准后发现疑点，重新待人工审核"),
    }.get(action or "", action or "")


def field_names() -> dict[str, str]:
    """Record fields in the order a reviewer compares them."""
    return {
        "name": _t("姓名"), "id_number": _t("身份证号码"), "sex": _t("性别"), "birth_date": _t("出生日期"),
        "village_code": _t("村代码"), "household_id": _t("户号"), "relation": _t("与户主关系"),
        "address": _t("住址"), "phone": _t("手机号码"), "subsidies": _t("申请补贴"),
        "consent": _t("本人同意"), "operator": _t("登记人"), "device_id": _t("登记电脑"),
        "version": _t("版本"), "state": _t("审核状态"), "record_id": _t("记录编号"),
    }


def payload_key_name(key: str) -> str:
    """Any payload key (evidence lists differing ones), including those the comparison table leaves out."""
    return field_names().get(key) or {
        "attachments": _t("附件（证件照等）"), "face": _t("人脸信息"), "duplicate_review": _t("人脸相似核查"),
        "confirmed_warnings": _t("已核实的提示"), "schema": _t("数据格式"),
    }.get(key, key)


def device_label(device_id: str) -> str:
    """A laptop as a reviewer tells two apart: 电脑 3f2a9c1e (the start of its random id; the whole on hover)."""
    return _t("电脑 {short}").format(short=device_id[:8]) if device_id else ""


def version_changes(version: dict[str, Any]) -> str:
    """What a version changed from the one before: 首次登记, 照片已更换, 修改了 姓名、住址 …"""
    changed = list(version.get("changed") or [])
    if version.get("deleted"):
        return _t("删除")
    if int(version.get("version") or 0) <= 1:
        return _t("首次登记")
    if not changed:
        return _t("无改动")
    parts = []
    if "attachment:card_photo" in changed:
        parts.append(_t("照片已更换"))
        changed = [k for k in changed if k not in ("attachment:face_template", "face", "duplicate_review")]
    documents = {"consent_form": _t("同意书"), "id_front": _t("身份证正面"), "id_back": _t("身份证反面"),
                 "face_template": _t("人脸特征")}
    fields = []
    for key in changed:
        if key == "attachment:card_photo":
            continue
        if key.startswith("attachment:"):
            kind = key.split(":", 1)[1]
            parts.append(_t("{what}已更换").format(what=documents.get(kind, kind)))
        else:
            fields.append(payload_key_name(key))
    if fields:
        parts.append(_t("修改了 {fields}").format(fields="、".join(fields)))
    return "；".join(parts)


def dataset_name(dataset: str | None) -> str:
    return {
        "deaths": _t("死亡人员"), "allowance": _t("低保/特困名单"), "poverty": _t("建档立卡贫困户"),
        "business": _t("工商登记"), "property": _t("不动产登记"), "tax": _t("个人所得税"),
        "students": _t("在校学生"), "courts": _t("法院（服刑/失信）"), "vehicles": _t("机动车登记"),
        "reference_photos": _t("户籍照片"),
    }.get(dataset or "", dataset or "")


def column_name(column: str) -> str:
    """Columns of a department dataset's source row."""
    return {
        "id_number": _t("身份证号码"), "name": _t("姓名"), "death_date": _t("死亡日期"), "program": _t("项目"),
        "start_date": _t("开始日期"), "end_date": _t("结束日期"), "household_id": _t("户号"),
        "status": _t("状态"), "year": _t("年度"), "company_name": _t("企业名称"),
        "credit_code": _t("统一社会信用代码"), "role": _t("身份"), "property_type": _t("房产类型"),
        "area_m2": _t("面积（平方米）"), "address": _t("地址"), "annual_income": _t("年收入"),
        "school": _t("学校"), "grade": _t("年级"), "case_type": _t("案件类型"), "plate": _t("号牌"),
        "vehicle_type": _t("车辆类型"), "registered_date": _t("登记日期"),
    }.get(column, column)


def subsidy_names() -> dict[str, str]:
    """Subsidy codes → names, from resources/subsidies/catalogue.json (read once)."""
    global _SUBSIDIES
    if _SUBSIDIES is None:
        import json

        import resources

        try:
            items = json.loads(resources.path("subsidies", "catalogue.json").read_text(encoding="utf-8")
                               ).get("items") or []
            _SUBSIDIES = {str(i["code"]): str(i["name"]) for i in items}
        except (OSError, ValueError, KeyError):
            _SUBSIDIES = {}
    return _SUBSIDIES


_SUBSIDIES: dict[str, str] | None = None


def field_text(key: str, value: Any) -> str:
    """A record field as a reviewer reads it."""
    if value is None or value == "":
        return ""
    if key == "subsidies" and isinstance(value, (list, tuple)):
        names = subsidy_names()
        return "、".join(names.get(str(c), str(c)) for c in value)
    if key == "consent":
        return _t("是") if value else _t("否")
    if key == "state":
        return state_name(str(value))
    if key == "relation":
        return relation_name(str(value))
    if isinstance(value, (list, tuple)):
        return "、".join(map(str, value))
    return str(value)


def dot_icon(light: str | None, size: int = 14) -> QIcon:
    """A filled coloured dot: the warning light of a record."""
    pix = QPixmap(size, size)
    pix.fill(QColor(0, 0, 0, 0))
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(QColor("#666666") if light in (None, "", Light.NONE) else QColor(LIGHT_COLOURS[light]).darker(130))
    p.setBrush(QColor(LIGHT_COLOURS.get(light or Light.NONE, LIGHT_COLOURS[Light.NONE])))
    p.drawEllipse(1, 1, size - 2, size - 2)
    p.end()
    return QIcon(pix)


# -- remote verification (docs/verification-api.md): the 远程核验 view and verification findings

# Values and thresholds the engine writes as words rather than numbers.
VIDEO_COLOUR = "#b45309"        # a video check is weaker than the live one: it never reads like a live pass
VIDEO_BACKGROUND = "#fff3e0"
PASSED_COLOUR = "#1a7f37"
FAILED_COLOUR = "#c62828"


def verification_reason(code: str | None) -> str:
    """A decision's reason code in the words the laptop uses (desktop.verification.labels)."""
    from desktop.verification.labels import reason_text

    return reason_text(code or "")


def method_name(method: str | None) -> str:
    """The method as the list shows it; a video check says that it is weaker than the live one."""
    from enrollment.vocabulary import VerificationMethod

    if method == VerificationMethod.VIDEO:
        return _t("视频核验（弱于现场活体核验）")
    return vocabulary_name(method, VerificationMethod)


def verification_state_name(request: dict[str, Any]) -> str:
    """The request's state; a request resting in manual says why (its outcome), a video pass that it is weaker."""
    from enrollment.vocabulary import VerificationMethod, VerificationState

    state = request.get("state")
    outcome = (request.get("result") or {}).get("outcome")
    if state == VerificationState.PASSED and request.get("method") == VerificationMethod.VIDEO:
        return _t("视频核验通过（弱于现场活体核验）")
    name = vocabulary_name(state, VerificationState)
    if state == VerificationState.MANUAL and outcome in (VerificationState.FAILED, VerificationState.EXPIRED):
        return _t("{name}（{why}）").format(name=name, why=vocabulary_name(outcome, VerificationState))
    return name


def verification_state_colour(request: dict[str, Any]) -> str:
    from enrollment.vocabulary import VerificationMethod, VerificationState

    state = request.get("state")
    if state == VerificationState.PASSED:
        return VIDEO_COLOUR if request.get("method") == VerificationMethod.VIDEO else PASSED_COLOUR
    if state == VerificationState.MANUAL:
        return FAILED_COLOUR if (request.get("result") or {}).get("outcome") == VerificationState.FAILED \
            else "#b45309"
    return {VerificationState.OPENED: "#1d5fb4"}.get(state or "", "#555555")


def reference_name(reference: str | None) -> str:
    """Which photo the attempt was matched against."""
    return {"reference_template": _t("户籍照片"), "enrolled_template": _t("登记时采集的人脸")}.get(
        reference or "", _t("没有可比对的照片"))


def beijing_minute(moment: str | None) -> str:
    """A registry timestamp in Beijing time to the minute: 2026-12-01 16:05 ("" when there is none)."""
    import datetime as dt

    from desktop.verification.labels import BEIJING

    if not moment:
        return ""
    try:
        when = dt.datetime.fromisoformat(str(moment).replace("Z", "+00:00"))
    except ValueError:
        return str(moment)[:16].replace("T", " ")
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
