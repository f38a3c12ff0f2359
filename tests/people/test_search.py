"""Person search: spelling and script variants, A-numbers, the access policy, ranking, and
the one ledger event each search leaves (result ids, never the term).

Runs on both databases: SQLite scores in memory (rapidfuzz), PostgreSQL with pg_trgm.
"""

from __future__ import annotations

import json

import pytest

from caseledger.core.errors import ValidationError
from caseledger.ledger.models import Event
from caseledger.people.selectors import search_persons
from caseledger.people.services import NameInput, add_name
from tests.conftest import context, last_event_id


def _ids(results) -> list:
    return [person.pk for person, _hit in results]


def _search(user, query):
    return search_persons(ctx=context(user), query=query)


@pytest.mark.parametrize(
    ("stored", "query"),
    [
        (("Maria", "Gonzalez"), "Maria Gonzales"),
        (("Maria", "Gonzales"), "Maria Gonzalez"),
        (("Mohammed", "Haddad"), "Muhammad Haddad"),
        (("Muhammad", "Haddad"), "Mohammed"),
        (("Oleksandr", "Kovalenko"), "Aleksandr Kovalenko"),
        (("Aleksandr", "Kovalenko"), "Oleksandr"),
        (("Jean-Baptiste", "Ndiaye"), "Jean Baptiste Ndiaye"),
        (("Jean Baptiste", "Ndiaye"), "jean-baptiste"),
        (("José", "Núñez"), "Jose Nunez"),
        (("Oleksandr", "Kovalenko"), "Олександр Коваленко"),
    ],
)
def test_spelling_variants_are_found(users, make_person, stored, query):
    person = make_person("officer_east", *stored)
    make_person("officer_east", "Ana", "Ramirez")
    results = _search(users["officer_east"], query)
    assert _ids(results)[:1] == [person.pk]


def test_native_script_query_finds_the_latin_person_through_the_alias(users, make_person):
    person = make_person("officer_east", "Mohammed", "Haddad")
    other = make_person("officer_east", "Ana", "Ramirez")
    add_name(
        ctx=context(users["officer_east"]),
        person_id=person.pk,
        data=NameInput(full_name="محمد حداد", given_names="محمد", family_names="حداد"),
    )
    results = _search(users["officer_east"], "محمد")
    assert _ids(results) == [person.pk]
    assert other.pk not in _ids(results)


def test_alias_is_the_only_route_to_the_person(users, make_person):
    """The primary name shares nothing with the query; only the Chinese alias matches."""
    person = make_person("officer_east", "Grace", "Lee")
    make_person("officer_east", "Ana", "Ramirez")
    add_name(
        ctx=context(users["officer_east"]),
        person_id=person.pk,
        data=NameInput(full_name="王小明", family_names="王", given_names="小明"),
    )
    results = _search(users["officer_east"], "王小明")
    assert _ids(results) == [person.pk]
    assert results[0][1].matched_name == "王小明"


@pytest.mark.parametrize("query", ["A012345678", "a-012-345-678", "A 0123 45678", "12345678"])
def test_a_number_is_matched_exactly(users, make_person, query):
    person = make_person("officer_east", a_number="A012345678")
    make_person("officer_east", a_number="A012345679")
    mark = last_event_id()
    results = _search(users["officer_east"], query)
    assert _ids(results) == [person.pk]
    assert results[0][1].score == 1.0
    event = Event.objects.get(id__gt=mark)
    assert event.detail == {
        "kind": "a_number", "results": [str(person.pk)], "subjects": [str(person.pk)]
    }


def test_unknown_a_number_finds_nothing(users, make_person):
    make_person("officer_east", a_number="A012345678")
    assert _search(users["officer_east"], "A012345670") == []


def test_another_offices_person_is_never_returned(users, make_person):
    own = make_person("officer_east", "Maria", "Gonzalez", a_number="A000000011")
    foreign = make_person("officer_west", "Maria", "Gonzalez", a_number="A000000022")
    officer = users["officer_east"]
    assert _ids(_search(officer, "Maria Gonzalez")) == [own.pk]
    assert _ids(_search(officer, "A000000022")) == []
    # The west officer sees only theirs, and the east supervisor sees only the east one.
    assert _ids(_search(users["officer_west"], "Maria Gonzalez")) == [foreign.pk]
    assert _ids(_search(users["supervisor_east"], "Maria Gonzalez")) == [own.pk]


def test_same_office_person_of_another_officer_is_not_returned_to_an_officer(users, make_person):
    other = make_person("officer_east2", "Maria", "Gonzalez")
    assert _search(users["officer_east"], "Maria Gonzalez") == []
    assert _ids(_search(users["supervisor_east"], "Maria Gonzalez")) == [other.pk]


@pytest.mark.parametrize("role", ["admin", "participant", "representative", "privacy"])
def test_roles_without_ordinary_access_find_nothing(users, make_person, role):
    make_person("officer_east", "Maria", "Gonzalez", a_number="A000000033")
    assert _search(users[role], "Maria Gonzalez") == []
    assert _search(users[role], "A000000033") == []


def test_results_are_ranked_exact_match_first(users, make_person):
    variant = make_person("officer_east", "Maria", "Gonzales")
    exact = make_person("officer_east", "Maria", "Gonzalez")
    longer = make_person("officer_east", "Mariana", "Gonzalez Lopez")
    results = _search(users["officer_east"], "Maria Gonzalez")
    ids = _ids(results)
    assert ids[0] == exact.pk
    assert variant.pk in ids
    scores = [hit.score for _p, hit in results]
    assert scores == sorted(scores, reverse=True)
    assert results[0][1].score == 1.0
    assert all(hit.score < 1.0 for p, hit in results if p.pk != exact.pk)
    assert longer.pk not in ids[:1]


def test_each_person_appears_once_even_if_several_names_match(users, make_person):
    person = make_person("officer_east", "Maria", "Gonzalez")
    add_name(
        ctx=context(users["officer_east"]),
        person_id=person.pk,
        data=NameInput(given_names="María", family_names="González"),
    )
    assert _ids(_search(users["officer_east"], "Maria Gonzalez")) == [person.pk]


def test_unrelated_names_are_not_returned(users, make_person):
    make_person("officer_east", "Maria", "Gonzalez")
    make_person("officer_east", "Oleksandr", "Kovalenko")
    assert _search(users["officer_east"], "Nguyen Thi Huong") == []


@pytest.mark.parametrize(
    ("query", "wanted", "unrelated"),
    [
        ("Maria Gonzalez", ("Maria", "Gonzalez"), ("Li", "Wei")),
        ("Maria Gonzalez", ("Maria", "Gonzalez"), ("Ana", "Ramirez")),
        ("Ivan Petrov", ("Ivan", "Petrov"), ("Jean", "Pierre")),
        ("Luis Fernandez", ("Luis", "Fernandez"), ("Mariana", "Gonzalez Lopez")),
    ],
)
def test_a_full_name_does_not_match_a_short_unrelated_name(
    users, make_person, query, wanted, unrelated
):
    """A short name must not match merely because its few letters occur somewhere in the
    query (the two names share no word, nor a word's spelling variant)."""
    make_person("officer_east", *wanted)
    make_person("officer_east", *unrelated)
    results = _search(users["officer_east"], query)
    assert [(str(p), h.score) for p, h in results] == [(" ".join(wanted), 1.0)]


def test_one_event_per_search_with_result_ids_and_no_term(users, make_person):
    a = make_person("officer_east", "Oleksandr", "Kovalenko")
    b = make_person("officer_east", "Aleksandr", "Kovalenko")
    officer = users["officer_east"]
    mark = last_event_id()
    results = search_persons(ctx=context(officer, request_id="req-search-1"), query="Oleksandr")
    events = list(Event.objects.filter(id__gt=mark))
    assert len(events) == 1
    event = events[0]
    assert (event.action, event.data_category, event.outcome) == ("search", "identity", "allowed")
    assert event.actor_id == str(officer.pk)
    assert event.purpose == "caseload"
    assert event.request_id == "req-search-1"
    assert event.subject_id is None
    assert event.detail["kind"] == "name"
    assert event.detail["results"] == [str(p.pk) for p, _h in results]
    assert set(event.detail["results"]) == {str(a.pk), str(b.pk)}
    leaf = bytes(event.leaf)
    for fragment in (b"Oleksandr", b"oleksandr", b"alksndr", b"Kovalenko"):
        assert fragment not in leaf
    assert json.loads(leaf)["detail"] == event.detail


def test_search_term_of_a_number_is_not_in_the_event(users, make_person):
    make_person("officer_east", a_number="A987654321")
    mark = last_event_id()
    _search(users["officer_east"], "A-987-654-321")
    leaf = bytes(Event.objects.get(id__gt=mark).leaf)
    assert b"987654321" not in leaf and b"987-654-321" not in leaf


def test_a_search_with_no_results_is_still_recorded(users, make_person):
    make_person("officer_east", "Maria", "Gonzalez")
    mark = last_event_id()
    assert _search(users["officer_west"], "Maria Gonzalez") == []
    event = Event.objects.get(id__gt=mark)
    assert event.detail == {"kind": "name", "results": []}


def test_query_over_200_characters_is_refused(users, make_person):
    make_person("officer_east", "Maria", "Gonzalez")
    mark = last_event_id()
    with pytest.raises(ValidationError) as err:
        _search(users["officer_east"], "M" * 201)
    assert err.value.field == "q"
    assert "200" in err.value.message
    assert last_event_id() == mark
    # 200 is allowed (and surrounding spaces do not count).
    _search(users["officer_east"], " " + "M" * 200 + " ")


@pytest.mark.parametrize("query", ["", "   ", None, "---", "!!"])
def test_empty_query_returns_nothing(users, make_person, query):
    make_person("officer_east", "Maria", "Gonzalez")
    assert _search(users["officer_east"], query) == []
