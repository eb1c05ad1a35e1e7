"""Who is behind an HTTP request: the FastAPI dependencies every bearer-token router shares
(``Auth``: any operator; ``Staff``: central and admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from . import review
from .auth import Session, authenticate


def current_session(request: Request) -> Session:
    """The operator behind the request's Bearer token (401 with its own code otherwise)."""
    engine: Engine = request.app.state.engine
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        return authenticate(conn, request.headers.get("authorization"))


Auth = Annotated[Session, Depends(current_session)]


def staff_session(session: Auth) -> Session:
    """Central review is for central and admin operators; a cadre gets 403 auth.forbidden."""
    review.require_staff(session.operator)
    return session


Staff = Annotated[Session, Depends(staff_session)]
