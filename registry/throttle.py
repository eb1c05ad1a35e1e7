"""Back-off for wrong passwords: per account and per client address, on server time.

After ``max_failures`` wrong passwords for an account (``user:NAME``), or
``address_max_failures`` from one client address (``addr:HOST``), within ``window`` seconds, the key is locked for ``lock`` seconds; each further lock of the same key doubles, up to
``max_lock``. While either key of a request is locked, the request is refused with 429
``auth.locked`` and ``Retry-After`` (seconds) before any password is checked, the right one
included. A correct password resets the account's key (not the address's).

The state lives in the registry process's memory: one registry process serves the API (uvicorn
with one worker), so this is exact there; a restart forgets the counts (no migration needed). The
clock is injectable (``registry.clock``), so tests move time instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from dataclasses import dataclass, field

from enrollment import error_codes

from .clock import Clock, SystemClock
from .errors import ApiError

_MAX_KEYS = 100_000  # idle keys are pruned beyond this many


@dataclass(frozen=True)
class ThrottleLimits:
    max_failures: int = 5  # wrong passwords for one account within the window before a lock
    address_max_failures: int = 20  # from one address (many cadres may share an office's address)
    window: float = 15 * 60  # seconds
    lock: float = 60  # the first lock, seconds; doubles with each further lock
    max_lock: float = 3600


@dataclass
class _Key:
    failures: list[dt.datetime] = field(default_factory=list)
    locked_until: dt.datetime | None = None
    locks: int = 0
    last: dt.datetime | None = None


def user_key(username: str) -> str:
    return "user:" + username


def address_key(host: str | None) -> str:
    return "addr:" + (host or "?")


class Throttle:
    def __init__(self, limits: ThrottleLimits | None = None, clock: Clock | None = None) -> None:
        self.limits = limits or ThrottleLimits()
        self.clock = clock or SystemClock()
        self._keys: dict[str, _Key] = {}
        self._lock = threading.Lock()

    def retry_after(self, *keys: str) -> int:
        """Seconds until every one of ``keys`` is unlocked (0: none is locked)."""
        now = self.clock.now()
        with self._lock:
            waits = [(k.locked_until - now).total_seconds() for k in map(self._keys.get, keys)
                     if k is not None and k.locked_until is not None and k.locked_until > now]
        return max((math.ceil(w) for w in waits), default=0)

    def check(self, *keys: str) -> None:
        """Raise 429 ``auth.locked`` with ``retry_after`` while any key is locked."""
        wait = self.retry_after(*keys)
        if wait > 0:
            raise ApiError(error_codes.AUTH_LOCKED, "too many wrong passwords; try again later",
                           retry_after=wait)

    def failure(self, *keys: str) -> bool:
        """Count one wrong password against each key; True if this locked one of them."""
        now = self.clock.now()
        horizon = now - dt.timedelta(seconds=self.limits.window)
        locked = False
        with self._lock:
            if len(self._keys) > _MAX_KEYS:
                self._prune(now)
            for name in keys:
                k = self._keys.setdefault(name, _Key())
                k.last = now
                k.failures = [t for t in k.failures if t > horizon] + [now]
                limit = self.limits.address_max_failures if name.startswith("addr:") else self.limits.max_failures
                if len(k.failures) >= limit:
                    seconds = min(self.limits.lock * 2 ** k.locks, self.limits.max_lock)
                    k.locked_until = now + dt.timedelta(seconds=seconds)
                    k.locks += 1
                    k.failures = []
                    locked = True
        return locked

    def failures_left(self, *keys: str) -> int:
        """Wrong tries left before one of ``keys`` locks (0 while one is locked)."""
        now = self.clock.now()
        horizon = now - dt.timedelta(seconds=self.limits.window)
        left = []
        with self._lock:
            for name in keys:
                limit = self.limits.address_max_failures if name.startswith("addr:") else self.limits.max_failures
                k = self._keys.get(name)
                if k is not None and k.locked_until is not None and k.locked_until > now:
                    left.append(0)
                else:
                    left.append(limit - len([t for t in k.failures if t > horizon]) if k is not None else limit)
        return max(0, min(left, default=0))

    def success(self, key: str) -> None:
        with self._lock:
            self._keys.pop(key, None)

    def _prune(self, now: dt.datetime) -> None:
        idle = now - dt.timedelta(seconds=self.limits.window + self.limits.max_lock)
        for name in [n for n, k in self._keys.items() if k.last is not None and k.last < idle]:
            del self._keys[name]
