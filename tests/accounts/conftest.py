"""Fixtures of the account administration tests: a second administrator, failed sign-ins."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.conf import settings
from django.test import Client

from caseledger.accounts.models import Role, User
from caseledger.ledger.models import Event


@pytest.fixture
def admin2(make_user: Callable[..., User]) -> User:
    return make_user("admin2", Role.ADMINISTRATOR)


def lock_out(username: str) -> None:
    """Fail the sign-in of `username` until django-axes locks the account."""
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": username, "password": "not-the-password"})


def events(mark: int, **filters: str) -> list[Event]:
    return list(Event.objects.filter(id__gt=mark, **filters).order_by("id"))
