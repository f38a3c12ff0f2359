"""Failed verifications in the transparency report include the tries that asked for a retake
(a burst not judged live, or a face that did not match, the first time in a window), and the
suppression still lets no hidden cell be worked out from the others."""

from __future__ import annotations

import pytest

from caseledger.reports import transparency
from caseledger.reports.periods import parse_period
from caseledger.supervision import services as supervision
from caseledger.supervision.models import Review
from tests.conftest import context
from tests.reports.test_transparency import (  # noqa: F401 - in_q4 is a fixture
    assert_no_cell_recoverable,
    in_q4,
    recount,
)
from tests.supervision.conftest import burst, enrolled, stub  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def _burst(enrolled, stub, **kw):  # noqa: F811
    user = enrolled.enrolment.person.participant_account
    issued = supervision.issue_challenge(user=user)
    frames = burst(stub, list(issued.prompts), **kw)
    return supervision.submit_check_in(user=user, frames=frames, challenge_id=issued.id,
                                       latitude="40.7", longitude="-74.0", accuracy="20")


def test_a_retake_and_its_review_are_two_failed_verifications(
    in_q4, enrolled, stub, users, settings  # noqa: F811
):
    """The tries and the review happen at `IN_Q4`, inside the quarter counted."""
    settings.LIVENESS_REQUIRED = True
    assert _burst(enrolled, stub, planar=True).outcome == "retake"  # a flat picture
    assert _burst(enrolled, stub, planar=True, take=2).outcome == "review"
    review = Review.objects.get()
    assert review.kind == "not_live"
    supervision.dispose_review(ctx=context(users["officer_east"]), review_id=review.pk,
                               disposition="technical_problem")

    raw = transparency.raw_figures(parse_period("2026-Q4"))

    assert raw["checkins"]["by_outcome"] == {"retake": 1, "review": 1}
    failed = raw["failed_verifications"]
    assert failed["total"] == recount()["failed"] == 2
    assert sum(failed["by_face_result"].values()) == 2
    assert failed["reviews_opened_by_kind"] == {"not_live": 1}
    # a review of a burst not judged live is a review of a failed verification
    assert failed["review_decisions"] == 1
    assert failed["review_decisions_by_disposition"] == {"technical_problem": 1}
    published = transparency.build(parse_period("2026-Q4"))["figures"]
    assert published["failed_verifications"]["total"] == transparency.SUPPRESSED
    assert_no_cell_recoverable(published)


def _raw(verified: int, retake: int, review: int) -> dict:
    failed = retake + review
    return {
        "checkins": {
            "accepted": verified + failed,
            "by_outcome": {"retake": retake, "review": review, "verified": verified},
            "refused": 0,
            "refused_by_reason": {},
        },
        "failed_verifications": {
            "total": failed,
            "by_face_result": {"no_match": failed},
            "reviews_opened_by_kind": {},
            "review_decisions": 0,
            "review_decisions_by_disposition": {},
        },
    }


def test_a_small_retake_count_cannot_be_subtracted_out():
    published = transparency.published(_raw(verified=100, retake=3, review=40))
    # failed 43 = retake + review: with retake hidden, review is withheld too
    assert published["checkins"]["by_outcome"] == {
        "retake": transparency.SUPPRESSED,
        "review": transparency.WITHHELD,
        "verified": 100,
    }
    assert published["failed_verifications"]["total"] == 43
    assert_no_cell_recoverable(published)


def test_a_small_verified_count_cannot_be_worked_out_from_the_failed_total():
    """accepted 55 = verified 5 + retake 20 + review 30 and failed 50 = retake + review:
    publishing accepted and failed would give verified away (55 - 50)."""
    published = transparency.published(_raw(verified=5, retake=20, review=30))
    checkins, failed = published["checkins"], published["failed_verifications"]
    assert checkins["by_outcome"]["verified"] == transparency.SUPPRESSED
    hidden = (transparency.SUPPRESSED, transparency.WITHHELD)
    assert checkins["accepted"] in hidden or failed["total"] in hidden
    assert_no_cell_recoverable(published)
    assert transparency.published(_raw(verified=5, retake=20, review=30)) == published


def test_without_retakes_the_failed_total_is_the_review_count():
    raw = _raw(verified=50, retake=0, review=4)
    del raw["checkins"]["by_outcome"]["retake"]  # an outcome that did not occur is absent
    published = transparency.published(raw)
    assert published["failed_verifications"]["total"] == transparency.SUPPRESSED
    assert published["checkins"]["by_outcome"]["review"] == transparency.SUPPRESSED
    assert published["checkins"]["by_outcome"]["verified"] == transparency.WITHHELD
    assert_no_cell_recoverable(published)
