"""A remote verification request as the field screens word it: the state's one Chinese name from
``enrollment.vocabulary`` (through tr()), with the day it ended or the day its link expires, and the
reason codes in the cadre's words (docs/verification-api.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QCoreApplication

from enrollment.vocabulary import ChallengeAction, VerificationMethod, VerificationState

from ..review_labels import vocabulary_name

STATE_COLOURS = {
    VerificationState.SENT: "#555555",
    VerificationState.OPENED: "#1d5fb4",
    VerificationState.PASSED: "#1a7f37",
    VerificationState.FAILED: "#c62828",
    VerificationState.EXPIRED: "#b45309",
    VerificationState.MANUAL: "#b45309",
}

# The cadre reads why a worker's check did not pass (the worker's page says the same in its own words).
_REASONS = {
    "match.too_low": "与登记照片不符",
    "match.no_reference": "没有登记照片可比对",
    "liveness.no_face": "没有拍到人脸",
    "liveness.many_faces": "画面里不止一个人",
    "liveness.face_lost": "中途脸离开了画面",
    "liveness.identity_changed": "中途换了人",
    "liveness.action_missed": "提示的动作没有做到",
    "liveness.too_dark": "光线太暗",
    "liveness.not_still": "「保持不动」时晃动太多",
    "liveness.presentation_attack": "疑似照片或视频",
    "liveness.too_few_frames": "照片没有传完（网络不好）",
    "liveness.replayed": "疑似重放的画面",
    # the offline video path (docs/verification-api.md, "The offline video path")
    "video.digits_not_heard": "没有听到本人念出数字",
    "video.unreadable": "视频无法读取",
    "video.too_short": "视频太短（不到3秒）",
    "video.too_long": "视频太长（超过60秒）",
}

# Each check of a Decision (capture/liveness: CheckResult.name): its name and what it measures, as the 视频核验
# dialog and the central 远程核验 view both show it (one wording for one check).
_CHECKS = {
    "frames": ("画面数量", "检查用到的画面张数"),
    "face_present": ("无人脸的画面", "没有人脸的画面所占比例"),
    "one_face": ("多人的画面", "有多张人脸的画面所占比例"),
    "face_track": ("人脸中断", "人脸离开画面（中断）的次数"),
    "brightness": ("光线", "人脸区域的平均亮度（0–255）"),
    "frames_change": ("画面有变化（不是一张照片）", "画面之间的变化量：静止的照片几乎没有变化"),
    "hold_still_yaw": ("开始时正对镜头", "「保持不动」时头部左右转动的幅度"),
    "hold_still_shift": ("开始时保持不动", "「保持不动」时人脸位置的移动（以脸宽计）"),
    "same_person": ("前后是同一个人", "各步骤人脸之间的最大距离：中途换人时变大"),
    "passive": ("真人检测（防照片、翻拍）", "照片/视频翻拍检测给出的真人概率，越高越像真人"),
    "match": ("与登记照片比对", "与登记照片的人脸距离，越小越像"),
    "replay": ("重放画面", "以前的核验里出现过的画面张数"),
    "digits_heard": ("听到本人念出数字", "村干部播放视频时是否听到了本人念出的数字"),
}

# Values and thresholds the engine writes as words rather than numbers.
_CHECK_WORDS = {"no face": "没有人脸", "a face": "有人脸", "no reference": "没有登记照片", "0 breaks": "0 次中断"}

# A passed video check is weaker than the live check on the worker's phone: the roster says so.
VIDEO_PASSED = "视频核验通过（弱于现场活体核验）"


def _t(text: str) -> str:
    return QCoreApplication.translate("verification", text)


def reason_text(code: str) -> str:
    """One reason code in Chinese; an unknown code is shown as it is."""
    return _t(_REASONS[code]) if code in _REASONS else code


def action_text(action: str) -> str:
    """A challenge action's Chinese name (向左转头, 张嘴, …); an unknown one as it is."""
    return vocabulary_name(action, ChallengeAction)


def check_name(name: str | None) -> str:
    """One liveness check's name in Chinese; ``step{i}:{action}`` is 动作{i}：{the action} (step 0 is the
    hold-still); an unknown name as it is."""
    name = name or ""
    if name.startswith("step") and ":" in name:
        index, action = name[4:].split(":", 1)
        return _t("动作{i}：{action}").format(i=index, action=action_text(action))
    return _t(_CHECKS[name][0]) if name in _CHECKS else name


def check_help(name: str | None) -> str:
    """What a check measures (a tooltip); "" for an action step or an unknown check."""
    return _t(_CHECKS[name][1]) if name in _CHECKS else ""


def check_value(text: str | None) -> str:
    """A check's value or threshold: "<= 0.6" → "≤ 0.6", the engine's few words in Chinese."""
    if text is None or text == "":
        return _t("—")
    text = str(text)
    if text in _CHECK_WORDS:
        return _t(_CHECK_WORDS[text])
    return text.replace("<=", "≤").replace(">=", "≥")


def spaced_digits(digits: str) -> str:
    """4821 → 4 8 2 1: read one digit at a time, as the worker is asked to say them."""
    return " ".join(digits)


def video_instruction(challenge: dict[str, Any] | None) -> str:
    """The instruction sent with the link for a worker who cannot open it (the contract's wording)."""
    if not challenge:
        return ""
    actions = "，再".join(action_text(a) for a in challenge.get("actions") or [])
    return _t("如果打不开链接：请录一段 10 秒左右的视频，正对镜头，先念出数字 {digits}，再{actions}，"
              "然后把视频发给村干部。").format(digits=spaced_digits(str(challenge.get("digits") or "")),
                                              actions=actions)


# The registry's SMS names its times in Beijing time (UTC+8, no daylight saving): the laptop says the same day.
BEIJING = dt.timezone(dt.timedelta(hours=8))


def beijing_day(moment: str | None) -> str:
    """The Beijing-time day of a registry timestamp (ISO 8601 with an offset); "" when there is none."""
    if not moment:
        return ""
    try:
        when = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return moment[:10]
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(BEIJING).date().isoformat()


def beijing_time(moment: str | None) -> str:
    """A registry timestamp as a Beijing-time minute, 2026-12-04 16:00; "" when there is none."""
    if not moment:
        return ""
    try:
        when = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return moment
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def verification_summary(verification: dict[str, Any] | None) -> str:
    """One line for the roster: 核验通过（2026-12-01）, 已发送链接（2026-12-04前有效）, 需上门或人工核验, …"""
    if not verification or not verification.get("state"):
        return ""
    state = verification["state"]
    name = vocabulary_name(state, VerificationState)
    result = verification.get("result") or {}
    if state == VerificationState.PASSED and verification.get("method") == VerificationMethod.VIDEO:
        return _t(VIDEO_PASSED)
    if state == VerificationState.PASSED:
        day = beijing_day(result.get("decided_at") or verification.get("updated_at"))
        return _t("{name}（{day}）").format(name=name, day=day) if day else name
    if state in (VerificationState.SENT, VerificationState.OPENED):
        return _t("{name}（{day}前有效）").format(name=name, day=beijing_day(verification.get("expires_at")))
    return name


def verification_details(verification: dict[str, Any] | None) -> str:
    """The tooltip: the line above, the city, and why it did not pass (its reasons or its expiry)."""
    if not verification:
        return ""
    state = verification.get("state")
    lines = [_t("远程核验：{summary}").format(summary=verification_summary(verification)),
             _t("状态：{name}").format(name=vocabulary_name(state, VerificationState))]
    if verification.get("method"):
        lines.append(_t("方式：{name}").format(name=vocabulary_name(verification["method"], VerificationMethod)))
    if verification.get("city"):
        lines.append(_t("外出务工城市：{city}").format(city=verification["city"]))
    decided = (verification.get("result") or {}).get("decided_at")
    if state == VerificationState.PASSED and decided:
        lines.append(_t("核验时间：{time}（北京时间）").format(time=beijing_time(decided)))
    if verification.get("expires_at"):
        lines.append(_t("链接有效期至：{time}（北京时间）").format(time=beijing_time(verification["expires_at"])))
    if state in (VerificationState.SENT, VerificationState.OPENED) and verification.get("attempts_left") is not None:
        lines.append(_t("剩余核验次数：{n}").format(n=verification["attempts_left"]))
    if verification.get("outcome") == "expired":
        lines.append(_t("链接过期前没有完成核验"))
    reasons = verification.get("reasons") or []
    if reasons and verification.get("state") != VerificationState.PASSED:
        lines.append(_t("原因：{reasons}").format(reasons="；".join(reason_text(r) for r in reasons)))
    return "\n".join(lines)


def summary_samples() -> list[str]:
    """Every line the roster's 远程核验 column can show (each state, each method, a long date): its width."""
    day = "2026-12-31T15:59:00.000+00:00"
    return [verification_summary({"state": str(state), "method": str(method), "expires_at": day,
                                  "updated_at": day, "result": {"decided_at": day}})
            for state in VerificationState for method in VerificationMethod] + [
        video_check_summary({"send_state": "pending"}), video_check_summary({"send_state": "refused"})]


def video_check_summary(check: dict[str, Any] | None) -> str:
    """The laptop's own video check while the registry has not decided it: 视频核验已记录，待同步发送, or
    the registry's refusal; "" once sent (the request's pulled state says the rest)."""
    if not check:
        return ""
    if check.get("send_state") == "pending":
        return _t("视频核验已记录，待同步发送")
    if check.get("send_state") == "refused":
        return _t("视频核验未被登记中心接收")
    return ""


def verification_colour(state: str | None) -> str:
    return STATE_COLOURS.get(state, "#555555")
