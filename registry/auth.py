"""Operators, argon2 password hashes and expiring opaque tokens.

A token is 32 random bytes (URL-safe text) given to the client once; the database keeps
only its SHA-256, so a copy of the database cannot be replayed as logins.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, delete, insert, select, update

from enrollment import error_codes
from enrollment.errors import DomainError
from enrollment.records import validate_village_code
from sync import protocol

from . import audit
from .db import iso, now_iso, parse_iso, utcnow
from .errors import ApiError
from .schema import ROLES, operator_villages, operators, tokens, villages

USERNAME_INVALID = "operator.username_invalid"
USERNAME_TAKEN = "operator.username_taken"
ROLE_INVALID = "operator.role_invalid"
VILLAGE_REQUIRED = "operator.village_required"
PASSWORD_WEAK = "operator.password_too_short"
OPERATOR_UNKNOWN = "operator.unknown"
DISABLED = error_codes.OPERATOR_DISABLED

_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
PASSWORD_MIN = 8

# TEST-ONLY: YIKATONG_TEST_FAST_ARGON2=1 lowers argon2's cost so a test suite on a small
# machine is not dominated by hashing. Never set it on a real registry; hashes made with
# it still verify later (argon2 stores its parameters) and are re-hashed at the next login.
_FAST = os.environ.get("YIKATONG_TEST_FAST_ARGON2") == "1"
_hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1) if _FAST else PasswordHasher()
_dummy_hash: str | None = None


def _dummy() -> str:
    """A hash to verify against for unknown usernames, so they take as long as known ones."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_hex(16))
    return _dummy_hash


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass
class Operator:
    id: int
    username: str
    role: str
    display_name: str
    villages: list[dict[str, str]] = field(default_factory=list)

    @property
    def village_codes(self) -> set[str]:
        return {v["code"] for v in self.villages}

    @property
    def sees_all(self) -> bool:
        return self.role in ("central", "admin")

    def may_write(self, village_code: str) -> bool:
        return self.sees_all or village_code in self.village_codes

    def to_dict(self) -> dict:
        return {"username": self.username, "display_name": self.display_name, "role": self.role,
                "villages": self.villages}


def ensure_village(conn: Connection, code: str, name: str | None = None) -> None:
    """Create the village if new; set its name when one is given."""
    row = conn.execute(select(villages.c.name).where(villages.c.code == code)).first()
    if row is None:
        conn.execute(insert(villages).values(code=code, name=name or "", created_at=now_iso()))
    elif name and row.name != name:
        conn.execute(update(villages).where(villages.c.code == code).values(name=name))


def add_operator(conn: Connection, *, username: str, password: str, role: str,
                 village_codes: list[str], display_name: str = "", actor: str = "cli") -> int:
    if not _USERNAME.match(username or ""):
        raise DomainError(USERNAME_INVALID, "username")
    if role not in ROLES:
        raise DomainError(ROLE_INVALID, "role", allowed=list(ROLES))
    codes = sorted({validate_village_code(c) for c in village_codes})
    if role == "cadre" and not codes:
        raise DomainError(VILLAGE_REQUIRED, "village")
    if len(password) < PASSWORD_MIN:
        raise DomainError(PASSWORD_WEAK, "password", min=PASSWORD_MIN)
    if conn.execute(select(operators.c.id).where(operators.c.username == username)).first():
        raise DomainError(USERNAME_TAKEN, "username", username=username)
    op_id = conn.execute(insert(operators).values(
        username=username, password_hash=hash_password(password), role=role,
        display_name=display_name or username, disabled=False, created_at=now_iso(),
    ).returning(operators.c.id)).scalar_one()
    for code in codes:
        ensure_village(conn, code)
        conn.execute(insert(operator_villages).values(operator_id=op_id, village_code=code))
    audit.append(conn, actor, audit.OPERATOR_ADDED, username, {"role": role, "villages": codes})
    return op_id


def set_disabled(conn: Connection, username: str, disabled: bool, actor: str = "cli") -> bool:
    """Disable or enable an operator; returns whether anything changed. ``authenticate`` reads the
    flag on every request, so a disabled operator's tokens are refused (403) from the next call."""
    row = conn.execute(select(operators.c.id, operators.c.disabled).where(operators.c.username == username)).first()
    if row is None:
        raise DomainError(OPERATOR_UNKNOWN, "username", username=username)
    if bool(row.disabled) == disabled:
        return False
    conn.execute(update(operators).where(operators.c.id == row.id).values(disabled=disabled))
    audit.append(conn, actor, audit.OPERATOR_DISABLED if disabled else audit.OPERATOR_ENABLED, username, {})
    return True


def load_operator(conn: Connection, op_id: int) -> Operator:
    row = conn.execute(select(operators).where(operators.c.id == op_id)).one()
    vs = conn.execute(
        select(villages.c.code, villages.c.name)
        .join(operator_villages, operator_villages.c.village_code == villages.c.code)
        .where(operator_villages.c.operator_id == op_id).order_by(villages.c.code)
    ).all()
    return Operator(row.id, row.username, row.role, row.display_name,
                    [{"code": v.code, "name": v.name} for v in vs])


def check_device_id(device_id: str) -> str:
    """A device id names a laptop in the audit log and the records: no control, format (bidi
    overrides, zero-width) or separator characters, which could disguise it."""
    if not device_id.strip() or any(unicodedata.category(c)[0] in "CZ" and c != " " for c in device_id):
        raise ApiError(error_codes.DEVICE_ID_INVALID, "the device id has control or bidi characters",
                       field="device_id")
    return device_id


def login(conn: Connection, username: str, password: str, device_id: str, ttl_seconds: int
          ) -> tuple[str, dt.datetime, Operator]:
    check_device_id(device_id)
    row = conn.execute(select(operators).where(operators.c.username == username)).first()
    try:
        _hasher.verify(row.password_hash if row else _dummy(), password)
        ok = row is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok:
        raise ApiError(401, protocol.E_BAD_CREDENTIALS, "wrong username or password")
    if row.disabled:
        raise ApiError(403, DISABLED, "this operator account is disabled")
    if _hasher.check_needs_rehash(row.password_hash) and not _FAST:
        conn.execute(update(operators).where(operators.c.id == row.id)
                     .values(password_hash=_hasher.hash(password)))
    token = secrets.token_urlsafe(32)
    now = utcnow()
    expires = now + dt.timedelta(seconds=ttl_seconds)
    conn.execute(insert(tokens).values(token_hash=token_digest(token), operator_id=row.id,
                                       device_id=device_id, created_at=iso(now), expires_at=iso(expires)))
    # Housekeeping: this operator's long-expired tokens go.
    conn.execute(delete(tokens).where(tokens.c.operator_id == row.id,
                                      tokens.c.expires_at < iso(now - dt.timedelta(days=7))))
    return token, expires, load_operator(conn, row.id)


@dataclass
class Session:
    operator: Operator
    device_id: str
    expires_at: dt.datetime


def authenticate(conn: Connection, authorization: str | None) -> Session:
    if not authorization:
        raise ApiError(401, protocol.E_AUTH_MISSING, "no Authorization: Bearer token")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, protocol.E_AUTH_INVALID, "the Authorization header is not a Bearer token")
    row = conn.execute(
        select(tokens.c.operator_id, tokens.c.device_id, tokens.c.expires_at, operators.c.disabled)
        .join(operators, operators.c.id == tokens.c.operator_id)
        .where(tokens.c.token_hash == token_digest(token))
    ).first()
    if row is None:
        raise ApiError(401, protocol.E_AUTH_INVALID, "unknown token")
    expires = parse_iso(row.expires_at)
    if expires <= utcnow():
        raise ApiError(401, protocol.E_AUTH_EXPIRED, "the token has expired; log in again")
    if row.disabled:
        raise ApiError(403, DISABLED, "this operator account is disabled")
    return Session(load_operator(conn, row.operator_id), row.device_id, expires)
