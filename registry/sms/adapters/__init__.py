"""The SMS gateway chosen in the settings (``SmsSettings.gateway``), one for the whole registry: the outbox
(``registry sms send-pending``) and the self-query page's codes (``registry serve-verify``) both ask
``gateway_from_settings``, so a county configures its provider once. ``file`` (each message appended to
``YIKATONG_SMS_FILE``: the demo and the tests), ``recording`` (kept in memory: nothing leaves the
machine), ``http`` (a generic JSON gateway), ``aliyun`` and ``tencent`` (their official SDKs, installed as
the extras ``sms-aliyun`` / ``sms-tencent``, imported only when chosen)."""

from __future__ import annotations

from enrollment import error_codes
from enrollment.errors import DomainError

from ...config import SmsSettings
from .. import templates as sms_templates
from ..gateway import RecordingGateway, SmsGateway
from ..templates import Templates


def gateway_from_settings(settings: SmsSettings, templates: Templates | None = None) -> SmsGateway:
    """The gateway the settings choose (``templates``: the Aliyun and Tencent adapters' template codes;
    default: the settings' templates file); none chosen or a missing setting is ``sms.not_configured``,
    a missing SDK ``sms.sdk_missing``."""
    name = settings.gateway
    if name == "file":
        from pathlib import Path

        from ..file_gateway import FileGateway

        return FileGateway(Path(settings.require("file")))
    if name == "recording":
        return RecordingGateway()
    if name == "http":
        from .http import HttpGateway

        return HttpGateway(settings.require("http_url"), settings.http_token, timeout=settings.timeout)
    if name == "aliyun":
        from .aliyun import AliyunGateway

        return AliyunGateway(settings, templates or sms_templates.load(settings.templates))
    if name == "tencent":
        from .tencent import TencentGateway

        return TencentGateway(settings, templates or sms_templates.load(settings.templates))
    raise DomainError(error_codes.SMS_NOT_CONFIGURED, "gateway", gateway=name or "")


def require_sdk(module: str, extra: str) -> object:
    """``importlib.import_module(module)``, or ``sms.sdk_missing`` naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise DomainError(error_codes.SMS_SDK_MISSING, "gateway", package=f"yikatong[{extra}]",
                          module=module) from None
