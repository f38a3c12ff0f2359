"""The administrator's account pages (/accounts/manage/) and where each role lands after
signing in."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client
from django.utils import translation
from django_otp.oath import totp

from caseledger.accounts.models import Role, RoleGrantRequest, User
from caseledger.accounts.services import create_user
from caseledger.ledger.models import Event
from tests.accounts.conftest import events
from tests.conftest import PASSWORD, last_event_id, signed_in_client, totp_code

MANAGE = "/accounts/manage/"


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def admin(users) -> Client:
    return signed_in_client(users["admin"])


# --- landing pages ----------------------------------------------------------------------------
@pytest.mark.parametrize(("who", "home"), [
    ("officer_east", "/persons/"), ("supervisor_east", "/persons/"),
    ("privacy", "/disclosures/"), ("admin", MANAGE),
    ("participant", "/me/"), ("representative", "/persons/"),
])
def test_each_role_lands_on_its_own_work_after_signing_in(users, who, home):
    user = users[who]
    client = Client()
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    if user.is_staff_role:
        assert response["Location"] == "/accounts/mfa/"
        _code, device = totp_code(user)
        response = client.post("/accounts/mfa/", {"code": f"{totp(device.bin_key):06d}"})
    assert response.status_code == 302 and response["Location"] == home
    # Signed in already, the sign-in page sends them to the same place.
    assert client.get("/accounts/login/")["Location"] == home


def test_a_staff_session_without_its_code_cannot_reach_the_account_pages(users):
    client = Client()
    client.force_login(users["admin"], backend="django.contrib.auth.backends.ModelBackend")
    response = client.get(MANAGE)
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"


# --- the list ---------------------------------------------------------------------------------
def test_the_list_shows_accounts_and_the_navigation_link(users, admin):
    response = admin.get(MANAGE)
    page = text(response)
    assert response.status_code == 200
    listed = re.findall(r'data-account="([^"]+)"', page)
    assert listed == sorted(u.username for u in users.values() if u.role != Role.PARTICIPANT)
    assert f'href="{MANAGE}" aria-current="page"' in page
    assert "A participant's login is issued when the person is enrolled" in page
    officer_page = text(signed_in_client(users["officer_east"]).get("/persons/search/"))
    assert "Primary navigation" in officer_page
    assert f'href="{MANAGE}"' not in officer_page


def test_filters_narrow_the_list_and_pages_keep_them(users, admin, offices):
    for n in range(30):
        create_user(username=f"rep{n:02d}", password=PASSWORD, role=Role.REPRESENTATIVE)
    first = text(admin.get(MANAGE, {"role": "representative"}))
    assert len(re.findall(r'data-account="rep', first)) == 25
    assert "Accounts matching the filters: 31" in first  # 30 + the fixture's representative
    nxt = re.search(r'href="(\?[^"]*page=2[^"]*)"', first).group(1)
    assert "role=representative" in html.unescape(nxt)
    second = text(admin.get(MANAGE + html.unescape(nxt)))
    assert len(re.findall(r'data-account="(re[^"]+)"', second)) == 6
    assert "officer.east" not in re.findall(r'data-account="([^"]+)"', second)
    west = text(admin.get(MANAGE, {"office": "west"}))
    assert re.findall(r'data-account="([^"]+)"', west) == ["officer.west", "supervisor.west"]
    # A value that is not a choice is not applied, and the form says so.
    odd = admin.get(MANAGE, {"role": "wizard", "office": "west"})
    assert odd.status_code == 200
    assert re.findall(r'data-account="([^"]+)"', text(odd)) == ["officer.west",
                                                                 "supervisor.west"]
    assert "usa-error-message" in text(odd)


def test_other_roles_get_the_403_page_and_a_recorded_refusal(users):
    for who in ("officer_east", "privacy", "participant"):
        mark = last_event_id()
        response = signed_in_client(users[who]).get(MANAGE)
        assert response.status_code == 403
        assert "Only administrators manage accounts." in text(response)
        [event] = events(mark)
        assert (event.action, event.outcome, event.actor_id) == ("list", "denied",
                                                                 str(users[who].pk))


# --- creating an account ----------------------------------------------------------------------
def test_a_new_account_shows_its_temporary_password_once(users, admin, offices):
    response = admin.post(f"{MANAGE}new/", {"username": "new.supervisor", "role": "supervisor",
                                            "office": "west"})
    assert response.status_code == 201
    page = text(response)
    password = re.search(r"data-temporary-password>([^<]+)<", page).group(1)
    user = User.objects.get(username="new.supervisor")
    assert user.check_password(password) and user.office.code == "west"
    detail = text(admin.get(f"{MANAGE}{user.pk}/"))
    assert "new.supervisor" in detail and password not in detail


@pytest.mark.parametrize(("data", "status", "message"), [
    ({"username": "x.y", "role": "case_officer", "office": ""}, 422,
     "Case officers and supervisors belong to an office"),
    ({"username": "officer.east", "role": "supervisor", "office": "east"}, 409,
     "The username 'officer.east' is taken"),
    ({"username": "x y", "role": "representative", "office": ""}, 422, "English letters"),
    ({"username": "x.y", "role": "participant", "office": ""}, 422,
     "Select a valid choice"),
])
def test_bad_input_on_the_new_account_page_is_shown_in_the_form(users, admin, offices, data,
                                                                status, message):
    count = User.objects.count()
    response = admin.post(f"{MANAGE}new/", data)
    assert response.status_code == status
    assert message in text(response)
    assert User.objects.count() == count


# --- actions behind a confirmation page -------------------------------------------------------
def test_deactivation_asks_first_then_acts_on_post(users, admin):
    officer = users["officer_west"]
    detail = text(admin.get(f"{MANAGE}{officer.pk}/"))
    assert f'href="{MANAGE}{officer.pk}/deactivate/"' in detail
    mark = last_event_id()
    confirm = admin.get(f"{MANAGE}{officer.pk}/deactivate/")
    assert confirm.status_code == 200 and "Deactivate the account" in text(confirm)
    assert User.objects.get(pk=officer.pk).is_active
    assert not Event.objects.filter(id__gt=mark).exists()
    done = admin.post(f"{MANAGE}{officer.pk}/deactivate/")
    assert done.status_code == 302 and done["Location"] == f"{MANAGE}{officer.pk}/"
    assert not User.objects.get(pk=officer.pk).is_active
    after = text(admin.get(done["Location"]))
    assert "The account was deactivated" in after
    assert f'href="{MANAGE}{officer.pk}/reactivate/"' in after
    assert admin.post(f"{MANAGE}{officer.pk}/reactivate/").status_code == 302
    assert User.objects.get(pk=officer.pk).is_active


def test_an_administrator_is_told_why_they_cannot_deactivate_themselves(users, admin):
    me = users["admin"]
    detail = text(admin.get(f"{MANAGE}{me.pk}/"))
    assert "/deactivate/" not in detail and "This is your own account" in detail
    response = admin.post(f"{MANAGE}{me.pk}/deactivate/")
    assert response.status_code == 409
    assert "You cannot deactivate your own account" in text(response)
    assert User.objects.get(pk=me.pk).is_active


def test_unlock_reset_and_revoke_pages(users, admin):
    from tests.accounts.conftest import lock_out

    officer = users["officer_west"]
    totp_code(officer)
    lock_out(officer.username)
    detail = text(admin.get(f"{MANAGE}{officer.pk}/"))
    for step in ("unlock", "reset-mfa"):
        assert f'href="{MANAGE}{officer.pk}/{step}/"' in detail
        assert admin.get(f"{MANAGE}{officer.pk}/{step}/").status_code == 200
        assert admin.post(f"{MANAGE}{officer.pk}/{step}/").status_code == 302
    after = text(admin.get(f"{MANAGE}{officer.pk}/"))
    assert "The authenticator was reset." in after
    assert 'data-locked>Not locked' in after and "data-mfa>Not set up" in after
    assert admin.post(f"{MANAGE}{officer.pk}/revoke-tokens/").status_code == 302
    assert "0 API token(s) revoked." in text(admin.get(f"{MANAGE}{officer.pk}/"))


# --- two administrators -----------------------------------------------------------------------
def test_the_privacy_officer_role_is_proposed_by_one_and_approved_by_another(users, admin,
                                                                             make_user):
    target = users["supervisor_east"]
    response = admin.post(f"{MANAGE}{target.pk}/role/", {"role": "privacy_officer",
                                                         "office": ""})
    assert response.status_code == 302
    assert "A second administrator must approve it" in text(admin.get(response["Location"]))
    request = RoleGrantRequest.objects.get(user=target)
    assert User.objects.get(pk=target.pk).role == Role.SUPERVISOR
    listing = text(admin.get(MANAGE))
    assert f'data-role-request="{request.pk}"' in listing
    page = f"{MANAGE}role-requests/{request.pk}/"
    mine = text(admin.get(page))
    assert "data-own-proposal" in mine and 'name="decision"' not in mine
    refused = admin.post(page, {"decision": "approve"})
    assert refused.status_code == 403
    assert User.objects.get(pk=target.pk).role == Role.SUPERVISOR
    second = signed_in_client(make_user("admin2", Role.ADMINISTRATOR))
    assert 'name="decision"' in text(second.get(page))
    done = second.post(page, {"decision": "approve"})
    assert done.status_code == 302
    assert User.objects.get(pk=target.pk).role == Role.PRIVACY_OFFICER
    assert "The role was given to the account." in text(second.get(done["Location"]))


def test_the_role_page_refuses_bad_input_in_the_form(users, admin):
    officer = users["officer_west"]
    response = admin.post(f"{MANAGE}{officer.pk}/role/", {"role": "supervisor", "office": ""})
    assert response.status_code == 422
    assert "Case officers and supervisors belong to an office" in text(response)
    assert User.objects.get(pk=officer.pk).role == Role.CASE_OFFICER


def test_the_account_pages_speak_spanish(users, admin):
    with translation.override("en"):  # the request switches the thread's language; restore it
        page = text(admin.get(MANAGE, HTTP_ACCEPT_LANGUAGE="es"))
        detail = text(admin.get(f"{MANAGE}{users['officer_west'].pk}/deactivate/",
                                HTTP_ACCEPT_LANGUAGE="es"))
    assert "<h1>Cuentas</h1>" in page and "Aplicar los filtros" in page
    assert "Desactivar la cuenta" in detail and "Volver sin cambiar nada" in detail


def test_a_new_administrator_account_waits_and_offers_no_reactivation(users, admin):
    response = admin.post(f"{MANAGE}new/", {"username": "new.admin", "role": "administrator",
                                            "office": ""})
    assert response.status_code == 201
    assert "the account stays inactive until another administrator approves it" in text(response)
    user = User.objects.get(username="new.admin")
    detail = text(admin.get(f"{MANAGE}{user.pk}/"))
    assert "/reactivate/" not in detail
    assert "Inactive until a second administrator approves the role" in detail
    refused = admin.post(f"{MANAGE}{user.pk}/reactivate/")
    assert refused.status_code == 409 and "second administrator" in text(refused)
    assert not User.objects.get(pk=user.pk).is_active
