"""`/healthz`: a load balancer's probe. "ok" only when the node reaches its database; a 503
(never a 500) when it does not; plain HTTP allowed; nothing recorded."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client

from caseledger.ledger.models import Event

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok_after_asking_the_database(django_assert_num_queries: Any) -> None:
    before = Event.objects.count()
    with django_assert_num_queries(1):
        response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Content-Type"].startswith("text/plain")
    assert Event.objects.count() == before  # a probe is not an access to anyone's data


def test_healthz_is_a_503_when_the_database_is_unreachable(monkeypatch: Any) -> None:
    from caseledger.core import views

    class Unreachable:
        def cursor(self) -> Any:
            raise OperationalError("could not connect to server")

    monkeypatch.setattr(views, "connection", Unreachable())
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.content == b"database unavailable"


def test_healthz_is_not_redirected_to_https(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    assert Client().get("/healthz").status_code == 200
    assert Client().get("/accounts/login/").status_code == 301
