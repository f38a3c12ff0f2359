"""Identity field validation: normalised values, and refusals a person can act on."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from caseledger.core.errors import ValidationError
from caseledger.people import validation


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("A123456789", "A123456789"),
        ("A12345678", "A012345678"),  # 8 digits are zero-padded to 9
        ("12345678", "A012345678"),
        ("123456789", "A123456789"),
        ("a12345678", "A012345678"),
        ("A-123-456-789", "A123456789"),
        ("A 012 345 678", "A012345678"),
        (" a-12-34-56-78 ", "A012345678"),
        ("A\t123456789", "A123456789"),
    ],
)
def test_a_number_is_normalised(raw, expected):
    assert validation.normalize_a_number(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "   ", " - "])
def test_missing_a_number_is_none(raw):
    assert validation.normalize_a_number(raw) is None


@pytest.mark.parametrize(
    "raw", ["A1234567", "A1234567890", "B12345678", "AA12345678", "A12345678X", "A12.345.678"]
)
def test_bad_a_number_is_refused_with_an_example(raw):
    with pytest.raises(ValidationError) as err:
        validation.normalize_a_number(raw)
    assert err.value.field == "a_number"
    assert "8 or 9 digits" in err.value.message
    assert "A123456789" in err.value.message
    assert err.value.status_code == 422


@pytest.mark.parametrize("raw", ["１２３４５６７８", "A١٢٣٤٥٦٧٨٩"])
def test_a_number_in_non_ascii_digits_is_stored_in_ascii_or_refused(raw):
    """Full-width or Arabic-Indic digits must not produce an A-number that differs from the
    ASCII spelling of the same number (the unique constraint would then not catch a
    duplicate, and an A-number search would miss it)."""
    try:
        result = validation.normalize_a_number(raw)
    except ValidationError:
        return
    assert result is not None
    assert result.isascii(), f"normalised A-number {result!r} is not ASCII"


def test_looks_like_a_number():
    assert validation.looks_like_a_number("A-012-345-678")
    assert validation.looks_like_a_number("a12345678")
    assert not validation.looks_like_a_number("Maria")
    assert not validation.looks_like_a_number("A1234")


# --- date of birth ---------------------------------------------------------------------------


def test_date_of_birth_today_and_1900_are_accepted():
    today = timezone.now().date()
    assert validation.check_date_of_birth(today) == today
    assert validation.check_date_of_birth(date(1900, 1, 1)) == date(1900, 1, 1)
    assert validation.check_date_of_birth(None) is None


def test_future_date_of_birth_is_refused():
    with pytest.raises(ValidationError) as err:
        validation.check_date_of_birth(timezone.now().date() + timedelta(days=1))
    assert err.value.field == "date_of_birth"
    assert "future" in err.value.message


def test_date_of_birth_before_1900_is_refused():
    with pytest.raises(ValidationError) as err:
        validation.check_date_of_birth(date(1899, 12, 31))
    assert err.value.field == "date_of_birth"
    assert "1900" in err.value.message
    assert "check the year" in err.value.message


# --- countries and languages -----------------------------------------------------------------


def test_countries_are_upper_cased_and_deduplicated_in_order():
    assert validation.check_countries(["mx", " HT ", "ve", "MX"]) == ["MX", "HT", "VE"]
    assert validation.check_countries([]) == []


@pytest.mark.parametrize("code", ["XX", "USA", "mex", "", "Mexico"])
def test_unknown_country_is_refused_with_examples(code):
    with pytest.raises(ValidationError) as err:
        validation.check_countries(["MX", code])
    assert err.value.field == "citizenship"
    assert "ISO 3166" in err.value.message
    assert f"'{code.strip().upper()}'" in err.value.message


def test_languages_are_lower_cased_and_deduplicated_in_order():
    assert validation.check_languages(["ES", "ar", "es", "spa", "HT"]) == ["es", "ar", "spa", "ht"]


@pytest.mark.parametrize("code", ["xx", "zzz", "english", "", "e"])
def test_unknown_language_is_refused_with_examples(code):
    with pytest.raises(ValidationError) as err:
        validation.check_languages([code])
    assert err.value.field == "languages"
    assert "ISO 639" in err.value.message
    assert f"'{code}'" in err.value.message


# --- phones and emails -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("(202) 555-0143", "+12025550143"),
        ("202.555.0143", "+12025550143"),
        ("+1 202-555-0143", "+12025550143"),
        ("+52 55 1234 5678", "+525512345678"),
        ("+509 3712 3456", "+50937123456"),
    ],
)
def test_phone_is_normalised_to_e164(raw, expected):
    assert validation.normalize_phone(raw) == expected


def test_phone_region_applies_to_national_numbers():
    assert validation.normalize_phone("55 1234 5678", region="MX") == "+525512345678"


@pytest.mark.parametrize("raw", ["555-0143", "12", "abc", "", "+1 000 000 0000"])
def test_bad_phone_is_refused(raw):
    with pytest.raises(ValidationError) as err:
        validation.normalize_phone(raw)
    assert err.value.field == "contacts"
    assert "not a valid phone number" in err.value.message
    assert f"'{raw}'" in err.value.message


def test_email_is_trimmed_and_lower_cased():
    assert (
        validation.normalize_email("  Maria.Gonzalez@Example.ORG ") == "maria.gonzalez@example.org"
    )


@pytest.mark.parametrize("raw", ["maria@", "no at sign", "a@b", "", "maria@@example.org"])
def test_bad_email_is_refused(raw):
    with pytest.raises(ValidationError) as err:
        validation.normalize_email(raw)
    assert err.value.field == "contacts"
    assert "not a valid email address" in err.value.message


# --- names -----------------------------------------------------------------------------------


def test_name_parts_are_trimmed_and_joined():
    assert validation.check_name(" Maria ", " Gonzalez ") == ("Maria", "Gonzalez", "Maria Gonzalez")
    assert validation.check_name("", "Gonzalez") == ("", "Gonzalez", "Gonzalez")


def test_empty_name_is_refused():
    with pytest.raises(ValidationError) as err:
        validation.check_name(" ", "")
    assert err.value.field == "names"
    assert "given name or a family name" in err.value.message


def test_overlong_name_part_is_refused():
    with pytest.raises(ValidationError) as err:
        validation.check_name("M" * 201, "Gonzalez")
    assert "200 characters" in err.value.message
