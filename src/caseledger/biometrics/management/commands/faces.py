"""`caseledger faces compare|calibrate|liveness-eval`: 1:1 comparisons of listed photo pairs,
the calibration of the threshold and photo gates on a folder of photos, one folder per
person, and the measurement of the liveness check on bursts built from such a folder.

Both run without a database or any configuration (biometrics/tool_settings.py), embed photos
in worker processes (``--workers``, default: the CPUs), show progress on stderr and write
results line by line. Nothing here searches one face among many.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from caseledger.biometrics import verifier as v
from caseledger.biometrics.batch import BatchError, default_workers
from caseledger.biometrics.calibration import CalibrationError, run_calibration
from caseledger.biometrics.calibration_report import (
    render_markdown,
    write_det_svg,
    write_json,
    write_report,
)
from caseledger.biometrics.liveness import LivenessLimits
from caseledger.biometrics.liveness_eval import render_markdown as render_liveness
from caseledger.biometrics.liveness_eval import run_liveness_eval, write_section
from caseledger.biometrics.liveness_eval import write_json as write_liveness_json
from caseledger.biometrics.pairs import (
    LABEL_MODES,
    Tally,
    compare_pairs,
    decision_rule,
    parse_pairs,
    summary_lines,
)

Progress = Callable[[str, int], Callable[[], None]]


def _workers(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError("at least one worker")
    return number


def _fraction(value: str) -> float:
    number = float(value)
    if not 0.0 < number < 1.0:
        raise ValueError("a rate between 0 and 1")
    return number


class Command(BaseCommand):
    help = "Face verification tools: compare photo pairs (1:1), calibrate the threshold."
    # Touches neither the database nor URLs: runs where the site is not set up at all.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        compare = sub.add_parser(
            "compare",
            help="Compare listed pairs of photos: one JSON object per pair on stdout.",
            description=(
                "Reads lines 'image1<TAB>image2' (blank lines and lines starting with # are "
                "skipped) and prints one JSON object per pair, as soon as both photos are "
                "embedded: image1, image2, outcome (match, no_match, or the first photo "
                "problem: no_face, multiple_faces, face_too_small, poor_quality, unreadable, "
                "missing_file, ...), match, distance, model_id, threshold, threshold_version, "
                "and photo1 / photo2 with each photo's own outcome, faces found and quality "
                "measures. A malformed line gives outcome bad_line with its line number. "
                'The last line is {"summary": {...}}: counts, refused photos and, with '
                "--labels, FMR and FNMR with 95 %% intervals; the summary also goes to stderr."
            ),
        )
        compare.add_argument("--pairs", required=True, help="The pairs file.")
        compare.add_argument(
            "--root",
            help="Folder that relative image paths are read from "
            "(default: the pairs file's folder).",
        )
        compare.add_argument(
            "--threshold",
            type=float,
            help="Decide at this distance instead of settings.FACE_MATCH_THRESHOLD.",
        )
        compare.add_argument(
            "--labels",
            choices=LABEL_MODES,
            help="Say which pairs are genuine: 'column' reads a third field (same or "
            "different), 'folders' calls two photos in one folder the same person. The "
            "summary then gives the error rates.",
        )
        self._common(compare)
        calibrate = self._on_a_folder(
            sub,
            "calibrate",
            help="Choose the threshold and gates on a folder of photos, one folder per person.",
            description=(
                "Embeds every photo under DIR/<person>/ once, holds out a third of the "
                "people, chooses the threshold for the target false-match rate and the blur "
                "and face-size gates on the rest, and reports FMR, FNMR (95 %% intervals), "
                "refusals and a retake simulation on the held-out people. Prints Markdown."
            ),
        )
        calibrate.add_argument(
            "--target-fmr",
            type=_fraction,
            help="False-match rate to choose the threshold for "
            "(default: settings.FACE_TARGET_FMR).",
        )
        self._outputs(
            calibrate, "Markdown file to write the report into, between its markers.", det=True
        )
        calibrate.add_argument(
            "--gate-people",
            type=int,
            default=100,
            help="Calibration people whose photos are degraded to measure the gates (100).",
        )
        self._common(calibrate)
        liveness = self._on_a_folder(
            sub,
            "liveness-eval",
            help="Measure the liveness check on attack and bona fide bursts built from a "
            "folder of photos, one folder per person.",
            description=(
                "Builds bursts from the photos under DIR/<person>/ (prints of a photo moved, "
                "tilted, turned or repeated; the photo rendered turning its head; the "
                "person's own photos in prompted order), measures each with the liveness "
                "check, chooses its limits on the calibration people and reports attack and "
                "bona fide rejection rates (95 % intervals) on the held-out people. Prints "
                "Markdown. The photos are read, never copied."
            ),
        )
        liveness.add_argument(
            "--calibration-people",
            type=int,
            default=150,
            help="Calibration people to build bursts from, besides every held-out person (150).",
        )
        self._outputs(
            liveness, "Markdown file to write the figures into, between its liveness markers."
        )
        self._common(liveness)

    @staticmethod
    def _on_a_folder(sub: Any, name: str, **texts: str) -> CommandParser:
        """The sub-command `name` (with its help and description), reading a folder of
        photos, one folder per person (``--faces``)."""
        parser: CommandParser = sub.add_parser(name, **texts)
        parser.add_argument("--faces", required=True, help="The folder, one folder per person.")
        return parser

    @staticmethod
    def _outputs(parser: CommandParser, out_help: str, *, det: bool = False) -> None:
        """Where a folder's report goes besides stdout: ``--out`` (Markdown, `out_help`),
        ``--det`` (the DET curve, when `det`) and ``--json``."""
        parser.add_argument("--out", help=out_help)
        if det:
            parser.add_argument("--det", help="Write the DET curve to this SVG file.")
        parser.add_argument("--json", help="Write every figure to this JSON file.")

    @staticmethod
    def _common(parser: CommandParser) -> None:
        parser.add_argument(
            "--workers",
            type=_workers,
            default=default_workers(),
            help="Worker processes embedding photos (default: the CPUs, %(default)s here).",
        )
        parser.add_argument(
            "--quiet",
            action="store_true",
            help="No progress bar or summary on stderr (errors are still reported).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "compare":
                self.compare(options)
            elif options["action"] == "liveness-eval":
                self.liveness_eval(options)
            else:
                self.calibrate(options)
        except (CalibrationError, BatchError) as exc:
            raise CommandError(str(exc)) from None
        except KeyboardInterrupt:
            raise CommandError("interrupted") from None
        except BrokenPipeError:
            # The reader went away (`... | head`): stop quietly, as other command-line tools do.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise SystemExit(1) from None

    @contextmanager
    def progress(self, options: dict[str, Any]) -> Iterator[Progress | None]:
        """A progress bar on stderr (rich), none with --quiet."""
        if self._quiet(options):
            yield None
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        stream: TextIO = getattr(self.stderr, "_out", sys.stderr)
        bar = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(file=stream),
        )

        def start(label: str, total: int) -> Callable[[], None]:
            task = bar.add_task(label, total=total)
            return lambda: bar.advance(task)

        with bar:
            yield start

    @staticmethod
    def _quiet(options: dict[str, Any]) -> bool:
        return bool(options.get("quiet")) or int(options.get("verbosity", 1)) < 1

    def _line(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()  # line by line, also into a pipe

    # --- compare ---------------------------------------------------------------------------
    def compare(self, options: dict[str, Any]) -> None:
        pairs_file = Path(options["pairs"])
        try:
            text = pairs_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read the pairs file {pairs_file}: {exc}") from None
        root = Path(options["root"]) if options.get("root") else pairs_file.parent
        if not root.is_dir():
            raise CommandError(f"not a folder: {root}")
        entries = parse_pairs(text, labels=options.get("labels"))
        verifier = v.get_verifier()
        tally = Tally()
        threshold = options.get("threshold")
        with self.progress(options) as progress:
            rows = compare_pairs(
                entries,
                root,
                verifier,
                threshold=threshold,
                labels=options.get("labels"),
                workers=options["workers"],
                progress=progress,
                tally=tally,
            )
            for row in rows:
                self._line(json.dumps(row, ensure_ascii=False))
        summary = tally.summary(verifier.model_id, *decision_rule(threshold))
        self._line(json.dumps({"summary": _finite(summary)}, ensure_ascii=False))
        if not self._quiet(options):
            for line in summary_lines(summary):
                self.stderr.write(line)

    # --- calibrate -------------------------------------------------------------------------
    def calibrate(self, options: dict[str, Any]) -> None:
        target = options.get("target_fmr") or float(settings.FACE_TARGET_FMR)
        with self.progress(options) as progress:
            report = run_calibration(
                Path(options["faces"]),
                faces_arg=options["faces"],
                target_fmr=target,
                configured_threshold=float(settings.FACE_MATCH_THRESHOLD),
                configured_version=str(settings.FACE_THRESHOLD_VERSION),
                workers=options["workers"],
                gate_people=max(0, options["gate_people"]),
                progress=progress,
            )
        det_link = None
        if options.get("det"):
            det = Path(options["det"])
            write_det_svg(report, det)
            base = Path(options["out"]).parent if options.get("out") else Path.cwd()
            det_link = Path(os.path.relpath(det.resolve(), base.resolve())).as_posix()
        section = render_markdown(report, det_link=det_link)
        self._publish(options, report, section, write_report, write_json)
        self._advise(report)

    # --- liveness-eval ---------------------------------------------------------------------
    def liveness_eval(self, options: dict[str, Any]) -> None:
        verifier = v.get_verifier()
        if not isinstance(verifier, v.DlibResNetVerifier):
            raise CommandError("liveness-eval measures dlib's verifier (FACE_VERIFIER=dlib)")
        with self.progress(options) as progress:
            report = run_liveness_eval(
                Path(options["faces"]),
                faces_arg=options["faces"],
                verifier=verifier,
                configured=LivenessLimits(),
                workers=options["workers"],
                calibration_people=max(0, options["calibration_people"]),
                progress=progress,
            )
        section = render_liveness(report)
        self._publish(options, report, section, write_section, write_liveness_json)
        if report.chosen != report.configured:
            self.stderr.write(
                f"note: liveness.py has {report.configured.as_dict()}; this evaluation chose "
                f"{report.chosen.as_dict()}"
            )

    def _publish(
        self,
        options: dict[str, Any],
        report: Any,
        section: str,
        markdown: Callable[[Path, str], Any],
        figures: Callable[[Any, Path], Any],
    ) -> None:
        """Print the Markdown `section`; write it into ``--out`` (`markdown`) and every
        figure into ``--json`` (`figures`) when asked."""
        self.stdout.write(section)
        if options.get("out"):
            markdown(Path(options["out"]), section)
            self.stderr.write(f"wrote {options['out']}")
        if options.get("json"):
            figures(report, Path(options["json"]))
            self.stderr.write(f"wrote {options['json']}")

    def _advise(self, report: Any) -> None:
        if abs(report.configured_threshold - report.threshold) > 1e-9:
            self.stderr.write(
                f"note: FACE_MATCH_THRESHOLD is {report.configured_threshold}; this calibration "
                f"chose {report.threshold:.3f}: set it and give FACE_THRESHOLD_VERSION a new value"
            )
        for gate in report.gates:
            if abs(gate.limit - gate.configured) > 1e-9:
                self.stderr.write(
                    f"note: the {gate.measure} gate is {gate.configured:g} in "
                    f"biometrics/quality.py; this calibration derived {gate.limit:g}"
                )


def _finite(value: Any) -> Any:
    """JSON has no NaN: undefined rates are null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(x) for k, x in value.items()}
    if isinstance(value, list):
        return [_finite(x) for x in value]
    return value
