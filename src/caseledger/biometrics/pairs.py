"""`caseledger faces compare`: 1:1 comparisons of the photo pairs listed in a file.

A pairs file has one pair per line, ``image1<TAB>image2`` (with ``--labels column`` a third
field says whether both show one person: same/different, genuine/impostor, yes/no, 1/0).
Blank lines and lines starting with ``#`` are skipped. Each photo is embedded once however
many pairs name it; the first photo of a pair is the reference, the second the probe, as at
a check-in. Nothing here searches one face among many: only the listed pairs are compared.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import errorrates as er
from . import verifier as v
from .batch import Task, embed_all

BAD_LINE = "bad_line"
GENUINE, IMPOSTOR = "genuine", "impostor"
LABEL_WORDS = {
    "same": GENUINE,
    "genuine": GENUINE,
    "yes": GENUINE,
    "1": GENUINE,
    "true": GENUINE,
    "different": IMPOSTOR,
    "impostor": IMPOSTOR,
    "no": IMPOSTOR,
    "0": IMPOSTOR,
    "false": IMPOSTOR,
}
LABEL_MODES = ("column", "folders")


@dataclass(frozen=True)
class Pair:
    line: int
    image1: str
    image2: str
    label: str | None = None


@dataclass(frozen=True)
class BadLine:
    line: int
    reason: str


def parse_pairs(text: str, *, labels: str | None) -> list[Pair | BadLine]:
    """The pairs (and malformed lines) of a pairs file, in order."""
    out: list[Pair | BadLine] = []
    width = 3 if labels == "column" else 2
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in raw.rstrip("\r\n").split("\t")]
        if len(fields) != width or not all(fields):
            out.append(BadLine(number, f"expected {width} tab-separated fields"))
            continue
        label = None
        if labels == "column":
            label = LABEL_WORDS.get(fields[2].lower())
            if label is None:
                out.append(BadLine(number, f"unknown label {fields[2]!r}: use same or different"))
                continue
        out.append(Pair(number, fields[0], fields[1], label))
    return out


def photo_summary(result: v.FaceAnalysis | tuple[str, str]) -> dict[str, Any]:
    """One photo's outcome and measures, as printed with each pair."""
    if isinstance(result, tuple):
        return {"outcome": result[0], "detail": result[1]}
    out: dict[str, Any] = {"outcome": result.outcome, "faces_found": result.faces_found}
    if result.quality is not None:
        out["quality"] = result.measures()
        if result.quality.reasons:
            out["reasons"] = list(result.quality.reasons)
    choice = result.choice
    if choice is not None and choice.faces_found > 1:  # why the face was used, or not
        out["dominant_face_ratio"] = round(choice.dominance or 0.0, 2)
        out["centre_offset"] = round(choice.centre_offset or 0.0, 3)
    if result.image_size:
        out["image_size"] = list(result.image_size)
    return out


def _outcome(result: v.FaceAnalysis | tuple[str, str]) -> str:
    return result[0] if isinstance(result, tuple) else result.outcome


@dataclass
class Tally:
    """Counts for the summary printed after the last pair."""

    outcomes: Counter[str] = field(default_factory=Counter)
    photos: Counter[str] = field(default_factory=Counter)
    labelled: dict[str, Counter[str]] = field(
        default_factory=lambda: {GENUINE: Counter(), IMPOSTOR: Counter()}
    )

    def add(self, row: dict[str, Any], label: str | None) -> None:
        self.outcomes[row["outcome"]] += 1
        if label is not None:
            self.labelled[label][row["outcome"]] += 1

    def summary(self, model_id: str, threshold: float, version: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "pairs": sum(self.outcomes.values()),
            "outcomes": dict(sorted(self.outcomes.items())),
            "photos": sum(self.photos.values()),
            "photos_by_outcome": dict(sorted(self.photos.items())),
            "model_id": model_id,
            "threshold": threshold,
            "threshold_version": version,
        }
        refused = sum(n for o, n in self.photos.items() if o != v.OK)
        out["photos_refused"] = refused
        out["photos_refused_rate"] = refused / out["photos"] if out["photos"] else None
        g, i = self.labelled[GENUINE], self.labelled[IMPOSTOR]
        if sum(g.values()) or sum(i.values()):
            out.update(_rates(g, i))
        return out


def _rates(g: Counter[str], i: Counter[str]) -> dict[str, Any]:
    compared_g = g[v.MATCH] + g[v.NO_MATCH]
    compared_i = i[v.MATCH] + i[v.NO_MATCH]
    all_g = sum(n for o, n in g.items() if o != BAD_LINE)

    def rate(k: int, n: int) -> float | None:
        return k / n if n else None

    return {
        "genuine_pairs": all_g,
        "genuine_compared": compared_g,
        "false_non_matches": g[v.NO_MATCH],
        "fnmr": rate(g[v.NO_MATCH], compared_g),
        "fnmr_ci95": list(er.wilson(g[v.NO_MATCH], compared_g)),
        "genuine_refused": all_g - compared_g,
        "fnmr_refusals_as_failures": rate(all_g - g[v.MATCH], all_g),
        "impostor_pairs": sum(n for o, n in i.items() if o != BAD_LINE),
        "impostor_compared": compared_i,
        "false_matches": i[v.MATCH],
        "fmr": rate(i[v.MATCH], compared_i),
        "fmr_ci95": list(er.wilson(i[v.MATCH], compared_i)),
    }


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The summary for a person reading the terminal."""

    def pct(x: float | None) -> str:
        return "n/a" if x is None or math.isnan(x) else f"{100 * x:.2f} %"

    lines = [
        f"{summary['pairs']} pairs, {summary['photos']} photos; model {summary['model_id']}, "
        f"threshold {summary['threshold']} ({summary['threshold_version']})",
        "pairs by outcome: " + ", ".join(f"{k} {n}" for k, n in summary["outcomes"].items()),
        f"photos refused: {summary['photos_refused']} ({pct(summary['photos_refused_rate'])})"
        + "".join(f"; {k} {n}" for k, n in summary["photos_by_outcome"].items() if k != v.OK),
    ]
    if "fnmr" in summary:
        lo, hi = summary["fnmr_ci95"]
        lines.append(
            f"FNMR {pct(summary['fnmr'])} ({summary['false_non_matches']} of "
            f"{summary['genuine_compared']} genuine pairs compared; 95 % {pct(lo)} - {pct(hi)}); "
            f"with the {summary['genuine_refused']} refused pairs as failures "
            f"{pct(summary['fnmr_refusals_as_failures'])}"
        )
        lo, hi = summary["fmr_ci95"]
        lines.append(
            f"FMR {pct(summary['fmr'])} ({summary['false_matches']} of "
            f"{summary['impostor_compared']} impostor pairs compared; 95 % {pct(lo)} - {pct(hi)})"
        )
    return lines


def compare_pairs(
    entries: list[Pair | BadLine],
    root: Path,
    verifier: v.FaceVerifier,
    *,
    threshold: float | None,
    labels: str | None,
    workers: int,
    progress: Callable[[str, int], Callable[[], None]] | None,
    tally: Tally,
) -> Iterator[dict[str, Any]]:
    """One result per entry, in order, each as soon as both its photos are embedded."""
    order: dict[Path, int] = {}
    for entry in entries:
        if isinstance(entry, Pair):
            for name in (entry.image1, entry.image2):
                order.setdefault((root / name).resolve(), len(order))
    paths = list(order)
    advance = progress("embedding photos", len(paths)) if progress else None
    results: list[v.FaceAnalysis | tuple[str, str]] = []
    stream = embed_all([Task(p) for p in paths], verifier, workers=workers, advance=advance)
    t, version = decision_rule(threshold)
    try:
        for entry in entries:
            if isinstance(entry, BadLine):
                tally.add({"outcome": BAD_LINE}, None)
                yield {
                    "line": entry.line,
                    "outcome": BAD_LINE,
                    "reason": entry.reason,
                    "match": False,
                    "distance": None,
                }
                continue
            first_path = (root / entry.image1).resolve()
            second_path = (root / entry.image2).resolve()
            while len(results) <= max(order[first_path], order[second_path]):
                result = next(stream)
                results.append(result)
                tally.photos[_outcome(result)] += 1
            label = entry.label
            if labels == "folders":
                label = GENUINE if first_path.parent == second_path.parent else IMPOSTOR
            row = pair_row(
                entry, results[order[first_path]], results[order[second_path]], verifier, t, version
            )
            if label is not None:
                row["label"] = label
            tally.add(row, label)
            yield row
    finally:
        stream.close()  # stops the workers if the output stopped early


def decision_rule(threshold: float | None) -> tuple[float, str]:
    """The threshold and its version: the setting, or ``custom-<value>`` for another value."""
    default, version = v.current_threshold()
    if threshold is None or threshold == default:
        return default, version
    return float(threshold), f"custom-{float(threshold)}"


def pair_row(
    pair: Pair,
    first: v.FaceAnalysis | tuple[str, str],
    second: v.FaceAnalysis | tuple[str, str],
    verifier: v.FaceVerifier,
    threshold: float,
    version: str,
) -> dict[str, Any]:
    """One pair's result: the decision, which rule made it, and both photos' outcomes."""
    row: dict[str, Any] = {
        "image1": pair.image1,
        "image2": pair.image2,
        "model_id": verifier.model_id,
        "threshold": threshold,
        "threshold_version": version,
    }
    problems = [o for o in (_outcome(first), _outcome(second)) if o != v.OK]
    if problems or isinstance(first, tuple) or isinstance(second, tuple):
        row.update(outcome=problems[0], match=False, distance=None)
    else:
        assert first.embedding is not None
        decision = v.decide(first.embedding, second, threshold=threshold, threshold_version=version)
        distance = None if decision.distance is None else round(decision.distance, 4)
        row.update(outcome=decision.outcome, match=decision.match, distance=distance)
    row["photo1"] = photo_summary(first)
    row["photo2"] = photo_summary(second)
    return row
