"""One input model per write to person records: the API's request bodies, what the forms
build from their cleaned data, and what the CSV importer builds from a row. Each field's
rules live here (through `validation`, which words them), and a model holds its values
normalised (stripped text, `A123456789`, upper-case country codes, E.164 phones).

| write                                   | model                        |
| --------------------------------------- | ---------------------------- |
| `services.create_person`                | `PersonIn`                   |
| `services.update_person` (PATCH)        | `PersonPatch`                |
| `services.add_name`                     | `NameIn`                     |
| `services.record_address`               | `AddressIn`                  |
| `services.add_contact`                  | `ContactIn`                  |
| `services.record_representation`        | `RepresentationIn`           |
| `services.end_representation`           | `EndRepresentationIn`        |
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from django.utils.translation import gettext as _
from pydantic import Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from caseledger.core.api_common import text_pattern
from caseledger.core.errors import ValidationError
from caseledger.core.inputs import Day, Input, RowVersion, checked, plausible, refuse

from . import validation
from .models import RepresentationForm

# ISO codes as the validators take them (case and surrounding spaces do not matter); whether a
# code exists is checked against pycountry.
COUNTRY = {"pattern": r"^\s*[A-Za-z]{2}\s*$"}
LANGUAGE = {"pattern": r"^\s*[A-Za-z]{2,3}\s*$"}
Country = Annotated[str, Field(max_length=8, json_schema_extra=COUNTRY)]
Language = Annotated[str, Field(max_length=8, json_schema_extra=LANGUAGE)]
NameKindCode = Literal["primary", "alias", "birth", "transliteration"]
MAX_NAME_PART = 200
MAX_FULL_NAME = 400


class NameIn(Input):
    given_names: str = Field(default="", max_length=MAX_NAME_PART)
    family_names: str = Field(default="", max_length=MAX_NAME_PART)
    full_name: str = Field(default="", max_length=MAX_FULL_NAME,
                           description="As written, any script")
    kind: NameKindCode = "alias"

    @model_validator(mode="after")
    def _a_name(self) -> NameIn:
        given, family, joined = checked(validation.check_name, self.given_names,
                                        self.family_names)
        self.given_names, self.family_names = given, family
        self.full_name = self.full_name.strip()
        if not self.full_name and len(joined) > MAX_FULL_NAME:
            refuse(_("The given and family names together are longer than %(max)s characters.")
                   % {"max": MAX_FULL_NAME}, field="names")
        return self

    @property
    def full(self) -> str:
        """The name as written, else the given and family names joined."""
        return self.full_name or " ".join(p for p in (self.given_names, self.family_names) if p)


class AddressIn(Input):
    line1: str = Field(max_length=200, json_schema_extra=text_pattern())
    line2: str = Field(default="", max_length=200)
    city: str = Field(max_length=120, json_schema_extra=text_pattern())
    region: str = Field(default="", max_length=64)
    postal_code: str = Field(default="", max_length=16)
    country: str = Field(default="US", min_length=2, max_length=2, json_schema_extra=COUNTRY)
    valid_from: Day

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        try:
            return validation.check_countries([value])[0]
        except ValidationError as exc:  # its field is the address's country, not citizenship
            refuse(exc.message)

    @field_validator("valid_from")
    @classmethod
    def _plausible(cls, value: date) -> date:
        return plausible(value)  # type: ignore[return-value]

    @model_validator(mode="after")
    def _street_and_city(self) -> AddressIn:
        for name in ("line1", "line2", "city", "region", "postal_code"):
            setattr(self, name, getattr(self, name).strip())
        if not self.line1 or not self.city:
            refuse(_("An address needs a street line and a city."), field="address")
        return self


class ContactIn(Input):
    kind: Literal["phone", "email"]
    value: str = Field(max_length=254)
    preferred: bool = False

    @model_validator(mode="after")
    def _real(self) -> ContactIn:
        check = validation.normalize_phone if self.kind == "phone" else validation.normalize_email
        self.value = checked(check, self.value)
        return self


class _Identity(Input):
    """The identity fields a person record holds, each with its rule."""

    @field_validator("a_number", check_fields=False)
    @classmethod
    def _a_number(cls, value: str | None) -> str | None:
        return checked(validation.normalize_a_number, value)

    @field_validator("date_of_birth", check_fields=False)
    @classmethod
    def _date_of_birth(cls, value: date | None) -> date | None:
        return checked(validation.check_date_of_birth, value)

    @field_validator("citizenship", check_fields=False)
    @classmethod
    def _citizenship(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else checked(validation.check_countries, value)

    @field_validator("languages", check_fields=False)
    @classmethod
    def _languages(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else checked(validation.check_languages, value)


class PersonIn(_Identity):
    name: NameIn
    aliases: list[NameIn] = Field(default_factory=list, max_length=20)
    date_of_birth: Day | None = None
    a_number: str | None = Field(default=None, max_length=16)
    citizenship: list[Country] = Field(default_factory=list, max_length=5)
    languages: list[Language] = Field(default_factory=list, max_length=8)
    interpreter_needed: bool = False
    address: AddressIn | None = None
    contacts: list[ContactIn] = Field(default_factory=list, max_length=10)


#: Fields a PATCH may leave out but not send as null.
REQUIRED_ON_PATCH = ("name", "citizenship", "languages", "interpreter_needed")


class PersonPatch(_Identity):
    """Only the fields sent change. `date_of_birth` and `a_number` may be null (cleared); the
    others may be left out but not null (refused with a message of their own, so the schema
    does not offer it)."""

    row_version: RowVersion = Field(description="The row_version you read; a stale one gets 409")
    name: NameIn | SkipJsonSchema[None] = None
    date_of_birth: Day | None = None
    a_number: str | None = Field(default=None, max_length=16)
    citizenship: Annotated[list[Country], Field(max_length=5)] | SkipJsonSchema[None] = None
    languages: Annotated[list[Language], Field(max_length=8)] | SkipJsonSchema[None] = None
    interpreter_needed: bool | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _no_null(self) -> PersonPatch:
        nulls = sorted(k for k in REQUIRED_ON_PATCH
                       if k in self.model_fields_set and getattr(self, k) is None)
        if nulls:
            refuse(_("%(fields)s cannot be null; leave a field out to keep it unchanged.")
                   % {"fields": ", ".join(nulls)}, field=nulls[0])
        return self

    def changes(self) -> dict[str, Any]:
        """The fields sent (but the version), with their checked values."""
        return {k: getattr(self, k) for k in self.model_fields_set if k != "row_version"}


class RepresentationIn(Input):
    """The filing that makes a representative of record (who it is, an account, is looked up
    by the service)."""

    form: Literal["G-28", "EOIR-28", "EOIR-27"]
    filed_on: Day

    @field_validator("form", mode="before")
    @classmethod
    def _form(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in RepresentationForm.values:
            refuse(f"Unknown form '{value}'. Use G-28, EOIR-28 or EOIR-27.")
        return value

    @field_validator("filed_on")
    @classmethod
    def _not_future(cls, value: date) -> date:
        from caseledger.core import clock

        if value > clock.today():
            refuse("The filing date cannot be in the future.")
        return value


class EndRepresentationIn(Input):
    reason: str = Field(default="", max_length=200)

    @field_validator("reason")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()
