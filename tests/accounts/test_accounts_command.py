"""`caseledger accounts create`: the operator makes the first administrators (the pages need
two for that role), with a temporary password printed once and a `create` event."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from caseledger.accounts.models import Role, User
from caseledger.ledger.models import Event
from tests.conftest import last_event_id


def test_the_operator_makes_an_active_administrator(db):
    out, mark = StringIO(), last_event_id()
    call_command("accounts", "create", "first.admin", "--role", "administrator", stdout=out)
    password = out.getvalue().strip().splitlines()[-1]
    user = User.objects.get(username="first.admin")
    assert user.is_active and user.role == Role.ADMINISTRATOR and user.check_password(password)
    [event] = Event.objects.filter(id__gt=mark)
    assert (event.action, event.actor_role, event.record_id) == ("create", "system", str(user.pk))
    assert password not in str(event.detail)


@pytest.mark.parametrize(("args", "message"), [
    (["officer.east", "--role", "supervisor", "--office", "east"], "taken"),
    (["new.officer", "--role", "case_officer"], "belong to an office"),
    (["new.officer", "--role", "case_officer", "--office", "north"], "no office 'north'"),
    (["bad name", "--role", "administrator"], "English letters"),
])
def test_bad_input_is_refused_with_a_message(users, args, message):
    count = User.objects.count()
    with pytest.raises(CommandError, match=message):
        call_command("accounts", "create", *args, stdout=StringIO())
    assert User.objects.count() == count


def test_a_participant_login_cannot_be_made_here(db):
    with pytest.raises(CommandError):
        call_command("accounts", "create", "p1", "--role", "participant", stdout=StringIO())
