"""Web sign-in: password, then TOTP for staff; the MFA middleware; lockout; login events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from caseledger.accounts.views import PENDING_KEY
from caseledger.ledger.models import Event
from tests.conftest import PASSWORD, last_event_id, totp_code

LOGIN = "/accounts/login/"
MFA = "/accounts/mfa/"
DASHBOARD = "/persons/"


def sign_in(client: Client, username: str, password: str = PASSWORD, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def login_events(mark: int) -> list[Event]:
    return list(Event.objects.filter(id__gt=mark, action="login").order_by("id"))


def signed_in_as(client: Client):
    return client.session.get(SESSION_KEY)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_login_page_renders(db):
    response = Client().get(LOGIN)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html and 'name="password"' in html
    assert 'type="password"' in html
    assert "csrfmiddlewaretoken" in html


def test_wrong_password_is_a_401_page_with_a_message_and_a_denied_event(users):
    client = Client()
    mark = last_event_id()
    response = sign_in(client, "officer.east", "not-the-password")
    assert response.status_code == 401
    assert "Wrong username or password." in response.content.decode()
    assert signed_in_as(client) is None
    [event] = login_events(mark)
    assert (event.outcome, event.actor_id) == ("denied", "")
    assert event.detail == {"channel": "web"}
    assert event.data_category == "account" and event.purpose == "authentication"


def test_unknown_user_gets_the_same_message(db):
    response = sign_in(Client(), "nobody.at.all", "whatever-password")
    assert response.status_code == 401
    assert "Wrong username or password." in response.content.decode()


def test_empty_form_is_re_shown_without_an_event(db):
    mark = last_event_id()
    response = Client().post(LOGIN, {"username": "", "password": ""})
    assert response.status_code == 200
    assert not login_events(mark)


def test_staff_password_leads_to_the_mfa_step_not_a_session(users):
    client = Client()
    mark = last_event_id()
    response = sign_in(client, "officer.east")
    assert response.status_code == 302
    assert response["Location"] == MFA
    assert signed_in_as(client) is None
    assert client.session[PENDING_KEY] == str(users["officer_east"].pk)
    # Still not signed in: the dashboard sends the user to sign in.
    dashboard = client.get(DASHBOARD)
    assert dashboard.status_code == 302 and dashboard["Location"].startswith(LOGIN)
    assert not [e for e in login_events(mark) if e.outcome == "allowed"]


def test_first_mfa_visit_sets_up_a_device_and_a_correct_code_signs_in(users):
    user = users["officer_east"]
    client = Client()
    sign_in(client, user.username)
    page = client.get(MFA)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html  # the QR code to scan
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed is False
    mark = last_event_id()
    response = client.post(MFA, {"code": f"{totp(device.bin_key):06d}"})
    assert response.status_code == 302
    assert response["Location"] == DASHBOARD
    device.refresh_from_db()
    assert device.confirmed is True
    assert signed_in_as(client) == str(user.pk)
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert PENDING_KEY not in client.session
    [event] = login_events(mark)
    assert (event.outcome, event.actor_id) == ("allowed", str(user.pk))
    assert event.detail == {"channel": "web", "mfa": "totp"}
    assert client.get(DASHBOARD).status_code == 200


def test_the_setup_page_shows_the_key_of_the_device_it_created(users):
    import base64

    client = Client()
    sign_in(client, "officer.east")
    html = client.get(MFA).content.decode()
    device = TOTPDevice.objects.get(user=users["officer_east"])
    assert base64.b32encode(device.bin_key).decode() in html
    # Visiting again does not pile up devices.
    client.get(MFA)
    assert TOTPDevice.objects.filter(user=users["officer_east"]).count() == 1


def test_confirmed_device_code_signs_in_without_setup(users):
    user = users["supervisor_east"]
    code, device = totp_code(user)
    client = Client()
    sign_in(client, user.username)
    page = client.get(MFA)
    assert page.status_code == 200
    assert "<svg" not in page.content.decode()  # no new device offered
    response = client.post(MFA, {"code": code})
    assert response.status_code == 302 and response["Location"] == DASHBOARD
    assert signed_in_as(client) == str(user.pk)
    assert TOTPDevice.objects.filter(user=user).count() == 1
    assert client.get(DASHBOARD).status_code == 200


def test_wrong_code_is_an_error_and_no_session(users):
    user = users["officer_east"]
    code, device = totp_code(user)
    client = Client()
    sign_in(client, user.username)
    mark = last_event_id()
    response = client.post(MFA, {"code": wrong(code)})
    assert response.status_code == 401
    assert "That code is not valid" in response.content.decode()
    assert signed_in_as(client) is None
    assert DEVICE_ID_SESSION_KEY not in client.session
    [event] = login_events(mark)
    assert (event.outcome, event.actor_id) == ("denied", str(user.pk))
    assert event.detail == {"channel": "web", "reason": "otp"}
    assert client.get(DASHBOARD).status_code == 302


def test_wrong_code_during_setup_leaves_the_device_unconfirmed(users):
    client = Client()
    sign_in(client, "officer.east")
    client.get(MFA)
    device = TOTPDevice.objects.get(user=users["officer_east"])
    response = client.post(MFA, {"code": wrong(f"{totp(device.bin_key):06d}")})
    assert response.status_code == 401
    device.refresh_from_db()
    assert device.confirmed is False
    assert signed_in_as(client) is None


@pytest.mark.parametrize("code", ["abcdef", "", "1234567890"])
def test_malformed_code_is_refused(users, code):
    totp_code(users["officer_east"])
    client = Client()
    sign_in(client, "officer.east")
    response = client.post(MFA, {"code": code})
    assert response.status_code in (200, 401)
    assert signed_in_as(client) is None


def test_a_code_for_another_users_device_does_not_work(users):
    code, _device = totp_code(users["officer_west"])
    totp_code(users["officer_east"])
    client = Client()
    sign_in(client, "officer.east")
    client.post(MFA, {"code": code})
    assert signed_in_as(client) is None


def test_mfa_page_without_a_password_step_goes_back_to_sign_in(db):
    response = Client().get(MFA)
    assert response.status_code == 302 and response["Location"] == LOGIN
    response = Client().post(MFA, {"code": "123456"})
    assert response.status_code == 302 and response["Location"] == LOGIN


def test_staff_session_without_totp_is_bounced_by_the_middleware(users):
    client = Client()
    client.force_login(users["officer_east"], backend="django.contrib.auth.backends.ModelBackend")
    assert signed_in_as(client) is not None
    response = client.get(DASHBOARD)
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert signed_in_as(client) is None  # the half-session was ended, not just redirected
    again = client.get(DASHBOARD)
    assert again.status_code == 302 and again["Location"].startswith(LOGIN)


def test_staff_session_with_totp_passes_the_middleware(users, web_client):
    client = web_client(users["officer_east"])
    assert client.get(DASHBOARD).status_code == 200


def test_participant_signs_in_with_password_only(users):
    client = Client()
    mark = last_event_id()
    response = sign_in(client, "participant")
    assert response.status_code == 302
    assert response["Location"] == "/me/"  # participants land on their check-ins
    assert signed_in_as(client) == str(users["participant"].pk)
    [event] = login_events(mark)
    assert (event.outcome, event.actor_id, event.detail) == (
        "allowed",
        str(users["participant"].pk),
        {"channel": "web"},
    )


@pytest.mark.parametrize("target", ["https://evil.example.com/phish", "//evil.example.com/phish"])
def test_sign_in_does_not_redirect_to_another_site(users, target):
    """`next` is user input: an off-site target must not be followed (open redirect)."""
    client = Client()
    response = client.post(
        f"{LOGIN}?next={target}", {"username": "participant", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert signed_in_as(client) == str(users["participant"].pk)
    assert "evil.example.com" not in response["Location"], response["Location"]


def test_sign_in_follows_a_local_next(users):
    client = Client()
    response = client.post(
        f"{LOGIN}?next=/persons/search/", {"username": "participant", "password": PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/persons/search/"


def test_signed_in_user_visiting_login_goes_to_the_dashboard(users, web_client):
    response = web_client(users["supervisor_east"]).get(LOGIN)
    assert response.status_code == 302 and response["Location"] == DASHBOARD
    response = web_client(users["participant"]).get(LOGIN)
    assert response.status_code == 302 and response["Location"] == "/me/"


def test_without_required_mfa_staff_sign_in_with_password_only(users, settings):
    settings.CASELEDGER_REQUIRE_STAFF_MFA = False
    client = Client()
    mark = last_event_id()
    response = sign_in(client, "officer.east")
    assert response.status_code == 302
    assert response["Location"] == DASHBOARD
    assert signed_in_as(client) == str(users["officer_east"].pk)
    assert client.get(DASHBOARD).status_code == 200
    assert not TOTPDevice.objects.exists()
    [event] = login_events(mark)
    assert event.outcome == "allowed"


def test_with_required_mfa_the_same_staff_password_is_not_enough(users, settings):
    settings.CASELEDGER_REQUIRE_STAFF_MFA = True
    client = Client()
    assert sign_in(client, "officer.east")["Location"] == MFA
    assert signed_in_as(client) is None


# --- lockout ------------------------------------------------------------------------------


def test_five_failed_web_logins_lock_the_account(users):
    client = Client()
    for _ in range(4):
        assert sign_in(client, "participant", "wrong-password-x").status_code == 401
    assert sign_in(client, "participant", "wrong-password-x").status_code == 429
    mark = last_event_id()
    response = sign_in(Client(), "participant")
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert response["Content-Type"].startswith("text/html")
    assert signed_in_as(client) is None
    [event] = login_events(mark)
    assert event.outcome == "denied"


def test_lockout_holds_for_staff_too(users):
    for _ in range(5):
        sign_in(Client(), "officer.east", "wrong-password-x")
    client = Client()
    response = sign_in(client, "officer.east")
    assert response.status_code == 429
    assert PENDING_KEY not in client.session


def test_lockout_is_per_account_not_per_address(users):
    for _ in range(5):
        sign_in(Client(), "participant", "wrong-password-x")
    response = sign_in(Client(), "rep")
    assert response.status_code == 302


def test_four_failures_then_success_resets_the_count(users):
    for _ in range(4):
        sign_in(Client(), "participant", "wrong-password-x")
    assert sign_in(Client(), "participant").status_code == 302
    for _ in range(4):
        assert sign_in(Client(), "participant", "wrong-password-x").status_code == 401
    assert sign_in(Client(), "participant").status_code == 302


def test_failures_outside_the_window_do_not_count(users, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert timedelta(minutes=15) == settings.AXES_COOLOFF_TIME
    for _ in range(4):
        sign_in(Client(), "participant", "wrong-password-x")
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    sign_in(Client(), "participant", "wrong-password-x")  # one fresh failure
    response = sign_in(Client(), "participant")
    assert response.status_code == 302


def test_lock_ends_after_the_cooloff(users):
    for _ in range(5):
        sign_in(Client(), "participant", "wrong-password-x")
    assert sign_in(Client(), "participant").status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert sign_in(Client(), "participant").status_code == 302
