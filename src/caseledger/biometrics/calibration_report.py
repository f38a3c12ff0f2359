"""The calibration's outputs: a Markdown section (written between markers into
docs/FACE_VERIFICATION.md), a DET curve as SVG, and every figure as JSON."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from .calibration import CalibrationReport, GateBin, GateEvidence, OnDemandFigures, PartFigures
from .errorrates import Rates

BEGIN = "<!-- calibration:begin (written by `caseledger faces calibrate --out`) -->"
END = "<!-- calibration:end -->"

#: The targets of issue 13, judged on the held-out part.
TARGET_FNMR = 0.06
TARGET_REFUSED = 0.02
TARGET_REVIEW = 0.02

MEASURE_NAMES = {"sharpness": "sharpness", "face_width_px": "face width (px)"}
DEGRADED_HOW = {
    "sharpness": "blurred (Gaussian, radius 1-5 px)",
    "face_width_px": "shrunk (whole photo, to faces of 26-76 px)",
}


def _pct(x: float, digits: int = 2) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{100 * x:.{digits}f} %"


def _ci(ci: tuple[float, float] | list[float], digits: int = 2) -> str:
    return f"{_pct(ci[0], digits)} - {_pct(ci[1], digits)}"


def _sci(x: float) -> str:
    return "n/a" if math.isnan(x) else ("0" if x == 0 else f"{x:.2e}")


def _sci_ci(ci: tuple[float, float] | list[float]) -> str:
    return f"{_sci(ci[0])} - {_sci(ci[1])}"


def _faces_arg(arg: str) -> str:
    return "<faces folder>" if os.path.isabs(arg) else arg


def _fmr_row(label: str, f: PartFigures) -> str:
    r: Rates = f.rates
    return (
        f"| {label} | {f.threshold:.3f} | {_sci(r.fmr)} | {r.false_matches:,} / {r.impostors:,} "
        f"| {_sci_ci(r.fmr_ci)} | {_sci_ci(f.bootstrap.fmr)} |"
    )


def _fnmr_row(label: str, f: PartFigures) -> str:
    r = f.rates
    return (
        f"| {label} | {f.threshold:.3f} | {_pct(r.fnmr)} | {r.false_non_matches} / {r.genuines} "
        f"| {_ci(r.fnmr_ci)} | {_ci(f.bootstrap.fnmr)} | {_pct(f.fnmr_with_refusals)} "
        f"({r.false_non_matches + f.genuine_with_refused} / {f.genuine_all}) |"
    )


def _same_rule(report: CalibrationReport) -> bool:
    """The configured threshold and gates are the ones this run chose."""
    return (
        abs(report.configured_threshold - report.threshold) < 1e-9
        and report.configured_limits == report.limits
    )


def _parts(report: CalibrationReport) -> list[tuple[str, PartFigures]]:
    parts = [("calibration part (chooses)", report.calibration)]
    if report.held_out:
        parts.append(("**held-out part (judges)**", report.held_out))
    if report.held_out_configured and not _same_rule(report):
        parts.append(
            (
                f"held-out at the setting when run ({report.configured_threshold:.3f}, "
                "its blur and size gates)",
                report.held_out_configured,
            )
        )
    return parts


def _bin_label(b: GateBin) -> str:
    return f"{b.low:g}+" if math.isinf(b.high) else f"{b.low:g}-{b.high:g}"


def _bin_cell(genuine: int, failed: int) -> str:
    if not genuine:
        return "-"
    return f"{failed}/{genuine} ({100 * failed / genuine:.0f} %)"


def _gate_table(g: GateEvidence) -> list[str]:
    name = MEASURE_NAMES.get(g.measure, g.measure)
    out = [
        f"| {name} | photos: genuine pairs failed | photos: false matches / impostor pairs "
        "| degraded: genuine pairs failed | degraded: false matches / impostor pairs |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for nat, deg in zip(g.natural, g.degraded, strict=True):
        if not (nat.genuine or deg.genuine):
            continue
        refused = " **refused**" if nat.high <= g.limit else ""
        out.append(
            f"| {_bin_label(nat)}{refused} | {_bin_cell(nat.genuine, nat.failed)} "
            f"| {nat.false_matches:,} / {nat.impostors:,} | {_bin_cell(deg.genuine, deg.failed)} "
            f"| {deg.false_matches:,} / {deg.impostors:,} |"
        )
    return out


def _targets(report: CalibrationReport) -> list[str]:
    h, t = report.held_out, report.retake
    if h is None:
        return []
    rows = [
        (
            "false-match rate",
            f"<= {report.target_fmr:g}",
            _sci(h.rates.fmr),
            h.rates.fmr <= report.target_fmr,
        ),
        (
            "false non-match rate per attempt (compared pairs)",
            f"<= {TARGET_FNMR:.0%}",
            _pct(h.rates.fnmr),
            h.rates.fnmr <= TARGET_FNMR,
        ),
        (
            "photos refused",
            f"<= {TARGET_REFUSED:.0%}",
            _pct(h.refused_rate),
            h.refused_rate <= TARGET_REFUSED,
        ),
    ]
    if t is not None and t.check_ins:
        rows.append(
            (
                "check-ins sent to review after one retake",
                f"<= {TARGET_REVIEW:.0%}",
                _pct(t.review_rate),
                t.review_rate <= TARGET_REVIEW,
            )
        )
    out = ["| target (held-out part) | wanted | measured | met |", "| --- | ---: | ---: | --- |"]
    out += [f"| {a} | {b} | {c} | {'yes' if ok else '**no**'} |" for a, b, c, ok in rows]
    return out


def render_markdown(report: CalibrationReport, *, det_link: str | None = None) -> str:
    """The generated section of docs/FACE_VERIFICATION.md."""
    faces = report.faces
    held = faces.photo_held_out
    out: list[str] = []
    w = out.append
    w(
        f"Generated by `caseledger faces calibrate --faces {_faces_arg(report.faces_arg)}` "
        f"(model `{report.model_id}`, target false-match rate {report.target_fmr:g})."
    )
    w("")
    w(
        f"{len(faces.photos):,} photos of {len(faces.people)} people. Calibration part: "
        f"{int((~held).sum()):,} photos of {int((~faces.held_out).sum())} people; held-out "
        f"part: {int(held.sum()):,} photos of {int(faces.held_out.sum())} people (one person "
        "in three, by a hash of the folder name; none of them chose anything)."
        + (
            f" {len(faces.ignored)} files that are not photos were ignored."
            if faces.ignored
            else ""
        )
    )
    w("")
    if math.isfinite(report.seconds):
        w(
            f"Embedding the {len(faces.photos):,} photos once took {report.seconds:.0f} s with "
            f"{report.workers} worker processes ({len(faces.photos) / report.seconds:.1f} "
            "photos per second on this machine, shared with other work); the 1.1 million "
            "distances are one matrix product."
        )
        w("")
    w(
        f"**Chosen threshold: {report.threshold:.3f}**, the largest at which the calibration "
        f"part's false-match rate stays at or below {report.target_fmr:g} with the gates below "
        f"({report.first_threshold:.3f} before the blur and size gates were re-derived). "
        f"Setting when this ran: {report.configured_threshold:.3f} "
        f"(`{report.configured_version}`)"
        + (
            ", the same threshold and gates."
            if _same_rule(report)
            else "; the last rows show the held-out part under it."
        )
    )
    w("")
    targets = _targets(report)
    if targets:
        out += targets
        w("")
    w("False matches (impostor pairs of two usable photos; 95 % intervals):")
    w("")
    w("| part | threshold | FMR | false matches / pairs | Wilson | bootstrap over people |")
    w("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, f in _parts(report):
        w(_fmr_row(label, f))
    w("")
    w(
        "False non-matches (genuine pairs; refused photos counted apart, then as failures in "
        "the last column):"
    )
    w("")
    w(
        "| part | threshold | FNMR | failed / compared | Wilson | bootstrap over people "
        "| refusals as failures |"
    )
    w("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, f in _parts(report):
        w(_fnmr_row(label, f))
    w("")
    _refusals(report, w)
    if report.retake is not None and report.retake.check_ins:
        t = report.retake
        w(
            f"Retake simulation (held-out people with three photos, {t.people} people, every "
            f"ordering: enrol with one photo, check in with the second, retake with the third "
            f"if the first try fails, {t.check_ins} check-ins): the first try failed in "
            f"{_pct(t.first_try_failed / t.check_ins)}, and **{t.sent_to_review} "
            f"({_pct(t.review_rate)}, 95 % {_ci(t.ci)}) would go to a review** after the "
            "retake. A refused photo counts as a failed try. Orderings whose enrolment photo is "
            f"refused are left out ({t.enrolment_refused}): an enrolment photo is checked, and "
            "retaken, while the officer is there."
        )
        w("")
    if det_link:
        w(f"![DET curve: false non-match rate against false-match rate]({det_link})")
        w("")
    _several_faces(report, w)
    _mirror(report, w)
    _gates(report, w)
    for note in report.notes:
        w(f"Note: {note}")
        w("")
    return "\n".join(out).rstrip() + "\n"


def _refusals(report: CalibrationReport, w: Any) -> None:
    parts = [p for _, p in _parts(report)[:2]]
    reasons = sorted({o for p in parts for o in p.refused})
    w("Photos refused, by outcome (each photo counted once, under the chosen gates):")
    w("")
    w("| outcome | " + " | ".join(p.name for p in parts) + " |")
    w("| --- |" + " ---: |" * len(parts))
    for reason in reasons:
        w(f"| `{reason}` | " + " | ".join(str(p.refused.get(reason, 0)) for p in parts) + " |")
    w(
        "| **all refused** | "
        + " | ".join(f"{p.refused_total} of {p.photos} ({_pct(p.refused_rate)})" for p in parts)
        + " |"
    )
    w(
        "| several faces, dominant face used | "
        + " | ".join(str(p.resolved_multiple) for p in parts)
        + " |"
    )
    w("")


def _several_faces(report: CalibrationReport, w: Any) -> None:
    if not report.several_faces:
        return
    w(
        "Photos with several faces (calibration part; the largest face is embedded whatever "
        f"the rule says, and compared with the person's other photos at {report.threshold:.3f}):"
    )
    w("")
    w("| what the rule does | photos | genuine pairs failed |")
    w("| --- | ---: | ---: |")
    for row in report.several_faces:
        w(f"| {row.group} | {row.photos} | {_bin_cell(row.genuine, row.failed)} |")
    w("")


def _mirror_row(f: OnDemandFigures) -> str:
    genuine, impostors = f.always.genuines, f.always.impostors
    return (
        f"| {f.part} | {f.band:.2f} | {_pct(f.always.fnmr)} / {_pct(f.on_demand.fnmr)} "
        f"| {_sci(f.always.fmr)} / {_sci(f.on_demand.fmr)} "
        f"| {f.changed_genuine} of {genuine:,} / {f.changed_impostor} of {impostors:,} "
        f"| {_pct(f.genuine_mirrored / genuine if genuine else math.nan, 1)} "
        f"| {_pct(f.impostor_mirrored / impostors if impostors else math.nan, 1)} |"
    )


def _mirror(report: CalibrationReport, w: Any) -> None:
    m = report.mirror
    if m is None:
        return
    first = m.figures[0]
    crossing = first.largest_crossing
    w(
        "The template form on demand (every ordered pair of two usable photos: the first "
        "enrolled with its template, the second checking in, its plain chip embedded alone, "
        "and the whole template form (other paddings, mirror images) only when that distance "
        f"lies within the band around {report.threshold:.3f}). The whole form moved a "
        "calibration pair's "
        f"distance by {first.median_shift:.3f} (median) to {first.largest_shift:.3f} (most); "
        "the farthest from the threshold that a pair's decision still changed was "
        + ("none changed" if math.isnan(crossing) else f"{crossing:.3f}")
        + f". **Band chosen: {m.chosen_band:.2f}** (the smallest that changes no decision of "
        f"the calibration part); band the verifier uses: {m.configured_band:.2f}. Photo "
        "refusals do not depend on it (the gates come before the embedding). Rates "
        "always the whole form / on demand:"
    )
    w("")
    w(
        "| part | band | FNMR | FMR | decisions changed (genuine / impostor) "
        "| genuine check-ins given the 2nd pass | impostor check-ins given it |"
    )
    w("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for f in m.figures:
        w(_mirror_row(f))
    w("")
    if m.sweep:
        w("The held-out part at every band tried:")
        w("")
        w(
            "| part | band | FNMR | FMR | decisions changed (genuine / impostor) "
            "| genuine check-ins given the 2nd pass | impostor check-ins given it |"
        )
        w("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for f in m.sweep:
            w(_mirror_row(f))
        w("")


def _gates(report: CalibrationReport, w: Any) -> None:
    for g in report.gates:
        name = MEASURE_NAMES.get(g.measure, g.measure)
        w(
            f"Gate evidence, {name} (calibration part, at {report.threshold:.3f}): genuine "
            "and impostor pairs binned by the worse photo's measure; the *degraded* columns "
            f"are calibration photos {DEGRADED_HOW.get(g.measure, 'degraded')} step by step, "
            "each compared with another photo of the same person and with every other "
            f"person's photos ({g.no_face} of them had no face found any more). "
            f"**Limit: {g.limit:g}** "
            f"(was {g.configured:g}): a bin is refused only where its photos fail their "
            "genuine comparisons more often than not, or match impostors significantly more "
            f"often than {report.target_fmr:g}."
        )
        w("")
        for line in _gate_table(g):
            w(line)
        w("")


def write_report(path: Path, section: str) -> None:
    """Put the generated section between the calibration markers of ``path``."""
    write_marked_section(path, section, BEGIN, END, heading="Calibration")


def write_marked_section(path: Path, section: str, begin: str, end: str, *, heading: str) -> None:
    """Put a generated section between the markers ``begin`` and ``end`` of ``path`` (the text
    around them stays as it is); append a ``## heading`` and the markers when there are none,
    or create the file."""
    block = f"{begin}\n{section.rstrip()}\n{end}"
    path = Path(path)
    text = path.read_text(encoding="utf-8") if path.exists() else "# Face verification\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = f"{head}{block}{rest.split(end, 1)[1]}"
    else:
        text = f"{text.rstrip()}\n\n## {heading}\n\n{block}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def write_json(report: CalibrationReport, path: Path) -> None:
    write_figures(report.as_dict(), path)


def write_figures(figures: dict[str, Any], path: Path) -> None:
    """Figures as JSON: numpy scalars as numbers, NaN and infinities as null."""

    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(x) for k, x in value.items()}
        if isinstance(value, list | tuple):
            return [clean(x) for x in value]
        if isinstance(value, np.generic):
            return clean(value.item())
        return value

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(clean(figures), indent=1) + "\n", encoding="utf-8")


def write_det_svg(report: CalibrationReport, path: Path) -> None:
    """The DET curve (FNMR against FMR, both logarithmic) of each part, with the chosen
    threshold marked. Written without pyplot's global state; the SVG is reproducible."""
    import matplotlib
    from matplotlib.figure import Figure

    floor_fmr, floor_fnmr = 1e-6, 1e-3
    with matplotlib.rc_context({"svg.hashsalt": "caseledger-det", "svg.fonttype": "none"}):
        fig = Figure(figsize=(6.4, 4.8))
        ax = fig.subplots()
        styles = {"calibration": ("#888888", "--"), "held-out": ("#1f4e9c", "-")}
        for name, (_t, fmr, fnmr) in report.det.items():
            colour, line = styles.get(name, ("black", "-"))
            ax.plot(
                np.clip(fmr, floor_fmr, 1),
                np.clip(fnmr, floor_fnmr, 1),
                line,
                color=colour,
                label=f"{name} part",
            )
        for f, marker in ((report.calibration, "o"), (report.held_out, "s")):
            if f is not None:
                ax.plot(
                    max(f.rates.fmr, floor_fmr),
                    max(f.rates.fnmr, floor_fnmr),
                    marker,
                    color="#c0392b",
                    label=f"{f.name} at {f.threshold:.3f}",
                )
        ax.axvline(
            report.target_fmr,
            color="#c0392b",
            linestyle=":",
            linewidth=1,
            label=f"target FMR {report.target_fmr:g}",
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(floor_fmr, 1)
        ax.set_ylim(floor_fnmr, 1)
        ax.set_xlabel("false-match rate (impostor pairs that match)")
        ax.set_ylabel("false non-match rate (genuine pairs that fail)")
        ax.set_title(f"DET, {report.model_id}")
        ax.grid(True, which="both", linewidth=0.3)
        ax.legend(loc="lower left", fontsize="small")
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="svg", metadata={"Date": None})
