"""The transparency report: figures for a period, each rebuilt from ledger events only.

Nothing here reads the application tables or the clock: the figures depend only on the
events whose time falls in the period, so two runs over the same period give the same
output byte for byte. Small counts are suppressed (`suppress`): any figure from 1 to 9 is
published as "fewer than 10"; 0 is published as 0. Then complementary suppression
(`complementary`): wherever cells add up to a published figure and exactly one of them is
suppressed, the smallest other nonzero cell is withheld too, so that no suppressed count can be
recovered by subtraction. See docs/REPORTS.md.
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Count, IntegerField, Q, QuerySet, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from caseledger.ledger.models import Event, Outcome
from caseledger.ledger.vocabulary import Action, Category

from .periods import Period

SUPPRESSION_THRESHOLD = 10
SUPPRESSED = "fewer than 10"
#: A figure of 10 or more withheld so that a suppressed neighbour cannot be subtracted out.
WITHHELD = "withheld"

REVIEW_KINDS_OF_FAILED_CHECKS = ("failed_check", "uncertain", "not_live")
#: The outcomes of an accepted check-in whose verification failed (face or liveness): sent to
#: review, or asked to try once more (`retake`, the window's first such try). A verified
#: check-in is the only other outcome.
FAILED_OUTCOMES = ("retake", "review")


def suppress(value: int) -> int | str:
    """0 stays 0; 1-9 becomes "fewer than 10"; 10 and more are published as they are."""
    return SUPPRESSED if 0 < value < SUPPRESSION_THRESHOLD else value


def _events(period: Period) -> QuerySet[Event]:
    return Event.objects.filter(time__gte=period.start, time__lt=period.end)


def _by(qs: QuerySet[Event], key: str) -> dict[str, int]:
    """Count events per value of detail[key] ("(none)" where missing), sorted by value."""
    rows = qs.annotate(k=KT(f"detail__{key}")).values("k").annotate(n=Count("id"))
    counts: dict[str, int] = {}
    for row in rows:
        label = row["k"] if row["k"] not in (None, "") else "(none)"
        counts[str(label)] = counts.get(str(label), 0) + row["n"]
    return dict(sorted(counts.items()))


def raw_figures(period: Period) -> dict[str, Any]:
    """The unsuppressed counts (for tests and for the suppression step)."""
    events = _events(period)
    enrolments = events.filter(
        action=Action.CREATE, record_type="supervision.enrolment", outcome=Outcome.ALLOWED
    ).count()
    accepted = events.filter(
        action=Action.CHECKIN, record_type="supervision.checkin", outcome=Outcome.ALLOWED
    )
    refused = events.filter(action=Action.CHECKIN, outcome=Outcome.FAILED)
    failed = accepted.filter(detail__outcome__in=FAILED_OUTCOMES)
    review_creates = Event.objects.filter(action=Action.CREATE, record_type="supervision.review")
    opened = events.filter(action=Action.CREATE, record_type="supervision.review")
    failed_review_ids = review_creates.filter(
        detail__kind__in=REVIEW_KINDS_OF_FAILED_CHECKS
    ).values("record_id")
    decisions = events.filter(
        action=Action.DECIDE, record_type="supervision.review", record_id__in=failed_review_ids
    )
    disclosure = events.filter(
        data_category=Category.DISCLOSURE, action__in=(Action.DISCLOSE, Action.DECLINE)
    )
    purges = events.filter(
        action=Action.PURGE, data_category=Category.RETENTION, outcome=Outcome.ALLOWED
    )
    purged_rows = (
        purges.annotate(dc=KT("detail__data_class"), n=Cast(KT("detail__count"), IntegerField()))
        .values("dc")
        .annotate(total=Sum("n"), runs=Count("id"))
    )
    deletions: dict[str, int] = {}
    purge_runs: dict[str, int] = {}
    for row in purged_rows:
        label = row["dc"] or "(none)"
        deletions[label] = deletions.get(label, 0) + (row["total"] or 0)
        purge_runs[label] = purge_runs.get(label, 0) + row["runs"]
    glass = events.filter(action=Action.BREAK_GLASS)
    return {
        "enrolments": enrolments,
        "checkins": {
            "accepted": accepted.count(),
            "by_outcome": _by(accepted, "outcome"),
            "refused": refused.count(),
            "refused_by_reason": _by(refused, "reason"),
        },
        "failed_verifications": {
            "total": failed.count(),
            "by_face_result": _by(failed, "face"),
            "reviews_opened_by_kind": _by(opened, "kind"),
            "review_decisions": decisions.count(),
            "review_decisions_by_disposition": _by(decisions, "disposition"),
        },
        "disclosures": {
            "disclosed": disclosure.filter(action=Action.DISCLOSE).count(),
            "declined": disclosure.filter(action=Action.DECLINE).count(),
            "disclosed_by_authority": _by(disclosure.filter(action=Action.DISCLOSE), "authority"),
            "disclosed_by_agency": _by(disclosure.filter(action=Action.DISCLOSE), "agency"),
            "declined_by_authority": _by(disclosure.filter(action=Action.DECLINE), "authority"),
        },
        "deletions": {
            "records_deleted": sum(deletions.values()),
            "records_by_data_class": dict(sorted(deletions.items())),
            "purge_runs_by_data_class": dict(sorted(purge_runs.items())),
        },
        "break_glass": {
            "granted": glass.filter(outcome=Outcome.ALLOWED).count(),
            "refused": glass.filter(~Q(outcome=Outcome.ALLOWED)).count(),
        },
    }


Path = tuple[str, ...]

#: (total, breakdown): the breakdown's cells add up to the total. A breakdown also stands for
#: itself as a group, and one figure repeated in two places is a group of two (a = b).
SUMS: tuple[tuple[Path, Path], ...] = (
    (("checkins", "accepted"), ("checkins", "by_outcome")),
    (("checkins", "refused"), ("checkins", "refused_by_reason")),
    (("failed_verifications", "total"), ("failed_verifications", "by_face_result")),
    (
        ("failed_verifications", "review_decisions"),
        ("failed_verifications", "review_decisions_by_disposition"),
    ),
    (("disclosures", "disclosed"), ("disclosures", "disclosed_by_authority")),
    (("disclosures", "disclosed"), ("disclosures", "disclosed_by_agency")),
    (("disclosures", "declined"), ("disclosures", "declined_by_authority")),
    (("deletions", "records_deleted"), ("deletions", "records_by_data_class")),
)
#: (total, parts) across sections: failed verifications are the accepted check-ins asked to
#: retake or sent to review, and the accepted check-ins are those verified and those failed.
#: A part missing from the figures (an outcome that did not occur) counts as zero.
PARTS: tuple[tuple[Path, tuple[Path, ...]], ...] = (
    (
        ("failed_verifications", "total"),
        tuple(("checkins", "by_outcome", outcome) for outcome in FAILED_OUTCOMES),
    ),
    (
        ("checkins", "accepted"),
        (("checkins", "by_outcome", "verified"), ("failed_verifications", "total")),
    ),
)


def _get(figures: dict[str, Any], path: Path) -> Any:
    value: Any = figures
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def groups(figures: dict[str, Any]) -> list[list[Path]]:
    """Every group of cells that adds up to a published figure: [total, part, part, ...]."""
    out: list[list[Path]] = []
    for total, breakdown in SUMS:
        parts = _get(figures, breakdown) or {}
        out.append([total, *[(*breakdown, key) for key in sorted(parts)]])
    for total, parts in PARTS:
        if _get(figures, total) is not None:
            out.append([total, *[p for p in parts if _get(figures, p) is not None]])
    return out


def complementary(
    figures: dict[str, Any], cell_groups: list[list[Path]] | None = None
) -> tuple[set[Path], set[Path]]:
    """(primary, complementary) suppressed cells of the raw figures, over `cell_groups` (this
    report's `groups` when None; another report passes its own).

    Primary: every count from 1 to 9. Then, until nothing changes: in every group with exactly
    one suppressed cell, the smallest remaining nonzero cell (the total included; ties: the
    first path in sorted order) is withheld too. Zeros are never withheld: a zero hides
    nothing, and a group whose only nonzero cells are a total and one part has both equal,
    so both are suppressed already. Deterministic: the same figures give the same cells."""
    primary: set[Path] = set()

    def walk(value: Any, path: Path) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, (*path, key))
        elif (
            isinstance(value, int)
            and not isinstance(value, bool)
            and 0 < value < SUPPRESSION_THRESHOLD
        ):
            primary.add(path)

    walk(figures, ())
    hidden = set(primary)
    extra: set[Path] = set()
    all_groups = groups(figures) if cell_groups is None else cell_groups
    changed = True
    while changed:
        changed = False
        for group in all_groups:
            if sum(1 for p in group if p in hidden) != 1:
                continue
            candidates = sorted(
                (_get(figures, p), p) for p in group if p not in hidden and _get(figures, p)
            )
            if candidates:
                _value, path = candidates[0]
                hidden.add(path)
                extra.add(path)
                changed = True
    return primary, extra


def publish_cells(value: Any, path: Path, primary: set[Path], extra: set[Path]) -> Any:
    """The figures with the primary cells shown as SUPPRESSED and the complements WITHHELD."""
    if isinstance(value, dict):
        return {k: publish_cells(v, (*path, k), primary, extra) for k, v in value.items()}
    if path in primary:
        return SUPPRESSED
    if path in extra:
        return WITHHELD
    return value


def published(figures: dict[str, Any]) -> dict[str, Any]:
    """The raw figures with small counts suppressed and their complements withheld."""
    primary, extra = complementary(figures)
    return publish_cells(figures, (), primary, extra)


def build(period: Period) -> dict[str, Any]:
    """The published report: the period, the rule, and the suppressed figures."""
    return {
        "report": "caseledger transparency report",
        "period": period.label,
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "suppression": {
            "threshold": SUPPRESSION_THRESHOLD,
            "shown_as": SUPPRESSED,
            "complementary_shown_as": WITHHELD,
        },
        "figures": published(raw_figures(period)),
    }


def to_json(report: dict[str, Any]) -> bytes:
    return (json.dumps(report, sort_keys=True, indent=2, ensure_ascii=True) + "\n").encode()


# --- presentation: tables and charts -----------------------------------------------------------
def tables(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Breakdowns as [{"id", "title", "rows": [(label, shown value, bar value)]}], for the
    page, the PDF and the charts (bar value None for a suppressed figure: no bar is drawn,
    its length would give the number away)."""
    f = report["figures"]
    spec = (
        ("checkins-outcome", "Accepted check-ins by outcome", f["checkins"]["by_outcome"]),
        ("checkins-refused", "Refused check-ins by reason", f["checkins"]["refused_by_reason"]),
        (
            "failed-face",
            "Failed verifications by face result",
            f["failed_verifications"]["by_face_result"],
        ),
        (
            "reviews-kind",
            "Reviews opened by kind",
            f["failed_verifications"]["reviews_opened_by_kind"],
        ),
        (
            "reviews-disposition",
            "How reviews of failed verifications were resolved",
            f["failed_verifications"]["review_decisions_by_disposition"],
        ),
        (
            "disclosures-authority",
            "Disclosures by authority",
            f["disclosures"]["disclosed_by_authority"],
        ),
        (
            "disclosures-agency",
            "Disclosures by receiving agency",
            f["disclosures"]["disclosed_by_agency"],
        ),
        (
            "declined-authority",
            "Declined disclosure requests by authority cited",
            f["disclosures"]["declined_by_authority"],
        ),
        (
            "deletions-class",
            "Records deleted by data class",
            f["deletions"]["records_by_data_class"],
        ),
    )
    out = []
    for key, title, values in spec:
        rows = [(label, v, v if isinstance(v, int) else None) for label, v in values.items()]
        out.append({"id": key, "title": title, "rows": rows})
    return out


def headline(report: dict[str, Any]) -> list[tuple[str, Any]]:
    f = report["figures"]
    return [
        ("Enrolments in supervision", f["enrolments"]),
        ("Check-ins accepted", f["checkins"]["accepted"]),
        ("Check-ins refused (photo, location, window, replay)", f["checkins"]["refused"]),
        (
            "Failed verifications (asked to try once more, or sent to a person for review)",
            f["failed_verifications"]["total"],
        ),
        ("Reviews of failed verifications decided", f["failed_verifications"]["review_decisions"]),
        ("Disclosures made", f["disclosures"]["disclosed"]),
        ("Disclosure requests declined", f["disclosures"]["declined"]),
        ("Records deleted under retention schedules", f["deletions"]["records_deleted"]),
        ("Break-glass (emergency) accesses granted", f["break_glass"]["granted"]),
        ("Break-glass requests refused", f["break_glass"]["refused"]),
    ]
