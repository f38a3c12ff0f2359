"""What every write's input model shares: the base class, the field types, and the one
translation of a pydantic error into the message and field a person sees.

Each write of a domain app has one pydantic model (`people/inputs.py`, `cases/inputs.py`),
used as the API's request body, built by the app's forms from their cleaned data, and by the
CSV importer from a row's cells. The model is the one place a field's rules live; its error
messages are the user-facing text, whichever of the three entry points the value came by:

- a rule of our own raises `refuse(message, field=...)` (a `PydanticCustomError` whose text is
  already translated and final);
- pydantic's own checks (a missing field, a wrong type, a string too long, an unknown field)
  are worded here, by error type (`MESSAGES`), in the language active when they are shown.

`describe(error)` gives (where, field, message) of one error; `invalid_input(errors)` the domain
`ValidationError` (422) of a list of them: the API edge, services and the importer use it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Annotated, Any, NoReturn

import pydantic
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from .api_common import RowVersion, StrictIn
from .errors import ValidationError
from .forms import UswdsForm

__all__ = [
    "Day",
    "Input",
    "checked",
    "InputForm",
    "Positional",
    "RowVersion",
    "describe",
    "invalid_input",
    "parse",
    "refuse",
]

#: Error types of pydantic's own checks, worded for a person (the rest keep pydantic's text).
MESSAGES: dict[str, Any] = {
    "missing": gettext_lazy("This field is required."),
    "extra_forbidden": gettext_lazy("Unknown field: leave it out."),
    "string_type": gettext_lazy("Must be text."),
    "bool_type": gettext_lazy("Must be true or false."),
    "int_type": gettext_lazy("Must be a whole number."),
    "int_from_float": gettext_lazy("Must be a whole number."),
    "list_type": gettext_lazy("Must be a list."),
    "model_type": gettext_lazy("Must be an object with named fields."),
    "model_attributes_type": gettext_lazy("Must be an object with named fields."),
    "string_too_long": gettext_lazy("Too long: at most %(max_length)s characters."),
    "string_too_short": gettext_lazy("Too short: at least %(min_length)s characters."),
    "too_long": gettext_lazy("Too many: at most %(max_length)s."),
    "literal_error": gettext_lazy("Choose one of: %(expected)s."),
    "greater_than_equal": gettext_lazy("Must be at least %(ge)s."),
    "string_pattern_mismatch": gettext_lazy("Not in the expected form."),
    "control_characters": gettext_lazy("Must not contain control characters."),
}
# Parts of an error's location that name where django-ninja read a value, not a field.
_SOURCES = frozenset({"body", "payload", "query", "path"})
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
OLDEST_YEAR = 1900


def refuse(message: str, *, field: str | None = None, kind: str = "invalid") -> NoReturn:
    """Refuse a value with `message` (already translated). `field` names the field a client
    and the importer are told of when it is not the one validated (`names` for a name part);
    `kind` is the error's type (`blank`: a value that is required was left empty)."""
    raise PydanticCustomError(kind, message, {"field": field} if field else None)


def checked(check: Any, *args: Any) -> Any:
    """`check(*args)`, a function that refuses with the domain `ValidationError` (the
    validators of `people/validation.py`, ...), with its refusal as a model error: the same
    message and field, so the API, a form and the importer say the same."""
    try:
        return check(*args)
    except ValidationError as exc:
        refuse(exc.message, field=exc.field)


def _location(error: Mapping[str, Any]) -> list[str | int]:
    return [p for p in error.get("loc", ()) if p not in _SOURCES]


def describe(error: Mapping[str, Any]) -> tuple[str, str | None, str]:
    """(where, field, message) of one pydantic error: where is the dotted path of the value
    (`name.given_names`, `contacts.0.value`), field the field a person is pointed to (the
    one `refuse` named, else the innermost named part of the path), message the text."""
    loc = _location(error)
    where = ".".join(str(p) for p in loc) or "request"
    ctx = error.get("ctx") or {}
    named = [p for p in loc if isinstance(p, str)]
    field = ctx.get("field") or (named[-1] if named else None)
    template = MESSAGES.get(error.get("type", ""))
    if template is None:
        return where, field, str(error.get("msg", _("The value is not valid.")))
    values = {k: v for k, v in ctx.items() if k != "field"}
    try:
        return where, field, str(template) % values
    except (KeyError, TypeError, ValueError):
        return where, field, str(error.get("msg", template))


def invalid_input(errors: Sequence[Mapping[str, Any]]) -> ValidationError:
    """The domain error (422, `{"detail","code","field"}` at the API edge) of pydantic errors:
    up to five `where: message` parts, the field of the first."""
    parts, field = [], None
    for error in errors[:5]:
        where, named, message = describe(error)
        field = field or named
        parts.append(f"{where}: {message}")
    return ValidationError("; ".join(parts) or _("The request is not valid."), field=field)


def parse[M: Input](model: type[M], data: Any) -> M:
    """`data` (a mapping, or already a `model`) as a checked `model`; a refusal is the domain
    `ValidationError` (for services called from Python: tests, the demo, other apps)."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise invalid_input(exc.errors(include_url=False)) from None


class Input(StrictIn):
    """Base of every write's input model: exact types, no unknown fields, no control
    characters, strings bounded (`StrictIn`). No custom `__init__` here: pydantic would then
    validate every model twice (`model_validate` calls it); see `Positional`."""


class Positional:
    """Mixin for a subclass of an input model that Python callers may build with the fields
    in their declared order, as the dataclasses these models replaced took them (such a
    subclass is validated twice when built: keep it out of the API and the importer)."""

    def __init__(self, /, *args: Any, **data: Any) -> None:
        if args:
            data.update(zip(type(self).model_fields, args, strict=False))  # type: ignore[attr-defined]
        super().__init__(**data)


def _day(value: Any) -> Any:
    """A date is a `YYYY-MM-DD` string (JSON Schema's `format: date`; a CSV cell, a form's
    date input); Python callers may pass a `date`. A number is not a date (pydantic's lax
    mode would read it as a Unix time), nor is a date-time."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        refuse(_("Must be a date written YYYY-MM-DD."))
    text = value.strip()
    if not text:
        refuse(_("Give a date, written YYYY-MM-DD."), kind="blank")
    if not _DATE.fullmatch(text):
        refuse(_("'%(value)s' is not a date in the form YYYY-MM-DD.") % {"value": text[:40]})
    try:
        return date.fromisoformat(text)
    except ValueError:
        refuse(_("'%(value)s' is not a date that exists (check the day and the month).")
               % {"value": text})


#: A calendar date in a request body, a form or a CSV cell (see `_day`).
Day = Annotated[date, BeforeValidator(_day)]


def plausible(value: date | None, *, future: bool = True) -> date | None:
    """A date a record can hold: not before 1900 (a mistyped year), and not in the future
    unless `future`."""
    from . import clock

    if value is None:
        return None
    if value.year < OLDEST_YEAR:
        refuse(_("A date before %(year)s is not plausible; check the year.")
               % {"year": OLDEST_YEAR})
    if not future and value > clock.today():
        refuse(_("The date is in the future."))
    return value


def _accept(value: Any) -> None:
    """A form field's own checks, left to the input model (see `InputForm`)."""


class InputForm(UswdsForm):
    """A form whose values are checked by a write's input model, not by Django: the fields
    only convert what the browser sent (their `required` and `max_length` still say in the
    page what is expected), `input_data()` makes the model's data of the cleaned values, and
    each of the model's errors is put on the field it concerns (else on the form), in the
    model's words. `self.input` is the checked model."""

    input_model: type[Input]

    def __init__(self, *args: Any, input_model: type[Input] | None = None,
                 extra: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if input_model is not None:
            self.input_model = input_model
        self.extra = extra or {}
        self.input: Any = None
        for field in self.fields.values():
            field.validate = _accept  # type: ignore[method-assign]
            field.run_validators = _accept  # type: ignore[method-assign]

    def input_data(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        """The model's data from the cleaned values (by default: the same names)."""
        return {k: v for k, v in cleaned.items() if k in self.input_model.model_fields}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:  # a value the browser could not have sent (a hidden field)
            return cleaned
        try:
            self.input = self.input_model.model_validate({**self.input_data(cleaned),
                                                         **self.extra})
        except pydantic.ValidationError as exc:
            for error in exc.errors(include_url=False):
                self.add_error(self.field_of(error), describe(error)[2])
        return cleaned

    def field_of(self, error: Mapping[str, Any]) -> str | None:
        """The form field an error of the model belongs on: the innermost named part of its
        location that is a field of this form, else none (an error of the whole form)."""
        for part in reversed(_location(error)):
            if isinstance(part, str) and part in self.fields:
                return part
        return None
