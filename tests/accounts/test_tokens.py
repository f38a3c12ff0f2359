"""API tokens end: DELETE /auth/token, sign-out, password change, lockout, deactivation, the
`tokens` command and expiry; each revocation is one ledger event; other accounts untouched."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from caseledger.accounts import services
from caseledger.accounts.models import ApiToken, User
from caseledger.core import clock
from caseledger.core.errors import ValidationError
from caseledger.ledger.models import Event
from caseledger.ledger.services import Actor
from tests.conftest import PASSWORD, last_event_id

API = "/api/v1"
TOKEN = f"{API}/auth/token"
PERSONS = f"{API}/persons"
LOGIN = "/accounts/login/"
LOGOUT = "/accounts/logout/"
NEW_PASSWORD = "a-much-longer-new-passphrase-42"


def token_of(client: Client) -> str:
    return client.defaults["HTTP_AUTHORIZATION"].removeprefix("Bearer ")


def row_of(client: Client) -> ApiToken:
    return ApiToken.objects.get(key_hash=hashlib.sha256(token_of(client).encode()).hexdigest())


def works(client: Client) -> bool:
    """Whether the client's bearer token is accepted (200) or refused (401), nothing else."""
    status = client.get(PERSONS).status_code
    assert status in (200, 401), status
    return status == 200


def revocations(mark: int) -> list[Event]:
    return list(Event.objects.filter(id__gt=mark, action="token_revoke").order_by("id"))


def assert_unauthenticated(response: Any) -> None:
    assert response.status_code == 401, response.content
    body = response.json()
    assert body["code"] == "unauthenticated" and body["detail"]


def assert_revocation(
    event: Event,
    *,
    user: User,
    tokens: list[ApiToken],
    reason: str,
    actor: User | None,
    purpose: str,
) -> None:
    """The fields every `token_revoke` event carries."""
    ids = sorted(str(t.pk) for t in tokens)
    assert event.action == "token_revoke"
    assert event.outcome == "allowed"
    assert event.data_category == "account"
    assert event.purpose == purpose
    assert event.record_type == "accounts.apitoken"
    assert event.record_id == (ids[0] if len(ids) == 1 else "")
    assert event.subject_id is None  # an account, not a person's record
    assert (event.actor_id, event.actor_role) == (
        (str(actor.pk), actor.role) if actor else ("", "system")
    )
    assert set(event.detail) == {"reason", "count", "user", "token_ids"}
    assert event.detail["reason"] == reason
    assert event.detail["count"] == len(ids)
    assert event.detail["user"] == str(user.pk)
    assert sorted(event.detail["token_ids"]) == ids


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> Callable[[timedelta], datetime]:
    """Move the application clock (`caseledger.core.clock`) forward by a given time."""

    def move(delta: timedelta) -> datetime:
        moment = timezone.now() + delta
        monkeypatch.setattr(clock, "now", lambda: moment)
        return moment

    return move


# --- DELETE /api/v1/auth/token ----------------------------------------------------------------


def test_delete_revokes_the_token_it_carries_and_only_that_one(users, api_client):
    user = users["officer_east"]
    first, second = api_client(user), api_client(user)
    neighbour = api_client(users["officer_west"])
    row = row_of(first)
    mark = last_event_id()
    response = first.delete(TOKEN)
    assert response.status_code == 204, response.content
    assert response.content == b""
    [event] = Event.objects.filter(id__gt=mark)  # the revocation is the only event
    assert_revocation(
        event, user=user, tokens=[row], reason="self", actor=user, purpose="authentication"
    )
    assert event.office == "east"
    assert event.request_id == response["X-Request-Id"]  # the server's id of the call
    row.refresh_from_db()
    assert row.revoked_at is not None and row.row_version == 2
    assert_unauthenticated(first.get(PERSONS))
    # The account's other token and another account's token keep working.
    assert works(second) and works(neighbour)
    assert row_of(second).revoked_at is None and row_of(neighbour).revoked_at is None


def test_revoking_the_same_token_twice_is_401_and_changes_nothing(users, api_client):
    client = api_client(users["participant"])
    assert client.delete(TOKEN).status_code == 204
    row = row_of(client)
    mark = last_event_id()
    assert_unauthenticated(client.delete(TOKEN))
    assert ApiToken.objects.get(pk=row.pk).revoked_at == row.revoked_at
    assert not Event.objects.filter(id__gt=mark).exists()


@pytest.mark.parametrize(
    "header",
    [None, "Bearer not-a-real-token", "Bearer ", "Basic cGFydGljaXBhbnQ6eA==", "bearer"],
    ids=["none", "unknown", "empty", "basic", "no-token"],
)
def test_delete_without_a_valid_token_is_401_and_revokes_nothing(users, api_client, header):
    holder = api_client(users["participant"])
    mark = last_event_id()
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    assert_unauthenticated(Client().delete(TOKEN, **extra))
    assert not ApiToken.objects.filter(revoked_at__isnull=False).exists()
    assert not Event.objects.filter(id__gt=mark).exists()
    assert works(holder)


def test_another_users_token_cannot_be_revoked_by_sending_it_as_a_body(users, api_client):
    """DELETE revokes the token that authenticates the call; nothing a client sends names
    another token."""
    victim = api_client(users["officer_west"])
    caller = api_client(users["participant"])
    response = caller.delete(
        TOKEN, data={"token": token_of(victim)}, content_type="application/json"
    )
    assert response.status_code == 204
    assert works(victim)
    assert not works(caller)


def test_an_expired_token_cannot_be_revoked_and_gets_401(users, api_client, later):
    client = api_client(users["participant"])
    later(settings.API_TOKEN_TTL + timedelta(seconds=1))
    mark = last_event_id()
    assert_unauthenticated(client.delete(TOKEN))
    assert row_of(client).revoked_at is None
    assert not revocations(mark)


# --- expiry -------------------------------------------------------------------------------


def test_tokens_expire_after_the_configured_time(users, api_client, later):
    client = api_client(users["officer_east"])
    row = row_of(client)
    lifetime = row.expires_at - row.created_at
    assert settings.API_TOKEN_TTL - timedelta(seconds=5) < lifetime <= settings.API_TOKEN_TTL
    later(settings.API_TOKEN_TTL - timedelta(minutes=1))
    assert works(client)
    later(settings.API_TOKEN_TTL + timedelta(seconds=1))
    assert_unauthenticated(client.get(PERSONS))


def test_a_shorter_ttl_setting_gives_shorter_tokens(users, api_client, later, settings):
    settings.API_TOKEN_TTL = timedelta(minutes=5)
    client = api_client(users["participant"])
    row = row_of(client)
    assert timedelta(minutes=4) < row.expires_at - row.created_at <= timedelta(minutes=5)
    later(timedelta(minutes=4))
    assert works(client)
    later(timedelta(minutes=5, seconds=1))
    assert not works(client)


def test_expired_tokens_are_not_counted_as_revoked(users, api_client, later):
    user = users["participant"]
    api_client(user)
    later(settings.API_TOKEN_TTL + timedelta(seconds=1))
    mark = last_event_id()
    assert services.revoke_all_tokens(user, "admin_cli") == 0
    assert not ApiToken.objects.filter(revoked_at__isnull=False).exists()
    assert not revocations(mark)


# --- sign-out -----------------------------------------------------------------------------


def test_web_logout_revokes_every_token_of_the_account(users, api_client, web_client):
    user = users["officer_east"]
    first, second = api_client(user), api_client(user)
    neighbour = api_client(users["officer_east2"])
    rows = [row_of(first), row_of(second)]
    browser = web_client(user)
    mark = last_event_id()
    response = browser.post(LOGOUT)
    assert response.status_code == 302
    assert not works(first) and not works(second)
    assert works(neighbour)
    [event] = revocations(mark)
    assert_revocation(
        event, user=user, tokens=rows, reason="logout", actor=user, purpose="authentication"
    )
    assert event.request_id == response["X-Request-Id"]


def test_logout_without_tokens_writes_no_revocation(users, web_client):
    browser = web_client(users["participant"])
    mark = last_event_id()
    assert browser.post(LOGOUT).status_code == 302
    assert not revocations(mark)


def test_anonymous_logout_revokes_nothing(users, api_client):
    holder = api_client(users["participant"])
    mark = last_event_id()
    assert Client().post(LOGOUT).status_code == 302
    assert works(holder)
    assert not revocations(mark)


# --- password change ----------------------------------------------------------------------


def test_password_change_revokes_the_tokens_and_records_both(users, api_client):
    user = users["participant"]
    client = api_client(user)
    other = api_client(users["representative"])
    row = row_of(client)
    mark = last_event_id()
    revoked = services.change_password(user=user, new_password=NEW_PASSWORD, actor=Actor.of(user))
    assert revoked == 1
    change, revoke = Event.objects.filter(id__gt=mark).order_by("id")
    assert (change.action, change.record_type, change.record_id) == (
        "password_change",
        "accounts.user",
        str(user.pk),
    )
    assert change.purpose == "authentication"
    assert_revocation(
        revoke,
        user=user,
        tokens=[row],
        reason="password_change",
        actor=user,
        purpose="authentication",
    )
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD) and not user.check_password(PASSWORD)
    assert not works(client)
    assert works(other)


def test_a_password_set_by_an_administrator_is_recorded_as_administration(users, api_client):
    user, admin = users["participant"], users["admin"]
    api_client(user)
    mark = last_event_id()
    services.change_password(user=user, new_password=NEW_PASSWORD, actor=Actor.of(admin))
    change, revoke = Event.objects.filter(id__gt=mark).order_by("id")
    assert change.purpose == "administration" and change.actor_id == str(admin.pk)
    assert revoke.actor_id == str(admin.pk) and revoke.detail["reason"] == "password_change"


@pytest.mark.parametrize("weak", ["short", "password1234", "participant1"])
def test_a_weak_new_password_is_refused_and_keeps_the_tokens(users, api_client, weak):
    user = users["participant"]
    client = api_client(user)
    mark = last_event_id()
    with pytest.raises(ValidationError) as err:
        services.change_password(user=user, new_password=weak, actor=Actor.of(user))
    assert err.value.field == "password" and err.value.message
    assert not Event.objects.filter(id__gt=mark).exists()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert works(client)


# --- lockout ------------------------------------------------------------------------------


def fail_web(username: str) -> int:
    return Client().post(LOGIN, {"username": username, "password": "wrong-password-x"}).status_code


def fail_api(username: str) -> int:
    return (
        Client()
        .post(
            TOKEN,
            {"username": username, "password": "wrong-password-x"},
            content_type="application/json",
        )
        .status_code
    )


def test_lockout_after_five_web_failures_revokes_and_refuses(users, api_client):
    user = users["participant"]
    client = api_client(user)
    neighbour = api_client(users["representative"])
    row = row_of(client)
    mark = last_event_id()
    assert [fail_web(user.username) for _ in range(4)] == [401] * 4
    assert works(client)  # four failures do not lock
    assert fail_web(user.username) == 429
    assert not works(client)
    assert row_of(client).revoked_at is not None
    assert works(neighbour)
    [event] = revocations(mark)
    assert_revocation(
        event, user=user, tokens=[row], reason="lockout", actor=None, purpose="authentication"
    )
    # Every further attempt while locked meets the lockout again; nothing left to revoke.
    again = last_event_id()
    assert fail_web(user.username) == 429
    assert (
        Client().post(LOGIN, {"username": user.username, "password": PASSWORD}).status_code == 429
    )
    assert not revocations(again)


def test_lockout_through_the_api_revokes_too(users, api_client):
    user = users["officer_east"]
    first, second = api_client(user), api_client(user)
    rows = [row_of(first), row_of(second)]
    mark = last_event_id()
    assert [fail_api(user.username) for _ in range(5)] == [403] * 4 + [429]
    assert not works(first) and not works(second)
    [event] = revocations(mark)
    assert_revocation(
        event, user=user, tokens=rows, reason="lockout", actor=None, purpose="authentication"
    )


def test_a_locked_name_that_is_no_account_revokes_nothing(users, api_client):
    holder = api_client(users["participant"])
    mark = last_event_id()
    assert [fail_web("nobody.here") for _ in range(5)][-1] == 429
    assert works(holder)
    assert not revocations(mark)


def lock_directly(username: str, failures: int = 5) -> None:
    """A lock as axes stores it, without going through the lockout response (so without the
    revocation): what `user_for_token` must refuse on its own."""
    AccessAttempt.objects.create(
        username=username,
        ip_address="192.0.2.10",
        user_agent="test",
        http_accept="*/*",
        path_info=LOGIN,
        get_data="",
        post_data="",
        failures_since_start=failures,
    )


def test_a_locked_accounts_token_is_refused_even_if_not_revoked(users, api_client):
    user = users["participant"]
    client = api_client(user)
    lock_directly(user.username)
    assert services.is_locked_out(user)
    assert_unauthenticated(client.get(PERSONS))
    assert row_of(client).revoked_at is None
    # When the cool-off has passed the lock is over, and so is the refusal.
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert not services.is_locked_out(user)
    assert works(client)


def test_four_failures_are_not_a_lock(users, api_client):
    user = users["participant"]
    client = api_client(user)
    lock_directly(user.username, failures=4)
    assert not services.is_locked_out(user)
    assert works(client)


def test_a_lock_of_one_account_does_not_refuse_another(users, api_client):
    client = api_client(users["representative"])
    lock_directly(users["participant"].username)
    assert not services.is_locked_out(users["representative"])
    assert works(client)


# --- deactivation -------------------------------------------------------------------------


def test_deactivation_revokes_the_tokens(users, api_client):
    user, admin = users["officer_west"], users["admin"]
    client = api_client(user)
    neighbour = api_client(users["supervisor_west"])
    row = row_of(client)
    mark = last_event_id()
    assert services.deactivate_user(user=user, actor=Actor.of(admin), request_id="req-d1") == 1
    deactivate, revoke = Event.objects.filter(id__gt=mark).order_by("id")
    assert (deactivate.action, deactivate.record_type, deactivate.record_id) == (
        "deactivate",
        "accounts.user",
        str(user.pk),
    )
    assert deactivate.actor_id == str(admin.pk) and deactivate.purpose == "administration"
    assert_revocation(
        revoke, user=user, tokens=[row], reason="deactivated", actor=admin, purpose="administration"
    )
    assert revoke.request_id == "req-d1"
    assert User.objects.get(pk=user.pk).is_active is False
    assert ApiToken.objects.get(pk=row.pk).revoked_at is not None
    assert not works(client)
    assert works(neighbour)
    # Again: nothing changes, nothing is recorded.
    again = last_event_id()
    assert services.deactivate_user(user=user, actor=Actor.of(admin)) == 0
    assert not Event.objects.filter(id__gt=again).exists()


def test_an_inactive_accounts_unrevoked_token_is_refused(users, api_client):
    user = users["participant"]
    client = api_client(user)
    User.objects.filter(pk=user.pk).update(is_active=False)  # around the service, on purpose
    assert_unauthenticated(client.get(PERSONS))
    assert row_of(client).revoked_at is None


# --- the service itself -------------------------------------------------------------------


def test_revoke_all_with_nothing_to_revoke_writes_no_event(users):
    mark = last_event_id()
    assert services.revoke_all_tokens(users["participant"], "admin_cli") == 0
    assert not Event.objects.filter(id__gt=mark).exists()


def test_revoke_all_leaves_already_revoked_tokens_alone(users, api_client):
    user = users["participant"]
    old, new = api_client(user), api_client(user)
    assert old.delete(TOKEN).status_code == 204
    revoked_at = row_of(old).revoked_at
    mark = last_event_id()
    assert services.revoke_all_tokens(user, "admin_cli") == 1
    assert row_of(old).revoked_at == revoked_at
    [event] = revocations(mark)
    assert event.detail["token_ids"] == [str(row_of(new).pk)]


def test_a_failed_ledger_write_leaves_the_tokens_unrevoked(users, api_client, monkeypatch):
    """The event and the UPDATE share one transaction: no revocation without its event."""
    from django.db import DatabaseError

    user = users["participant"]
    client = api_client(user)

    def ledger_down(**kwargs: Any) -> None:
        raise DatabaseError("ledger unavailable")

    monkeypatch.setattr(services, "record_event", ledger_down)
    with pytest.raises(DatabaseError):
        services.revoke_all_tokens(user, "admin_cli")
    assert row_of(client).revoked_at is None
    monkeypatch.undo()
    assert works(client)


def test_an_unknown_reason_is_a_programming_error(users):
    with pytest.raises(ValueError, match="reason"):
        services.revoke_all_tokens(users["participant"], "because")


# --- caseledger tokens ----------------------------------------------------------------------


def run(*args: str) -> str:
    out = StringIO()
    call_command("tokens", *args, stdout=out)
    return out.getvalue()


def test_cli_revoke_revokes_every_live_token_and_prints_the_count(users, api_client):
    user = users["supervisor_east"]
    first, second = api_client(user), api_client(user)
    neighbour = api_client(users["officer_east"])
    rows = [row_of(first), row_of(second)]
    mark = last_event_id()
    assert run("revoke", "--user", user.username) == f"Revoked 2 token(s) of {user.username}.\n"
    [event] = Event.objects.filter(id__gt=mark)
    assert_revocation(
        event, user=user, tokens=rows, reason="admin_cli", actor=None, purpose="administration"
    )
    assert event.request_id == "cli"
    assert not works(first) and not works(second)
    assert works(neighbour)
    again = last_event_id()
    assert "nothing revoked" in run("revoke", "--user", user.username)
    assert not revocations(again)


def test_cli_list_shows_prefixes_and_states_never_the_token(users, api_client):
    user = users["participant"]
    revoked, live = api_client(user), api_client(user)
    assert revoked.delete(TOKEN).status_code == 204
    expired = ApiToken.objects.create(
        user=user, key_hash="0" * 64, expires_at=timezone.now() - timedelta(hours=1)
    )
    output = run("list", "--user", user.username)
    lines = output.splitlines()
    for title in ("ID", "CREATED (UTC)", "EXPIRES (UTC)", "REVOKED (UTC)", "STATE"):
        assert title in lines[0]
    states = {line.split()[0]: line.split()[-1] for line in lines[1:]}
    assert states == {
        str(row_of(revoked).pk)[:8]: "revoked",
        str(row_of(live).pk)[:8]: "live",
        str(expired.pk)[:8]: "expired",
    }
    for secret in (token_of(revoked), token_of(live), row_of(live).key_hash, expired.key_hash):
        assert secret not in output
    assert str(row_of(live).pk) not in output  # a prefix only


def test_cli_list_of_an_account_without_tokens(users):
    assert run("list", "--user", "rep") == "rep has no API tokens.\n"


@pytest.mark.parametrize("action", ["list", "revoke"])
def test_cli_unknown_user_is_a_clear_error(db, action):
    mark = last_event_id()
    with pytest.raises(CommandError, match="There is no user 'ghost'"):
        run(action, "--user", "ghost")
    assert not Event.objects.filter(id__gt=mark).exists()


@pytest.mark.parametrize("args", [["revoke"], ["list"], [], ["burn", "--user", "rep"]])
def test_cli_bad_arguments_are_errors(db, args):
    with pytest.raises(CommandError):
        run(*args)
