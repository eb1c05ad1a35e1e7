"""Residents, households and enrollment records.

An enrollment record is what a cadre captures for one resident. Its ``record_id`` is a
UUID made on the laptop, offline, and never changes; every edit produces a new payload
whose canonical bytes (``enrollment.canonical``) give the content hash sync relies on.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any

from . import id_number as idn
from .canonical import content_hash
from .errors import DomainError, ValidationErrors
from .text import normalize_mobile, normalize_name

PAYLOAD_SCHEMA = "enrollment/1"

RELATIONS = ("户主", "配偶", "子女", "父母", "孙子女", "兄弟姐妹", "其他")
SEXES = ("男", "女")
ATTACHMENT_KINDS = ("consent_form", "id_front", "id_back")

VILLAGE_INVALID = "village_code.invalid"
HOUSEHOLD_INVALID = "household_id.invalid"
RELATION_INVALID = "relation.invalid"
SEX_INVALID = "sex.invalid"
SEX_MISMATCH = "sex.mismatch"
BIRTH_DATE_INVALID = "birth_date.invalid"
BIRTH_DATE_MISMATCH = "birth_date.mismatch"
ADDRESS_TOO_LONG = "address.too_long"
CONSENT_MISSING = "consent.missing"
REGION_UNCONFIRMED = "id_number.region_unconfirmed"
ATTACHMENT_INVALID = "attachment.invalid"
RECORD_ID_INVALID = "record_id.invalid"
FIELD_UNKNOWN = "payload.unknown_field"

_VILLAGE = re.compile(r"^\d{12}$")
_HOUSEHOLD = re.compile(r"^[0-9A-Za-z_-]{1,40}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

PAYLOAD_FIELDS = (
    "schema", "record_id", "village_code", "household_id", "relation", "id_number", "name", "sex",
    "birth_date", "address", "phone", "migrant_worker", "work_place", "consent", "attachments",
    "confirmed_warnings", "note",
)


def new_record_id() -> str:
    return str(uuid.uuid4())


def validate_village_code(code: str) -> str:
    code = (code or "").strip()
    if not _VILLAGE.match(code):
        raise DomainError(VILLAGE_INVALID, "village_code")
    return code


@dataclass(frozen=True)
class Resident:
    """A person as the population registry knows them (a roster row)."""

    id_number: str
    name: str
    sex: str
    birth_date: str
    village_code: str
    household_id: str
    relation: str
    address: str = ""
    phone: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def validate_person(fields: dict[str, Any], *, today: dt.date | None = None,
                    errors: list[DomainError] | None = None) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Check the fields a roster row and an enrollment share; collect every error.

    Returns the normalised fields and the warning codes of the ID number.
    """
    own = errors is None
    errors = [] if errors is None else errors
    out: dict[str, Any] = {}
    warnings: tuple[str, ...] = ()
    info = None

    def attempt(key: str, fn):
        try:
            out[key] = fn()
        except DomainError as e:
            errors.append(e)

    try:
        info = idn.parse(str(fields.get("id_number") or ""), today=today)
        out["id_number"] = info.number
        warnings = info.warnings
    except DomainError as e:
        errors.append(e)
    attempt("name", lambda: normalize_name(str(fields.get("name") or "")))
    attempt("village_code", lambda: validate_village_code(str(fields.get("village_code") or "")))

    hh = str(fields.get("household_id") or "").strip()
    if _HOUSEHOLD.match(hh):
        out["household_id"] = hh
    else:
        errors.append(DomainError(HOUSEHOLD_INVALID, "household_id"))
    rel = str(fields.get("relation") or "").strip()
    if rel in RELATIONS:
        out["relation"] = rel
    else:
        errors.append(DomainError(RELATION_INVALID, "relation", allowed=list(RELATIONS)))

    sex = str(fields.get("sex") or "").strip()
    if sex not in SEXES:
        errors.append(DomainError(SEX_INVALID, "sex"))
    elif info is not None and sex != info.sex:
        errors.append(DomainError(SEX_MISMATCH, "sex", expected=info.sex))
    else:
        out["sex"] = sex
    if info is not None and not sex:
        out["sex"] = info.sex

    bd = str(fields.get("birth_date") or "").strip()
    try:
        parsed = dt.date.fromisoformat(bd) if bd else None
        if bd and not re.match(r"^\d{4}-\d{2}-\d{2}$", bd):
            raise ValueError
    except ValueError:
        errors.append(DomainError(BIRTH_DATE_INVALID, "birth_date"))
        parsed = None
    if info is not None:
        if parsed is not None and parsed != info.birth_date:
            errors.append(DomainError(BIRTH_DATE_MISMATCH, "birth_date", expected=info.birth_date.isoformat()))
        else:
            out["birth_date"] = info.birth_date.isoformat()
    elif parsed is not None:
        out["birth_date"] = parsed.isoformat()

    address = str(fields.get("address") or "").strip()
    if len(address) > 120:
        errors.append(DomainError(ADDRESS_TOO_LONG, "address", max=120))
    out["address"] = address
    attempt("phone", lambda: normalize_mobile(str(fields.get("phone") or "")))

    if own and errors:
        raise ValidationErrors(errors)
    return out, warnings


def validate_enrollment(payload: dict[str, Any], *, today: dt.date | None = None) -> dict[str, Any]:
    """Validate a whole enrollment payload and return its normalised form.

    Raises ValidationErrors listing every problem. Used on the laptop before a record is
    queued and again by the registry on push: the same rules on both ends.
    """
    errors: list[DomainError] = []
    unknown = sorted(set(payload) - set(PAYLOAD_FIELDS))
    for key in unknown:
        errors.append(DomainError(FIELD_UNKNOWN, key))
    rid = str(payload.get("record_id") or "")
    try:
        uuid.UUID(rid)
    except ValueError:
        errors.append(DomainError(RECORD_ID_INVALID, "record_id"))

    person, warnings = validate_person(payload, today=today, errors=errors)
    confirmed = sorted({str(c) for c in (payload.get("confirmed_warnings") or [])})
    for w in warnings:
        if w not in confirmed:
            errors.append(DomainError(REGION_UNCONFIRMED, "id_number", warning=w))

    if payload.get("consent") is not True:
        errors.append(DomainError(CONSENT_MISSING, "consent"))

    attachments = []
    for i, att in enumerate(payload.get("attachments") or []):
        if (not isinstance(att, dict) or att.get("kind") not in ATTACHMENT_KINDS
                or not _SHA256.match(str(att.get("sha256") or ""))
                or not isinstance(att.get("size"), int) or att["size"] < 0):
            errors.append(DomainError(ATTACHMENT_INVALID, "attachments", index=i))
            continue
        attachments.append({"kind": att["kind"], "sha256": att["sha256"], "size": att["size"],
                            "mime": str(att.get("mime") or "application/octet-stream")})

    if errors:
        raise ValidationErrors(errors)
    return {
        "schema": PAYLOAD_SCHEMA,
        "record_id": rid,
        **person,
        "migrant_worker": bool(payload.get("migrant_worker")),
        "work_place": str(payload.get("work_place") or "").strip(),
        "consent": True,
        "attachments": sorted(attachments, key=lambda a: (a["kind"], a["sha256"])),
        "confirmed_warnings": confirmed,
        "note": str(payload.get("note") or "").strip(),
    }


def payload_hash(payload: dict[str, Any]) -> str:
    return content_hash(payload)
