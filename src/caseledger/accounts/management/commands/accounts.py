"""`caseledger accounts create USERNAME --role ROLE [--office CODE]`: an account made by the
operator, with a temporary password printed once.

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

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            username = services.clean_username(options["username"])
            office = services.office_for_role(options["office"], options["role"])
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if User.objects.filter(username__iexact=username).exists():
            raise CommandError(f"The username '{username}' is taken.")
        password = secrets.token_urlsafe(12)
        user = services.create_user(username=username, password=password, role=options["role"],
                                    office=office)
        self.stdout.write(f"Created {user.username} ({user.role}). Temporary password, shown "
                          f"once:\n{password}")
