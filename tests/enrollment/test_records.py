"""Enrollment payloads: every field error is reported, and the canonical form is stable."""

from __future__ import annotations

import datetime as dt

import pytest

from enrollment import id_number as idn
from enrollment import records, text
from enrollment.canonical import CanonicalFormError, canonical_bytes, content_hash
from enrollment.errors import DomainError, ValidationErrors, mask_id_number

TODAY = dt.date(2026, 11, 27)


def payload(**over):
    base = {
        "record_id": "2b0e4c2e-8f7e-4c55-9a3c-7d1f0f9d1a01",
        "village_code": "510903102201",
        "household_id": "H0001",
        "relation": "户主",
        "id_number": idn.make("510921", dt.date(1988, 7, 1), 31),
        "name": "王𠈌明",
        "sex": "男",
        "birth_date": "1988-07-01",
        "phone": "138 0013 8000",
        "consent": True,
    }
    base.update(over)
    return base


def test_valid_payload_is_normalised():
    """A valid payload comes back complete, with the phone cleaned and the rare character intact."""
    out = records.validate_enrollment(payload(), today=TODAY)
    assert out["name"] == "王𠈌明"
    assert out["phone"] == "13800138000"
    assert out["schema"] == records.PAYLOAD_SCHEMA
    assert set(out) == set(records.PAYLOAD_FIELDS) - set(records.OPTIONAL_FIELDS)


def test_validation_is_idempotent():
    """Validating a normalised payload again changes nothing (the registry relies on it)."""
    once = records.validate_enrollment(payload(), today=TODAY)
    assert records.validate_enrollment(once, today=TODAY) == once


def test_every_error_is_listed():
    """A payload with several problems reports all of them, each at its field."""
    with pytest.raises(ValidationErrors) as info:
        records.validate_enrollment(
            payload(sex="女", birth_date="1988-07-02", phone="12345", consent=False, relation="邻居"),
            today=TODAY,
        )
    found = {(e.code, e.field) for e in info.value.errors}
    assert found == {
        (records.SEX_MISMATCH, "sex"),
        (records.BIRTH_DATE_MISMATCH, "birth_date"),
        (text.PHONE_INVALID, "phone"),
        (records.CONSENT_MISSING, "consent"),
        (records.RELATION_UNKNOWN, "relation"),
    }
    unknown = next(e for e in info.value.errors if e.field == "relation")
    assert unknown.data == {"relation": "邻居"}


def test_region_warning_must_be_confirmed():
    """An anachronistic region code blocks queueing until the cadre confirms the warning."""
    number = idn.make("110201", dt.date(1980, 1, 1), 123)  # 昌平县, abolished in 1982
    with pytest.raises(ValidationErrors) as info:
        records.validate_enrollment(payload(id_number=number, birth_date="1980-01-01"), today=TODAY)
    assert [e.code for e in info.value.errors] == [records.REGION_UNCONFIRMED]
    ok = records.validate_enrollment(
        payload(id_number=number, birth_date="1980-01-01", confirmed_warnings=[idn.REGION_ANACHRONISTIC]),
        today=TODAY,
    )
    assert ok["confirmed_warnings"] == [idn.REGION_ANACHRONISTIC]


def test_unknown_fields_are_refused():
    """A field the schema does not know is an error, not silently dropped."""
    with pytest.raises(ValidationErrors) as info:
        records.validate_enrollment(payload(bank_card="6222"), today=TODAY)
    assert (records.FIELD_UNKNOWN, "bank_card") in {(e.code, e.field) for e in info.value.errors}


def test_canonical_bytes_ignore_key_order_and_unicode_form():
    """Key order and NFC/NFD spelling do not change the canonical bytes or the hash."""
    a = {"name": "Zoë", "b": [1, 2], "a": None}
    b = {"a": None, "b": [1, 2], "name": "Zoe\u0308"}
    assert canonical_bytes(a) == canonical_bytes(b)
    assert content_hash(a) == content_hash(b)


def test_canonical_form_keeps_astral_characters_as_utf8():
    """Characters outside the BMP are written as their 4-byte UTF-8, not as escapes."""
    assert canonical_bytes({"n": "𠈌"}) == '{"n":"𠈌"}'.encode()


def test_floats_have_no_canonical_form():
    """A float is refused, because its text differs between platforms."""
    with pytest.raises(CanonicalFormError):
        canonical_bytes({"amount": 90.5})


@pytest.mark.parametrize("raw", ["", "张三3", "x" * 31])
def test_bad_names_are_refused(raw):
    """Empty names, digits in names and over-long names are refused with a code."""
    with pytest.raises(DomainError):
        text.normalize_name(raw)


def test_pinyin_keys_keep_rare_characters():
    """Search keys romanise what pypinyin knows and keep the rest as themselves."""
    assert text.pinyin_keys("张三") == ("zhangsan", "zs")
    full, initials = text.pinyin_keys("王𠈌明")
    assert "𠈌" in full and "𠈌" in initials


def test_errors_never_print_personal_values():
    """str() of an error (what reaches a log) leaves out the ID number even when it is in the data."""
    err = DomainError("x.y", "id_number", id_number="510921196207010314", length=18)
    assert "510921196207010314" not in str(err)
    assert mask_id_number("510921196207010314") == "5109**********0314"


# ---- protocol v2: face photo, template and duplicate review -----------------------------------

SHA_A, SHA_B = "a" * 64, "b" * 64
OTHER_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def face_payload(**over):
    base = payload(
        attachments=[{"kind": "card_photo", "sha256": SHA_A, "size": 15000, "mime": records.CARD_PHOTO_MIME},
                     {"kind": "face_template", "sha256": SHA_B, "size": 600, "mime": records.FACE_TEMPLATE_MIME}],
        face=records.face_info("dlib_face_recognition_resnet_model_v1", "1",
                               {"image.blurry": 181.25, "pose.yaw": -3.5, "face.count": 1, "eyes.open": True}),
        duplicate_review=[{"record_id": OTHER_ID, "distance": records.format_distance(0.41234), "decision":
                           records.DIFFERENT_PERSON, "reason": " 双胞胎兄弟，已核对户口簿 ", "decided_by": "cadre"}],
    )
    base.update(over)
    return base


def test_face_and_duplicate_review_are_kept_as_strings():
    """Card photo and template are attachment kinds; face quality values and distances travel as strings, and
    the normalised payload validates to itself (no floats anywhere in the canonical form)."""
    out = records.validate_enrollment(face_payload(), today=TODAY)
    assert {a["kind"] for a in out["attachments"]} == {"card_photo", "face_template"}
    assert out["face"]["quality"] == {"eyes.open": "true", "face.count": "1", "image.blurry": "181.2500",
                                      "pose.yaw": "-3.5000"}
    assert out["duplicate_review"] == [{"record_id": OTHER_ID, "distance": "0.4123", "decision": "different_person",
                                        "reason": "双胞胎兄弟，已核对户口簿", "decided_by": "cadre"}]
    assert records.validate_enrollment(out, today=TODAY) == out
    canonical_bytes(out)  # raises on a float


def test_payload_without_face_fields_hashes_as_before():
    """A record without the new optional fields has the same normalised form (and hash) as under protocol v1."""
    out = records.validate_enrollment(payload(), today=TODAY)
    assert "face" not in out and "duplicate_review" not in out
    assert "face" not in records.validate_enrollment(payload(face=None, duplicate_review=[]), today=TODAY)


@pytest.mark.parametrize(("over", "code"), [
    ({"face": {"model": "m", "version": "1", "quality": {"pose.yaw": 0.5}}}, records.FACE_INVALID),
    ({"face": {"model": "", "version": "1"}}, records.FACE_INVALID),
    ({"face": "dlib"}, records.FACE_INVALID),
    ({"face": None}, records.FACE_INFO_MISSING),
    ({"attachments": []}, records.FACE_TEMPLATE_MISSING),
    ({"duplicate_review": {"record_id": OTHER_ID}}, records.DUPLICATE_REVIEW_INVALID),
    ({"duplicate_review": [{"record_id": OTHER_ID, "distance": 0.41, "decision": "different_person",
                            "reason": "x", "decided_by": "cadre"}]}, records.DUPLICATE_REVIEW_INVALID),
    ({"duplicate_review": [{"record_id": "nope", "distance": "0.4100", "decision": "different_person",
                            "reason": "x", "decided_by": "cadre"}]}, records.DUPLICATE_REVIEW_INVALID),
    ({"duplicate_review": [{"record_id": OTHER_ID, "distance": "0.4100", "decision": "maybe",
                            "reason": "x", "decided_by": "cadre"}]}, records.DUPLICATE_REVIEW_DECISION),
    ({"duplicate_review": [{"record_id": OTHER_ID, "distance": "0.4100", "decision": "unreviewed",
                            "reason": "", "decided_by": "cadre"}]}, records.DUPLICATE_REVIEW_DECISION),
    ({"duplicate_review": [{"record_id": OTHER_ID, "distance": "0.4100", "decision": "different_person",
                            "reason": "", "decided_by": "bulk_import"}]}, records.DUPLICATE_REVIEW_DECISION),
    ({"duplicate_review": [{"record_id": OTHER_ID, "distance": "0.4100", "decision": "same_person_other_id",
                            "reason": "  ", "decided_by": "cadre"}]}, records.DUPLICATE_REVIEW_REASON),
    ({"duplicate_review": [{"record_id": OTHER_ID, "distance": "0.4100", "decision": "same_person_other_id",
                            "reason": "长" * 201, "decided_by": "cadre"}]}, records.DUPLICATE_REVIEW_REASON_LONG),
])
def test_bad_face_fields_get_their_code(over, code):
    """Each malformed face / duplicate-review value is refused with its own stable code."""
    with pytest.raises(ValidationErrors) as info:
        records.validate_enrollment(face_payload(**over), today=TODAY)
    assert code in {e.code for e in info.value.errors}


def test_bulk_import_records_an_unreviewed_duplicate():
    """A bulk import leaves the decision to central staff: decision "unreviewed", decided_by "bulk_import"."""
    entry = {"record_id": OTHER_ID, "distance": "0.3000", "decision": records.UNREVIEWED, "reason": "",
             "decided_by": "bulk_import"}
    out = records.validate_enrollment(face_payload(duplicate_review=[entry]), today=TODAY)
    assert out["duplicate_review"] == [entry]


def test_subsidies_are_sorted_distinct_catalogue_codes():
    """The optional subsidies list is normalised to sorted distinct codes and validates to itself."""
    out = records.validate_enrollment(payload(subsidies=["tekun", "dibao", "tekun", " farmland"]), today=TODAY)
    assert out["subsidies"] == ["dibao", "farmland", "tekun"]
    assert records.validate_enrollment(out, today=TODAY) == out
    assert {c for c, _n in records.subsidy_catalogue()} >= set(out["subsidies"])


def test_payload_without_subsidies_hashes_as_under_v2():
    """A record with no subsidies (absent, None or empty) keeps the v2 normalised form: no empty list is added."""
    plain = records.validate_enrollment(payload(), today=TODAY)
    assert "subsidies" not in plain
    for empty in (None, []):
        again = records.validate_enrollment(payload(subsidies=empty), today=TODAY)
        assert again == plain and content_hash(again) == content_hash(plain)


def test_unknown_subsidy_code_is_named():
    """A code that is not in the catalogue is refused with subsidies.unknown naming that code."""
    with pytest.raises(ValidationErrors) as info:
        records.validate_enrollment(payload(subsidies=["dibao", "free_money"]), today=TODAY)
    found = [e for e in info.value.errors if e.code == records.SUBSIDIES_UNKNOWN]
    assert [(e.field, e.data) for e in found] == [("subsidies", {"item": "free_money"})]


@pytest.mark.parametrize("bad", ["dibao", {"dibao": True}, ["dibao", 3], [None], 7])
def test_subsidies_not_a_list_of_strings_is_invalid(bad):
    """Subsidies that are not a list of strings are refused with subsidies.invalid."""
    with pytest.raises(ValidationErrors) as info:
        records.validate_enrollment(payload(subsidies=bad), today=TODAY)
    assert records.SUBSIDIES_INVALID in {e.code for e in info.value.errors}


@pytest.mark.parametrize("ch", ["\u034f", "\u200b", "\ufeff", "\U0010ffff", "\U0002fffd", "\ue000", "\ud800"],
                         ids=["CGJ", "ZWSP", "BOM", "U+10FFFF", "U+2FFFD", "private-use", "surrogate"])
def test_name_refuses_invisible_unassigned_and_surrogate_characters(ch):
    """Default-ignorable, unassigned (Cn) and surrogate code points are name.invalid_character,
    named by code point (never echoed); assigned CJK extension characters stay names."""
    with pytest.raises(DomainError) as info:
        text.normalize_name("王" + ch + "明")
    assert info.value.code == text.NAME_INVALID
    assert info.value.data["character"] == f"U+{ord(ch):04X}"
    assert text.normalize_name("王𠈌𡒄明") == "王𠈌𡒄明"
