"""`caseledger accounts create USERNAME --role ROLE [--office CODE]`: an account made by the
operator, with a temporary password printed once; `caseledger accounts reset-password USERNAME`:
a new temporary password for an account (the only way for a privacy officer's or an
administrator's, which administrators do not reset for each other). Either way the holder
chooses their own password at the next sign-in.

For the first administrators of a deployment: on the pages and the API, the administrator
and privacy-officer roles need two administrators (one proposes, another approves), which a
deployment with one administrator, or none, cannot have yet. Whoever runs this command has the
server already. The account is recorded in the ledger as made by the system (`create`).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from caseledger.accounts import services
from caseledger.accounts.models import User
from caseledger.core.errors import DomainError


class Command(BaseCommand):
    help = "Make an account (for the first administrators); prints its temporary password once."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Make an account with a temporary password.")
        create.add_argument("username")
        create.add_argument("--role", required=True, choices=services.MANAGED_ROLES)
        create.add_argument("--office", default="", metavar="CODE",
                            help="Office code (case officers and supervisors).")
        reset = sub.add_parser("reset-password",
                               help="Give an account a new temporary password.")
        reset.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "reset-password":
            self._reset(options["username"])
            return
        try:
            username = services.clean_username(options["username"])
            office = services.office_for_role(options["office"], options["role"])
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if User.objects.filter(username__iexact=username).exists():
            raise CommandError(f"The username '{username}' is taken.")
        password = secrets.token_urlsafe(12)
        user = services.create_user(username=username, password=password, role=options["role"],
                                    office=office, temporary=True)
        self.stdout.write(f"Created {user.username} ({user.role}). Temporary password, shown "
                          f"once:\n{password}")

    def _reset(self, username: str) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no account '{username[:150]}'.")
        password = secrets.token_urlsafe(12)
        revoked = services.set_temporary_password(user, password)
        self.stdout.write(f"New temporary password for {user.username} ({revoked} API token(s) "
                          f"revoked), shown once; it is replaced at the next sign-in:\n"
                          f"{password}")
