"""STAND-IN for the page tests only: serves registry/verification/page/ and answers /api/verify/*
as docs/verification-api.md describes, deterministically, with no database and no liveness engine.

The real routes live in registry/verification/routes.py (built separately); the page tests drive
the page against this stand-in so they can script every answer (each refusal code, a retry, a
pass). It records every frame upload so a test can check what the page sent.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse

PAGE_DIR = Path(__file__).resolve().parents[2] / "registry" / "verification" / "page"

TOKEN_GOOD = "tok-good-0123456789abcdef"
TOKEN_EXPIRED = "tok-expired"
TOKEN_USED_UP = "tok-used-up"
TOKEN_LIMITED = "tok-rate-limited"
ID_TAIL = "12345X"
NAME_MASKED = "张*丰"
CONSENT_VERSION = "2026-12-v1"
CONSENT_TEXT = "本次核验收集您的脸部照片和核验结果，仅用于社会保障卡和待遇资格认证的身份核验。"
WRONG_TRIES = 5
RETRY_AFTER_S = 300
STEPS = [{"action": "hold_still", "deadline_ms": 2000}, {"action": "open_mouth", "deadline_ms": 4500},
         {"action": "turn_left", "deadline_ms": 7000}]
FRAMES = {"max_width": 320, "max_bytes": 30000, "interval_ms": 250, "max_count": 60}


@dataclass
class Upload:
    attempt: str
    seq: int
    step: int
    nonce: str
    content_type: str
    body: bytes


@dataclass
class StandIn:
    """The scripted state: ``outcomes`` are the finish answers in order (the last one repeats)."""

    outcomes: list[dict] = field(default_factory=lambda: [
        {"result": "passed", "reasons": [], "attempts_left": 2, "state": "passed"}])
    wrong_tries: int = 0
    sessions: set[str] = field(default_factory=set)
    consented: set[str] = field(default_factory=set)
    attempts: dict[str, str] = field(default_factory=dict)  # attempt -> nonce
    finished: set[str] = field(default_factory=set)
    uploads: list[Upload] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    finish_delay_s: float = 0.0  # lets a test see (and screenshot) the page while it waits


def _refuse(status: int, code: str, message: str, headers: dict | None = None, **data) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "field": None, "data": data}},
                        status_code=status, headers=headers)


def make_app(state: StandIn) -> FastAPI:
    app = FastAPI()

    @app.get("/verify")
    def page():
        return FileResponse(PAGE_DIR / "index.html", media_type="text/html; charset=utf-8")

    @app.get("/verify/{name}")
    def asset(name: str):
        kinds = {"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}
        if name not in kinds:
            return _refuse(404, "not_found", "no such file")
        return FileResponse(PAGE_DIR / name, media_type=kinds[name])

    @app.post("/api/verify/unlock")
    async def unlock(request: Request):
        body = await request.json()
        state.calls.append("unlock")
        token = body.get("token")
        if token == TOKEN_EXPIRED:
            return _refuse(410, "verify.expired", "the link has expired")
        if token == TOKEN_USED_UP:
            return _refuse(409, "verify.used_up", "the link is used up")
        if token == TOKEN_LIMITED:
            return _refuse(429, "verify.rate_limited", "too many tries", {"Retry-After": str(RETRY_AFTER_S)})
        if token != TOKEN_GOOD:
            return _refuse(404, "verify.token_unknown", "no such link")
        if state.wrong_tries >= WRONG_TRIES:
            return _refuse(429, "verify.rate_limited", "too many tries", {"Retry-After": str(RETRY_AFTER_S)})
        if str(body.get("id_tail", "")).upper() != ID_TAIL:
            state.wrong_tries += 1
            return _refuse(403, "verify.id_mismatch", "the ID digits do not match",
                           tries_left=WRONG_TRIES - state.wrong_tries)
        session = uuid.uuid4().hex
        state.sessions.add(session)
        return {"session": session, "state": "opened", "attempts_left": 3,
                "expires_at": "2026-12-04T12:00:00Z", "name_masked": NAME_MASKED,
                "consent": {"version": CONSENT_VERSION, "text": CONSENT_TEXT}}

    @app.post("/api/verify/consent")
    async def consent(request: Request):
        body = await request.json()
        state.calls.append("consent")
        if body.get("session") not in state.sessions:
            return _refuse(401, "verify.session_invalid", "no such session")
        if body.get("version") != CONSENT_VERSION or body.get("agreed") is not True:
            return _refuse(409, "verify.consent_required", "consent needed")
        state.consented.add(body["session"])
        return {"ok": True}

    @app.post("/api/verify/attempts")
    async def attempts(request: Request):
        body = await request.json()
        state.calls.append("attempts")
        if body.get("session") not in state.sessions:
            return _refuse(401, "verify.session_invalid", "no such session")
        if body["session"] not in state.consented:
            return _refuse(409, "verify.consent_required", "consent needed")
        attempt, nonce = uuid.uuid4().hex, uuid.uuid4().hex
        state.attempts[attempt] = nonce
        return {"attempt": attempt, "nonce": nonce, "steps": STEPS, "frames": FRAMES}

    @app.put("/api/verify/attempts/{attempt}/frames/{seq}")
    async def frame(attempt: str, seq: int, step: int, request: Request):
        if attempt not in state.attempts or attempt in state.finished:
            return _refuse(409, "verify.attempt_closed", "attempt closed")
        nonce = request.headers.get("x-verify-nonce", "")
        if nonce != state.attempts[attempt]:
            return _refuse(403, "verify.nonce_mismatch", "wrong nonce")
        body = await request.body()
        if len(body) > FRAMES["max_bytes"]:
            return _refuse(413, "verify.upload_too_large", "frame too large")
        if any(u.attempt == attempt and u.seq == seq for u in state.uploads):
            return {"received": seq}  # a retry after a lost answer: already stored
        state.uploads.append(Upload(attempt, seq, step, nonce, request.headers.get("content-type", ""), body))
        return {"received": seq}

    @app.post("/api/verify/attempts/{attempt}/finish")
    async def finish(attempt: str, request: Request):
        body = await request.json()
        state.calls.append("finish")
        if body.get("session") not in state.sessions:
            return _refuse(401, "verify.session_invalid", "no such session")
        if attempt not in state.attempts or attempt in state.finished:
            return _refuse(409, "verify.attempt_closed", "attempt closed")
        state.finished.add(attempt)
        await asyncio.sleep(state.finish_delay_s)
        return state.outcomes.pop(0) if len(state.outcomes) > 1 else state.outcomes[0]

    return app


class StandInServer:
    """The stand-in app on 127.0.0.1 (a secure context for getUserMedia) in a thread."""

    def __init__(self) -> None:
        self.state = StandIn()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        config = uvicorn.Config(make_app(self.state), log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    def start(self) -> StandInServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the stand-in server did not start")
            time.sleep(0.05)
        return self

    def reset(self) -> StandIn:
        self.state.__init__()
        return self.state

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()
