"""Idle timeout (15 minutes, renewed by every request) and sign-out."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from tests.conftest import PASSWORD

LOGIN = "/accounts/login/"
LOGOUT = "/accounts/logout/"
DASHBOARD = "/persons/"


def session_row(client: Client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def test_idle_timeout_settings():
    assert settings.SESSION_COOKIE_AGE == 15 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_COOKIE_HTTPONLY is True


def test_an_expired_session_is_no_longer_signed_in(users, web_client):
    client = web_client(users["officer_east"])
    assert client.get(DASHBOARD).status_code == 200
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    response = client.get(DASHBOARD)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    assert client.session.get(SESSION_KEY) is None


def test_a_session_idle_for_15_minutes_ends(users, web_client):
    client = web_client(users["supervisor_east"])
    assert client.get(DASHBOARD).status_code == 200
    row = session_row(client)
    # As if the last request was 15 minutes and one second ago.
    Session.objects.filter(pk=row.pk).update(
        expire_date=row.expire_date - timedelta(seconds=settings.SESSION_COOKIE_AGE + 1)
    )
    assert client.get(DASHBOARD).status_code == 302


def test_every_request_renews_the_idle_timeout(users, web_client):
    client = web_client(users["supervisor_east"])
    assert client.get(DASHBOARD).status_code == 200
    key = client.session.session_key
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() + timedelta(minutes=1)
    )
    before = timezone.now()
    assert client.get(DASHBOARD).status_code == 200
    renewed = Session.objects.get(session_key=key).expire_date
    age = timedelta(seconds=settings.SESSION_COOKIE_AGE)
    assert before + age - timedelta(minutes=1) <= renewed <= timezone.now() + age
    assert client.get(DASHBOARD).status_code == 200


def test_session_cookie_ends_with_the_browser(users):
    client = Client()
    response = client.post(LOGIN, {"username": "participant", "password": PASSWORD})
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"]
    assert not cookie["max-age"] and not cookie["expires"]


def test_logout_is_post_only(users, web_client):
    client = web_client(users["officer_east"])
    response = client.get(LOGOUT)
    assert response.status_code == 405
    assert client.session.get(SESSION_KEY) == str(users["officer_east"].pk)
    assert client.get(DASHBOARD).status_code == 200


def test_logout_ends_the_session(users, web_client):
    client = web_client(users["officer_east"])
    old_key = client.session.session_key
    response = client.post(LOGOUT)
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert client.session.get(SESSION_KEY) is None
    assert not Session.objects.filter(session_key=old_key).exists()
    dashboard = client.get(DASHBOARD)
    assert dashboard.status_code == 302 and dashboard["Location"].startswith(LOGIN)


def test_an_old_session_cookie_is_useless_after_logout(users, web_client):
    client = web_client(users["participant"])
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.post(LOGOUT)
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = cookie
    response = replay.get(DASHBOARD)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_logout_needs_the_csrf_token(users, web_client):
    signed_in = web_client(users["supervisor_east"])
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = signed_in.cookies
    response = strict.post(LOGOUT)
    assert response.status_code == 403
    assert signed_in.get(DASHBOARD).status_code == 200
