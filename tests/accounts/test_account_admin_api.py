"""The account administration API: /api/v1/users and /api/v1/role-requests, for
administrators only; clear 4xx answers for bad input; every other role refused and recorded
on every endpoint; no data of a person in any answer."""

from __future__ import annotations

import uuid

import pytest

from caseledger.accounts.models import Role, RoleGrantRequest, User
from caseledger.api import api
from caseledger.ledger.models import Event
from tests.accounts.conftest import events, lock_out
from tests.conftest import PASSWORD, last_event_id, token_client

USERS = "/api/v1/users"
ACCOUNT_FIELDS = {"id", "username", "role", "office", "active", "last_sign_in", "mfa_enrolled",
                  "locked", "pending_role_request", "must_change_password"}


def post(client, path, body=None):
    return client.post(path, body or {}, content_type="application/json")


@pytest.fixture
def admin(users):
    return token_client(users["admin"])


def test_an_administrator_lists_accounts_with_filters_and_pages(users, admin, offices):
    lock_out(users["officer_west"].username)
    body = admin.get(USERS, {"per_page": 3}).json()
    everyone = User.objects.exclude(role=Role.PARTICIPANT).count()
    assert (body["total"], body["page"], body["per_page"], len(body["items"])) == (
        everyone, 1, 3, 3)
    assert all(set(item) == ACCOUNT_FIELDS for item in body["items"])
    second = admin.get(USERS, {"per_page": 3, "page": 2}).json()["items"]
    assert not {i["id"] for i in second} & {i["id"] for i in body["items"]}
    west = admin.get(USERS, {"office": "west", "role": "case_officer"}).json()["items"]
    assert [(i["username"], i["office"], i["locked"]) for i in west] == [
        ("officer.west", "west", True)]
    assert [i["username"] for i in admin.get(USERS, {"locked": "true"}).json()["items"]] == [
        "officer.west"]
    assert [i["username"] for i in admin.get(USERS, {"q": "privacy"}).json()["items"]] == [
        "privacy"]
    assert "participant" not in {i["username"] for i in admin.get(USERS, {"per_page": 100}
                                                                  ).json()["items"]}


@pytest.mark.parametrize("query", [{"role": "wizard"}, {"role": "participant"},
                                   {"office": "north"}, {"per_page": 1000}, {"page": 0},
                                   {"active": "perhaps"}, {"q": "x" * 151}])
def test_a_bad_filter_is_a_422(admin, query):
    response = admin.get(USERS, query)
    assert response.status_code == 422, response.content
    assert response.json()["detail"]


def test_an_administrator_creates_an_account_and_sees_its_password_once(users, admin, offices):
    mark = last_event_id()
    response = post(admin, USERS, {"username": "new.officer", "role": "case_officer",
                                   "office": "east"})
    assert response.status_code == 201, response.content
    body = response.json()
    password = body["temporary_password"]
    assert body["role_request"] is None
    assert (body["account"]["username"], body["account"]["role"], body["account"]["office"],
            body["account"]["active"]) == ("new.officer", "case_officer", "east", True)
    assert User.objects.get(username="new.officer").check_password(password)
    [event] = events(mark)
    assert (event.action, event.actor_id) == ("create", str(users["admin"].pk))
    # Never again: the account's own answer has no password.
    again = admin.get(f"{USERS}/{body['account']['id']}").json()
    assert set(again) == ACCOUNT_FIELDS and password not in str(again)


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"username": "x.y", "role": "sorcerer"}, 422, "role"),
    ({"username": "x.y", "role": "participant"}, 422, "role"),
    ({"username": "x.y", "role": "case_officer"}, 422, "office"),
    ({"username": "x.y", "role": "supervisor", "office": "nowhere"}, 422, "office"),
    ({"username": "officer.east", "role": "supervisor", "office": "east"}, 409, "username"),
    ({"username": "Officer.East", "role": "supervisor", "office": "east"}, 409, "username"),
    ({"username": "x.y", "role": "representative", "password": "abc"}, 422, "password"),
    ({"username": "x.y", "role": "representative", "password": "password1234"}, 422, "password"),
    ({"username": "x y", "role": "representative"}, 422, "username"),
    ({"username": "", "role": "representative"}, 422, "username"),
    ({"username": "x.y", "role": "representative", "is_superuser": True}, 422, "is_superuser"),
    ({"username": "x.y", "role": 3}, 422, "role"),
    ({"username": "x.y"}, 422, "role"),
])
def test_bad_input_to_create_is_a_clear_4xx_and_writes_nothing(users, admin, offices, body,
                                                               status, field):
    count, mark = User.objects.count(), last_event_id()
    response = post(admin, USERS, body)
    assert response.status_code == status, response.content
    assert response.json()["field"] == field and response.json()["detail"]
    assert User.objects.count() == count
    assert not Event.objects.filter(id__gt=mark).exclude(action="login").exists()


def test_a_body_that_is_not_json_is_refused(admin, offices):
    response = admin.post(USERS, {"username": "x.y", "role": "representative"})
    assert response.status_code == 415


def test_the_privacy_officer_role_needs_a_second_administrator(users, admin, make_user):
    second = token_client(make_user("admin2", Role.ADMINISTRATOR))
    target = users["supervisor_east"]
    response = post(admin, f"{USERS}/{target.pk}/role", {"role": "privacy_officer"})
    assert response.status_code == 202, response.content
    body = response.json()
    request_id = body["role_request"]["id"]
    assert body["account"]["role"] == "supervisor"  # unchanged until approved
    assert body["account"]["pending_role_request"] == request_id
    assert [r["id"] for r in admin.get("/api/v1/role-requests").json()] == [request_id]
    # The proposer cannot approve it: 403, recorded, nothing changes.
    mark = last_event_id()
    refused = post(admin, f"/api/v1/role-requests/{request_id}/approve")
    assert refused.status_code == 403 and refused.json()["code"] == "self_approval"
    [event] = events(mark)
    assert (event.action, event.outcome, event.record_id) == ("approve", "denied", request_id)
    assert User.objects.get(pk=target.pk).role == Role.SUPERVISOR
    # A second administrator approves.
    approved = post(second, f"/api/v1/role-requests/{request_id}/approve")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert approved.json()["decided_by"] == "admin2"
    assert User.objects.get(pk=target.pk).role == Role.PRIVACY_OFFICER
    again = post(second, f"/api/v1/role-requests/{request_id}/decline")
    assert again.status_code == 409 and again.json()["code"] == "already_decided"


def test_an_ordinary_role_change_is_a_200(users, admin):
    response = post(admin, f"{USERS}/{users['supervisor_west'].pk}/role",
                    {"role": "case_officer", "office": "east"})
    assert response.status_code == 200, response.content
    assert response.json()["role_request"] is None
    assert (response.json()["account"]["role"], response.json()["account"]["office"]) == (
        "case_officer", "east")


@pytest.mark.parametrize(("body", "field"), [({"role": "emperor"}, "role"),
                                             ({"role": "supervisor"}, "office"),
                                             ({"role": "supervisor", "office": "moon"}, "office"),
                                             ({"office": "east"}, "role")])
def test_a_bad_role_change_is_a_422(users, admin, body, field):
    response = post(admin, f"{USERS}/{users['officer_west'].pk}/role", body)
    assert response.status_code == 422 and response.json()["field"] == field
    assert User.objects.get(pk=users["officer_west"].pk).role == Role.CASE_OFFICER


def test_self_deactivation_and_the_last_administrator_are_409s(users, admin):
    me = users["admin"]
    mark = last_event_id()
    response = post(admin, f"{USERS}/{me.pk}/deactivate")
    assert response.status_code == 409
    assert response.json()["code"] == "own_account"
    assert "your own account" in response.json()["detail"]
    response = post(admin, f"{USERS}/{me.pk}/role", {"role": "supervisor", "office": "east"})
    assert response.status_code == 409 and response.json()["code"] == "own_account"
    assert [(e.action, e.outcome) for e in events(mark)] == [
        ("deactivate", "denied"), ("update", "denied")]
    assert User.objects.get(pk=me.pk).is_active


def test_deactivate_reactivate_unlock_reset_and_revoke(users, admin):
    officer = users["officer_west"]
    lock_out(officer.username)
    assert admin.get(f"{USERS}/{officer.pk}").json()["locked"] is True
    unlocked = post(admin, f"{USERS}/{officer.pk}/unlock")
    assert unlocked.status_code == 200 and unlocked.json()["attempts_cleared"] >= 1
    assert unlocked.json()["account"]["locked"] is False
    officer_api = token_client(officer)
    assert post(admin, f"{USERS}/{officer.pk}/revoke-tokens").json()["tokens_revoked"] == 1
    assert officer_api.get("/api/v1/persons").status_code == 401
    token_client(officer)
    reset = post(admin, f"{USERS}/{officer.pk}/reset-mfa").json()
    assert reset["devices_removed"] >= 1 and reset["account"]["mfa_enrolled"] is False
    off = post(admin, f"{USERS}/{officer.pk}/deactivate").json()
    assert off["account"]["active"] is False and off["tokens_revoked"] == 0
    on = post(admin, f"{USERS}/{officer.pk}/reactivate").json()
    assert on["account"]["active"] is True and on["changed"] is True


def test_a_participants_login_or_an_unknown_id_is_a_recorded_404(users, admin, make_person):
    person = make_person()
    type(person).objects.filter(pk=person.pk).update(participant_account=users["participant"])
    for account, subject in ((users["participant"].pk, person.pk), (uuid.uuid4(), None)):
        mark = last_event_id()
        response = post(admin, f"{USERS}/{account}/deactivate")
        assert response.status_code == 404
        [event] = events(mark)
        assert (event.action, event.outcome, event.subject_id) == ("deactivate", "denied",
                                                                   subject)
    assert User.objects.get(pk=users["participant"].pk).is_active
    assert admin.get(f"{USERS}/not-an-id").status_code == 422


# --- every other role, every endpoint ---------------------------------------------------------
def _endpoints(target: User, request_id: str) -> list[tuple[str, str, dict | None, str]]:
    return [
        ("get", USERS, None, "list"),
        ("post", USERS, {"username": "sneaky", "role": "administrator"}, "create"),
        ("get", f"{USERS}/{target.pk}", None, "read"),
        ("post", f"{USERS}/{target.pk}/deactivate", None, "deactivate"),
        ("post", f"{USERS}/{target.pk}/reactivate", None, "reactivate"),
        ("post", f"{USERS}/{target.pk}/unlock", None, "unlock"),
        ("post", f"{USERS}/{target.pk}/reset-mfa", None, "mfa_reset"),
        ("post", f"{USERS}/{target.pk}/revoke-tokens", None, "token_revoke"),
        ("post", f"{USERS}/{target.pk}/role", {"role": "administrator"}, "update"),
        ("get", "/api/v1/role-requests", None, "list"),
        ("post", f"/api/v1/role-requests/{request_id}/approve", None, "approve"),
        ("post", f"/api/v1/role-requests/{request_id}/decline", None, "decline"),
    ]


@pytest.mark.parametrize("role", ["officer_east", "supervisor_east", "privacy", "participant",
                                  "representative"])
def test_every_other_role_is_refused_on_every_endpoint_and_recorded(users, role, make_user):
    from caseledger.accounts import services
    from tests.conftest import context

    admin2 = make_user("admin2", Role.ADMINISTRATOR)
    request = services.change_role(context(admin2), users["supervisor_west"],
                                   role=Role.PRIVACY_OFFICER)
    client = token_client(users[role])
    target = users["officer_west"]
    before = list(User.objects.order_by("pk").values_list("pk", "role", "is_active", "office"))
    for method, path, body, action in _endpoints(target, str(request.pk)):
        mark = last_event_id()
        response = (client.get(path) if method == "get" else post(client, path, body))
        assert response.status_code == 403, (path, response.content)
        assert response.json()["detail"] == "Only administrators manage accounts."
        [event] = events(mark)
        assert (event.action, event.outcome, event.actor_id, event.subject_id) == (
            action, "denied", str(users[role].pk), None), path
    after = list(User.objects.order_by("pk").values_list("pk", "role", "is_active", "office"))
    assert after == before
    assert RoleGrantRequest.objects.get(pk=request.pk).status == "pending"


def test_without_a_token_every_endpoint_is_a_401(users):
    from django.test import Client

    for method, path, body, _action in _endpoints(users["officer_west"], str(uuid.uuid4())):
        response = Client().get(path) if method == "get" else post(Client(), path, body)
        assert response.status_code == 401, path


def test_the_schema_documents_the_endpoints_and_no_person_fields():
    schema = api.get_openapi_schema(path_prefix="/api/v1")
    assert {"/api/v1/users", "/api/v1/users/{user_id}", "/api/v1/users/{user_id}/role",
            "/api/v1/role-requests/{role_request_id}/approve"} <= set(schema["paths"])
    account = schema["components"]["schemas"]["AccountOut"]["properties"]
    assert set(account) == ACCOUNT_FIELDS
    responses = schema["paths"]["/api/v1/users/{user_id}/deactivate"]["post"]["responses"]
    assert {"200", "403", "404", "409"} <= {str(code) for code in responses}
    assert PASSWORD not in str(schema)
