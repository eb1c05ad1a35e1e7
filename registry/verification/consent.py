"""The consent the worker gives before the camera starts (PIPL: biometrics are sensitive personal
information and need separate consent). The version is stored with the moment it was agreed to; a
new text needs a new version, and a session agreed to an older one is asked again."""

from __future__ import annotations

from typing import Any

CONSENT_VERSION = "2026-12-01"


def consent_text(evidence_days: float) -> str:
    days = int(evidence_days) if float(evidence_days).is_integer() else evidence_days
    return ("为核实是您本人在办理社会保障卡业务，需要采集您的人脸信息：本次核验中前置摄像头拍摄的若干张小照片。"
            "这些照片只用于与您在户籍或办卡时留存的照片比对、确认是真人操作，不作他用，不向第三方提供。"
            f"核验结束后只保留最多4张作为核验凭证，{days}天后删除；其余照片立即删除，只保留无法还原照片的校验值。"
            "人脸信息属于敏感个人信息，您可以不同意；不同意时请联系村干部，改为上门或到村里办理。")


def consent(evidence_days: float) -> dict[str, Any]:
    return {"version": CONSENT_VERSION, "text": consent_text(evidence_days)}
