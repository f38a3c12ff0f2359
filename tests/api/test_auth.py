"""POST /api/v1/auth/token, bearer authentication, lockout, and the login events."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from caseledger.accounts.models import ApiToken
from caseledger.ledger.models import Event
from tests.api.conftest import API, send
from tests.conftest import PASSWORD, last_event_id, totp_code

TOKEN = f"{API}/auth/token"


def post_token(client: Client, body, **extra):
    return send(client, "post", TOKEN, body, **extra)


def login_events(mark: int) -> list[Event]:
    return list(Event.objects.filter(id__gt=mark, action="login").order_by("id"))


def test_staff_with_password_and_code_gets_a_token(users):
    user = users["officer_east"]
    code, _device = totp_code(user)
    before = timezone.now()
    response = post_token(Client(), {"username": user.username, "password": PASSWORD, "otp": code})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"token", "expires_at"}
    token = body["token"]
    assert len(token) >= 32
    expires = datetime.fromisoformat(body["expires_at"])
    assert before + settings.API_TOKEN_TTL - timedelta(minutes=1) <= expires
    assert expires <= timezone.now() + settings.API_TOKEN_TTL + timedelta(minutes=1)
    # Only the token's SHA-256 is stored, never the token itself.
    row = ApiToken.objects.get(user=user)
    assert row.key_hash == hashlib.sha256(token.encode()).hexdigest()
    assert not ApiToken.objects.filter(key_hash=token).exists()
    # The token works.
    persons = Client().get(f"{API}/persons", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert persons.status_code == 200, persons.content


def test_wrong_password_is_403_with_a_clear_detail(users, error_of):
    mark = last_event_id()
    response = post_token(
        Client(), {"username": "officer.east", "password": "not-the-password", "otp": "123456"}
    )
    assert response.status_code == 403
    body = error_of(response)
    assert body["code"] == "bad_credentials"
    assert "wrong username or password" in body["detail"].lower()
    assert "token" not in body
    assert not ApiToken.objects.exists()
    [event] = login_events(mark)
    assert event.outcome == "denied"
    assert event.actor_id == ""  # nobody was authenticated
    assert event.detail == {"channel": "api"}


def test_unknown_user_is_refused_like_a_wrong_password(db, error_of):
    response = post_token(Client(), {"username": "nobody.here", "password": PASSWORD})
    assert response.status_code == 403
    assert error_of(response)["code"] == "bad_credentials"


def test_staff_without_a_code_is_refused_with_otp_required(users, error_of):
    user = users["supervisor_east"]
    totp_code(user)  # a confirmed device exists; the caller just did not send a code
    mark = last_event_id()
    response = post_token(Client(), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 403
    body = error_of(response)
    assert body["code"] == "otp_required"
    assert "one-time code" in body["detail"]
    assert not ApiToken.objects.exists()
    [event] = login_events(mark)
    assert (event.outcome, event.actor_id) == ("denied", str(user.pk))
    assert event.detail == {"channel": "api", "reason": "otp"}


@pytest.mark.parametrize("otp", ["000000", "12345a", "", "   "])
def test_staff_with_a_wrong_code_is_refused(users, error_of, otp):
    user = users["privacy"]
    code, _device = totp_code(user)
    if otp == code:  # one chance in a million
        otp = f"{(int(code) + 1) % 1_000_000:06d}"
    response = post_token(Client(), {"username": user.username, "password": PASSWORD, "otp": otp})
    assert response.status_code == 403
    assert error_of(response)["code"] == "otp_required"


def test_staff_without_any_device_cannot_get_a_token(users, error_of):
    response = post_token(Client(), {"username": "admin", "password": PASSWORD, "otp": "123456"})
    assert response.status_code == 403
    assert error_of(response)["code"] == "otp_required"


def test_participant_needs_no_code(users):
    mark = last_event_id()
    response = post_token(Client(), {"username": "participant", "password": PASSWORD})
    assert response.status_code == 200, response.content
    assert ApiToken.objects.filter(user=users["participant"]).count() == 1
    [event] = login_events(mark)
    assert (event.outcome, event.actor_id, event.actor_role) == (
        "allowed",
        str(users["participant"].pk),
        "participant",
    )


def test_successful_staff_login_is_recorded_with_the_request_id(users):
    user = users["officer_west"]
    code, _device = totp_code(user)
    mark = last_event_id()
    response = post_token(
        Client(),
        {"username": user.username, "password": PASSWORD, "otp": code},
        HTTP_X_REQUEST_ID="req-auth-test-0001",
    )
    assert response.status_code == 200
    # The server names the request; the client's id is only echoed back for correlation.
    assert response["X-Correlation-Id"] == "req-auth-test-0001"
    assert response["X-Request-Id"] != "req-auth-test-0001"
    [event] = login_events(mark)
    assert event.outcome == "allowed"
    assert (event.actor_id, event.actor_role, event.office) == (
        str(user.pk),
        "case_officer",
        "west",
    )
    assert event.request_id == response["X-Request-Id"]
    assert event.detail == {"channel": "api"}
    assert event.purpose == "authentication"


@pytest.mark.parametrize(
    "body",
    [
        {"username": "participant", "password": PASSWORD, "remember_me": True},
        {"username": "participant", "password": 12345678901234},
        {"username": ["participant"], "password": PASSWORD},
        {"username": "participant", "password": PASSWORD, "otp": 123456},
        {"username": "participant"},
        {"password": PASSWORD},
        {"username": "", "password": PASSWORD},
        {"username": "participant", "password": "x" * 201},
        {},
    ],
    ids=[
        "unknown-field",
        "password-number",
        "username-list",
        "otp-number",
        "no-password",
        "no-username",
        "empty-username",
        "password-too-long",
        "empty-object",
    ],
)
def test_malformed_token_requests_are_422(users, error_of, body):
    mark = last_event_id()
    response = post_token(Client(), body)
    assert response.status_code == 422, response.content
    assert error_of(response)["code"] == "invalid"
    assert not ApiToken.objects.exists()
    assert not login_events(mark)  # nothing was attempted


@pytest.mark.parametrize("raw", ['"participant"', "42", "null", '["participant", "pw"]'])
def test_a_body_that_is_not_an_object_is_422(users, error_of, raw):
    response = post_token(Client(), raw)
    assert response.status_code == 422, response.content
    error_of(response)
    assert not ApiToken.objects.exists()


def test_unknown_field_is_named_in_the_error(users, error_of):
    response = post_token(
        Client(), {"username": "participant", "password": PASSWORD, "remember_me": True}
    )
    body = error_of(response)
    assert body["field"] == "remember_me"
    assert "remember_me" in body["detail"]


def test_no_token_is_401(db, error_of):
    response = Client().get(f"{API}/persons")
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthenticated"


@pytest.mark.parametrize(
    "header",
    ["Bearer not-a-real-token", "Bearer ", "Basic cGFydGljaXBhbnQ6eA==", "bearer", "Token abc"],
)
def test_bad_token_is_401(users, error_of, header):
    response = Client().get(f"{API}/persons", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthenticated"


def test_expired_token_is_401(users, api_client, error_of):
    client = api_client(users["officer_east"])
    assert client.get(f"{API}/persons").status_code == 200
    ApiToken.objects.filter(user=users["officer_east"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = client.get(f"{API}/persons")
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthenticated"


def test_revoked_token_is_401(users, api_client, error_of):
    client = api_client(users["officer_east"])
    assert client.get(f"{API}/persons").status_code == 200
    ApiToken.objects.filter(user=users["officer_east"]).update(revoked_at=timezone.now())
    response = client.get(f"{API}/persons")
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthenticated"


def test_token_of_a_deactivated_user_is_401(users, api_client):
    client = api_client(users["officer_east"])
    users["officer_east"].is_active = False
    users["officer_east"].save(update_fields=["is_active"])
    assert client.get(f"{API}/persons").status_code == 401


def test_one_users_token_does_not_act_as_another(users, api_client, make_person):
    person = make_person("officer_east")
    west = api_client(users["officer_west"])
    assert west.get(f"{API}/persons/{person.pk}").status_code == 404


def _fail(username: str):
    return post_token(Client(), {"username": username, "password": "wrong-password-123"})


def test_five_failures_lock_the_account_and_the_right_password_is_refused(users, error_of):
    for _ in range(4):
        assert _fail("participant").status_code == 403
    fifth = _fail("participant")
    assert fifth.status_code == 429  # the fifth failure itself locks the account
    mark = last_event_id()
    response = post_token(Client(), {"username": "participant", "password": PASSWORD})
    assert response.status_code == 429, response.content
    body = error_of(response)
    assert body["code"] == "locked"
    assert "locked" in body["detail"].lower()
    assert "token" not in body
    assert not ApiToken.objects.exists()
    # The refused attempt is in the ledger, as a denial.
    [event] = login_events(mark)
    assert event.outcome == "denied"


def test_lockout_is_per_account(users):
    for _ in range(5):
        _fail("participant")
    response = post_token(Client(), {"username": "rep", "password": PASSWORD})
    assert response.status_code == 200, response.content


def test_lockout_of_a_staff_account_holds_even_with_a_valid_code(users):
    user = users["officer_east"]
    code, _device = totp_code(user)
    for _ in range(5):
        _fail(user.username)
    response = post_token(Client(), {"username": user.username, "password": PASSWORD, "otp": code})
    assert response.status_code == 429
    assert not ApiToken.objects.exists()


def test_four_failures_do_not_lock(users):
    for _ in range(4):
        assert _fail("participant").status_code == 403
    response = post_token(Client(), {"username": "participant", "password": PASSWORD})
    assert response.status_code == 200, response.content


def test_a_successful_api_login_resets_the_failure_count(users):
    """AXES_RESET_ON_SUCCESS: a successful sign-in clears earlier failures, so four failures,
    a success and one more failure must not lock the account."""
    for _ in range(4):
        assert _fail("participant").status_code == 403
    assert (
        post_token(Client(), {"username": "participant", "password": PASSWORD}).status_code == 200
    )
    assert _fail("participant").status_code == 403
    response = post_token(Client(), {"username": "participant", "password": PASSWORD})
    assert response.status_code == 200, response.content


def test_every_attempt_leaves_one_login_event_with_its_outcome(users):
    user = users["officer_east"]
    code, _device = totp_code(user)
    mark = last_event_id()
    attempts = [
        ({"username": user.username, "password": "wrong-password-1"}, 403, "denied"),
        ({"username": user.username, "password": PASSWORD}, 403, "denied"),  # no code
        ({"username": user.username, "password": PASSWORD, "otp": code}, 200, "allowed"),
        ({"username": "participant", "password": PASSWORD}, 200, "allowed"),
        ({"username": "ghost", "password": PASSWORD}, 403, "denied"),
    ]
    for body, status, _outcome in attempts:
        assert post_token(Client(), body).status_code == status
    events = login_events(mark)
    assert [e.outcome for e in events] == [a[2] for a in attempts]
    assert all(e.data_category == "account" and e.detail["channel"] == "api" for e in events)
    assert Event.objects.filter(id__gt=mark).count() == len(attempts)


def test_token_revocation_is_documented_with_its_statuses(db):
    spec = Client().get(f"{API}/openapi.json").json()
    operations = spec["paths"][TOKEN]
    revoke = operations["delete"]
    assert revoke["security"], "DELETE needs the bearer token it revokes"
    assert {"204", "401", "422", "503"} <= set(revoke["responses"])
    assert "content" not in revoke["responses"]["204"]  # no body
    assert revoke["responses"]["401"]["content"]["application/json"]["schema"]
    assert "security" not in operations["post"]


def test_delete_token_then_the_token_is_401(users, api_client, error_of):
    client = api_client(users["participant"])
    response = client.delete(TOKEN)
    assert response.status_code == 204, response.content
    assert ApiToken.objects.get(user=users["participant"]).revoked_at is not None
    again = client.get(f"{API}/persons")
    assert again.status_code == 401
    assert error_of(again)["code"] == "unauthenticated"
    assert error_of(client.delete(TOKEN))["code"] == "unauthenticated"
