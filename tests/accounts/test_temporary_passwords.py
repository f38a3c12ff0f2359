"""Temporary passwords: an account an administrator creates or resets carries a temporary
password and chooses its own at the first sign-in (the last sign-in step, after TOTP for
staff); until then no page is reachable and API tokens are refused with a recorded 403. The
administrator's reset (page behind its confirmation step, and the API) shows the temporary
password once; each is a ledger event, and the refusals (other roles, one's own account, the
two-person roles, an id of nobody) are recorded too."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client
from django_otp.oath import totp

from caseledger.accounts import services
from caseledger.accounts.forms import NewAccountForm, RoleForm, RoleOfficeFields
from caseledger.accounts.manage_views import STEPS
from caseledger.accounts.models import ApiToken, Role, User
from caseledger.core.errors import Conflict
from caseledger.ledger.models import Event
from tests.accounts.conftest import events
from tests.conftest import (
    PASSWORD,
    context,
    last_event_id,
    signed_in_client,
    token_client,
    totp_code,
)

NEW_PASSWORD = "a-long-and-private-passphrase-42"
RESET = "/api/v1/users/{}/reset-password"


def reset(users, who: str = "officer_west") -> services.PasswordReset:
    return services.reset_password(context(users["admin"]), users[who])


def sign_in(client: Client, user: User, password: str):
    return client.post("/accounts/login/", {"username": user.username, "password": password})


# --- the service ------------------------------------------------------------------------------
def test_a_reset_sets_a_temporary_password_revokes_tokens_and_is_one_event(users):
    officer = users["officer_west"]
    token_client(officer)  # a live token, to be revoked
    mark = last_event_id()
    done = reset(users)
    officer.refresh_from_db()
    assert officer.must_change_password and officer.check_password(done.password)
    assert not officer.check_password(PASSWORD) and len(done.password) >= 12
    assert done.tokens_revoked == 1
    assert not ApiToken.objects.filter(user=officer, revoked_at__isnull=True).exists()
    change, revoke = events(mark)
    assert (change.action, change.purpose, change.outcome, change.record_id, change.actor_id) == (
        "password_change", "administration", "allowed", str(officer.pk), str(users["admin"].pk))
    assert change.detail == {"temporary": True} and done.password not in str(change.detail)
    assert (revoke.action, revoke.detail["reason"]) == ("token_revoke", "password_reset")


@pytest.mark.parametrize(("who", "code"), [("admin", "own_account"),
                                           ("privacy", "two_person_role"),
                                           ("admin2", "two_person_role")])
def test_own_account_and_two_person_roles_are_refused_and_recorded(users, admin2, who, code):
    target = admin2 if who == "admin2" else users[who]
    before = target.password
    mark = last_event_id()
    with pytest.raises(Conflict) as refused:
        services.reset_password(context(users["admin"]), target)
    assert refused.value.code == code
    target.refresh_from_db()
    assert target.password == before and not target.must_change_password
    [denied] = events(mark)
    assert (denied.action, denied.outcome, denied.detail["reason"]) == (
        "password_change", "denied", code)


def test_new_accounts_carry_a_temporary_password(users, offices):
    made = services.create_account(context(users["admin"]), username="new.rep",
                                   role=Role.REPRESENTATIVE)
    assert made.user.must_change_password


def test_the_own_choice_must_pass_the_rules_and_differ_from_the_temporary_one(users):
    done = reset(users, "representative")
    rep = User.objects.get(pk=users["representative"].pk)
    for bad in (done.password, "short", "password1234"):
        with pytest.raises(services.ValidationError):
            services.change_password(user=rep, new_password=bad)
    rep.refresh_from_db()
    assert rep.must_change_password
    services.change_password(user=rep, new_password=NEW_PASSWORD)
    rep.refresh_from_db()
    assert not rep.must_change_password and rep.check_password(NEW_PASSWORD)


def test_the_operator_resets_a_privacy_officers_password(users):
    out = io.StringIO()
    call_command("accounts", "reset-password", "privacy", stdout=out)
    password = out.getvalue().strip().splitlines()[-1]
    privacy = User.objects.get(pk=users["privacy"].pk)
    assert privacy.must_change_password and privacy.check_password(password)
    with pytest.raises(Exception, match="no account"):
        call_command("accounts", "reset-password", "nobody", stdout=io.StringIO())


# --- the web sign-in: the password step -------------------------------------------------------
def test_a_representative_chooses_a_password_before_anything_else(users):
    done = reset(users, "representative")
    rep = users["representative"]
    client = Client()
    response = sign_in(client, rep, done.password)
    assert response.status_code == 302 and response["Location"] == "/accounts/password/"
    assert "_auth_user_id" not in client.session  # not signed in yet
    assert client.get("/persons/")["Location"].startswith("/accounts/login/")
    page = client.get("/accounts/password/")
    assert page.status_code == 200 and "Choose your password" in page.content.decode()
    mismatch = client.post("/accounts/password/", {"password": NEW_PASSWORD, "confirm": "other"})
    assert mismatch.status_code == 422 and "not the same" in mismatch.content.decode()
    same = client.post("/accounts/password/", {"password": done.password,
                                               "confirm": done.password})
    assert same.status_code == 422 and "not the temporary one" in same.content.decode()
    weak = client.post("/accounts/password/", {"password": "short", "confirm": "short"})
    assert weak.status_code == 422
    mark = last_event_id()
    ok = client.post("/accounts/password/", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert ok.status_code == 302 and ok["Location"] == "/persons/"
    assert client.get("/persons/").status_code == 200
    rep.refresh_from_db()
    assert not rep.must_change_password and rep.check_password(NEW_PASSWORD)
    written = events(mark)
    change = next(e for e in written if e.action == "password_change")
    assert (change.purpose, change.actor_id) == ("authentication", str(rep.pk))
    login = next(e for e in written if e.action == "login")
    assert (login.outcome, login.actor_id) == ("allowed", str(rep.pk))


def test_staff_pass_their_code_then_choose_a_password(users):
    done = reset(users)
    officer = users["officer_west"]
    _code, device = totp_code(officer)
    client = Client()
    assert sign_in(client, officer, done.password)["Location"] == "/accounts/mfa/"
    step = client.post("/accounts/mfa/", {"code": f"{totp(device.bin_key):06d}"})
    assert step["Location"] == "/accounts/password/"
    assert client.get("/persons/")["Location"].startswith("/accounts/login/")
    ok = client.post("/accounts/password/", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert ok["Location"] == "/persons/"
    assert client.get("/persons/").status_code == 200  # signed in and past TOTP


def test_the_password_step_needs_the_earlier_steps_of_this_session(users):
    assert Client().get("/accounts/password/")["Location"] == "/accounts/login/"
    posted = Client().post("/accounts/password/", {"password": NEW_PASSWORD,
                                                   "confirm": NEW_PASSWORD})
    assert posted["Location"] == "/accounts/login/"


def test_a_second_reset_voids_the_first_password_step(users):
    first = reset(users, "representative")
    client = Client()
    sign_in(client, users["representative"], first.password)
    reset(users, "representative")
    response = client.post("/accounts/password/", {"password": NEW_PASSWORD,
                                                    "confirm": NEW_PASSWORD})
    assert response["Location"] == "/accounts/login/"
    rep = User.objects.get(pk=users["representative"].pk)
    assert rep.must_change_password and not rep.check_password(NEW_PASSWORD)


def test_a_signed_in_session_of_a_flagged_account_is_ended(users):
    client = signed_in_client(users["representative"])
    User.objects.filter(pk=users["representative"].pk).update(must_change_password=True)
    response = client.get("/persons/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session


# --- the API ------------------------------------------------------------------------------------
def test_a_token_is_refused_with_a_clear_403_until_the_password_is_chosen(users):
    done = reset(users, "representative")
    rep = users["representative"]
    mark = last_event_id()
    response = Client().post("/api/v1/auth/token", {"username": rep.username,
                                                    "password": done.password},
                             content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "password_change_required"
    [denied] = events(mark)
    assert (denied.action, denied.outcome, denied.detail["reason"]) == (
        "login", "denied", "password_change_required")
    services.change_password(user=User.objects.get(pk=rep.pk), new_password=NEW_PASSWORD)
    ok = Client().post("/api/v1/auth/token", {"username": rep.username,
                                              "password": NEW_PASSWORD},
                       content_type="application/json")
    assert ok.status_code == 200


def test_a_live_token_of_a_flagged_account_gets_403_not_data(users):
    client = token_client(users["representative"])
    User.objects.filter(pk=users["representative"].pk).update(must_change_password=True)
    mark = last_event_id()
    response = client.get("/api/v1/persons")
    assert response.status_code == 403
    assert response.json()["code"] == "password_change_required"
    assert Event.objects.filter(id__gt=mark, outcome="denied", action="login").count() == 1


def test_the_api_reset_returns_the_temporary_password_once(users, api_client):
    admin = api_client(users["admin"])
    officer = users["officer_west"]
    response = admin.post(RESET.format(officer.pk))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["account"]["must_change_password"] is True
    officer.refresh_from_db()
    assert officer.check_password(body["temporary_password"])
    shown = admin.get(f"/api/v1/users/{officer.pk}").json()
    assert body["temporary_password"] not in str(shown) and shown["must_change_password"]


@pytest.mark.parametrize("role", ["officer_east", "supervisor_east", "privacy", "participant",
                                  "representative"])
def test_other_roles_cannot_reset_a_password(users, api_client, web_client, role):
    officer = users["officer_west"]
    mark = last_event_id()
    assert api_client(users[role]).post(RESET.format(officer.pk)).status_code == 403
    page = web_client(users[role]).post(f"/accounts/manage/{officer.pk}/reset-password/")
    assert page.status_code == 403
    refused = Event.objects.filter(id__gt=mark, outcome="denied", action="password_change")
    assert refused.count() == 2
    officer.refresh_from_db()
    assert officer.check_password(PASSWORD) and not officer.must_change_password


def test_bad_targets_are_refused(users, api_client, admin2):
    admin = api_client(users["admin"])
    assert admin.post(RESET.format("00000000-0000-0000-0000-000000000000")).status_code == 404
    assert admin.post(RESET.format(users["participant"].pk)).status_code == 404
    assert admin.post(RESET.format("not-a-uuid")).status_code == 422
    assert admin.post(RESET.format(users["admin"].pk)).json()["code"] == "own_account"
    refused = admin.post(RESET.format(admin2.pk))
    assert refused.status_code == 409 and refused.json()["code"] == "two_person_role"


# --- the administrator's pages ------------------------------------------------------------------
def test_the_reset_page_asks_first_then_shows_the_password_once(users):
    client = signed_in_client(users["admin"])
    officer = users["officer_west"]
    detail = client.get(f"/accounts/manage/{officer.pk}/").content.decode()
    assert f"/accounts/manage/{officer.pk}/reset-password/" in detail
    confirm = client.get(f"/accounts/manage/{officer.pk}/reset-password/")
    assert confirm.status_code == 200 and "Reset the password" in confirm.content.decode()
    officer.refresh_from_db()
    assert officer.check_password(PASSWORD)  # asking changed nothing
    done = client.post(f"/accounts/manage/{officer.pk}/reset-password/")
    assert done.status_code == 200
    html = done.content.decode()
    password = html.split("data-temporary-password>", 1)[1].split("<", 1)[0]
    officer.refresh_from_db()
    assert officer.check_password(password) and officer.must_change_password
    again = client.get(f"/accounts/manage/{officer.pk}/").content.decode()
    assert password not in again and "Temporary: to be replaced" in again


@pytest.mark.parametrize("who", ["admin", "privacy"])
def test_no_reset_link_for_ones_own_or_a_two_person_account(users, who):
    client = signed_in_client(users["admin"])
    page = client.get(f"/accounts/manage/{users[who].pk}/").content.decode()
    assert "reset-password/" not in page
    refused = client.post(f"/accounts/manage/{users[who].pk}/reset-password/")
    assert refused.status_code == 409 and "data-error" in refused.content.decode()


# --- the review leftovers: one table-driven confirmation view, one set of role fields ---------
@pytest.mark.parametrize("step", sorted(STEPS))
def test_every_confirmation_step_has_its_url_and_asks_before_acting(users, step):
    officer = users["officer_west"]
    before = (officer.password, officer.is_active)
    page = signed_in_client(users["admin"]).get(
        f"/accounts/manage/{officer.pk}/{step.replace('_', '-')}/")
    assert page.status_code == 200
    assert str(STEPS[step].title) in page.content.decode()
    officer.refresh_from_db()
    assert (officer.password, officer.is_active) == before


def test_the_account_forms_share_their_role_and_office_fields(offices):
    new, change = NewAccountForm(), RoleForm()
    assert isinstance(new, RoleOfficeFields) and isinstance(change, RoleOfficeFields)
    assert list(new.fields) == ["username", "role", "office"]
    assert list(change.fields) == ["role", "office"]
    assert new.fields["role"].choices == change.fields["role"].choices
    assert [c for c, _ in new.fields["office"].choices] == ["", "east", "west"]
    assert (str(new.fields["role"].label), str(change.fields["role"].label)) == (
        "Role", "New role")
    assert "inactive" in str(new.fields["role"].help_text)
    assert "keeps its role" in str(change.fields["role"].help_text)
    assert not NewAccountForm({"username": "x", "role": "participant"}).is_valid()
