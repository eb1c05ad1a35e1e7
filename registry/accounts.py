"""Logins and password re-entry under the throttle, failed attempts in the audit chain, logout.

A wrong password (at login, or re-entered for a decision) counts against the account and the
client's address (``registry.throttle``) and appends an ``auth.login_failed`` /
``auth.password_failed`` entry (username and client address as ``client``, never the password) in its own
transaction, since the refused request's transaction is rolled back. A username that is no account
is whatever was typed (a password in the wrong field, a person's name): the entry names
``UNKNOWN_USER`` and the typed name goes to ``audit_texts``, masked and redactable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine, delete, select

from enrollment import error_codes

from . import audit
from .auth import login, token_digest
from .errors import ApiError
from .schema import operators, tokens
from .throttle import Throttle, address_key, user_key

LOGIN_FAILED = "auth.login_failed"
PASSWORD_FAILED = "auth.password_failed"
LOGGED_OUT = "auth.logged_out"
UNKNOWN_USER = "?"  # the actor and subject of a failed login under a name that is no account

T = TypeVar("T")


def _failed(engine: Engine, throttle: Throttle, action: str, username: str, address: str | None,
            **data: Any) -> None:
    locked = throttle.failure(user_key(username), address_key(address))
    with engine.begin() as conn:
        known = conn.execute(select(operators.c.id).where(operators.c.username == username)).first() is not None
        who, typed = (username, None) if known else (UNKNOWN_USER, username)
        audit.append(conn, who, action, who, {"client": address or "?", "locked": locked, **data},
                     texts={"username": typed})


def throttled_login(engine: Engine, throttle: Throttle, username: str, password: str, device_id: str,
                    ttl_seconds: int, address: str | None) -> Any:
    """``auth.login`` behind the throttle: 429 ``auth.locked`` while the account or address is locked."""
    throttle.check(user_key(username), address_key(address))
    try:
        with engine.begin() as conn:
            result = login(conn, username, password, device_id, ttl_seconds)
    except ApiError as exc:
        if exc.code == error_codes.BAD_CREDENTIALS:
            _failed(engine, throttle, LOGIN_FAILED, username, address)
        raise
    throttle.success(user_key(username))
    return result


def throttled_password(engine: Engine, throttle: Throttle, username: str, address: str | None,
                       during: str, call: Callable[[], T]) -> T:
    """Run ``call`` (a decision that re-checks the password) behind the same throttle as logins."""
    throttle.check(user_key(username), address_key(address))
    try:
        result = call()
    except ApiError as exc:
        if exc.code == error_codes.BAD_CREDENTIALS:
            _failed(engine, throttle, PASSWORD_FAILED, username, address, during=during)
        raise
    return result


def logout(engine: Engine, token: str, username: str, device_id: str) -> None:
    """Revoke this token: the next request with it is 401 ``auth.invalid_token``."""
    with engine.begin() as conn:
        conn.execute(delete(tokens).where(tokens.c.token_hash == token_digest(token)))
        audit.append(conn, username, LOGGED_OUT, username, {"device_id": device_id})
