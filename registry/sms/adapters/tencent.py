"""Tencent Cloud SMS (API 2021-01-11, ``SendSms``) through its official SDK, the extra ``sms-tencent``
(``tencentcloud-sdk-python-sms``), imported only when this gateway is chosen.

The outbox id goes as ``SessionContext`` (echoed in Tencent's delivery reports). A message's own status
(``SendStatusSet[0].Code``) and the API's error codes are mapped to ours (Tencent's SMS error code
reference): ``Ok`` is sent; internal errors, timeouts, frequency limits, the balance and credentials are
tried again later; a bad number, a number on the blacklist, a template or signature not approved are
this message refused.
"""

from __future__ import annotations

from typing import Any

from enrollment import error_codes

from ...config import SmsSettings
from ..gateway import Sent, SmsFailed, SmsMessage
from ..templates import Templates
from . import require_sdk

EXTRA = "sms-tencent"
_EXACT = {
    "InvalidParameterValue.IncorrectPhoneNumber": (error_codes.SMS_PHONE_INVALID, False),
    "FailedOperation.PhoneNumberInBlacklist": (error_codes.SMS_PHONE_BLOCKED, False),
    "FailedOperation.PhoneNumberOnBlacklist": (error_codes.SMS_PHONE_BLOCKED, False),
    "FailedOperation.TemplateIncorrectOrUnapproved": (error_codes.SMS_TEMPLATE_INVALID, False),
    "FailedOperation.SignatureIncorrectOrUnapproved": (error_codes.SMS_TEMPLATE_INVALID, False),
    "FailedOperation.ContainSensitiveWord": (error_codes.SMS_TEMPLATE_INVALID, False),
    "InvalidParameterValue.ContentLengthLimit": (error_codes.SMS_TEMPLATE_INVALID, False),
    "InvalidParameterValue.TemplateParameterFormatError": (error_codes.SMS_TEMPLATE_INVALID, False),
    "InvalidParameterValue.TemplateParameterLengthLimit": (error_codes.SMS_TEMPLATE_INVALID, False),
    "FailedOperation.InsufficientBalanceInSmsPackage": (error_codes.SMS_ACCOUNT, True),
    "UnauthorizedOperation.SmsSdkAppIdVerifyFail": (error_codes.SMS_GATEWAY_AUTH, True),
    "UnauthorizedOperation.RequestIpNotInWhitelist": (error_codes.SMS_GATEWAY_AUTH, True),
    "UnauthorizedOperation.RequestPermissionDeny": (error_codes.SMS_GATEWAY_AUTH, True),
    "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber": (error_codes.SMS_PHONE_INVALID, False),
    "ClientNetworkError": (error_codes.SMS_UNREACHABLE, True),
}
_PREFIX = (("InternalError", error_codes.SMS_GATEWAY_ERROR, True),
           ("LimitExceeded", error_codes.SMS_RATE_LIMITED, True),
           ("RequestLimitExceeded", error_codes.SMS_RATE_LIMITED, True),
           ("AuthFailure", error_codes.SMS_GATEWAY_AUTH, True),
           ("ResourceUnavailable", error_codes.SMS_GATEWAY_ERROR, True))


def classify(code: str) -> SmsFailed:
    """Tencent's error code → ours, retried or not; an unknown code is refused, not retried."""
    if code in _EXACT:
        ours, retry = _EXACT[code]
        return SmsFailed(ours, retry, code)
    for prefix, ours, retry in _PREFIX:
        if code.startswith(prefix):
            return SmsFailed(ours, retry, code)
    return SmsFailed(error_codes.SMS_REFUSED, False, code)


def e164(phone: str) -> str:
    digits = phone.strip()
    return digits if digits.startswith("+") else "+86" + digits


class TencentGateway:
    name = "tencent"
    max_concurrency = 1   # the SDK's client does not say it is thread-safe: one send at a time

    def __init__(self, settings: SmsSettings, templates: Templates) -> None:
        credential: Any = require_sdk("tencentcloud.common.credential", EXTRA)
        client_profile: Any = require_sdk("tencentcloud.common.profile.client_profile", EXTRA)
        http_profile: Any = require_sdk("tencentcloud.common.profile.http_profile", EXTRA)
        sms_client: Any = require_sdk("tencentcloud.sms.v20210111.sms_client", EXTRA)
        self._models: Any = require_sdk("tencentcloud.sms.v20210111.models", EXTRA)
        connect, read = settings.timeout
        http = http_profile.HttpProfile(reqTimeout=int(connect + read))
        http.endpoint = "sms.tencentcloudapi.com"
        cred = credential.Credential(settings.require("tencent_secret_id"), settings.require("tencent_secret_key"))
        self._client = sms_client.SmsClient(cred, settings.tencent_region,
                                            client_profile.ClientProfile(httpProfile=http))
        self._app_id = settings.require("tencent_sdk_app_id")
        self.max_send_seconds = float(int(connect + read))
        self._templates = templates

    def send(self, message: SmsMessage) -> Sent:
        template = self._templates.get(message.template)
        if "tencent" not in template.codes:
            raise SmsFailed(error_codes.SMS_TEMPLATE_INVALID, False, "no tencent template code")
        request = self._models.SendSmsRequest()
        request.PhoneNumberSet = [e164(message.phone)]
        request.SmsSdkAppId = self._app_id
        request.SignName = self._templates.sign_name
        request.TemplateId = template.codes["tencent"]
        request.TemplateParamSet = [str(message.params.get(p, "")) for p in template.params]
        request.SessionContext = message.out_id
        try:
            response = self._client.SendSms(request)
        except Exception as e:  # noqa: BLE001 - TencentCloudSDKException carries a code; others none
            code = getattr(e, "code", None)
            if isinstance(code, str) and code:
                raise classify(code) from None
            raise SmsFailed(error_codes.SMS_UNREACHABLE, True, type(e).__name__) from None
        status = (response.SendStatusSet or [None])[0]
        if status is None:
            raise SmsFailed(error_codes.SMS_GATEWAY_ERROR, True, "no status")
        if status.Code != "Ok":
            raise classify(str(status.Code))
        return Sent(self.name, str(status.SerialNo or message.out_id))
