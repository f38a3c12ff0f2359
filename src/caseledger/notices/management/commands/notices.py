"""`caseledger notices send-due [--loop]` and `caseledger notices plan-all`."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


def _waiting(task: Any) -> bool:
    """Whether a run of `task` is still queued (database backend), so that a stopped worker
    does not come back to a pile of identical tasks."""
    from django.tasks import TaskResultStatus

    try:
        from django_tasks_db.models import DBTaskResult
    except ImportError:  # pragma: no cover - the database backend is a dependency
        return False
    if type(task.get_backend()).__module__.split(".")[0] != "django_tasks_db":
        return False
    return DBTaskResult.objects.filter(
        task_path=task.module_path, status=TaskResultStatus.READY
    ).exists()


class Command(BaseCommand):
    help = "Reminders: send what is due, or plan the reminders of every upcoming obligation."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        send = sub.add_parser("send-due", help="Send the reminders that are due now.")
        send.add_argument(
            "--loop", action="store_true",
            help="Keep going: every --interval seconds enqueue a send task for the worker "
                 "(`caseledger db_worker`), and every --plan-every seconds a planning top-up.")
        send.add_argument("--interval", type=float, default=60.0)
        send.add_argument("--plan-every", type=float, default=3600.0)
        send.add_argument("--limit", type=int, default=200, help="At most this many per run.")
        send.add_argument("--max-ticks", type=int, default=0,
                          help="With --loop: stop after this many ticks (0: never).")
        plan = sub.add_parser("plan-all", help="Plan reminders for every upcoming obligation.")
        plan.add_argument("--quiet", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "plan-all":
            self.plan_all(options)
        elif options["loop"]:
            self.loop(options)
        else:
            from caseledger.notices.delivery import send_due

            report = send_due(limit=options["limit"])
            self.stdout.write(" ".join(f"{k}={v}" for k, v in report.as_dict().items()))

    def plan_all(self, options: dict[str, Any]) -> None:
        from rich.progress import Progress

        from caseledger.notices.planner import plan_upcoming

        with Progress(transient=True, disable=options["quiet"]) as progress:
            bars: dict[str, Any] = {}

            def tick(what: str, done: int, total: int) -> None:
                if what not in bars:
                    bars[what] = progress.add_task(what, total=total)
                progress.update(bars[what], completed=done, total=total)

            result = plan_upcoming(progress=tick)
        self.stdout.write(" ".join(f"{k}={v}" for k, v in result.as_dict().items()))

    def loop(self, options: dict[str, Any]) -> None:
        from caseledger.core.singleton import run_as_leader
        from caseledger.notices.tasks import plan_upcoming_reminders, send_due_reminders

        last_plan: float | None = None

        def tick() -> None:
            nonlocal last_plan
            now = time.monotonic()
            if last_plan is None or now - last_plan >= options["plan_every"]:
                if not _waiting(plan_upcoming_reminders):
                    plan_upcoming_reminders.enqueue()
                last_plan = now
            if not _waiting(send_due_reminders):
                send_due_reminders.enqueue(limit=options["limit"])

        # One node enqueues (the "still waiting?" check and the enqueue are not atomic across
        # nodes); sending itself is safe anywhere: reminders are claimed with row locks.
        ticks = run_as_leader(
            "notices send-due", tick, every=options["interval"], max_ticks=options["max_ticks"]
        )
        self.stdout.write(f"enqueued {ticks} send task(s)")
