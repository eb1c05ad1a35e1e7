"""The worker's public routes (docs/verification-api.md): the page and ``/api/verify/*``.

No bearer token and no protocol version header (the ``Guard`` lets ``/api/verify/*`` through without
them): the link's token unlocks a session, the session starts attempts, the attempt's nonce binds its
frames. Every refusal has a ``verify.*`` code in the one error shape (or ``request.invalid`` for a body
of the wrong shape). ``registry serve-verify`` serves only these routes and ``/api/health``
(``PUBLIC_ROUTES``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from sync import protocol

from ..clock import Clock
from ..config import Settings
from ..public_page import client_address, page_file
from . import attempts, challenge, sessions
from .engine import LivenessEngine

PAGE_DIR = Path(__file__).parent / "page"
# (method, path) of every public route: the whole of what serve-verify exposes besides /api/health.
PUBLIC_ROUTES = frozenset({
    ("GET", protocol.VERIFY_PAGE), ("GET", protocol.VERIFY_APP_JS), ("GET", protocol.VERIFY_APP_CSS),
    ("POST", protocol.VERIFY_UNLOCK), ("POST", protocol.VERIFY_CONSENT), ("POST", protocol.VERIFY_ATTEMPTS),
    ("PUT", protocol.VERIFY_FRAME), ("POST", protocol.VERIFY_FINISH)})
# The link's token is in the page's address: it must not leave in a Referer, and nothing is cached.
PAGE_HEADERS = {
    "Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
                               "media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'",
    "Permissions-Policy": "camera=(self), microphone=()",
}
_FILES = {protocol.VERIFY_PAGE: "index.html",
          protocol.VERIFY_APP_JS: "app.js",
          protocol.VERIFY_APP_CSS: "app.css"}
_KEY = Field(min_length=1, max_length=100)


class _Body(BaseModel):
    model_config = ConfigDict(strict=True)


class UnlockRequest(_Body):
    token: str = _KEY
    id_tail: str = Field(min_length=1, max_length=6)


class ConsentRequest(_Body):
    session: str = _KEY
    version: str = Field(min_length=1, max_length=32)
    agreed: bool


class SessionRequest(_Body):
    session: str = _KEY


AttemptId = Annotated[str, PathParam(min_length=1, max_length=36)]


def register(app: FastAPI, engine: Engine, settings: Settings, clock: Clock) -> None:
    """Add the public routes to ``app``; ``app.state.liveness`` (an ``engine.Engine``) decides,
    ``app.state.verify_throttle`` counts wrong ID digits."""
    r, app_state = app, app.state
    app_state.liveness = LivenessEngine()
    app_state.verify_throttle = sessions.throttle_for(clock)

    @r.get(protocol.VERIFY_PAGE, summary="The worker's page (reveals nothing until unlocked)",
           response_class=Response)
    def page(t: Annotated[str | None, Query(max_length=100)] = None) -> Response:
        return page_file(PAGE_DIR, _FILES[protocol.VERIFY_PAGE], PAGE_HEADERS)

    @r.get(protocol.VERIFY_APP_JS, summary="The page's script", response_class=Response)
    def app_js() -> Response:
        return page_file(PAGE_DIR, _FILES[protocol.VERIFY_APP_JS], PAGE_HEADERS)

    @r.get(protocol.VERIFY_APP_CSS, summary="The page's style sheet", response_class=Response)
    def app_css() -> Response:
        return page_file(PAGE_DIR, _FILES[protocol.VERIFY_APP_CSS], PAGE_HEADERS)

    @r.post(protocol.VERIFY_UNLOCK, summary="Unlock a link with the last 6 ID characters (throttled)")
    def unlock(body: UnlockRequest, request: Request) -> dict[str, Any]:
        return sessions.unlock(engine, app_state.verify_throttle, body.token, body.id_tail, client_address(request),
                               settings=settings, clock=clock)

    @r.post(protocol.VERIFY_CONSENT, summary="Record the worker's consent (version and time)")
    def consent(body: ConsentRequest) -> dict[str, Any]:
        return sessions.agree(engine, body.session, body.version, body.agreed, clock=clock)

    @r.post(protocol.VERIFY_ATTEMPTS, summary="Start an attempt: the drawn challenge, its nonce, the frame limits")
    def start(body: SessionRequest, request: Request) -> dict[str, Any]:
        return attempts.start(engine, body.session, client_address(request), settings=settings, clock=clock)

    @r.put(protocol.VERIFY_FRAME, summary="Upload one frame (JPEG bytes) of a running attempt",
           openapi_extra={"requestBody": {"required": True, "content": {
               "image/jpeg": {"schema": {"type": "string", "format": "binary"}}}}})
    async def frame(attempt: AttemptId, request: Request,
                    seq: Annotated[int, PathParam(ge=0, le=challenge.FRAME_MAX_COUNT * 10)],
                    step: Annotated[int, Query(ge=0, le=10)],
                    nonce: Annotated[str | None, Header(alias=protocol.VERIFY_NONCE_HEADER, max_length=100)] = None,
                    ) -> dict[str, Any]:
        data = await request.body()
        return await run_in_threadpool(lambda: attempts.put_frame(engine, attempt, seq, step, nonce, data,
                                                                  clock=clock))

    @r.post(protocol.VERIFY_FINISH, summary="Finish an attempt: the decision, attempts left, the state")
    def finish(attempt: AttemptId, body: SessionRequest) -> dict[str, Any]:
        return attempts.finish(engine, app_state.liveness, attempt, body.session, clock=clock)

