"""The operator's session on this laptop: an argon2 hash of the password (offline login), the token
and its expiry, the operator and the registry address, all in ``meta``."""

from __future__ import annotations

from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from enrollment import error_codes
from enrollment.errors import DomainError

E_OFFLINE_UNKNOWN_USER = "auth.offline_unknown_user"
E_BAD_CREDENTIALS = error_codes.BAD_CREDENTIALS

_PH = PasswordHasher()


def save_login(store: Any, registry_url: str, username: str, password: str, login_response: dict) -> None:
    operator = dict(login_response.get("operator") or {})
    operator.setdefault("username", username)
    credential = _PH.hash(password)
    with store.transaction():
        creds = store.get_meta("credentials", {})
        creds[username] = {"hash": credential, "operator": operator}
        store.set_meta("credentials", creds)
        store.set_meta("registry_url", registry_url.rstrip("/"))
        store.set_meta("username", username)
        store.set_meta("operator", operator)
        store.set_meta("token", login_response.get("token"))
        store.set_meta("token_expires_at", login_response.get("expires_at"))


def offline_login(store: Any, username: str, password: str) -> dict:
    entry = store.get_meta("credentials", {}).get(username)
    if entry is None:
        raise DomainError(E_OFFLINE_UNKNOWN_USER, "username")
    try:
        _PH.verify(entry["hash"], password)
    except (VerificationError, InvalidHashError):
        raise DomainError(E_BAD_CREDENTIALS, "password") from None
    with store.transaction():
        if store.get_meta("username") != username:
            # another operator's token must not be used under this one's name
            store.set_meta("token", None)
            store.set_meta("token_expires_at", None)
        store.set_meta("username", username)
        store.set_meta("operator", entry["operator"])
    return entry["operator"]


def logout(store: Any) -> None:
    """Forget the token; the cached credential stays for the next offline login."""
    with store.transaction():
        store.set_meta("token", None)
        store.set_meta("token_expires_at", None)


def operator_villages(store: Any) -> list[str]:
    op = store.operator() or {}
    return [v["code"] if isinstance(v, dict) else str(v) for v in op.get("villages") or []]
