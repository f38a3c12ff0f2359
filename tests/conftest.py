"""Shared fixtures: offices, one user per role, persons made through the services."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from caseledger.access.context import AccessContext, default_purpose
from caseledger.accounts.models import Office, Role, User
from caseledger.accounts.services import create_user
from caseledger.ledger.models import Event
from caseledger.people.models import Person
from caseledger.people.services import AddressInput, NameInput, PersonInput, create_person

PASSWORD = "correct-horse-battery-staple"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """PostgreSQL-only tests run in the PostgreSQL pass of `make test`, and are deselected
    (not skipped) in the SQLite pass."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    keep = [i for i in items if i.get_closest_marker("postgres_only") is None]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


_counter = itertools.count(10_000_000)


@pytest.fixture(scope="session", autouse=True)
def ledger_signing_key(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One signing key for the session, in a temporary file (never in the database)."""
    from django.conf import settings

    from caseledger.ledger import checkpoints

    path = tmp_path_factory.mktemp("ledger-key") / "signing.key"
    settings.LEDGER_SIGNING_KEY_FILE = str(path)
    checkpoints.ensure_demo_key()
    return checkpoints.verifier_key()


@pytest.fixture(autouse=True)
def checkpoint_dir(settings: Any, tmp_path: Any) -> Any:
    """Each test writes its checkpoints to its own directory (the write-once stand-in)."""
    settings.LEDGER_CHECKPOINT_DIR = str(tmp_path / "checkpoints")
    return tmp_path / "checkpoints"


@pytest.fixture
def clock_from(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], datetime]:
    """`clock_from(moment)`: the clock set to `moment`, and running on from there, for a test
    whose outcome depends on the day or the hour. It moves `django.utils.timezone.now`, which
    `caseledger.core.clock`, the ledger and the `auto_now` fields read, so every row and event
    of the test sees the same time; request it before the fixtures that write."""

    def start(moment: datetime) -> datetime:
        real = timezone.now
        offset = moment - real()
        monkeypatch.setattr(timezone, "now", lambda: real() + offset)
        return moment

    return start


@pytest.fixture
def offices(db: Any) -> dict[str, Office]:
    return {
        code: Office.objects.create(
            code=code, name=f"{code.title()} office", time_zone="America/New_York"
        )
        for code in ("east", "west")
    }


@pytest.fixture
def make_user(offices: dict[str, Office]) -> Callable[..., User]:
    def make(username: str, role: str, office: str | None = None) -> User:
        return create_user(
            username=username,
            password=PASSWORD,
            role=role,
            office=offices[office] if office else None,
        )

    return make


@pytest.fixture
def users(make_user: Callable[..., User]) -> dict[str, User]:
    return {
        "officer_east": make_user("officer.east", Role.CASE_OFFICER, "east"),
        "officer_east2": make_user("officer2.east", Role.CASE_OFFICER, "east"),
        "officer_west": make_user("officer.west", Role.CASE_OFFICER, "west"),
        "supervisor_east": make_user("supervisor.east", Role.SUPERVISOR, "east"),
        "supervisor_west": make_user("supervisor.west", Role.SUPERVISOR, "west"),
        "privacy": make_user("privacy", Role.PRIVACY_OFFICER),
        "admin": make_user("admin", Role.ADMINISTRATOR),
        "representative": make_user("rep", Role.REPRESENTATIVE),
        "participant": make_user("participant", Role.PARTICIPANT),
    }


def context(user: User, purpose: str | None = None, **kwargs: Any) -> AccessContext:
    return AccessContext(user=user, purpose=purpose or default_purpose(user), **kwargs)


@pytest.fixture
def make_person(users: dict[str, User]) -> Callable[..., Person]:
    def make(
        officer: str | User = "officer_east",
        given: str = "Maria",
        family: str = "Gonzalez",
        a_number: str | None = "auto",
        **extra: Any,
    ) -> Person:
        user = users[officer] if isinstance(officer, str) else officer
        if a_number == "auto":
            a_number = f"A{next(_counter):09d}"
        data = PersonInput(
            name=NameInput(given_names=given, family_names=family),
            a_number=a_number,
            date_of_birth=extra.pop("date_of_birth", date(1990, 5, 17)),
            citizenship=extra.pop("citizenship", ["MX"]),
            languages=extra.pop("languages", ["es"]),
            address=extra.pop(
                "address",
                AddressInput(
                    line1="12 Main St",
                    city="Newark",
                    region="NJ",
                    postal_code="07102",
                    valid_from=date(2024, 1, 1),
                ),
            ),
            **extra,
        )
        return create_person(ctx=context(user), data=data)

    return make


def totp_code(user: User) -> tuple[str, TOTPDevice]:
    """A fresh confirmed TOTP device for `user` and its current code."""
    device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    return f"{totp(device.bin_key):06d}", device


def token_client(user: User) -> Client:
    """A test client that sends a bearer token for `user` (issued through the real endpoint,
    with a TOTP code for staff, as outside the demo)."""
    client = Client()
    code = totp_code(user)[0] if user.is_staff_role else ""
    response = client.post(
        "/api/v1/auth/token",
        {"username": user.username, "password": PASSWORD, "otp": code},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {response.json()['token']}"
    return client


@pytest.fixture
def api_client() -> Callable[[User], Client]:
    """`token_client`, as a fixture."""
    return token_client


def signed_in_client(user: User) -> Client:
    """A browser-like client signed in as `user`, past the TOTP step for staff."""
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    if user.is_staff_role:
        _code, device = totp_code(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def web_client() -> Callable[[User], Client]:
    """`signed_in_client`, as a fixture."""
    return signed_in_client


@pytest.fixture
def events_since() -> Callable[[int], list[Event]]:
    """Ledger events written after a marker: `mark = last_event_id(); ...; events_since(mark)`."""

    def since(mark: int) -> list[Event]:
        return list(Event.objects.filter(id__gt=mark).order_by("id"))

    return since


def privileges(role: str, table: str) -> set[str]:
    """The table privileges `role` has on `table` (PostgreSQL)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT p FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) p "
            "WHERE has_table_privilege(%s, %s, p)", [role, table])
        return {row[0] for row in cur.fetchall()}


def last_event_id() -> int:
    last = Event.objects.order_by("-id").values_list("id", flat=True).first()
    return last or 0


# Data migrations whose rows a transactional test's flush removes; their seed functions are
# idempotent, so a transactional test that needs them runs them again (`reference_data`).
REFERENCE_DATA_MIGRATIONS = (
    "caseledger.retention.migrations.0002_seed_schedules",
    "caseledger.disclosures.migrations.0002_registry",
    "caseledger.notices.migrations.0002_default_templates",
)


def seed_reference_data() -> None:
    """The court list, retention schedules and routine uses and agencies, as the migrations
    seed them."""
    import importlib

    from django.apps import apps

    from caseledger.cases.courts import COURTS
    from caseledger.cases.models import Court

    for code, name, tz in COURTS:
        Court.objects.update_or_create(code=code, defaults={"name": name, "time_zone": tz})
    for module in REFERENCE_DATA_MIGRATIONS:
        importlib.import_module(module).seed(apps, None)
