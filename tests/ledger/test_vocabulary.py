"""The ledger's vocabulary is closed: actions, categories, purposes and outcomes come from
`ledger.vocabulary`, record types are model labels (issue 10, item 5)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import transaction

from caseledger.ledger import vocabulary
from caseledger.ledger.models import Event, Outcome
from caseledger.ledger.services import SYSTEM, record_event, record_refusal, record_write
from caseledger.ledger.vocabulary import Action, Category, Purpose

SRC = Path(vocabulary.__file__).resolve().parents[1]
ARGPARSE_ACTIONS = {"store_true", "store_false", "store_const", "append", "count", "version"}


def _literals(keyword: str) -> dict[str, list[str]]:
    """Every `keyword="value"` literal in the source, with where it is."""
    found: dict[str, list[str]] = {}
    pattern = re.compile(rf'\b{keyword}="([a-z_]+)"')
    for path in SRC.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for value in pattern.findall(line):
                found.setdefault(value, []).append(f"{path.relative_to(SRC)}:{number}")
    return found


def test_every_action_written_in_the_code_is_in_the_vocabulary():
    unknown = {
        v: where for v, where in _literals("action").items()
        if v not in Action.values and v not in ARGPARSE_ACTIONS
    }
    assert unknown == {}


@pytest.mark.parametrize("keyword", ["category", "data_category"])
def test_every_category_written_in_the_code_is_in_the_vocabulary(keyword):
    unknown = {v: w for v, w in _literals(keyword).items() if v not in Category.values}
    assert unknown == {}


def test_every_purpose_written_in_the_code_is_in_the_vocabulary():
    unknown = {v: w for v, w in _literals("purpose").items() if v not in Purpose.values}
    assert unknown == {}


def test_every_record_type_written_in_the_code_is_a_model_label():
    pattern = re.compile(r'record_type="([a-z_]+\.[a-z_]+)"|RECORD_TYPE = "([a-z_.]+)"')
    labels = vocabulary._model_labels()
    wrong = []
    for path in SRC.rglob("*.py"):
        if path.name == "vocabulary.py" or "migrations" in path.parts:
            continue
        for match in pattern.finditer(path.read_text()):
            value = match.group(1) or match.group(2)
            if value not in labels:
                wrong.append(f"{path.relative_to(SRC)}: {value}")
    assert wrong == []


def test_the_disclosure_categories_are_ledger_categories():
    from caseledger.disclosures.categories import CODES

    assert set(CODES) <= set(Category.values)


@pytest.mark.parametrize(
    "field, value",
    [("action", "reed"), ("category", "personal stuff"), ("purpose", "curiosity"),
     ("outcome", "maybe"), ("record_type", "people.persn")],
)
def test_an_event_outside_the_vocabulary_is_refused_and_not_written(db, field, value):
    kwargs = dict(actor=SYSTEM, action="read", category="identity", purpose="caseload",
                  outcome=Outcome.ALLOWED, record_type="people.person")
    kwargs[field] = value
    before = Event.objects.count()
    with pytest.raises(ValueError, match=re.escape(repr(value))):
        record_event(**kwargs)
    assert Event.objects.count() == before


def test_legacy_record_types_are_written_as_model_labels(db):
    event = record_event(actor=SYSTEM, action="read", category="amendment",
                         purpose="privacy_review", record_type="portal.amendment_request")
    assert event.record_type == "portal.amendmentrequest"
    assert set(vocabulary.LEGACY_RECORD_TYPES.values()) <= vocabulary._model_labels()


def test_record_write_belongs_inside_the_changes_transaction(transactional_db):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        record_write(actor=SYSTEM, action="update", category="identity", purpose="caseload")
    with transaction.atomic():
        event = record_write(actor=SYSTEM, action="update", category="identity",
                             purpose="caseload")
    assert Event.objects.filter(pk=event.pk).exists()


def test_a_refusal_is_recorded_as_denied(db):
    event = record_refusal(actor=SYSTEM, action="read", category="identity", purpose="caseload",
                           record_type="people.person", record_id="x")
    assert event.outcome == Outcome.DENIED


def test_purpose_parse_accepts_spellings_and_refuses_the_rest():
    assert Purpose.parse(" Break-Glass ") == Purpose.BREAK_GLASS
    assert Purpose.parse("x" * 40) is None
    assert Purpose.parse("caseload\x00") is None
