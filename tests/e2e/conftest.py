"""End-to-end: real ``yikatong`` processes (registry and field CLI) on 127.0.0.1 and real files."""

from __future__ import annotations

import sys
from pathlib import Path

# The field tests' helpers (made-up residents, CSV writers, registry set-up) live in tests/sync.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sync"))
