"""Residents, households and enrollment records.

An enrollment record is what a cadre captures for one resident. Its ``record_id`` is a
UUID made on the laptop, offline, and never changes; every edit produces a new payload
whose canonical bytes (``enrollment.canonical``) give the content hash sync relies on.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import numbers
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import resources

from . import id_number as idn
from . import relations
from .canonical import content_hash
from .errors import DomainError, ValidationErrors
from .text import normalize_mobile, normalize_name

PAYLOAD_SCHEMA = "enrollment/1"

SEXES = ("男", "女")
# Documents a cadre scans or photographs (files picked in the form, CSV columns of ``field enroll``).
DOCUMENT_KINDS = ("consent_form", "id_front", "id_back")
# Made by capture/ from the face photo (protocol v2): the card-standard JPEG and the face template.
CARD_PHOTO = "card_photo"
FACE_TEMPLATE = "face_template"
FACE_KINDS = (CARD_PHOTO, FACE_TEMPLATE)
ATTACHMENT_KINDS = (*DOCUMENT_KINDS, *FACE_KINDS)
CARD_PHOTO_MIME = "image/jpeg"
FACE_TEMPLATE_MIME = "application/x-yikatong-face-template"

# duplicate_review: what was decided about a likely duplicate face found on the laptop.
DIFFERENT_PERSON = "different_person"          # the cadre checked: another person who looks alike
SAME_PERSON_OTHER_ID = "same_person_other_id"  # the cadre says: the same person, under another ID number
UNREVIEWED = "unreviewed"                      # nobody decided (bulk import): central staff review it
DUPLICATE_DECISIONS = (DIFFERENT_PERSON, SAME_PERSON_OTHER_ID, UNREVIEWED)
DECIDED_BY = ("cadre", "bulk_import")
REASON_MAX = 200

VILLAGE_INVALID = "village_code.invalid"
HOUSEHOLD_INVALID = "household_id.invalid"
RELATION_INVALID = relations.EMPTY
RELATION_UNKNOWN = relations.UNKNOWN
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
FACE_INVALID = "face.invalid"                        # not {"model", "version", "quality": {code: string}}
FACE_TEMPLATE_MISSING = "face.template_missing"      # face info without a face_template attachment
FACE_INFO_MISSING = "face.info_missing"              # a face_template attachment without the face info
ATTACHMENT_DUPLICATE_KIND = "attachment.duplicate_kind"
DUPLICATE_REVIEW_INVALID = "duplicate_review.invalid"             # not a list of well-formed entries
DUPLICATE_REVIEW_DECISION = "duplicate_review.decision_invalid"  # decision/decided_by not allowed (together)
DUPLICATE_REVIEW_REASON = "duplicate_review.reason_missing"       # a cadre's decision needs a typed reason
DUPLICATE_REVIEW_REASON_LONG = "duplicate_review.reason_too_long"
SUBSIDIES_INVALID = "subsidies.invalid"    # not a list of strings
WORK_PLACE_EMPTY = "work_place.empty"        # marked away (外出务工) without the city
WORK_PLACE_TOO_LONG = "work_place.too_long"
WORK_PLACE_MAX = 40                            # a province, city and district with room to spare
SUBSIDIES_UNKNOWN = "subsidies.unknown"    # a code not in resources/subsidies/catalogue.json (data: item)

_VILLAGE = re.compile(r"^\d{12}$")
_HOUSEHOLD = re.compile(r"^[0-9A-Za-z_-]{1,40}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_DISTANCE = re.compile(r"^\d+\.\d{4}$")        # "0.3127": a string, no floats in the canonical form
_QUALITY_CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
_QUALITY_VALUE = re.compile(r"^-?\d+(\.\d+)?$|^(true|false)$")
_LABEL = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

PAYLOAD_FIELDS = (
    "schema", "record_id", "village_code", "household_id", "relation", "id_number", "name", "sex",
    "birth_date", "address", "phone", "migrant_worker", "work_place", "consent", "attachments",
    "confirmed_warnings", "note", "face", "duplicate_review", "subsidies",
)
# Present in a normalised payload only when given (a v1 record's canonical bytes stay the same).
OPTIONAL_FIELDS = ("face", "duplicate_review", "subsidies")
SUBSIDIES_MAX = 100


@functools.cache
def subsidy_catalogue() -> tuple[tuple[str, str], ...]:
    """(code, name) of every subsidy item a resident can apply for, in the catalogue's order (protocol v3)."""
    text = resources.path("subsidies", "catalogue.json").read_text(encoding="utf-8")
    return tuple((str(item["code"]), str(item["name"])) for item in json.loads(text)["items"])


def subsidy_codes() -> frozenset[str]:
    return frozenset(code for code, _name in subsidy_catalogue())


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
    sex_hint = str(fields.get("sex") or "").strip() or (info.sex if info is not None else None)
    attempt("relation", lambda: relations.to_code(fields.get("relation"), sex=sex_hint))

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

    kinds = [a["kind"] for a in attachments]
    for kind in sorted({k for k in kinds if kinds.count(k) > 1}):
        errors.append(DomainError(ATTACHMENT_DUPLICATE_KIND, "attachments", kind=kind))

    face = None
    if payload.get("face") is not None:
        face = _validate_face(payload["face"], errors)
        if face is not None and FACE_TEMPLATE not in kinds:
            errors.append(DomainError(FACE_TEMPLATE_MISSING, "face"))
    elif FACE_TEMPLATE in kinds:
        errors.append(DomainError(FACE_INFO_MISSING, "face"))
    review = None
    if payload.get("duplicate_review") is not None:
        review = _validate_duplicate_review(payload["duplicate_review"], rid, errors)
    subsidies = None
    if payload.get("subsidies") is not None:
        subsidies = _validate_subsidies(payload["subsidies"], errors)

    if errors:
        raise ValidationErrors(errors)
    optional: dict[str, Any] = {}
    if face is not None:
        optional["face"] = face
    if review:
        optional["duplicate_review"] = review
    if subsidies:
        optional["subsidies"] = subsidies
    return {
        **optional,
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


def validate_work_place(value: Any) -> str:
    """The city a resident who works away (外出务工) is in, as the cadre marks it: required, its spaces
    collapsed, at most WORK_PLACE_MAX characters (the registry keeps a request's city to 100)."""
    city = " ".join(str(value or "").split())
    if not city:
        raise DomainError(WORK_PLACE_EMPTY, "work_place")
    if len(city) > WORK_PLACE_MAX:
        raise DomainError(WORK_PLACE_TOO_LONG, "work_place", max=WORK_PLACE_MAX)
    return city


def validate_subsidies(value: Any) -> list[str]:
    """The payload's ``subsidies`` on its own (bulk import checks each row's column before anything is stored)."""
    errors: list[DomainError] = []
    codes = _validate_subsidies(value, errors)
    if errors:
        raise ValidationErrors(errors)
    return codes


def _validate_subsidies(value: Any, errors: list[DomainError]) -> list[str]:
    """A list of catalogue codes → sorted and distinct; an empty list is left out of the payload."""
    if not isinstance(value, list) or len(value) > SUBSIDIES_MAX or not all(isinstance(c, str) for c in value):
        errors.append(DomainError(SUBSIDIES_INVALID, "subsidies"))
        return []
    codes = sorted({c.strip() for c in value})
    known = subsidy_codes()
    unknown = [c for c in codes if c not in known]
    for code in unknown:
        errors.append(DomainError(SUBSIDIES_UNKNOWN, "subsidies", item=code))  # not "code": DomainError's own
    return [] if unknown else codes


def _validate_face(face: Any, errors: list[DomainError]) -> dict[str, Any] | None:
    """{"model", "version", "quality": {check code: measured value as a string}}."""
    if not isinstance(face, dict) or set(face) - {"model", "version", "quality"}:
        errors.append(DomainError(FACE_INVALID, "face"))
        return None
    model, version, quality = face.get("model"), face.get("version"), face.get("quality", {})
    if not (isinstance(model, str) and _LABEL.match(model) and isinstance(version, str) and _LABEL.match(version)):
        errors.append(DomainError(FACE_INVALID, "face", part="model"))
        return None
    if not isinstance(quality, dict) or len(quality) > 40 or not all(
            isinstance(k, str) and _QUALITY_CODE.match(k) and isinstance(v, str) and _QUALITY_VALUE.match(v)
            for k, v in quality.items()):
        errors.append(DomainError(FACE_INVALID, "face", part="quality"))
        return None
    return {"model": model, "version": version, "quality": dict(sorted(quality.items()))}


def _validate_duplicate_review(review: Any, record_id: str, errors: list[DomainError]) -> list[dict[str, Any]]:
    """A list of {"record_id", "distance" ("0.3127"), "decision", "reason", "decided_by"}, one per match."""
    if not isinstance(review, list) or len(review) > 20:
        errors.append(DomainError(DUPLICATE_REVIEW_INVALID, "duplicate_review"))
        return []
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    keys = {"record_id", "distance", "decision", "reason", "decided_by"}
    for i, entry in enumerate(review):
        if not isinstance(entry, dict) or set(entry) - keys:
            errors.append(DomainError(DUPLICATE_REVIEW_INVALID, "duplicate_review", index=i))
            continue
        other = str(entry.get("record_id") or "")
        try:
            uuid.UUID(other)
        except ValueError:
            other = ""
        distance = entry.get("distance")
        if not other or other == record_id or other in seen or not (
                isinstance(distance, str) and _DISTANCE.match(distance)):
            errors.append(DomainError(DUPLICATE_REVIEW_INVALID, "duplicate_review", index=i))
            continue
        seen.add(other)
        decision, decided_by = entry.get("decision"), entry.get("decided_by")
        if (decision not in DUPLICATE_DECISIONS or decided_by not in DECIDED_BY
                or (decided_by == "bulk_import") != (decision == UNREVIEWED)):
            errors.append(DomainError(DUPLICATE_REVIEW_DECISION, "duplicate_review", index=i,
                                      allowed=list(DUPLICATE_DECISIONS)))
            continue
        reason = entry.get("reason")
        reason = reason.strip() if isinstance(reason, str) else ""
        if decided_by == "cadre" and not reason:
            errors.append(DomainError(DUPLICATE_REVIEW_REASON, "duplicate_review", index=i))
            continue
        if len(reason) > REASON_MAX:
            errors.append(DomainError(DUPLICATE_REVIEW_REASON_LONG, "duplicate_review", index=i, max=REASON_MAX))
            continue
        out.append({"record_id": other, "distance": distance, "decision": decision, "reason": reason,
                    "decided_by": decided_by})
    return sorted(out, key=lambda e: (Decimal(e["distance"]), e["record_id"]))


def format_distance(distance: float) -> str:
    """A face distance as the payload carries it: a string with 4 decimals (no floats in canonical bytes)."""
    return f"{max(0.0, float(distance)):.4f}"


def face_info(model: str, version: str, quality: dict[str, Any]) -> dict[str, Any]:
    """The payload's ``face``: the template's model and version and each check's measured value as a string."""
    def text(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, numbers.Integral):
            return str(int(v))
        if isinstance(v, numbers.Real) and math.isfinite(float(v)):
            return f"{float(v):.4f}"
        return None  # type: ignore[return-value]
    return {"model": model, "version": version,
            "quality": {k: t for k, v in sorted(quality.items()) if (t := text(v)) is not None}}


def payload_hash(payload: dict[str, Any]) -> str:
    return content_hash(payload)
