"""A gateway that appends every message to a local file, one JSON object a line: the recording gateway
behind the same interface, for a registry *process* (the tests and the demo read what it "sent"; nothing
leaves the machine). The file holds phone numbers and codes, so it is created owner-only (0600)."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .gateway import Sent, SmsFailed, SmsMessage


@dataclass
class FileGateway:
    path: Path
    name: str = "file"
    max_send_seconds: float = 5.0   # one append and flush
    max_concurrency: int = 1        # appends are serialised by the lock anyway
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def send(self, message: SmsMessage) -> Sent:
        line = json.dumps({"phone": message.phone, "template": message.template, "params": message.params,
                           "text": message.text}, ensure_ascii=False, sort_keys=True) + "\n"
        with self._lock:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                with os.fdopen(fd, "a", encoding="utf-8") as f:
                    f.write(line)
                    f.flush()
                    count = f.tell()
            except OSError as e:
                raise SmsFailed("sms.file_unwritable", retry=True, detail=type(e).__name__) from None
        return Sent(self.name, f"file-{count}")


def read_messages(path: str | Path) -> list[dict]:
    """Every message a ``FileGateway`` wrote to ``path`` (none yet: an empty list)."""
    p = Path(path)
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
