"""`core.copying`: the one bulk writer (COPY on PostgreSQL, `executemany` on SQLite) carries
every value as data, whatever it holds, and maps the database's refusals to Django's errors."""

from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError, connection, transaction

from caseledger.accounts.models import Office
from caseledger.core.copying import copy_model_rows, copy_rows

pytestmark = pytest.mark.django_db

AWKWARD = [
    "tab\there",
    "line\nbreak and \r carriage return",
    "back\\slash \\N \\x00 and \\.",
    "",
    "quote ' and \" and , comma",
    "Олександр Коваленко 李伟 محمد 🙂",
    "\\",
    "\\.",
    "a" * 5000,
]
BLOBS = [b"", b"\x00\x01\\\t\n\xff", bytes(range(256))]


@pytest.fixture
def probe():
    """A scratch table (in the test's transaction) of text, bytes and an integer."""
    blob = "bytea" if connection.vendor == "postgresql" else "blob"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE copy_probe (n integer PRIMARY KEY, t text, b {blob})")
    yield connection.ops.quote_name("copy_probe")
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE copy_probe")


def _read() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT n, t, b FROM copy_probe ORDER BY n")
        return [(n, t, None if b is None else bytes(b)) for n, t, b in cursor.fetchall()]


def _rows() -> list[tuple]:
    rows = [(i, text, BLOBS[i % len(BLOBS)]) for i, text in enumerate(AWKWARD)]
    return [*rows, (len(rows), None, None)]  # NULLs


@pytest.mark.parametrize("binary", [False, True])
def test_awkward_values_arrive_as_they_were(probe, binary):
    types = ("int4", "text", "bytea") if binary else None
    with transaction.atomic():
        count = copy_rows(probe, ("n", "t", "b"), iter(_rows()), types=types)

    assert count == len(_rows())
    assert _read() == _rows()


def test_more_rows_than_one_sqlite_batch(probe):
    rows = [(i, f"row {i}\t{i}", None) for i in range(2500)]
    assert copy_rows(probe, ("n", "t", "b"), rows) == 2500
    assert _read() == rows


def test_no_rows_is_nothing(probe):
    assert copy_rows(probe, ("n", "t", "b"), []) == 0
    assert _read() == []


def test_a_refused_row_is_djangos_integrity_error(probe):
    with pytest.raises(IntegrityError), transaction.atomic():
        copy_rows(probe, ("n", "t", "b"), [(1, "a", None), (1, "again", None)])
    assert _read() == []


def test_model_rows_are_typed_by_their_fields():
    """`copy_model_rows` sends UUIDs, times and text as the model's fields take them (a binary
    COPY on PostgreSQL, the fields' own adaptation elsewhere): the ORM reads them back."""
    from caseledger.core import clock

    now = clock.now()
    ids = [uuid.uuid4() for _ in AWKWARD[:5]]
    columns = ("id", "created_at", "updated_at", "row_version", "code", "name", "time_zone")
    with transaction.atomic():
        copy_model_rows(Office, columns, [
            (pk, now, now, 1, f"copy-{i}", name, "America/Chicago")
            for i, (pk, name) in enumerate(zip(ids, AWKWARD[:5], strict=True))])

    offices = {o.pk: o for o in Office.objects.filter(pk__in=ids)}
    assert [offices[pk].name for pk in ids] == AWKWARD[:5]
    assert {o.created_at for o in offices.values()} == {now}


def test_model_rows_refused_by_a_constraint():
    from caseledger.core import clock

    Office.objects.create(code="taken", name="First")
    now = clock.now()
    columns = ("id", "created_at", "updated_at", "row_version", "code", "name", "time_zone")
    with pytest.raises(IntegrityError), transaction.atomic():
        copy_model_rows(Office, columns, [(uuid.uuid4(), now, now, 1, "taken", "Second", "UTC")])
    assert Office.objects.filter(code="taken").count() == 1
