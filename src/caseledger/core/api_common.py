"""Shared pieces of the JSON API: bearer auth, error bodies, the access context of a request."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from django.http import HttpRequest
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

# What `StrictIn` refuses in any string, said in the schema as a pattern: C0 controls but tab,
# LF and CR, and DEL. A field's own pattern must exclude them too (see `text_pattern`).
_ALLOWED = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_ALLOWED_SPACE = r"[^\S\x0b\x0c\x1c-\x1f]"
_ALLOWED_MARK = r"[^\s\x00-\x1f\x7f]"
NO_CONTROL = f"^{_ALLOWED}*$"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # what `NO_CONTROL` refuses
# For a string id that the selector parses itself (and answers with its own message).
UUID_TEXT: dict[str, Any] = {"format": "uuid"}


def text_pattern(minimum: int = 1) -> dict[str, Any]:
    """`json_schema_extra` for a text that a service strips and wants at least `minimum`
    characters of (its own check and message stay): no control characters, and `minimum`
    characters from the first to the last that is not white space."""
    if minimum <= 1:
        pattern = f"^{_ALLOWED}*{_ALLOWED_MARK}{_ALLOWED}*$"
    else:
        pattern = (
            f"^{_ALLOWED_SPACE}*{_ALLOWED_MARK}{_ALLOWED}{{{minimum - 2},}}"
            f"{_ALLOWED_MARK}{_ALLOWED_SPACE}*$"
        )
    return {"pattern": pattern}


def _document_strings(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """Write into the JSON schema of a `StrictIn` model what it enforces on every string but
    does not say by itself: the length limit of its config and `NO_CONTROL`."""
    limit = model.model_config.get("str_max_length")
    for prop in schema.get("properties", {}).values():
        for node in _string_nodes(prop):
            node.setdefault("pattern", NO_CONTROL)
            if limit is not None:
                node.setdefault("maxLength", limit)


def _string_nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    if node.get("type") == "string" and not {"enum", "const", "format"} & node.keys():
        return [node]
    found = [n for branch in node.get("anyOf", ()) for n in _string_nodes(branch)]
    if isinstance(node.get("items"), dict):
        found += _string_nodes(node["items"])
    return found


class StrictIn(BaseModel):
    """Base of every request body: exact types, no unknown fields, no bare strings, no
    control characters (a NUL byte cannot be stored by PostgreSQL and means nothing here)."""

    model_config = ConfigDict(
        strict=True, extra="forbid", str_max_length=2000, json_schema_extra=_document_strings
    )

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        for text in _strings(value):
            if _CONTROL.search(text):
                raise PydanticCustomError(
                    "control_characters", "must not contain control characters"
                )
        return value


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def _whole_number(value: Any) -> Any:
    """`2.0` is the JSON number `2`: OpenAPI 3.1 (JSON Schema 2020-12) counts it as an integer,
    so an integer field takes it. Fractions, strings and booleans are still refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# An integer in a request body, as JSON Schema means it (see `_whole_number`).
JsonInt = Annotated[int, BeforeValidator(_whole_number)]
# The `row_version` a client read and sends back (optimistic locking; a stale one gets 409).
RowVersion = Annotated[int, Field(ge=1), BeforeValidator(_whole_number)]

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value: Any) -> Any:
    """A date in a request body is a `YYYY-MM-DD` string (JSON Schema's `format: date`).
    Pydantic's lax mode would also take a number as a Unix time (`0` is 1970-01-01) and a
    date-time at midnight; neither is a date a client means."""
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    return date.fromisoformat(value)


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


def links(status: int, targets: dict[str, dict[str, str]]) -> dict[str, Any]:
    """`openapi_extra` naming, for a `status` answer, the operations (by operationId) that take
    one of its ids: `{"caseledger_people_api_get_person": {"person_id": "$response.body#/id"}}`.
    Clients learn where an id leads; Schemathesis' stateful phase follows the links."""
    named = {op: {"operationId": op, "parameters": params} for op, params in targets.items()}
    return {"responses": {status: {"links": named}}}


class ErrorOut(BaseModel):
    detail: str
    code: str
    field: str | None = None


class NotJson(Exception):
    """A request body sent under another Content-Type than application/json (415)."""


def require_json(request: HttpRequest) -> None:
    """A JSON body must say it is JSON: Django and its middleware (django-axes recording a
    failed sign-in) read a request by its Content-Type, and must read what the view reads."""
    if request.content_type != "application/json":
        raise NotJson(request.content_type)

ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    413: ErrorOut,
    415: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
    503: ErrorOut,
}
