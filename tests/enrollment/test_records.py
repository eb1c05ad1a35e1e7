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
    assert set(out) == set(records.PAYLOAD_FIELDS)


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
        (records.RELATION_INVALID, "relation"),
    }


def test_region_warning_must_be_confirmed():
    """An anachronistic region code blocks queueing until the cadre confirms the warning."""
    number = idn.make("510903", dt.date(1980, 1, 1), 123)
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
