"""Helpers for the JSON API tests: JSON requests, row counts, a valid person body."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from caseledger.accounts.models import ApiToken, CaseloadAssignment
from caseledger.people.models import Address, Contact, Person, PersonName

API = "/api/v1"


def send(client: Client, method: str, path: str, body: Any = None, **extra: Any):
    """A JSON request; `body` may be a str (sent as is) or anything json-serialisable."""
    if body is None:
        return getattr(client, method)(path, **extra)
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return getattr(client, method)(path, data=data, content_type="application/json", **extra)


def quiet(client: Client) -> Client:
    """Let a server error come back as a 500 response instead of an exception in the test."""
    client.raise_request_exception = False
    return client


def person_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": {"given_names": "Ana", "family_names": "Pérez"},
        "date_of_birth": "1988-03-14",
        "citizenship": ["GT"],
        "languages": ["es"],
        "interpreter_needed": True,
        "address": {
            "line1": "40 Elm Street",
            "city": "Paterson",
            "region": "NJ",
            "postal_code": "07501",
            "valid_from": "2024-06-01",
        },
        "contacts": [
            {"kind": "phone", "value": "+1 212 736 5000", "preferred": True},
            {"kind": "email", "value": "Ana.Perez@example.org"},
        ],
    }
    body.update(overrides)
    return body


PERSONAL_TABLES = (Person, PersonName, Address, Contact, CaseloadAssignment)


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (*PERSONAL_TABLES, ApiToken)}


@pytest.fixture
def east(users, api_client) -> Client:
    """API client of officer_east."""
    return api_client(users["officer_east"])


@pytest.fixture
def west(users, api_client) -> Client:
    """API client of officer_west."""
    return api_client(users["officer_west"])


@pytest.fixture
def error_of() -> Callable[[Any], dict[str, Any]]:
    """The JSON error body of a response, checked to have the API's error shape."""

    def get(response) -> dict[str, Any]:
        assert response["Content-Type"].startswith("application/json"), response.content
        body = response.json()
        assert isinstance(body.get("detail"), str) and body["detail"], body
        assert isinstance(body.get("code"), str) and body["code"], body
        return body

    return get
