"""Which SMS gateway the public process sends its codes through, from its settings.

``Settings.sms_gateway``: ``none`` (the default: no code is ever sent; the page still answers the same)
or ``file`` (``registry.sms.file_gateway``: appends to ``Settings.sms_file``; the tests and the demo).
The real adapters (Aliyun, Tencent, generic HTTP) are another part of issue 13; when they land, this
seam is where their names are added, and it is the only place the self-query page asks for a gateway.
"""

from __future__ import annotations

from pathlib import Path

from ..config import Settings
from ..sms.file_gateway import FileGateway
from ..sms.gateway import SmsGateway

GATEWAYS = ("none", "file")


def gateway_from_settings(settings: Settings) -> SmsGateway | None:
    kind = getattr(settings, "sms_gateway", "none") or "none"
    if kind == "file":
        path = getattr(settings, "sms_file", None)
        if not path:
            raise ValueError("sms_gateway 'file' needs sms_file")
        return FileGateway(Path(path))
    if kind == "none":
        return None
    raise ValueError(f"unknown sms_gateway {kind!r}")
