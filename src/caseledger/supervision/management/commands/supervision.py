"""`caseledger supervision sweep [--loop]`: open reviews for missed check-in windows.
`caseledger supervision templates [--rederive]`: count the enrolment photos whose face
template is of another form than the current verifier's, and derive them again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from caseledger.supervision.services import (
    TemplateCounts,
    rederive_templates,
    sweep_missed_windows,
    template_counts,
)


class Command(BaseCommand):
    help = "Supervision jobs: sweep missed check-in windows; derive stale face templates again."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sweep = sub.add_parser("sweep", help="Open a review for every missed window.")
        sweep.add_argument("--loop", action="store_true", help="Repeat every --every seconds.")
        sweep.add_argument("--every", type=int, default=300)
        templates = sub.add_parser(
            "templates",
            help="Count active face templates of another form than the verifier's (a model "
            "change); with --rederive, embed their enrolment photos again.",
        )
        templates.add_argument(
            "--rederive",
            action="store_true",
            help="Replace each stale template from its encrypted enrolment photo (about 0.6 s "
            "per photo, one ledger event each). Without it, nothing is changed.",
        )
        templates.add_argument("--quiet", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "templates":
            self._templates(options)
            return
        if not options["loop"]:
            self.stdout.write(f"opened {sweep_missed_windows()} reviews for missed windows")
            return
        from caseledger.core.singleton import run_as_leader

        # One node sweeps at a time: the one-review-per-window constraint already prevents a
        # duplicate, but two sweeps racing would end one of them with an IntegrityError.
        run_as_leader("supervision sweep", sweep_missed_windows, every=max(10, options["every"]))

    def _templates(self, options: dict[str, Any]) -> None:
        before = template_counts()
        self._counts(before)
        if not options["rederive"]:
            if before.stale:
                self.stdout.write(
                    "check-ins still compare with them; run with --rederive to derive them "
                    "again from the enrolment photos"
                )
            return
        if not before.stale:
            self.stdout.write("nothing to derive again")
            return
        from rich.progress import Progress

        with Progress(transient=True, disable=options["quiet"]) as bar:

            def start(total: int) -> Any:
                task = bar.add_task("deriving templates again", total=total)
                return lambda: bar.advance(task)

            done = rederive_templates(progress=start)
        self.stdout.write(f"derived again: {done.rederived}")
        if done.skipped:
            self.stdout.write(f"changed or ended meanwhile (left to the next run): {done.skipped}")
        for outcome, n in sorted(done.refused.items()):
            self.stdout.write(
                f"refused by the current verifier ({outcome}), template left as it was: {n} "
                "(take a new enrolment photo)"
            )

    def _counts(self, counts: TemplateCounts) -> None:
        self.stdout.write(f"verifier: {counts.model_id}")
        self.stdout.write(f"active templates of this form: {counts.current}")
        self.stdout.write(f"active templates of another form: {counts.stale}")
        for model_id, n in counts.stale_by_model.items():
            self.stdout.write(f"  {model_id}: {n}")
