"""The verifier's record in the field: per office and period, how often genuine check-ins were
not verified (observed false non-matches) and how often uploads were refused, by reason and
by capture device class. Counts only, no person; small counts suppressed.

Labels come from people, not from the verifier: a try is *genuine* when it was verified at once,
or when it was not verified and the review of its window was disposed "verified by review"
(that try is an *observed false non-match*). A try that was not verified and whose window was
not so disposed (a retake then verified, an open review, another disposition) is not labelled
and counts in neither. Refused uploads (a photo or burst the verifier could not use: no face,
several faces, blur, too few faces, ...) leave no check-in, only their ledger event; they are
counted from those events, by reason. Tries are counted in the period they were sent, whenever
their review was decided; a report read again later may count more labels.

Suppression is the transparency report's rule (`transparency.suppress`, its thresholds and
words): counts of 1 to 9 read "fewer than 10", and complementary cells are withheld so that no
suppressed count can be recovered by subtracting, within a device class or across them. A rate
is shown only when both of its counts are shown.
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Case, CharField, Count, Exists, OuterRef, QuerySet, Value, When
from django.db.models.fields.json import KT

from caseledger.access import policies
from caseledger.access.context import AccessContext
from caseledger.access.gate import record_access
from caseledger.access.policies import Ability, Scope
from caseledger.accounts.models import Office
from caseledger.biometrics import liveness
from caseledger.biometrics import verifier as faces
from caseledger.core.errors import NotFound, ValidationError
from caseledger.ledger.models import Event, Outcome
from caseledger.ledger.vocabulary import Action, Category, record_type_of
from caseledger.people.models import Person
from caseledger.supervision.devices import UNUSABLE_UPLOAD_CODES
from caseledger.supervision.models import (
    CaptureDevice,
    CheckIn,
    CheckInOutcome,
    Disposition,
    Review,
)

from . import transparency
from .periods import Period, parse_period

#: Events of the report name the records it counts (check-ins), and no person.
RECORD_TYPE = record_type_of(CheckIn)
#: Device classes in the report; "not_recorded": tries sent before the class was recorded.
NOT_RECORDED = "not_recorded"
DEVICES: tuple[str, ...] = (*CaptureDevice.values, NOT_RECORDED)
#: The refusals that are the verifier's (the photo or burst could not be used), sorted.
VERIFIER_REFUSALS: tuple[str, ...] = tuple(sorted(UNUSABLE_UPLOAD_CODES))
#: Why a stored try was not verified.
NOT_LIVE, NO_MATCH, NOT_CHECKED = "not_live", "no_match", "not_checked"
CAUSES = (NO_MATCH, NOT_LIVE, NOT_CHECKED)

Path = tuple[str, ...]


# --- who may read it ---------------------------------------------------------------------------
def offices_for(ctx: AccessContext | None, office: str) -> list[Office]:
    """The offices the report covers: `office` (a code), or every office the reader may see
    (a supervisor: their own; a privacy officer or the command: all). Refused with a denied
    event: a role without the oversight ability (403), a supervisor asking for another office
    (403); an unknown office is a 404."""
    code = (office or "").strip()
    if ctx is not None:
        policies.require(ctx, Ability.SEE_OVERSIGHT, action=Action.READ,
                         category=Category.CHECK_INS, record_type=RECORD_TYPE,
                         record_id=code[:32],
                         message="Only supervisors and privacy officers read the field report.")
    own = ctx is not None and policies.scope(ctx.user) is Scope.OFFICE
    if not code:
        if own:
            return list(Office.objects.filter(pk=ctx.user.office_id))  # type: ignore[union-attr]
        return list(Office.objects.order_by("code"))
    if len(code) > 32 or not code.replace("-", "").replace("_", "").isalnum():
        raise ValidationError("Give the office by its code, for example east.", field="office",
                              code="bad_office")
    found = Office.objects.filter(code=code).first()
    if own and (found is None or found.pk != ctx.user.office_id):  # type: ignore[union-attr]
        raise _refuse_office(ctx, code)  # type: ignore[arg-type]
    if found is None:
        raise NotFound(f"No office has the code {code}.", field="office")
    return [found]


def _refuse_office(ctx: AccessContext, code: str) -> Exception:
    """A supervisor sees their own office's report only: the same 403 for an office that does
    not exist, so the answer does not tell which codes exist."""
    from caseledger.access.gate import refuse_role

    return refuse_role(ctx, action=Action.READ, category=Category.CHECK_INS,
                       record_type=RECORD_TYPE, record_id=code, code="other_office",
                       message="A supervisor reads the field report of their own office only.")


# --- counting ------------------------------------------------------------------------------------
def _block() -> dict[str, Any]:
    return {
        "tries": 0,
        "verified_at_once": 0,
        "not_verified": 0,
        "not_verified_by_cause": dict.fromkeys(CAUSES, 0),
        "genuine_attempts": 0,
        "false_non_matches": 0,
        "false_non_matches_by_cause": dict.fromkeys(CAUSES, 0),
        "uploads": 0,
        "refused": 0,
        "refused_by_reason": dict.fromkeys(sorted(VERIFIER_REFUSALS), 0),
    }


def _tries(period: Period, office: Office) -> QuerySet[Any]:
    """Stored tries of the office's participants in the period, grouped by device class,
    outcome, cause and label."""
    labelled = Review.objects.filter(
        enrolment=OuterRef("enrolment"), window_opens_at=OuterRef("window_opens_at"),
        disposition=Disposition.VERIFIED_BY_REVIEW,
    )
    cause = Case(
        When(liveness_outcome=liveness.NOT_LIVE, then=Value(NOT_LIVE)),
        When(face_outcome=faces.NO_MATCH, then=Value(NO_MATCH)),
        default=Value(NOT_CHECKED), output_field=CharField(),
    )
    return (
        CheckIn.objects.filter(enrolment__person__office=office, submitted_at__gte=period.start,
                               submitted_at__lt=period.end)
        .annotate(cause=cause, genuine=Exists(labelled))
        .values("capture_device", "outcome", "cause", "genuine")
        .annotate(n=Count("id"))
    )


def _refusals(period: Period, office: Office) -> QuerySet[Any]:
    """Refused uploads of the office's participants (their ledger events), by device and
    reason."""
    return (
        Event.objects.filter(
            time__gte=period.start, time__lt=period.end, action=Action.CHECKIN,
            outcome=Outcome.FAILED,
            subject_id__in=Person.objects.filter(office=office).values("pk"),
            detail__reason__in=VERIFIER_REFUSALS,
        )
        .annotate(reason=KT("detail__reason"), device=KT("detail__device"))
        .values("reason", "device")
        .annotate(n=Count("id"))
    )


def raw_figures(period: Period, office: Office) -> dict[str, Any]:
    """The unsuppressed counts of one office: `all`, and `by_device` (each the same block)."""
    by_device = {device: _block() for device in DEVICES}
    for row in _tries(period, office):
        block = by_device[row["capture_device"] or NOT_RECORDED]
        n = row["n"]
        block["tries"] += n
        if row["outcome"] == CheckInOutcome.VERIFIED:
            block["verified_at_once"] += n
            block["genuine_attempts"] += n
            continue
        block["not_verified"] += n
        block["not_verified_by_cause"][row["cause"]] += n
        if row["genuine"]:
            block["false_non_matches"] += n
            block["false_non_matches_by_cause"][row["cause"]] += n
            block["genuine_attempts"] += n
    for row in _refusals(period, office):
        device = row["device"] if row["device"] in by_device else NOT_RECORDED
        block = by_device[device]
        block["refused"] += row["n"]
        block["refused_by_reason"][row["reason"]] += row["n"]
    for block in by_device.values():
        block["uploads"] = block["tries"] + block["refused"]
    return {"all": _total(list(by_device.values())), "by_device": by_device}


def _total(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    def add(values: list[Any]) -> Any:
        if isinstance(values[0], dict):
            return {k: add([v[k] for v in values]) for k in values[0]}
        return sum(values)

    return add(blocks)


# --- suppression ---------------------------------------------------------------------------------
#: (total, parts) within every block: the parts add up to the total.
_BLOCK_SUMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("tries", ("verified_at_once", "not_verified")),
    ("genuine_attempts", ("verified_at_once", "false_non_matches")),
    ("uploads", ("tries", "refused")),
)
_BLOCK_BREAKDOWNS = (
    ("not_verified", "not_verified_by_cause"),
    ("false_non_matches", "false_non_matches_by_cause"),
    ("refused", "refused_by_reason"),
)


def _leaves(block: dict[str, Any], path: Path = ()) -> list[Path]:
    out: list[Path] = []
    for key, value in block.items():
        out.extend(_leaves(value, (*path, key)) if isinstance(value, dict) else [(*path, key)])
    return out


def groups(figures: dict[str, Any]) -> list[list[Path]]:
    """Every group of cells that adds up to a published figure: [total, part, part, ...]:
    the sums within each block, and each cell of `all` as the sum of that cell over the
    device classes."""
    out: list[list[Path]] = []
    blocks: list[Path] = [("all",), *[("by_device", d) for d in figures["by_device"]]]
    for block in blocks:
        for total, parts in _BLOCK_SUMS:
            out.append([(*block, total), *[(*block, p) for p in parts]])
        for total, breakdown in _BLOCK_BREAKDOWNS:
            keys = sorted(figures["all"][breakdown])
            out.append([(*block, total), *[(*block, breakdown, k) for k in keys]])
    for leaf in _leaves(figures["all"]):
        out.append([("all", *leaf), *[("by_device", d, *leaf) for d in figures["by_device"]]])
    return out


def _get(figures: dict[str, Any], path: Path) -> Any:
    value: Any = figures
    for key in path:
        value = value[key]
    return value


def complementary(figures: dict[str, Any]) -> tuple[set[Path], set[Path]]:
    """(primary, complementary) cells: the transparency report's rule over this report's
    groups."""
    return transparency.complementary(figures, groups(figures))


def published(figures: dict[str, Any]) -> dict[str, Any]:
    primary, extra = complementary(figures)
    return transparency.publish_cells(figures, (), primary, extra)


def _rate(part: Any, whole: Any) -> float | None:
    """part / whole, rounded to 4 places, when both are shown and whole is not 0."""
    if isinstance(part, int) and isinstance(whole, int) and whole > 0:
        return round(part / whole, 4)
    return None


def rates(block: dict[str, Any]) -> dict[str, float | None]:
    return {
        "false_non_match": _rate(block["false_non_matches"], block["genuine_attempts"]),
        "refusal": _rate(block["refused"], block["uploads"]),
    }


# --- the report ----------------------------------------------------------------------------------
def office_section(period: Period, office: Office) -> dict[str, Any]:
    figures = published(raw_figures(period, office))
    return {
        "code": office.code,
        "name": office.name,
        "figures": figures,
        "rates": {
            "all": rates(figures["all"]),
            "by_device": {d: rates(b) for d, b in figures["by_device"].items()},
        },
    }


def build(period: Period, offices: list[Office]) -> dict[str, Any]:
    """The report: the period, the rule, and one section per office (suppressed apart)."""
    return {
        "report": "caseledger field report",
        "period": period.label,
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "suppression": {
            "threshold": transparency.SUPPRESSION_THRESHOLD,
            "shown_as": transparency.SUPPRESSED,
            "complementary_shown_as": transparency.WITHHELD,
        },
        "offices": [office_section(period, o) for o in offices],
    }


def field_report(ctx: AccessContext | None, period: str, office: str = "") -> dict[str, Any]:
    """The field report for `period` (`2026-Q4`, `2026-11`, `2026`) and `office` (a code; empty:
    every office the reader may see). Reading it is one ledger event (aggregate counts: it
    names no person). `ctx` None for the command (an operator on the server)."""
    offices = offices_for(ctx, office)
    parsed = parse_period(period)  # a bad period is a 422 before anything is read
    report = build(parsed, offices)
    if ctx is not None:
        record_access(ctx, action=Action.READ, category=Category.CHECK_INS,
                      record_type=RECORD_TYPE, record_id="field_report",
                      detail={"report": "field", "period": parsed.label,
                              "offices": [o.code for o in offices]})
    return report


def to_json(report: dict[str, Any]) -> bytes:
    return (json.dumps(report, sort_keys=True, indent=2, ensure_ascii=True) + "\n").encode()


# --- presentation: words, tables, text -----------------------------------------------------------
DEVICE_LABELS = {
    CaptureDevice.PHONE: "Phone",
    CaptureDevice.TABLET: "Tablet",
    CaptureDevice.COMPUTER: "Computer",
    CaptureDevice.OTHER: "Other or unknown",
    NOT_RECORDED: "Not recorded (sent before devices were recorded)",
}
CAUSE_LABELS = {
    NO_MATCH: "Face did not match",
    NOT_LIVE: "Live check not passed",
    NOT_CHECKED: "Could not be checked",
}
REASON_LABELS = {
    faces.NO_FACE: "No face found",
    faces.MULTIPLE_FACES: "Several faces",
    faces.FACE_TOO_SMALL: "Face too small",
    faces.POOR_QUALITY: "Poor quality (blur or light)",
    liveness.NO_FRAMES: "No frames",
    liveness.TOO_MANY_FRAMES: "Too many frames",
    liveness.FRAME_TOO_LARGE: "Frame too large",
    liveness.BAD_FRAME: "Unreadable frame",
    liveness.TOO_FEW_FACES: "Too few frames with a face",
    liveness.KEY_FRAME_PROBLEM: "Best frame not usable",
    liveness.MOTION_UNCLEAR: "Movement could not be measured",
}


def percent(rate: float | None) -> str:
    return "not shown" if rate is None else f"{rate * 100:.1f}%"


def device_rows(section: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per device class that sent anything (a class with 0 uploads is left out: a
    zero hides nothing), then the total."""
    figures, rates_ = section["figures"], section["rates"]
    rows = [
        {"device": d, "label": DEVICE_LABELS[d], **figures["by_device"][d],
         "fnm_rate": percent(rates_["by_device"][d]["false_non_match"]),
         "refusal_rate": percent(rates_["by_device"][d]["refusal"])}
        for d in DEVICES if figures["by_device"][d]["uploads"] != 0
    ]
    rows.append({"device": "all", "label": "All devices", **figures["all"],
                 "fnm_rate": percent(rates_["all"]["false_non_match"]),
                 "refusal_rate": percent(rates_["all"]["refusal"])})
    return rows


def _breakdown(values: dict[str, Any], labels: dict[str, str]) -> list[tuple[str, Any, int | None]]:
    """(label, shown, bar) for the cells that are not 0; no bar for a suppressed cell."""
    return [(labels.get(k, k), v, v if isinstance(v, int) else None)
            for k, v in values.items() if v != 0]


def tables(section: dict[str, Any]) -> list[dict[str, Any]]:
    """The office's breakdowns over all devices, for the page and its charts."""
    f = section["figures"]["all"]
    code = section["code"]
    return [
        {"id": f"{code}-refused", "title": "Refused uploads by reason",
         "rows": _breakdown(f["refused_by_reason"], REASON_LABELS)},
        {"id": f"{code}-fnm", "title": "Observed false non-matches by cause",
         "rows": _breakdown(f["false_non_matches_by_cause"], CAUSE_LABELS)},
        {"id": f"{code}-not-verified", "title": "Tries not verified at once, by cause",
         "rows": _breakdown(f["not_verified_by_cause"], CAUSE_LABELS)},
    ]


def to_text(report: dict[str, Any]) -> str:
    """The report as plain text, for a terminal."""
    lines = [f"Field report {report['period']} ({report['from'][:10]} to {report['to'][:10]}, "
             f"UTC); counts of 1 to 9 read \"{transparency.SUPPRESSED}\", complements "
             f"\"{transparency.WITHHELD}\"."]
    for section in report["offices"]:
        lines += ["", f"Office {section['code']} ({section['name']})",
                  f"  {'device':<18}{'genuine':>14}{'false non-m.':>14}{'rate':>11}"
                  f"{'uploads':>14}{'refused':>14}{'rate':>11}"]
        for row in device_rows(section):
            lines.append(
                f"  {row['device']:<18}{row['genuine_attempts']!s:>14}"
                f"{row['false_non_matches']!s:>14}{row['fnm_rate']:>11}{row['uploads']!s:>14}"
                f"{row['refused']!s:>14}{row['refusal_rate']:>11}")
        for table in tables(section):
            shown = ", ".join(f"{label}: {value}" for label, value, _bar in table["rows"])
            lines.append(f"  {table['title']}: {shown or 'none'}")
    return "\n".join(lines) + "\n"
