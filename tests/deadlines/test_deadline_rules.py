"""Worked deadline examples, checked by hand against a calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from caseledger.cases import deadlines
from caseledger.cases.deadlines import compute

D = date

WORKED = [
    # rule, trigger, due, why
    ("bia-appeal", D(2026, 12, 24), D(2027, 1, 25), "Dec 24 + 30 = Sat Jan 23 -> Mon Jan 25"),
    ("bia-appeal", D(2026, 12, 17), D(2027, 1, 19),
     "+30 = Sat Jan 16, Mon Jan 18 is Martin Luther King Day -> Tue Jan 19"),
    ("bia-appeal", D(2026, 3, 2), D(2026, 4, 1), "+30 = Wed Apr 1, a business day"),
    ("bia-appeal", D(2026, 6, 19), D(2026, 7, 20),
     "+30 = Sun Jul 19 -> Mon Jul 20"),
    ("bia-appeal", D(2026, 6, 4), D(2026, 7, 6),
     "+30 = Sat Jul 4; Fri Jul 3 is the observed holiday; Mon Jul 6"),
    ("vd-pre", D(2026, 12, 24), D(2027, 4, 23), "120 calendar days, no extension"),
    ("vd-post", D(2026, 12, 24), D(2027, 2, 22), "60 calendar days"),
    ("vd-post", D(2027, 1, 8), D(2027, 3, 9), "60 days lands on a Tuesday"),
    ("vd-bond", D(2026, 12, 24), D(2027, 1, 4),
     "5 business days skipping Christmas and New Year's Day"),
    ("vd-bond", D(2026, 11, 23), D(2026, 12, 1), "skips Thanksgiving (Nov 26)"),
    ("address-change", D(2026, 5, 22), D(2026, 6, 1), "skips Memorial Day (May 25)"),
    ("motion-reopen", D(2026, 1, 5), D(2026, 4, 6), "+90 = Sun Apr 5 -> Mon Apr 6"),
    ("absentia-rescission", D(2026, 1, 5), D(2026, 7, 6),
     "+180 = Sat Jul 4 (holiday) -> Mon Jul 6"),
]


@pytest.mark.parametrize(("rule", "trigger", "due", "why"), WORKED,
                         ids=[f"{w[0]}-{w[1]}" for w in WORKED])
def test_worked_examples(rule, trigger, due, why):
    assert compute(rule, trigger) == due, why


def test_every_rule_has_a_citation():
    for rule in deadlines.RULES.values():
        doc = rule.compute.__doc__ or ""
        assert "CFR" in doc or "INA" in doc, rule.code


def test_court_time_zone_decides_the_day():
    # 06:00 UTC on Dec 25 is still Dec 24 (22:00) in Los Angeles but Dec 25 (01:00) in New York.
    moment = datetime(2026, 12, 25, 6, 0, tzinfo=UTC)
    assert compute("bia-appeal", moment, time_zone="America/Los_Angeles") == D(2027, 1, 25)
    # Dec 25 + 30 = Sun Jan 24 -> Mon Jan 25: the same day here, by the weekend rule
    assert compute("bia-appeal", moment, time_zone="America/New_York") == D(2027, 1, 25)
    assert compute("vd-post", moment, time_zone="America/Los_Angeles") == D(2027, 2, 22)
    assert compute("vd-post", moment, time_zone="America/New_York") == D(2027, 2, 23)


def test_naive_datetime_is_refused():
    with pytest.raises(ValueError):
        compute("bia-appeal", datetime(2026, 12, 24, 10, 0))


def test_pending_appeal_stops_the_voluntary_departure_clock():
    start = D(2026, 12, 24)
    assert compute("vd-post", start, pauses=[(D(2027, 1, 10), None)]) is None
    # a 20-day appeal that ended moves the date by 20 days
    assert compute("vd-post", start, pauses=[(D(2027, 1, 10), D(2027, 1, 30))]) == D(2027, 3, 14)
    # a pause after the deadline changes nothing
    assert compute("vd-post", start, pauses=[(D(2027, 6, 1), None)]) == D(2027, 2, 22)
    # pauses do not apply to rules that are not clocks of permission
    assert compute("bia-appeal", start, pauses=[(D(2027, 1, 1), None)]) == D(2027, 1, 25)


def test_unknown_rule():
    with pytest.raises(KeyError, match="unknown deadline rule"):
        compute("bia-apeal", D(2026, 1, 1))


@pytest.mark.django_db
def test_cli_prints_iso_date():
    out = StringIO()
    call_command("deadlines", "compute", "--rule", "bia-appeal", "--from", "2026-12-24",
                 stdout=out)
    assert out.getvalue().strip() == "2027-01-25"
    out = StringIO()
    call_command("deadlines", "compute", "--rule", "vd-post", "--from", "2026-12-25T03:00Z",
                 "--court", "LOS", stdout=out)
    assert out.getvalue().strip() == "2027-02-22"


@pytest.mark.django_db
@pytest.mark.parametrize("args", [
    ["--rule", "bia-appeal", "--from", "2026-02-30"],
    ["--rule", "bia-appeal", "--from", "2026-12-24", "--court", "XXX"],
    ["--rule", "bia-appeal", "--from", "2026-12-24T10:00"],
])
def test_cli_bad_input(args):
    with pytest.raises(CommandError):
        call_command("deadlines", "compute", *args, stdout=StringIO())
