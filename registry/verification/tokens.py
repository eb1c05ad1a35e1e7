"""The link's credential: a random token (192 bits) the registry keeps only as its SHA-256, the link,
its QR code and the SMS text a cadre sends."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import segno

TOKEN_BYTES = 24  # secrets.token_urlsafe(24): 192 bits, 32 characters
BEIJING = dt.timezone(dt.timedelta(hours=8))


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(secret: str) -> str:
    """The SHA-256 (hex) under which a token or a session key is stored; the secret itself never is."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def link(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/verify?t={token}"


def qr_svg(url: str) -> str:
    """The link as a QR code, an SVG document (segno, pure Python)."""
    return segno.make(url, error="m").svg_inline(scale=4, border=2)


def sms_text(url: str, expires_at: dt.datetime, attempts: int) -> str:
    """A ready-to-send text: names no one ("您"), says what to do, the link and when it expires
    (Beijing time, which the worker reads)."""
    until = expires_at.astimezone(BEIJING).strftime("%m月%d日%H:%M").lstrip("0")
    return (f"【一卡通】您好！请用本人手机打开以下链接完成社保卡远程刷脸核验：{url} 。"
            f"打开后先输入您身份证号的后6位，阅读并同意说明后，对着前置摄像头按语音提示做动作。"
            f"链接在{until}（北京时间）前有效，最多可试{attempts}次。如有疑问请联系村干部。")
