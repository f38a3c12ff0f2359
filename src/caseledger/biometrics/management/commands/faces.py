"""`caseledger faces compare|calibrate`: 1:1 comparisons of photo pairs, and threshold
calibration on a folder of labelled photos. Nothing here searches one face among many."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from caseledger.biometrics import verifier as v
from caseledger.biometrics.calibration import (
    CalibrationError,
    render_markdown,
    run_calibration,
    write_report,
)

MISSING_FILE = "missing_file"
BAD_LINE = "bad_line"


def _outcome(analysis: v.FaceAnalysis | str) -> str:
    return analysis if isinstance(analysis, str) else analysis.outcome


class Command(BaseCommand):
    help = "Face verification tools: compare photo pairs (1:1), calibrate the threshold."
    # Touches neither the database nor URLs: runs even where the site is not fully set up.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        compare = sub.add_parser(
            "compare",
            help="Compare pairs of photos: one JSON object per pair on stdout.",
            description=(
                "Reads lines 'image1<TAB>image2' (blank lines and lines starting with # are "
                "ignored) and prints one JSON object per pair: image1, image2, distance "
                "(rounded to 4 places, or null), match, outcome (match, no_match, or why "
                "there is no distance: no_face, multiple_faces, face_too_small, poor_quality, "
                "unreadable, too_large, too_many_pixels, unsupported_type, empty, "
                "missing_file; bad_line for a malformed line, which also carries 'line')."
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
        calibrate = sub.add_parser(
            "calibrate",
            help="FMR/FNMR table and a recommended threshold from labelled photos.",
        )
        calibrate.add_argument(
            "--faces", required=True, help="The calibration photos, e.g. ../shared/faces."
        )
        calibrate.add_argument(
            "--out",
            help="Markdown file to write the report into (between its calibration markers), "
            "e.g. docs/FACE_VERIFICATION.md.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "compare":
            self.compare(options)
        else:
            self.calibrate(options)

    # --- compare ---------------------------------------------------------------------------
    def compare(self, options: dict[str, Any]) -> None:
        pairs_file = Path(options["pairs"])
        try:
            lines = pairs_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read the pairs file: {exc}") from None
        root = Path(options["root"]) if options.get("root") else pairs_file.parent
        verifier = v.get_verifier()
        threshold = options.get("threshold")
        cache: dict[Path, v.FaceAnalysis | str] = {}

        def analyse(name: str) -> v.FaceAnalysis | str:
            path = (root / name).resolve()
            if path not in cache:
                cache[path] = self._analyse(verifier, path)
            return cache[path]

        for number, raw in enumerate(lines, start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            fields = [f.strip() for f in raw.rstrip("\r\n").split("\t")]
            if len(fields) != 2 or not all(fields):
                self._emit(
                    {
                        "image1": None,
                        "image2": None,
                        "distance": None,
                        "match": False,
                        "outcome": BAD_LINE,
                        "line": number,
                    }
                )
                continue
            first, second = analyse(fields[0]), analyse(fields[1])
            result: dict[str, Any] = {"image1": fields[0], "image2": fields[1]}
            problems = [o for o in (_outcome(first), _outcome(second)) if o != v.OK]
            if problems:
                result.update(distance=None, match=False, outcome=problems[0])
            else:
                assert isinstance(first, v.FaceAnalysis) and first.embedding is not None
                assert isinstance(second, v.FaceAnalysis)
                decision = v.decide(first.embedding, second, threshold=threshold)
                result.update(
                    distance=round(decision.distance, 4) if decision.distance is not None else None,
                    match=decision.match,
                    outcome=decision.outcome,
                )
            self._emit(result)

    @staticmethod
    def _analyse(verifier: v.FaceVerifier, path: Path) -> v.FaceAnalysis | str:
        if not path.is_file():
            return MISSING_FILE
        limit = int(settings.FACE_MAX_UPLOAD_BYTES)
        try:
            with path.open("rb") as fh:
                data = fh.read(limit + 1)  # never more than one byte past the limit
        except OSError:
            return v.UNREADABLE
        return verifier.embed(data)

    def _emit(self, obj: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(obj, ensure_ascii=False))

    # --- calibrate -------------------------------------------------------------------------
    def calibrate(self, options: dict[str, Any]) -> None:
        faces = Path(options["faces"])
        if not faces.is_dir():
            raise CommandError(f"not a folder: {options['faces']}")
        verbosity = int(options.get("verbosity", 1))

        def progress(message: str) -> None:
            if verbosity >= 2:
                self.stderr.write(message)

        try:
            report = run_calibration(faces, faces_arg=options["faces"], progress=progress)
        except CalibrationError as exc:
            raise CommandError(str(exc)) from None
        section = render_markdown(report)
        self.stdout.write(section)
        if options.get("out"):
            write_report(Path(options["out"]), section)
            self.stderr.write(f"wrote {options['out']}")
        current = float(settings.FACE_MATCH_THRESHOLD)
        if abs(current - report.recommended) > 1e-9:
            self.stderr.write(
                f"note: the configured FACE_MATCH_THRESHOLD is {current}, the calibration "
                f"recommends {report.recommended:.3f}"
            )
