"""Users: Argon2 password hashes, roles limited to the choices, offices for officers."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import check_password, identify_hasher
from django.db import IntegrityError, transaction

from caseledger import settings as real_settings
from caseledger.accounts.models import Role, User
from caseledger.accounts.services import create_user
from caseledger.core.errors import ValidationError
from caseledger.ledger.models import Event
from tests.conftest import PASSWORD, last_event_id


def test_passwords_are_hashed_with_argon2(users):
    for user in users.values():
        user.refresh_from_db()
        assert user.password.startswith("argon2"), user.username
        assert PASSWORD not in user.password
        assert identify_hasher(user.password).algorithm == "argon2"
        assert check_password(PASSWORD, user.password)
        assert not check_password("wrong-password", user.password)


def test_argon2_is_the_configured_hasher_outside_the_tests():
    assert real_settings.PASSWORD_HASHERS == ["django.contrib.auth.hashers.Argon2PasswordHasher"]


def test_two_users_with_the_same_password_get_different_hashes(users):
    a = User.objects.get(username="officer.east").password
    b = User.objects.get(username="officer.west").password
    assert a != b


@pytest.mark.parametrize("role", ["superuser", "root", "", "CASE_OFFICER", "Case officer"])
def test_role_outside_the_choices_is_refused(offices, role):
    mark = last_event_id()
    with pytest.raises(ValidationError) as err:
        create_user(username="x.user", password=PASSWORD, role=role, office=offices["east"])
    assert err.value.field == "role"
    assert "role" in err.value.message.lower()
    assert not User.objects.filter(username="x.user").exists()
    assert not Event.objects.filter(id__gt=mark).exists()


def test_database_refuses_a_role_outside_the_choices(offices):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="sneaky", role="overlord")
    assert not User.objects.filter(username="sneaky").exists()


@pytest.mark.parametrize("role", [Role.CASE_OFFICER, Role.SUPERVISOR])
def test_officers_and_supervisors_need_an_office(db, role):
    with pytest.raises(ValidationError) as err:
        create_user(username="no.office", password=PASSWORD, role=role)
    assert err.value.field == "office"
    assert not User.objects.filter(username="no.office").exists()


@pytest.mark.parametrize(
    "role", [Role.PRIVACY_OFFICER, Role.ADMINISTRATOR, Role.PARTICIPANT, Role.REPRESENTATIVE]
)
def test_other_roles_need_no_office(db, role):
    user = create_user(username=f"u.{role}", password=PASSWORD, role=role)
    assert user.office is None and user.role == role


def test_creating_a_user_is_recorded(offices):
    mark = last_event_id()
    user = create_user(
        username="new.officer", password=PASSWORD, role=Role.CASE_OFFICER, office=offices["west"]
    )
    [event] = Event.objects.filter(id__gt=mark)
    assert (event.action, event.data_category, event.outcome) == ("create", "account", "allowed")
    assert event.record_id == str(user.pk)
    assert event.detail == {"role": "case_officer"}
    assert PASSWORD not in str(event.detail) and "new.officer" not in str(event.detail)


def test_staff_roles(users):
    staff = {k for k, u in users.items() if u.is_staff_role}
    assert staff == {
        "officer_east",
        "officer_east2",
        "officer_west",
        "supervisor_east",
        "supervisor_west",
        "privacy",
        "admin",
    }
    # Nobody gets Django's own staff flag (and with it the admin site).
    assert not any(u.is_staff or u.is_superuser for u in users.values())
