"""The SMS gateways the outbox can send through, chosen in the settings (``SmsSettings.gateway``):
``recording`` (nothing leaves the machine: the demo), ``http`` (a generic JSON gateway), ``aliyun`` and
``tencent`` (their official SDKs, installed as the extras ``sms-aliyun`` / ``sms-tencent``, imported only
when chosen)."""

from __future__ import annotations

from enrollment import error_codes
from enrollment.errors import DomainError

from ...config import SmsSettings
from ..gateway import RecordingGateway, SmsGateway
from ..templates import Templates


def make_gateway(settings: SmsSettings, templates: Templates) -> SmsGateway:
    """The gateway the settings choose; a missing setting is ``sms.not_configured``, a missing SDK
    ``sms.sdk_missing``."""
    name = settings.gateway
    if name == "recording":
        return RecordingGateway()
    if name == "http":
        from .http import HttpGateway

        return HttpGateway(settings.require("http_url"), settings.http_token, timeout=settings.timeout)
    if name == "aliyun":
        from .aliyun import AliyunGateway

        return AliyunGateway(settings, templates)
    if name == "tencent":
        from .tencent import TencentGateway

        return TencentGateway(settings, templates)
    raise DomainError(error_codes.SMS_NOT_CONFIGURED, "gateway", gateway=name or "")


def require_sdk(module: str, extra: str) -> object:
    """``importlib.import_module(module)``, or ``sms.sdk_missing`` naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise DomainError(error_codes.SMS_SDK_MISSING, "gateway", package=f"yikatong[{extra}]",
                          module=module) from None
