"""The self-query page and its API, served only by the public process (``registry serve-verify``).

No bearer token, no protocol version header (the public process checks neither); every refusal is in the
one error shape with a ``selfquery.*`` code, or ``request.invalid`` for a body of the wrong shape (an ID
number that is not 18 characters, a card tail or code that is not 6 digits: that says nothing about
whether anyone exists). See docs/payments/self-query-and-notice.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import BackgroundTasks, FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine

from ..clock import Clock
from ..config import Settings
from ..public_page import client_address, page_file
from ..sms import templates as sms_templates
from ..sms.adapters import gateway_from_settings
from . import service

PAGE = "/query"
APP_JS = "/query/app.js"
APP_CSS = "/query/app.css"
API_PREFIX = "/api/selfquery/"
CODE = "/api/selfquery/code"
PAYMENTS = "/api/selfquery/payments"

PAGE_DIR = Path(__file__).parent / "page"
# (method, path) of every route here: what serve-verify exposes for the self-query.
PUBLIC_ROUTES = frozenset({("GET", PAGE), ("GET", APP_JS), ("GET", APP_CSS), ("POST", CODE), ("POST", PAYMENTS)})
# Nothing is cached (the answers are personal), nothing is framed, no script or style from elsewhere.
PAGE_HEADERS = {
    "Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
_FILES = {PAGE: "index.html", APP_JS: "app.js",
          APP_CSS: "app.css"}


class _Body(BaseModel):
    model_config = ConfigDict(strict=True)


class CodeRequest(_Body):
    id_number: str = Field(pattern=r"^\s*[0-9]{17}[0-9Xx]\s*$", max_length=24)
    card_tail: str = Field(pattern=r"^\s*[0-9]{6}\s*$", max_length=12)


class PaymentsRequest(_Body):
    ticket: str = Field(min_length=1, max_length=100)
    code: str = Field(pattern=r"^\s*[0-9]{6}\s*$", max_length=12)


def register(app: FastAPI, engine: Engine, settings: Settings, clock: Clock) -> None:
    """Add the self-query routes to the public ``app``. ``app.state.selfquery_gateway`` sends the codes:
    the registry's one SMS gateway (``settings.sms``, as the outbox's; none chosen: no code is sent, the
    page answers the same; a test may replace it); ``app.state.selfquery_throttles`` count."""
    state = app.state
    state.selfquery_gateway = gateway_from_settings(settings.sms) if settings.sms.gateway else None
    templates = sms_templates.load(settings.sms.templates)
    state.selfquery_throttles = service.throttles(clock)

    @app.get(PAGE, summary="The residents' payment self-query page", response_class=Response)
    def page() -> Response:
        return page_file(PAGE_DIR, _FILES[PAGE], PAGE_HEADERS)

    @app.get(APP_JS, summary="The page's script", response_class=Response)
    def app_js() -> Response:
        return page_file(PAGE_DIR, _FILES[APP_JS], PAGE_HEADERS)

    @app.get(APP_CSS, summary="The page's style sheet", response_class=Response)
    def app_css() -> Response:
        return page_file(PAGE_DIR, _FILES[APP_CSS], PAGE_HEADERS)

    @app.post(CODE, summary="Ask for an SMS code (the same answer whoever the ID number names)")
    def code(body: CodeRequest, request: Request, background: BackgroundTasks, response: Response) -> dict[str, Any]:
        answer, pending = service.request_code(engine, state.selfquery_throttles[0], body.id_number,
                                               body.card_tail, client_address(request), clock=clock)
        # After the answer has gone: the gateway's time (or its absence) must not show in the answer's.
        background.add_task(service.send, state.selfquery_gateway, pending, templates)
        response.headers.update(PAGE_HEADERS)
        return answer

    @app.post(PAYMENTS, summary="Enter the code: the resident's payments, masked")
    def payments(body: PaymentsRequest, request: Request, response: Response) -> dict[str, Any]:
        answer = service.check_code(engine, state.selfquery_throttles[1], body.ticket, body.code,
                                    client_address(request), clock=clock)
        response.headers.update(PAGE_HEADERS)
        return answer
