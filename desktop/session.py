"""Plain functions the desktop runs on the store thread (no Qt): login and sync (the form writes
through sync/enrollment_ops.py).

They sit on top of the documented Store / sync-client API; a window submits them through
``StoreOwner.op`` / ``StoreOwner.steps``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from enrollment.errors import DomainError

SYNC_RETRIES = 4
SYNC_BACKOFF_CAP = 8.0


def _is_transport_error(e: BaseException) -> bool:
    try:
        from sync.http import TransportError
    except ImportError:  # pragma: no cover - sync not installed
        TransportError = ()  # type: ignore[assignment]  # noqa: N806
    return isinstance(e, TransportError) or isinstance(e, (ConnectionError, TimeoutError))


def login(store, registry_url: str, username: str, password: str) -> dict[str, Any]:
    """Online when the registry answers, else offline with the cached credential.

    Returns {"operator": dict, "online": bool, "roster_count": int, "registry_url": str}.
    A wrong password the registry refuses is never retried offline.
    """
    from sync.client import login_online

    username = (username or "").strip()
    registry_url = (registry_url or "").strip().rstrip("/")
    if not username:
        raise DomainError("auth.username_empty", "username")
    if not password:
        raise DomainError("auth.password_empty", "password")
    online = True
    try:
        if not registry_url.startswith(("http://", "https://")):
            raise DomainError("auth.registry_url_invalid", "registry_url")
        operator = login_online(store, registry_url, username, password)
    except Exception as e:  # noqa: BLE001
        if not _is_transport_error(e):
            raise
        operator = store.offline_login(username, password)
        online = False
        registry_url = store.registry_url() or registry_url
    return {"operator": operator, "online": online, "roster_count": store.roster_count(),
            "registry_url": registry_url}


def last_sync(store) -> dict[str, Any] | None:
    """The last sync this laptop ran (its time and report), for the sync bar after a restart."""
    from sync.client import last_sync as stored

    return stored(store)


def sync_steps(store, cancel: threading.Event) -> Iterator[Any]:
    """Generator for StoreOwner.steps: yields SyncProgress, returns the SyncReport."""
    from sync.client import SyncClient

    # Retry waits come back as "waiting" steps that the store thread schedules by timer, so
    # autosave and search keep running while the network is down.
    client = SyncClient(store, cancel=cancel, max_retries=SYNC_RETRIES, backoff_cap=SYNC_BACKOFF_CAP)
    try:
        gen = client.run_steps()
        report = None
        while True:
            try:
                progress = next(gen)
            except StopIteration as stop:
                report = stop.value
                break
            yield progress
    finally:
        client.close()
    return report if report is not None else client.report
