"""Validation of identity fields, with messages a person can act on."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

import phonenumbers
import pycountry
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email

from caseledger.core import clock
from caseledger.core.errors import ValidationError

_A_NUMBER = re.compile(r"^A?([0-9]{8,9})$")
OLDEST_BIRTH_YEAR = 1900


def normalize_a_number(value: str | None) -> str | None:
    """'A-123-456-789', 'a12345678' -> 'A123456789', 'A012345678'. None/'' -> None."""
    if value is None:
        return None
    cleaned = _fold_a_number(value)
    if not cleaned:
        return None
    match = _A_NUMBER.match(cleaned)
    if not match:
        raise ValidationError(
            "An A-number is the letter A followed by 8 or 9 digits, for example A123456789.",
            field="a_number",
        )
    return "A" + match.group(1).zfill(9)


def _fold_a_number(value: str) -> str:
    """Full-width letters and digits, and digits of any script, to ASCII; spaces and dashes out."""
    text = unicodedata.normalize("NFKC", str(value))
    text = "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)
    return re.sub(r"[\s\-\u2010-\u2015]", "", text).upper()


def looks_like_a_number(value: str) -> bool:
    return bool(_A_NUMBER.match(_fold_a_number(value)))


def check_date_of_birth(value: date | None) -> date | None:
    if value is None:
        return None
    if value > clock.today():
        raise ValidationError("The date of birth is in the future.", field="date_of_birth")
    if value.year < OLDEST_BIRTH_YEAR:
        raise ValidationError(
            f"A date of birth before {OLDEST_BIRTH_YEAR} is not plausible; check the year.",
            field="date_of_birth",
        )
    return value


def check_countries(codes: list[str]) -> list[str]:
    out = []
    for code in codes:
        code = str(code).strip().upper()
        if pycountry.countries.get(alpha_2=code) is None:
            raise ValidationError(
                f"'{code}' is not an ISO 3166 country code (e.g. MX, HT, VE).", field="citizenship"
            )
        if code not in out:
            out.append(code)
    return out


def check_languages(codes: list[str]) -> list[str]:
    out = []
    for code in codes:
        code = str(code).strip().lower()
        found = (
            pycountry.languages.get(alpha_2=code)
            if len(code) == 2
            else pycountry.languages.get(alpha_3=code)
        )
        if found is None:
            raise ValidationError(
                f"'{code}' is not an ISO 639 language code (e.g. es, ht, ar).", field="languages"
            )
        if code not in out:
            out.append(code)
    return out


def normalize_phone(value: str, region: str = "US") -> str:
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(f"'{value}' is not a valid phone number.", field="contacts")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(value: str) -> str:
    value = value.strip()
    try:
        validate_email(value)
    except DjangoValidationError:
        raise ValidationError(
            f"'{value}' is not a valid email address.", field="contacts"
        ) from None
    return value.lower()


def check_name(given: str, family: str) -> tuple[str, str, str]:
    given, family = (given or "").strip(), (family or "").strip()
    if not given and not family:
        raise ValidationError("A name needs a given name or a family name.", field="names")
    if len(given) > 200 or len(family) > 200:
        raise ValidationError("A name part is longer than 200 characters.", field="names")
    return given, family, " ".join(p for p in (given, family) if p)
