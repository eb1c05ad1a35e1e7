"""Aliyun SMS (dysmsapi 2017-05-25, ``SendSms``) through its official SDK, the extra ``sms-aliyun``
(``alibabacloud_dysmsapi20170525``), imported only when this gateway is chosen.

The outbox id goes as ``OutId`` (echoed in Aliyun's delivery reports). Aliyun's answer codes are mapped
to ours (Aliyun's SMS error code reference): ``OK`` is sent; its system errors, flow control and
account problems are tried again later; a bad number, a template or signature not approved, a bad
variable are this message refused.
"""

from __future__ import annotations

import json
from typing import Any

from enrollment import error_codes

from ...config import SmsSettings
from ..gateway import Sent, SmsFailed, SmsMessage
from ..templates import Templates
from . import require_sdk

EXTRA = "sms-aliyun"
_RETRY = {
    "isp.SYSTEM_ERROR": error_codes.SMS_GATEWAY_ERROR, "isp.GATEWAY_ERROR": error_codes.SMS_GATEWAY_ERROR,
    "isp.UNKNOWN": error_codes.SMS_GATEWAY_ERROR, "isv.DATA_NOT_EXIST": error_codes.SMS_GATEWAY_ERROR,
    "isv.BUSINESS_LIMIT_CONTROL": error_codes.SMS_RATE_LIMITED, "Throttling.User": error_codes.SMS_RATE_LIMITED,
    "isv.DAY_LIMIT_CONTROL": error_codes.SMS_RATE_LIMITED,
    "isv.OUT_OF_SERVICE": error_codes.SMS_ACCOUNT, "isv.AMOUNT_NOT_ENOUGH": error_codes.SMS_ACCOUNT,
    "isv.PRODUCT_UN_SUBSCRIPT": error_codes.SMS_ACCOUNT, "isv.PRODUCT_UNSUBSCRIBE": error_codes.SMS_ACCOUNT,
    "isv.ACCOUNT_ABNORMAL": error_codes.SMS_ACCOUNT, "isv.ACCOUNT_NOT_EXISTS": error_codes.SMS_GATEWAY_AUTH,
    "isp.RAM_PERMISSION_DENY": error_codes.SMS_GATEWAY_AUTH, "InvalidAccessKeyId.NotFound": error_codes.SMS_GATEWAY_AUTH,
    "SignatureDoesNotMatch": error_codes.SMS_GATEWAY_AUTH,
}
_NO_RETRY = {
    "isv.MOBILE_NUMBER_ILLEGAL": error_codes.SMS_PHONE_INVALID, "isv.PHONE_NUMBER_ILLEGAL": error_codes.SMS_PHONE_INVALID,
    "isv.BLACK_KEY_CONTROL_LIMIT": error_codes.SMS_TEMPLATE_INVALID,
    "isv.SMS_TEMPLATE_ILLEGAL": error_codes.SMS_TEMPLATE_INVALID,
    "isv.SMS_SIGNATURE_ILLEGAL": error_codes.SMS_TEMPLATE_INVALID,
    "isv.SMS_SIGN_NAME_ILLEGAL": error_codes.SMS_TEMPLATE_INVALID,
    "isv.TEMPLATE_MISSING_PARAMETERS": error_codes.SMS_TEMPLATE_INVALID,
    "isv.INVALID_JSON_PARAM": error_codes.SMS_TEMPLATE_INVALID,
    "isv.PARAM_LENGTH_LIMIT": error_codes.SMS_TEMPLATE_INVALID,
    "isv.PARAM_NOT_SUPPORT_URL": error_codes.SMS_TEMPLATE_INVALID,
}


def classify(code: str) -> SmsFailed:
    """Aliyun's error code → ours, retried or not; an unknown code is refused (not retried: a loop of
    resends costs money and may reach the resident in the end)."""
    if code in _RETRY:
        return SmsFailed(_RETRY[code], True, code)
    if code in _NO_RETRY:
        return SmsFailed(_NO_RETRY[code], False, code)
    if code.startswith(("isp.", "Throttling")):
        return SmsFailed(error_codes.SMS_GATEWAY_ERROR, True, code)
    return SmsFailed(error_codes.SMS_REFUSED, False, code)


class AliyunGateway:
    name = "aliyun"
    max_concurrency = 1   # the SDK's client does not say it is thread-safe: one send at a time

    def __init__(self, settings: SmsSettings, templates: Templates) -> None:
        client_mod: Any = require_sdk("alibabacloud_dysmsapi20170525.client", EXTRA)
        self._models: Any = require_sdk("alibabacloud_dysmsapi20170525.models", EXTRA)
        openapi: Any = require_sdk("alibabacloud_tea_openapi.models", EXTRA)
        util: Any = require_sdk("alibabacloud_tea_util.models", EXTRA)
        config = openapi.Config(access_key_id=settings.require("aliyun_access_key_id"),
                                access_key_secret=settings.require("aliyun_access_key_secret"))
        config.endpoint = settings.aliyun_endpoint
        self._client = client_mod.Client(config)
        connect, read = settings.timeout
        self._runtime = util.RuntimeOptions(connect_timeout=int(connect * 1000), read_timeout=int(read * 1000))
        self.max_send_seconds = connect + read
        self._templates = templates

    def send(self, message: SmsMessage) -> Sent:
        template = self._templates.get(message.template)
        if "aliyun" not in template.codes:
            raise SmsFailed(error_codes.SMS_TEMPLATE_INVALID, False, "no aliyun template code")
        request = self._models.SendSmsRequest(
            phone_numbers=message.phone, sign_name=self._templates.sign_name, template_code=template.codes["aliyun"],
            template_param=json.dumps(message.params, ensure_ascii=False), out_id=message.out_id)
        try:
            response = self._client.send_sms_with_options(request, self._runtime)
        except Exception as e:  # noqa: BLE001 - the SDK's TeaException carries a code; a network error none
            code = getattr(e, "code", None)
            if isinstance(code, str) and code:
                raise classify(code) from None
            raise SmsFailed(error_codes.SMS_UNREACHABLE, True, type(e).__name__) from None
        body = response.body
        if body.code != "OK":
            raise classify(str(body.code))
        return Sent(self.name, str(body.biz_id or message.out_id))
