"""Fixtures of the portal tests: Rosa (the participant's own record, represented by the
representative, on officer_east's caseload) with a case, a hearing and a decision; and the
Spanish strings of these pages as a compiled catalogue (see `record_catalogue`)."""

from __future__ import annotations

import json
import struct
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from caseledger.cases import services as cases
from caseledger.people.models import Person
from caseledger.people.services import record_representation
from tests.conftest import context
from tests.supervision.conftest import enrolled, stub  # noqa: F401 (fixtures)

LOCALE = Path(__file__).resolve().parents[2] / "src" / "caseledger" / "locale" / "es"


@pytest.fixture
def rosa(make_person, users) -> Person:
    person = make_person("officer_east", "Rosa", "Diaz")
    Person.objects.filter(pk=person.pk).update(participant_account=users["participant"])
    record_representation(
        ctx=context(users["officer_east"]),
        person_id=person.pk,
        representative=users["representative"],
        form="EOIR-28",
        filed_on=date(2026, 2, 1),
    )
    person.refresh_from_db()
    return person


@pytest.fixture
def rosa_case(rosa, users):
    officer = context(users["officer_east"])
    case = cases.open_case(
        ctx=officer,
        person_id=rosa.pk,
        case_type="removal",
        court_code="NEW",
        opened_on=date.today() - timedelta(days=40),
    )
    when = datetime.now(UTC).replace(hour=15, minute=0, second=0, microsecond=0) + timedelta(
        days=12
    )
    hearing = cases.schedule_hearing(
        ctx=officer, case_id=case.pk, calendar="master", scheduled_at=when, judge="Judge Park"
    )
    decision = cases.record_decision(
        ctx=officer,
        case_id=case.pk,
        kind="relief_granted",
        decided_on=date.today() - timedelta(days=2),
    )
    return case, hearing, decision


def write_mo(translations: dict[str, str], path: Path) -> None:
    """A GNU .mo catalogue (the format msgfmt writes) of `translations`."""
    entries = sorted((k.encode(), v.encode()) for k, v in translations.items())
    entries.insert(
        0,
        (
            b"",
            b"Content-Type: text/plain; charset=UTF-8\n"
            b"Plural-Forms: nplurals=2; plural=(n != 1);\n",
        ),
    )
    entries.sort()
    count = len(entries)
    keys_start = 7 * 4
    values_start = keys_start + count * 8
    data_start = values_start + count * 8
    ids = b"".join(k + b"\0" for k, _ in entries)
    strs = b"".join(v + b"\0" for _, v in entries)
    key_table, value_table = [], []
    offset = data_start
    for k, _ in entries:
        key_table.append((len(k), offset))
        offset += len(k) + 1
    for _, v in entries:
        value_table.append((len(v), offset))
        offset += len(v) + 1
    header = struct.pack("<7I", 0x950412DE, 0, count, keys_start, values_start, 0, 0)
    tables = b"".join(struct.pack("<2I", *t) for t in key_table + value_table)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + tables + ids + strs)


def record_translations() -> dict[str, Any]:
    """The Spanish tables merged as scripts/update_translations.sh merges them (a later table
    wins): these pages use strings of several tables (record, participant, ...)."""
    table: dict[str, Any] = {}
    for path in sorted(LOCALE.glob("translations*.json")):
        table.update(json.loads(path.read_text(encoding="utf-8")))
    return table


@pytest.fixture
def record_catalogue(settings, tmp_path) -> dict[str, Any]:
    """The Spanish strings of these pages (the translations*.json tables, which
    scripts/update_translations.sh merges into the project catalogue) as a catalogue placed
    before the project's, so the Spanish pages can be tested before and after the merge."""
    table = record_translations()
    write_mo(table, tmp_path / "locale" / "es" / "LC_MESSAGES" / "django.mo")
    settings.LOCALE_PATHS = [str(tmp_path / "locale"), *settings.LOCALE_PATHS]
    return record_translations()
