"""Helpers for the remote verification tests: a registry app on a real database through Starlette's
TestClient, with a fixed clock, operators, an enrolled resident, and ``ScriptedChecker``.

``ScriptedChecker`` is a TEST DOUBLE of the liveness engine (``capture/liveness``, built in parallel;
the adapter is ``registry.verification.engine``): it returns the decision a test gives it and records
what it was asked. Everything else (tokens, sessions, deadlines, caps, the replay check, state moves,
findings, audit) is the real registry code. A real-engine end-to-end test lives elsewhere.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from regkit import HEADERS, PASSWORD, VILLAGE_A, VILLAGE_B
from reviewkit import make_operator, push_new

from registry.api import create_app
from registry.clock import FixedClock
from registry.config import Settings
from registry.db import open_database
from sync import protocol

with warnings.catch_warnings():
    from starlette.exceptions import StarletteDeprecationWarning

    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
PUBLIC_URL = "https://verify.example.cn"
RESIDENT = 7  # regkit.resident(7): enrolled in village A by cadre_a


@dataclass
class ScriptedCheck:
    name: str
    passed: bool
    value: str
    threshold: str
    reason: str | None


@dataclass
class ScriptedDecision:
    """What ``capture.liveness.Decision`` carries (docs/verification-api.md)."""

    passed: bool
    reasons: list[str]
    checks: list[ScriptedCheck]
    match_distance: float | None = 0.41
    passive_score: float | None = 0.93
    evidence: list[int] = field(default_factory=lambda: [0, 1])


def passing() -> ScriptedDecision:
    return ScriptedDecision(True, [], [ScriptedCheck("match", True, "0.4100", "0.5500", None)])


def failing(reason: str = "match.too_low") -> ScriptedDecision:
    return ScriptedDecision(False, [reason], [ScriptedCheck("match", False, "0.7100", "0.5500", reason)],
                            match_distance=0.71)


class ScriptedChecker:
    """TEST DOUBLE for the liveness engine: answers ``decisions`` in order (the last one repeats)."""

    def __init__(self, *decisions: ScriptedDecision) -> None:
        self.decisions = list(decisions) or [passing()]
        self.calls: list[dict[str, Any]] = []

    def decide(self, frames: Any, steps: Any, reference: Any) -> ScriptedDecision:
        self.calls.append({"frames": list(frames), "steps": list(steps), "reference": reference})
        return self.decisions.pop(0) if len(self.decisions) > 1 else self.decisions[0]

    def check_clip(self, clip: Any, actions: Any, reference: Any) -> ScriptedDecision:
        """The offline video path: the same script, recording the clip's frames and the actions."""
        self.calls.append({"frames": list(clip.frames), "actions": list(actions), "reference": reference})
        return self.decisions.pop(0) if len(self.decisions) > 1 else self.decisions[0]


def jpeg(seed: int, size: int = 48) -> bytes:
    """A small JPEG of noise, different for every seed."""
    image = np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return data.tobytes()


class Env:
    def __init__(self, url: str, **settings: Any) -> None:
        self.engine = open_database(url)
        self.clock = FixedClock(T0)
        self.settings = Settings(verify_public_url=PUBLIC_URL, **settings)
        self.cadre_a = make_operator(self.engine, "cadre_a", "cadre", VILLAGE_A)
        self.cadre_b = make_operator(self.engine, "cadre_b", "cadre", VILLAGE_B)
        self.central = make_operator(self.engine, "central", "central")
        self.record = push_new(self.engine, self.cadre_a, RESIDENT)
        self.asgi = create_app(self.engine, self.settings, clock=self.clock)
        self.checker = ScriptedChecker()
        self.asgi.app.state.liveness = self.checker
        self.client = TestClient(self.asgi)
        self.tokens: dict[str, str] = {}

    @property
    def id_number(self) -> str:
        return self.record["id_number"]

    def bearer(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            r = self.client.post(protocol.LOGIN, json={"username": username, "password": PASSWORD,
                                                       "device_id": "laptop-1"}, headers=HEADERS)
            assert r.status_code == 200, r.text
            self.tokens[username] = r.json()["token"]
        return {**HEADERS, "Authorization": f"Bearer {self.tokens[username]}"}

    def create(self, username: str = "cadre_a", **body: Any) -> Any:
        return self.client.post(protocol.VERIFICATIONS, json={"id_number": self.id_number, **body},
                                headers=self.bearer(username))

    def link_token(self, username: str = "cadre_a") -> str:
        r = self.create(username)
        assert r.status_code == 200, r.text
        return r.json()["token"]

    def unlock(self, token: str, tail: str | None = None) -> Any:
        return self.client.post(protocol.VERIFY_UNLOCK, json={"token": token, "id_tail": tail or self.id_number[-6:]})

    def session(self, token: str, consent: bool = True) -> str:
        r = self.unlock(token)
        assert r.status_code == 200, r.text
        session = r.json()["session"]
        if consent:
            c = self.client.post(protocol.VERIFY_CONSENT, json={"session": session, "agreed": True,
                                                                "version": r.json()["consent"]["version"]})
            assert c.status_code == 200, c.text
        return session

    def start(self, session: str) -> Any:
        return self.client.post(protocol.VERIFY_ATTEMPTS, json={"session": session})

    def frame(self, attempt: dict[str, Any], seq: int, data: bytes, step: int = 0, nonce: str | None = None) -> Any:
        return self.client.put(protocol.VERIFY_FRAME.format(attempt=attempt["attempt"], seq=seq),
                               params={"step": step}, content=data,
                               headers={protocol.VERIFY_NONCE_HEADER: attempt["nonce"] if nonce is None else nonce,
                                        "Content-Type": "image/jpeg"})

    def finish(self, attempt: dict[str, Any], session: str) -> Any:
        return self.client.post(protocol.VERIFY_FINISH.format(attempt=attempt["attempt"]), json={"session": session})

    def run_attempt(self, session: str, first_seed: int, frames: int = 3) -> Any:
        """Start an attempt, upload ``frames`` frames (one per 200 ms of server time), finish it."""
        r = self.start(session)
        assert r.status_code == 200, r.text
        attempt = r.json()
        for i in range(frames):
            up = self.frame(attempt, i, jpeg(first_seed + i), step=min(i, 2))
            assert up.status_code == 200, up.text
            self.clock.advance(milliseconds=200)
        return self.finish(attempt, session)

    def close(self) -> None:
        self.client.close()
        self.engine.dispose()


def code(r: Any) -> str:
    return r.json()["error"]["code"]
