"""Account administration's services: each change one ledger event in its transaction, bad
input refused with nothing written, the rules about accounts (two administrators for the
privacy-officer and administrator roles, nobody deactivating themselves, always one active
administrator) refused and recorded."""

from __future__ import annotations

import threading

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.hashers import check_password
from django.db import IntegrityError, connections, transaction
from django.utils import translation
from django_otp.plugins.otp_totp.models import TOTPDevice

from caseledger.accounts import selectors, services
from caseledger.accounts.models import (
    ApiToken,
    CaseloadAssignment,
    Role,
    RoleGrantRequest,
    RoleRequestStatus,
    User,
)
from caseledger.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from caseledger.ledger.models import Event
from tests.accounts.conftest import events, lock_out
from tests.conftest import PASSWORD, context, last_event_id, token_client, totp_code


def ctx(user: User):
    return context(user)


# --- creating accounts ------------------------------------------------------------------------
def test_an_officer_account_is_created_with_a_temporary_password_and_one_event(users, offices):
    mark = last_event_id()
    made = services.create_account(ctx(users["admin"]), username="new.officer",
                                   role=Role.CASE_OFFICER, office="east")
    user = User.objects.get(username="new.officer")
    assert (user.role, user.office.code, user.is_active) == ("case_officer", "east", True)
    assert made.role_request is None
    assert len(made.password) >= 12 and check_password(made.password, user.password)
    assert made.password not in user.password  # stored as an Argon2 hash only
    [event] = events(mark)
    assert (event.action, event.data_category, event.purpose, event.outcome) == (
        "create", "account", "administration", "allowed")
    assert (event.record_type, event.record_id, event.actor_id) == (
        "accounts.user", str(user.pk), str(users["admin"].pk))
    assert event.detail == {"role": "case_officer", "office": "east", "active": True,
                            "role_request": ""}
    assert made.password not in str(event.detail) and "new.officer" not in str(event.detail)


def test_a_given_password_is_kept_when_it_passes_the_password_rules(users, offices):
    made = services.create_account(ctx(users["admin"]), username="rep.two",
                                   role=Role.REPRESENTATIVE, password=PASSWORD)
    assert made.password == PASSWORD and made.user.check_password(PASSWORD)


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"role": "overlord"}, "role", "Unknown role"),
    ({"role": ""}, "role", "Unknown role"),
    ({"role": Role.PARTICIPANT}, "role", "enrolled"),
    ({"role": Role.CASE_OFFICER, "office": ""}, "office", "belong to an office"),
    ({"role": Role.SUPERVISOR, "office": ""}, "office", "belong to an office"),
    ({"role": Role.CASE_OFFICER, "office": "north"}, "office", "no office 'north'"),
    ({"role": Role.REPRESENTATIVE, "office": "east"}, "office", "no office"),
    ({"username": ""}, "username", "Give a username"),
    ({"username": "   "}, "username", "Give a username"),
    ({"username": "x" * 151}, "username", "150"),
    ({"username": "аdmin.cyrillic"}, "username", "English letters"),
    ({"username": "has space"}, "username", "English letters"),
    ({"password": "short"}, "password", "too short"),
    ({"password": "password1234"}, "password", "too common"),
    ({"password": "new.account.x"}, "password", "similar"),
])
def test_bad_input_is_refused_and_nothing_is_written(users, offices, fields, field, words):
    args = {"username": "new.account.x", "role": Role.CASE_OFFICER, "office": "east", **fields}
    mark = last_event_id()
    with pytest.raises(ValidationError) as err, translation.override("en"):
        services.create_account(ctx(users["admin"]), **args)
    assert err.value.field == field and words in err.value.message
    assert not User.objects.filter(username__startswith="new.account").exists()
    assert not Event.objects.filter(id__gt=mark).exists()


@pytest.mark.parametrize("taken", ["officer.east", "OFFICER.East"])
def test_a_username_taken_in_any_case_is_a_409(users, offices, taken):
    count, mark = User.objects.count(), last_event_id()
    with pytest.raises(Conflict) as err:
        services.create_account(ctx(users["admin"]), username=taken, role=Role.SUPERVISOR,
                                office="west")
    assert (err.value.code, err.value.field) == ("username_taken", "username")
    assert User.objects.count() == count and not Event.objects.filter(id__gt=mark).exists()


def test_the_database_refuses_a_duplicate_username_that_slips_past_the_check(users, offices):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="officer.east", role=Role.CASE_OFFICER)


# --- two administrators for the privacy-officer and administrator roles -----------------------
@pytest.mark.parametrize("role", [Role.PRIVACY_OFFICER, Role.ADMINISTRATOR])
def test_a_new_account_of_a_two_person_role_waits_inactive_for_a_second_administrator(
    users, admin2, role
):
    made = services.create_account(ctx(users["admin"]), username="new.po", role=role)
    user, request = made.user, made.role_request
    assert not user.is_active and request.status == RoleRequestStatus.PENDING
    assert (request.role, request.from_role, request.new_account) == (role, "", True)
    # The proposer cannot approve it, and the account cannot be switched on around it.
    mark = last_event_id()
    with pytest.raises(PermissionDenied) as err:
        services.decide_role_request(ctx(users["admin"]), request, approve=True)
    assert err.value.code == "self_approval"
    with pytest.raises(Conflict) as err:
        services.reactivate_account(ctx(admin2), user)
    assert err.value.code == "role_not_approved"
    assert [(e.action, e.outcome, e.detail["reason"]) for e in events(mark)] == [
        ("approve", "denied", "self_approval"), ("reactivate", "denied", "role_not_approved")]
    user.refresh_from_db()
    request.refresh_from_db()
    assert not user.is_active and request.status == RoleRequestStatus.PENDING
    # A second administrator approves: the account is switched on with the role.
    mark = last_event_id()
    services.decide_role_request(ctx(admin2), request, approve=True)
    user.refresh_from_db()
    request.refresh_from_db()
    assert user.is_active and user.role == role
    assert (request.status, request.decided_by, request.proposed_by) == (
        "approved", admin2, users["admin"])
    [event] = events(mark)
    assert (event.action, event.record_type, event.record_id, event.actor_id) == (
        "approve", "accounts.rolegrantrequest", str(request.pk), str(admin2.pk))
    assert event.detail["user"] == str(user.pk) and event.detail["role"] == role


def test_a_declined_new_account_stays_off_until_it_gets_another_role(users, admin2, offices):
    made = services.create_account(ctx(users["admin"]), username="new.po", role=Role.ADMINISTRATOR)
    services.decide_role_request(ctx(admin2), made.role_request, approve=False)
    user = User.objects.get(pk=made.user.pk)
    assert not user.is_active
    with pytest.raises(Conflict) as err:
        services.reactivate_account(ctx(admin2), user)
    assert err.value.code == "role_not_approved"
    services.change_role(ctx(admin2), user, role=Role.SUPERVISOR, office="east")
    assert services.reactivate_account(ctx(admin2), User.objects.get(pk=user.pk)) is True
    assert User.objects.get(pk=user.pk).is_active


def test_granting_the_privacy_officer_role_is_proposed_and_the_account_keeps_its_role(
    users, admin2
):
    supervisor = users["supervisor_west"]
    mark = last_event_id()
    request = services.change_role(ctx(users["admin"]), supervisor, role=Role.PRIVACY_OFFICER)
    supervisor.refresh_from_db()
    assert supervisor.role == Role.SUPERVISOR and supervisor.office.code == "west"
    assert (request.role, request.from_role, request.status) == (
        "privacy_officer", "supervisor", "pending")
    [event] = events(mark)
    assert (event.action, event.record_type, event.detail["from_role"]) == (
        "propose", "accounts.rolegrantrequest", "supervisor")
    # One pending request per account: a second proposal, or any other change, waits for it.
    for role, office in ((Role.ADMINISTRATOR, ""), (Role.CASE_OFFICER, "east")):
        with pytest.raises(Conflict) as err:
            services.change_role(ctx(admin2), supervisor, role=role, office=office)
        assert err.value.code == "role_pending"
    # The proposer cannot approve their own proposal; nothing changes.
    with pytest.raises(PermissionDenied):
        services.decide_role_request(ctx(users["admin"]), request, approve=True)
    assert User.objects.get(pk=supervisor.pk).role == Role.SUPERVISOR
    services.decide_role_request(ctx(admin2), request, approve=True)
    supervisor.refresh_from_db()
    assert supervisor.role == Role.PRIVACY_OFFICER and supervisor.office is None


def test_a_declined_role_leaves_the_account_as_it_was(users, admin2):
    request = services.change_role(ctx(users["admin"]), users["privacy"], role=Role.ADMINISTRATOR)
    services.decide_role_request(ctx(admin2), request, approve=False)
    assert User.objects.get(pk=users["privacy"].pk).role == Role.PRIVACY_OFFICER
    with pytest.raises(Conflict) as err:
        services.decide_role_request(ctx(admin2), request, approve=True)
    assert err.value.code == "already_decided"
    assert RoleGrantRequest.objects.get(pk=request.pk).status == RoleRequestStatus.DECLINED


def test_an_account_changed_after_the_proposal_is_not_granted_the_role(users, admin2):
    request = services.change_role(ctx(users["admin"]), users["supervisor_east"],
                                   role=Role.PRIVACY_OFFICER)
    User.objects.filter(pk=users["supervisor_east"].pk).update(role=Role.CASE_OFFICER)
    with pytest.raises(Conflict) as err:
        services.decide_role_request(ctx(admin2), request, approve=True)
    assert err.value.code == "stale_request"
    assert User.objects.get(pk=users["supervisor_east"].pk).role == Role.CASE_OFFICER


def test_the_account_itself_cannot_decide_its_role(users, admin2, make_user):
    third = make_user("admin3", Role.ADMINISTRATOR)
    request = services.change_role(ctx(users["admin"]), third, role=Role.PRIVACY_OFFICER)
    with pytest.raises(Conflict) as err:
        services.decide_role_request(ctx(third), request, approve=False)
    assert err.value.code == "own_account"
    assert RoleGrantRequest.objects.get(pk=request.pk).status == RoleRequestStatus.PENDING


def test_the_database_refuses_a_decision_by_the_proposer(users):
    request = services.change_role(ctx(users["admin"]), users["supervisor_east"],
                                   role=Role.PRIVACY_OFFICER)
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleGrantRequest.objects.filter(pk=request.pk).update(
            status="approved", decided_by=users["admin"], decided_at=request.proposed_at)


def test_the_database_keeps_one_pending_request_per_account(users):
    request = services.change_role(ctx(users["admin"]), users["supervisor_east"],
                                   role=Role.PRIVACY_OFFICER)
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleGrantRequest.objects.create(
            user=request.user, role=Role.ADMINISTRATOR, from_role=Role.SUPERVISOR,
            proposed_by=users["admin"], proposed_at=request.proposed_at)


# --- role and office changes ------------------------------------------------------------------
def test_an_ordinary_role_change_applies_at_once_with_one_event(users, offices):
    supervisor = users["supervisor_west"]
    mark = last_event_id()
    assert services.change_role(ctx(users["admin"]), supervisor, role=Role.CASE_OFFICER,
                                office="east") is None
    supervisor.refresh_from_db()
    assert (supervisor.role, supervisor.office.code) == ("case_officer", "east")
    [event] = events(mark)
    assert (event.action, event.record_id) == ("update", str(supervisor.pk))
    assert event.detail == {"role": "case_officer", "from_role": "supervisor",
                            "office": "east", "from_office": "west"}


def test_the_same_role_and_office_is_nothing_to_change(users):
    with pytest.raises(ValidationError):
        services.change_role(ctx(users["admin"]), users["supervisor_west"],
                             role=Role.SUPERVISOR, office="west")


def test_an_officer_with_persons_on_their_caseload_keeps_role_and_office(users, make_person):
    make_person()  # on officer_east's caseload
    mark = last_event_id()
    for role, office in ((Role.SUPERVISOR, "east"), (Role.CASE_OFFICER, "west")):
        with pytest.raises(Conflict) as err:
            services.change_role(ctx(users["admin"]), users["officer_east"], role=role,
                                 office=office)
        assert err.value.code == "caseload_open" and "1 person" in err.value.message
    assert [e.outcome for e in events(mark, action="update")] == ["denied", "denied"]
    officer = User.objects.get(pk=users["officer_east"].pk)
    assert (officer.role, officer.office.code) == ("case_officer", "east")
    assert CaseloadAssignment.objects.filter(officer=officer, ended_at__isnull=True).count() == 1


def test_an_administrator_cannot_change_their_own_role(users, admin2):
    mark = last_event_id()
    with pytest.raises(Conflict) as err:
        services.change_role(ctx(users["admin"]), users["admin"], role=Role.SUPERVISOR,
                             office="east")
    assert err.value.code == "own_account"
    [event] = events(mark)
    assert (event.action, event.outcome, event.detail) == (
        "update", "denied", {"reason": "own_account"})
    assert User.objects.get(pk=users["admin"].pk).role == Role.ADMINISTRATOR


# --- deactivation, reactivation, the last administrator ---------------------------------------
def test_deactivation_switches_the_account_off_and_ends_its_tokens(users):
    client = token_client(users["officer_west"])
    mark = last_event_id()
    assert services.deactivate_account(ctx(users["admin"]), users["officer_west"]) == 1
    assert not User.objects.get(pk=users["officer_west"].pk).is_active
    assert [e.action for e in events(mark)] == ["deactivate", "token_revoke"]
    assert client.get("/api/v1/persons").status_code == 401
    mark = last_event_id()
    assert services.reactivate_account(ctx(users["admin"]), users["officer_west"]) is True
    assert User.objects.get(pk=users["officer_west"].pk).is_active
    assert [e.action for e in events(mark)] == ["reactivate"]
    # Reactivating an active account changes nothing and records nothing.
    mark = last_event_id()
    assert services.reactivate_account(ctx(users["admin"]), users["officer_west"]) is False
    assert not Event.objects.filter(id__gt=mark).exists()


def test_an_administrator_cannot_deactivate_themselves(users, admin2):
    mark = last_event_id()
    with pytest.raises(Conflict) as err:
        services.deactivate_account(ctx(users["admin"]), users["admin"])
    assert err.value.code == "own_account" and "own account" in err.value.message
    [event] = events(mark)
    assert (event.action, event.outcome, event.record_id) == (
        "deactivate", "denied", str(users["admin"].pk))
    assert User.objects.get(pk=users["admin"].pk).is_active


def test_the_last_active_administrator_stays(users, admin2):
    """admin deactivates admin2; admin2's stale session then tries to deactivate admin (the
    entry point would have refused it as inactive: the service still keeps one)."""
    services.deactivate_account(ctx(users["admin"]), admin2)
    mark = last_event_id()
    with pytest.raises(Conflict) as err:
        services.deactivate_account(ctx(admin2), users["admin"])
    assert err.value.code == "last_administrator" and "last active administrator" in (
        err.value.message)
    with pytest.raises(Conflict) as err:
        services.change_role(ctx(admin2), users["admin"], role=Role.SUPERVISOR, office="east")
    assert err.value.code == "last_administrator"
    assert [(e.action, e.outcome) for e in events(mark)] == [
        ("deactivate", "denied"), ("update", "denied")]
    admin = User.objects.get(pk=users["admin"].pk)
    assert admin.is_active and admin.role == Role.ADMINISTRATOR


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_administrators_deactivating_each_other_at_once_leave_one(users, admin2,
                                                                      monkeypatch):
    barrier = threading.Barrier(2, timeout=30)
    real_locked = services._locked

    def locked(user: User) -> User:
        barrier.wait()  # both have passed their own checks before either takes a lock
        return real_locked(user)

    monkeypatch.setattr(services, "_locked", locked)
    admin = users["admin"]
    outcome: dict[str, object] = {}

    def deactivate(by: User, target: User) -> None:
        try:
            outcome[by.username] = services.deactivate_account(ctx(by), target)
        except Conflict as exc:
            outcome[by.username] = exc.code
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deactivate, args=pair)
               for pair in ((admin, admin2), (admin2, admin))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(map(str, outcome.values())) == ["0", "last_administrator"]
    assert User.objects.filter(role=Role.ADMINISTRATOR, is_active=True).count() == 1


# --- authenticator, lockout, tokens -----------------------------------------------------------
def test_resetting_the_authenticator_removes_devices_and_tokens(users):
    officer = users["officer_west"]
    totp_code(officer)
    client = token_client(officer)  # sets up a second device for its code
    mark = last_event_id()
    assert services.reset_mfa(ctx(users["admin"]), officer) == 2
    assert not TOTPDevice.objects.filter(user=officer).exists()
    assert [(e.action, e.detail.get("devices") or e.detail.get("reason")) for e in events(mark)
            ] == [("mfa_reset", 2), ("token_revoke", "mfa_reset")]
    assert client.get("/api/v1/persons").status_code == 401
    mark = last_event_id()
    assert services.reset_mfa(ctx(users["admin"]), officer) == 0
    assert not Event.objects.filter(id__gt=mark).exists()


def test_an_administrator_cannot_reset_their_own_authenticator(users):
    totp_code(users["admin"])
    with pytest.raises(Conflict) as err:
        services.reset_mfa(ctx(users["admin"]), users["admin"])
    assert err.value.code == "own_account"
    assert TOTPDevice.objects.filter(user=users["admin"]).count() == 1


def test_unlocking_ends_a_lockout_with_one_event(users):
    officer = users["officer_west"]
    lock_out(officer.username)
    assert services.is_locked_out(officer)
    mark = last_event_id()
    cleared = services.unlock_account(ctx(users["admin"]), officer)
    assert cleared >= 1 and not services.is_locked_out(officer)
    assert not AccessAttempt.objects.filter(username=officer.username).exists()
    [event] = events(mark)
    assert (event.action, event.detail) == ("unlock", {"attempts": cleared})
    assert services.unlock_account(ctx(users["admin"]), officer) == 0


def test_revoking_tokens_is_one_event_naming_the_administrator(users):
    token_client(users["representative"])
    token_client(users["representative"])
    mark = last_event_id()
    assert services.revoke_account_tokens(ctx(users["admin"]), users["representative"]) == 2
    [event] = events(mark)
    assert (event.action, event.actor_id, event.detail["reason"], event.detail["count"]) == (
        "token_revoke", str(users["admin"].pk), "administrator", 2)
    assert not ApiToken.objects.filter(user=users["representative"],
                                       revoked_at__isnull=True).exists()


# --- what an administrator sees --------------------------------------------------------------
def test_a_participants_login_is_not_an_administered_account(users, make_person):
    person = make_person()
    type(person).objects.filter(pk=person.pk).update(participant_account=users["participant"])
    mark = last_event_id()
    with pytest.raises(NotFound):
        selectors.managed_account(ctx(users["admin"]), users["participant"].pk, action="read")
    [event] = events(mark)
    assert (event.outcome, event.subject_id, event.record_id) == (
        "denied", person.pk, str(users["participant"].pk))
    page, rows = selectors.accounts(selectors.AccountFilter())
    assert "participant" not in {r.user.username for r in rows}
    assert page.paginator.count == User.objects.exclude(role=Role.PARTICIPANT).count()


def test_the_list_filters_and_pages(users, admin2, offices):
    lock_out(users["officer_west"].username)
    totp_code(users["supervisor_east"])
    services.deactivate_account(ctx(users["admin"]), users["officer_east2"])

    def names(**f: object) -> list[str]:
        return [r.user.username for r in selectors.accounts(selectors.AccountFilter(**f),
                                                            per_page=100)[1]]

    assert names(role=Role.ADMINISTRATOR) == ["admin", "admin2"]
    assert names(office="west") == ["officer.west", "supervisor.west"]
    assert names(active=False) == ["officer2.east"]
    assert names(locked=True) == ["officer.west"]
    assert "officer.west" not in names(locked=False)
    assert names(q="EAST", active=True) == ["officer.east", "supervisor.east"]
    [row] = selectors.accounts(selectors.AccountFilter(q="supervisor.east"))[1]
    assert row.mfa_enrolled and not row.locked
    page, rows = selectors.accounts(selectors.AccountFilter(), page=2, per_page=3)
    assert page.number == 2 and [r.user.username for r in rows] == names()[3:6]
    for bad in ({"role": "participant"}, {"role": "nobody"}, {"office": "north"}):
        with pytest.raises(ValidationError):
            selectors.accounts(selectors.AccountFilter(**bad))
