"""How the route matrix reaches every route: the routes themselves (from the URL conf and the
OpenAPI schema), the values of their parameters per scenario, the request bodies of writes,
and one request with what it wrote to the ledger and to the other tables."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from caseledger.access.context import Purpose
from caseledger.ledger.models import Event

from .matrix_world import ACTORS, MISSING_WEEK, PERSON_SCENARIOS, REASON, WEEK, World

API_PREFIX = "/api/v1"
#: Scenarios of a route whose parameters name a person's record; of one whose parameters name
#: another record (a certificate, a template, a week); of one without parameters.
PERSON_SCENARIO_SET = (*PERSON_SCENARIOS, "nonexistent")
RECORD_SCENARIO_SET = ("own", "nonexistent")
PLAIN_SCENARIO_SET = ("own",)
ROLES = (*ACTORS, "anonymous")

#: Parameter name -> the record of the scenario's person it names.
PERSON_PARAMS = {
    "person_id": "person", "person": "person", "subject": "person", "case_id": "case",
    "hearing_id": "hearing", "review_id": "review", "checkin_id": "checkin",
    "enrolment_id": "enrolment", "hold_id": "hold", "item_id": "item", "event_id": "event",
    "address_id": "address",
}
OTHER_PARAMS = ("certificate_id", "member_id", "template_id", "week", "token", "user_id",
                "role_request_id")
FIXED_PARAMS = {"action": "adjourn", "kind": "json"}
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
#: Tables a refused request may write: the ledger, the session (renewed on every request),
#: the sign-in throttle and the API token's last use.
ALLOWED_WRITES = re.compile(
    r'^\s*(INSERT INTO|UPDATE|DELETE FROM)\s+"?(ledger_\w+|django_session|axes_\w+|'
    r'accounts_apitoken)"?', re.IGNORECASE)
WRITE_SQL = re.compile(r'^\s*(INSERT INTO|UPDATE|DELETE FROM)\s+"?(\w+)"?', re.IGNORECASE)


# --- the routes -------------------------------------------------------------------------------
@dataclass(frozen=True)
class PageRoute:
    key: str  # the URL name ("people:detail"), or "/<route>" for an unnamed pattern
    route: str
    params: tuple[str, ...]


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple]:
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = namespace
            if p.namespace:
                ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            name = f"{namespace}:{p.name}" if namespace and p.name else (p.name or "")
            yield prefix + str(p.pattern), name, p


def url_patterns() -> list[tuple[str, str, URLPattern]]:
    """(route, name, pattern) of every URL pattern, the ninja API's included."""
    return list(_walk(get_resolver().url_patterns))


def _is_api_operation(pattern: URLPattern) -> bool:
    return getattr(pattern.callback, "__module__", "").startswith("ninja.operation")


def page_routes() -> list[PageRoute]:
    """Every URL pattern that is not an API operation (those come from the schema)."""
    out = []
    for route, name, pattern in url_patterns():
        if _is_api_operation(pattern):
            continue
        params = tuple(pattern.pattern.regex.groupindex)
        key = name or "/" + route.lstrip("^").rstrip("$")
        out.append(PageRoute(key, route, params))
    return out


def api_route_paths() -> set[str]:
    """The API paths of the URL conf's ninja operations, in the schema's `{param}` form."""
    out = set()
    for route, _name, pattern in url_patterns():
        if _is_api_operation(pattern):
            out.add("/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route))
    return out


@dataclass(frozen=True)
class ApiOperation:
    key: str  # "GET /api/v1/persons/{person_id}"
    method: str
    path: str
    params: tuple[str, ...]  # path and query parameters
    required: tuple[str, ...]
    public: bool


def openapi_schema() -> dict[str, Any]:
    from caseledger.api import api

    return api.get_openapi_schema(path_prefix=API_PREFIX)


def api_operations() -> list[ApiOperation]:
    out = []
    for path, operations in openapi_schema()["paths"].items():
        for method, op in operations.items():
            params = op.get("parameters", [])
            out.append(ApiOperation(
                key=f"{method.upper()} {path}",
                method=method,
                path=path,
                params=tuple(p["name"] for p in params),
                required=tuple(p["name"] for p in params if p.get("required")),
                public=not op.get("security"),
            ))
    return out


#: Writes whose body names the person (their scenarios are the person's).
BODY_PERSON = frozenset({
    "POST /api/v1/disclosures", "POST /api/v1/me/amendments", "POST /api/v1/retention/holds",
    "POST /api/v1/enrolments",
})


def scenarios_for(params: tuple[str, ...], key: str = "") -> tuple[str, ...]:
    if key in BODY_PERSON or any(p in PERSON_PARAMS or p == "request_id" for p in params):
        return PERSON_SCENARIO_SET
    if any(p in OTHER_PARAMS for p in params):
        return RECORD_SCENARIO_SET
    return PLAIN_SCENARIO_SET


# --- parameter values -------------------------------------------------------------------------
def person_of(world: World, scenario: str) -> uuid.UUID | None:
    """The person a scenario names (None for a record that does not exist)."""
    return world.records[scenario].person if scenario in world.records else None


def param_value(world: World, key: str, name: str, scenario: str, role: str) -> str:
    if name in FIXED_PARAMS:
        return FIXED_PARAMS[name]
    missing = scenario == "nonexistent"
    if name == "request_id":
        kind = "amendment" if key.startswith("record:") or "/me/" in key else "disclosure"
        return str(uuid.uuid4()) if missing else str(getattr(world.records[scenario], kind))
    if name in PERSON_PARAMS:
        if missing:
            return "999999999" if name == "event_id" else str(uuid.uuid4())
        return str(getattr(world.records[scenario], PERSON_PARAMS[name]))
    if name == "week":
        return MISSING_WEEK if missing else WEEK
    if name == "token":
        if key == "notices:calendar_feed" and not missing:
            return world.extra["feed_token"]
        return "x" * 40
    if name == "member_id":
        members = world.extra["members"]
        own = members.get(ACTORS.get(role, ""), members["officer_west"])
        return str(uuid.uuid4()) if missing else str(own)
    if name == "certificate_id":
        return str(uuid.uuid4()) if missing else str(world.extra["certificate"])
    if name == "template_id":
        return str(uuid.uuid4()) if missing else str(world.extra["template"])
    if name == "user_id":  # an account an administrator manages (not their own)
        return str(uuid.uuid4()) if missing else str(world.users["officer_west"].pk)
    if name == "role_request_id":
        return str(uuid.uuid4()) if missing else str(world.extra["role_request"])
    raise KeyError(f"no value for the parameter {name!r} of {key}")


def page_url(world: World, route: PageRoute, scenario: str, role: str) -> str:
    kwargs = {p: param_value(world, route.key, p, scenario, role) for p in route.params}
    if route.key.startswith("/"):
        path = route.key
        for name, value in kwargs.items():
            path = path.replace(f"<{name}>", value)
        return path
    return reverse(route.key, kwargs=kwargs)


API_QUERY_DEFAULTS = {"period": "2026", "event": str(uuid.uuid4()), "from": "0", "to": "1"}


def api_url(world: World, op: ApiOperation, scenario: str, role: str) -> str:
    path = op.path
    query = {}
    for name in op.params:
        if f"{{{name}}}" in path:
            path = path.replace(f"{{{name}}}", param_value(world, op.key, name, scenario, role))
        elif name in PERSON_PARAMS or name == "week":
            query[name] = param_value(world, op.key, name, scenario, role)
        elif name in API_QUERY_DEFAULTS and name in op.required:
            query[name] = API_QUERY_DEFAULTS[name]
    if query:
        from urllib.parse import urlencode

        path += "?" + urlencode(query)
    return path


# --- request bodies of writes -----------------------------------------------------------------
def _hearing_day() -> str:
    """A hearing day always ahead (a fixed year would be in the past one day) and within the
    five years a hearing may be scheduled ahead."""
    from caseledger.core import clock

    return f"{clock.today().year + 2}-03-10"


def api_body(world: World, key: str, scenario: str) -> tuple[Any, str] | None:
    """A valid body for a write, so that the request reaches the access check."""
    person = str(person_of(world, scenario) or uuid.uuid4())
    bodies: dict[str, Callable[[], Any]] = {
        "POST /api/v1/auth/token": lambda: {"username": "nobody", "password": "x", "otp": ""},
        "POST /api/v1/persons": lambda: {"name": {"given_names": "Ana", "family_names": "Soto"}},
        "PATCH /api/v1/persons/{person_id}": lambda: {"row_version": 1, "languages": ["en"]},
        "POST /api/v1/persons/{person_id}/addresses": lambda: {
            "line1": "1 Elm St", "city": "Newark", "valid_from": "2026-01-02"},
        "POST /api/v1/cases/{case_id}/transitions": lambda: {"to_status": "closed"},
        "POST /api/v1/cases/{case_id}/hearings": lambda: {
            "calendar": "master", "scheduled_at": f"{_hearing_day()} 09:00"},
        "POST /api/v1/hearings/{hearing_id}/move": lambda: {
            "scheduled_at": f"{_hearing_day()} 09:00"},
        "POST /api/v1/hearings/{hearing_id}/adjourn": lambda: {},
        "POST /api/v1/hearings/{hearing_id}/cancel": lambda: {},
        "POST /api/v1/disclosures": lambda: _disclosure_body(person),
        "POST /api/v1/disclosures/{request_id}/decision": lambda: {
            "decision": "decline", "reason": "Not a routine use for this request."},
        "POST /api/v1/me/amendments": lambda: {
            "person": person, "category": "identity", "what_is_wrong": "Wrong date of birth",
            "correction": "It is 17 May 1990"},
        "POST /api/v1/retention/holds": lambda: {
            "person": person, "reason": "Litigation hold for the appeal"},
        "POST /api/v1/retention/holds/{hold_id}/release": lambda: {
            "reason": "The appeal was decided."},
        "POST /api/v1/reports/anomalies": lambda: {"week": "2026-W03"},
        "POST /api/v1/reports/anomalies/items/{item_id}/finding": lambda: {
            "finding": "Access was part of the case work.", "outcome": "justified"},
        "POST /api/v1/reviews/{review_id}/disposition": lambda: {
            "disposition": "technical_problem", "note": ""},
        "POST /api/v1/users": lambda: {"username": "matrix.new", "role": "case_officer",
                                       "office": "east"},
        "POST /api/v1/users/{user_id}/role": lambda: {"role": "supervisor", "office": "west"},
    }
    if key == "POST /api/v1/checkins":
        return ({"image": _upload("selfie.jpg"), "latitude": "40.7", "longitude": "-74.0",
                 "accuracy": "10"}, "multipart")
    if key == "POST /api/v1/enrolments":
        return ({"photo": _upload("photo.jpg"), "person": person, "level": "standard",
                 "language": "es", "acknowledged": "true",
                 "first_window_at": "2030-01-01T09:00:00+00:00"}, "multipart")
    if key in bodies:
        return json.dumps(bodies[key]()), "application/json"
    return None


def _disclosure_body(person: str) -> dict[str, Any]:
    import base64

    from tests.disclosures.conftest import LETTER

    return {
        "person": person, "agency": "EOIR", "official_name": "Dana Cruz",
        "official_title": "Court Administrator", "official_rank": "supervisor",
        "authority": "ICE-A", "activity": "Removal proceedings before the Newark court",
        "categories": ["identity"], "letter_base64": base64.b64encode(LETTER).decode(),
        "letter_content_type": "application/pdf",
    }


def _upload(name: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, b"not-a-real-photo", content_type="image/jpeg")


def _record(world: World, scenario: str, kind: str) -> Any:
    records = world.records.get(scenario)
    return getattr(records, kind) if records else uuid.uuid4()


def page_body(world: World, key: str, scenario: str) -> dict[str, Any]:
    """Form fields that pass the form, so a POST reaches the service (and its checks)."""
    person = str(person_of(world, scenario) or uuid.uuid4())
    bodies: dict[str, dict[str, Any]] = {
        "people:create": {"given_names": "Ana", "family_names": "Soto"},
        "people:edit": {"given_names": "Ana", "family_names": "Soto", "row_version": "1"},
        "people:address_add": {"line1": "1 Elm St", "city": "Newark", "country": "US",
                               "valid_from": "2026-01-02"},
        "people:case_open": {"case_type": "removal", "court": "NEW", "opened_on": "2026-01-02"},
        "people:break_glass": {"reason": REASON},
        "cases:transition": {"to_status": "closed", "row_version": "1"},
        "cases:hearing_new": {"calendar": "master", "scheduled_at": f"{_hearing_day()}T09:00"},
        "cases:hearing_move": {"scheduled_at": f"{_hearing_day()}T09:00", "row_version": "1"},
        "cases:hearing_confirm": {"row_version": "1"},
        "supervision:review": {"disposition": "technical_problem", "note": ""},
        "supervision:enrolment": {"action": "propose", "kind": "termination",
                                  "reason": "Complied for a year now"},
        "supervision:changes": {"change": str(_record(world, scenario, "change")),
                                "decision": "approve"},
        "record:amendment_new": {"category": "identity", "what_is_wrong": "Wrong birth date",
                                 "correction": "It is 17 May 1990"},
        "record:person_amendment_new": {"category": "identity",
                                        "what_is_wrong": "Wrong birth date",
                                        "correction": "It is 17 May 1990"},
        "record:statement_new": {"text": "I disagree with the refusal.", "confirmed": "yes"},
        "record:amendment": {"step": "acknowledge"},
        "disclosures:detail": {"decision": "decline", "reason": "Not a routine use here."},
        "disclosures:accounting": {"categories": ["identity"], "reason": "Corrected name"},
        "retention:holds": {"person": person, "reason": "Litigation hold for the appeal"},
        "retention:release": {"reason": "The appeal was decided."},
        "reports:anomalies": {"week": "2026-W03"},
        "reports:anomaly_item": {"outcome": "justified", "finding": "Part of the case work.",
                                 "confirm": "yes"},
        "reports:household": {"full_name": "Someone Else"},
        "notices:templates": {"kind": "hearing", "language": "en", "channel": "email",
                              "subject": "Hearing", "body": "Your hearing is on {date}."},
        "notices:calendar": {"action": "create"},
        "notices:alerts": {"alert": str(uuid.uuid4())},
        "accounts:manage_new": {"username": "matrix.new", "role": "case_officer",
                                "office": "east"},
        "accounts:manage_role": {"role": "supervisor", "office": "west"},
        "accounts:manage_role_request": {"decision": "approve"},
    }
    return bodies.get(key, {})


# --- one request ------------------------------------------------------------------------------
@dataclass
class Observed:
    status: int
    events: list[Event]
    writes: list[str]  # tables other than the ledger written by the request
    location: str = ""

    def describe(self, names: dict[uuid.UUID, str]) -> str:
        def listed(e: Event) -> str:
            subjects = e.detail.get("subjects") or []
            return "".join("+" + names.get(uuid.UUID(x), "?") for x in subjects)

        events = ", ".join(
            f"{e.action}/{e.outcome}/{names.get(e.subject_id, e.subject_id) or '-'}{listed(e)}"
            for e in self.events
        )
        where = f" -> {self.location}" if self.location else ""
        writes = f" writes={sorted(set(self.writes))}" if self.writes else ""
        return f"{self.status}{where} [{events}]{writes}"


def last_event_id() -> int:
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


def send(client: Client, method: str, url: str, body: Any = None, content_type: str = "",
         headers: dict[str, str] | None = None) -> Observed:
    mark = last_event_id()
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}
    connection.queries_log.clear()  # a full log (9,000 queries) would capture nothing
    with CaptureQueriesContext(connection) as queries:
        if method == "get":
            response = client.get(url, **extra)
        elif content_type == "multipart":
            response = client.post(url, body or {}, **extra)
        elif content_type:
            response = client.generic(method.upper(), url, body or "",
                                      content_type=content_type, **extra)
        else:
            response = getattr(client, method)(url, body or {}, **extra)
    writes = [
        m.group(2) for q in queries.captured_queries
        if (m := WRITE_SQL.match(q["sql"])) and not ALLOWED_WRITES.match(q["sql"])
    ]
    events = list(Event.objects.filter(id__gt=mark).order_by("id"))
    return Observed(response.status_code, events, writes, response.get("Location", ""))


BREAK_GLASS_HEADERS = {"X-Access-Purpose": Purpose.BREAK_GLASS.value, "X-Access-Reason": REASON}
