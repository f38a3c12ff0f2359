"""The site's root and the logo lead each role to its own work."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import signed_in_client

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_sign_in() -> None:
    response = Client().get("/")
    assert response.status_code == 302 and response["Location"] == reverse("accounts:login")


@pytest.mark.parametrize(("who", "home"), [
    ("officer_east", "people:dashboard"),
    ("supervisor_east", "people:dashboard"),
    ("privacy", "disclosures:queue"),
    ("admin", "accounts:manage"),
    ("participant", "portal:home"),
])
def test_each_role_lands_on_its_own_work(users, who: str, home: str) -> None:
    response = signed_in_client(users[who]).get("/")
    assert response.status_code == 302 and response["Location"] == reverse(home)
