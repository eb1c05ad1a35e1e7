"""Where the registry's database lives, and the settings a server runs with."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from resources import user_data_dir

ENV_DATABASE_URL = "REGISTRY_DATABASE_URL"
DEFAULT_TOKEN_TTL = 12 * 3600
DEFAULT_MAX_BODY = 16 * 1024 * 1024
DEFAULT_BLOB_PARTIAL_TTL = 24 * 3600  # seconds since its last chunk before a partial upload is removed
DEFAULT_BLOB_GRACE = 7 * 24 * 3600  # seconds after completion an unreferenced blob is kept
DEFAULT_BLOB_GC_INTERVAL = 3600  # seconds between the server's blob collections
# Remote verification (registry/verification/, docs/verification-api.md).
DEFAULT_VERIFY_TTL_HOURS = 72.0  # a link's life
DEFAULT_VERIFY_ATTEMPTS = 3  # attempts one link allows
DEFAULT_VERIFY_EVIDENCE_DAYS = 90.0  # evidence frames are purged after this many days
DEFAULT_VERIFY_PUBLIC_URL = "http://127.0.0.1:8766"  # where workers' phones reach serve-verify (behind HTTPS)


def default_db_url() -> str:
    return f"sqlite:///{user_data_dir() / 'registry.sqlite3'}"


def resolve_db_url(explicit: str | None = None) -> str:
    """``--db`` wins, then REGISTRY_DATABASE_URL, then the embedded SQLite file."""
    return explicit or os.environ.get(ENV_DATABASE_URL) or default_db_url()


@dataclass(frozen=True)
class Settings:
    token_ttl: int = DEFAULT_TOKEN_TTL  # seconds a login token stays valid
    max_body: int = DEFAULT_MAX_BODY  # bytes a request body may have
    warning_limits: str | None = None  # a warning_limits.json to use instead of resources/review's
    login_max_failures: int = 5  # wrong passwords for one account within 15 min before a lock
    login_address_max_failures: int = 20  # the same from one client address
    login_lock: float = 60  # seconds of the first lock; each further lock doubles (at most an hour)
    # Separation of duties: may the staff member who approved a record also mark its card issued?
    allow_approver_issues_card: bool = False
    # Blob garbage collection (registry.blobs): partial uploads expire, unreferenced blobs go after a grace.
    blob_partial_ttl: float = DEFAULT_BLOB_PARTIAL_TTL
    blob_grace: float = DEFAULT_BLOB_GRACE
    blob_gc_interval: float = DEFAULT_BLOB_GC_INTERVAL
    # Remote verification: the public address links point to (the HTTPS proxy in front of
    # ``registry serve-verify``), a link's life and attempts, and how long evidence frames are kept.
    verify_public_url: str = DEFAULT_VERIFY_PUBLIC_URL
    verify_ttl_hours: float = DEFAULT_VERIFY_TTL_HOURS
    verify_attempts: int = DEFAULT_VERIFY_ATTEMPTS
    verify_evidence_days: float = DEFAULT_VERIFY_EVIDENCE_DAYS
    # TEST-ONLY: a fixed seed for the challenge draw, so a recorded clip's own movements answer it.
    # Production leaves it None (random.SystemRandom).
    verify_challenge_seed: int | None = None
    # The SMS settings (YIKATONG_SMS_*; serve-verify's --sms-gateway/--sms-file override them): the one
    # gateway the outbox and the self-query page's codes go through (registry.sms.adapters.
    # gateway_from_settings; no gateway: the page sends no code), and the secret of the delivery-report
    # endpoint (registry.sms.receipt_routes).
    sms: SmsSettings = field(default_factory=lambda: SmsSettings())


# ---- SMS (issue 13, registry/sms; docs/payments/sms.md) ---------------------------------------------
# The gateway and its parameters come from environment variables (a flag may override the non-secret
# ones); secrets come from the environment only, never from a flag (other users see argv in ps), and
# never appear in a repr, a log line or an error.
SMS_ENV = {
    "gateway": "YIKATONG_SMS_GATEWAY",                # file | recording | http | aliyun | tencent
    "templates": "YIKATONG_SMS_TEMPLATES",            # a templates JSON instead of resources/sms/templates.json
    "timeout": "YIKATONG_SMS_TIMEOUT",                # "CONNECT,READ" seconds (default 3,10)
    "file": "YIKATONG_SMS_FILE",                      # the file gateway's file (one JSON line a message)
    "http_url": "YIKATONG_SMS_HTTP_URL",
    "http_token": "YIKATONG_SMS_HTTP_TOKEN",          # secret
    "aliyun_access_key_id": "YIKATONG_SMS_ALIYUN_ACCESS_KEY_ID",
    "aliyun_access_key_secret": "YIKATONG_SMS_ALIYUN_ACCESS_KEY_SECRET",  # secret
    "aliyun_endpoint": "YIKATONG_SMS_ALIYUN_ENDPOINT",
    "tencent_secret_id": "YIKATONG_SMS_TENCENT_SECRET_ID",
    "tencent_secret_key": "YIKATONG_SMS_TENCENT_SECRET_KEY",  # secret
    "tencent_sdk_app_id": "YIKATONG_SMS_TENCENT_SDK_APP_ID",
    "tencent_region": "YIKATONG_SMS_TENCENT_REGION",
    # The shared secret a gateway's delivery-report push carries (Authorization: Bearer …); unset: no
    # receipt endpoint (secret).
    "receipt_secret": "YIKATONG_SMS_RECEIPT_SECRET",
}
SMS_GATEWAYS = ("file", "recording", "http", "aliyun", "tencent")


@dataclass(frozen=True)
class SmsSettings:
    gateway: str = ""
    templates: str | None = None
    timeout: tuple[float, float] = (3.0, 10.0)
    file: str = ""
    http_url: str = ""
    http_token: str = field(default="", repr=False)
    aliyun_access_key_id: str = ""
    aliyun_access_key_secret: str = field(default="", repr=False)
    aliyun_endpoint: str = "dysmsapi.aliyuncs.com"
    tencent_secret_id: str = ""
    tencent_secret_key: str = field(default="", repr=False)
    tencent_sdk_app_id: str = ""
    tencent_region: str = "ap-guangzhou"
    receipt_secret: str = field(default="", repr=False)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> SmsSettings:
        """The settings from the environment; ``overrides`` (flags) win where not None."""
        from enrollment import error_codes
        from enrollment.errors import DomainError

        env = os.environ if environ is None else environ
        values: dict[str, Any] = {k: env[v].strip() for k, v in SMS_ENV.items() if env.get(v, "").strip()}
        values.update({k: v for k, v in overrides.items() if v is not None})
        if isinstance(values.get("timeout"), str):
            try:
                connect, read = (float(x) for x in values["timeout"].split(","))
                assert 0 < connect <= 120 and 0 < read <= 600
            except (ValueError, AssertionError):
                raise DomainError(error_codes.SMS_NOT_CONFIGURED, "timeout", setting=SMS_ENV["timeout"]) from None
            values["timeout"] = (connect, read)
        settings = cls(**values)
        if settings.gateway and settings.gateway not in SMS_GATEWAYS:
            raise DomainError(error_codes.SMS_NOT_CONFIGURED, "gateway", gateway=settings.gateway)
        return settings

    def require(self, name: str) -> str:
        """A setting the chosen gateway needs, or ``sms.not_configured`` naming its variable."""
        from enrollment import error_codes
        from enrollment.errors import DomainError

        value = getattr(self, name)
        if not value:
            raise DomainError(error_codes.SMS_NOT_CONFIGURED, name, setting=SMS_ENV[name])
        return value
