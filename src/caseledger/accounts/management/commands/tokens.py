"""`caseledger tokens list --user NAME` and `caseledger tokens revoke --user NAME`.

The list shows each API token's id prefix, creation, expiry and revocation (never the token,
which is not stored, nor its hash). `revoke` ends every live token of the account, as the
system, with one ledger event (`token_revoke`, reason `admin_cli`); none when there was none.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from caseledger.accounts import selectors, services
from caseledger.accounts.models import ApiToken, User
from caseledger.core import clock

ID_PREFIX = 8
COLUMNS = ("ID", "CREATED (UTC)", "EXPIRES (UTC)", "REVOKED (UTC)", "STATE")
WIDTHS = (ID_PREFIX, 16, 16, 16, 7)


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else "-"


def _state(token: ApiToken, now: datetime) -> str:
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if token.expires_at <= now else "live"


def _line(cells: tuple[str, ...]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, WIDTHS, strict=True)).rstrip()


class Command(BaseCommand):
    help = "API tokens of an account: list them, or revoke every live one."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="Show the account's tokens (never the tokens).")
        listing.add_argument("--user", required=True, metavar="NAME", help="Username.")
        revoke = sub.add_parser("revoke", help="Revoke every live token of the account.")
        revoke.add_argument("--user", required=True, metavar="NAME", help="Username.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = selectors.user_named(options["user"])
        if user is None:
            raise CommandError(f"There is no user '{options['user']}'.")
        getattr(self, f"do_{options['action']}")(user)

    def do_list(self, user: User) -> None:
        tokens = selectors.api_tokens(user)
        if not tokens:
            self.stdout.write(f"{user.username} has no API tokens.")
            return
        now = clock.now()
        self.stdout.write(_line(COLUMNS))
        for token in tokens:
            self.stdout.write(
                _line(
                    (
                        str(token.pk)[:ID_PREFIX],
                        _when(token.created_at),
                        _when(token.expires_at),
                        _when(token.revoked_at),
                        _state(token, now),
                    )
                )
            )

    def do_revoke(self, user: User) -> None:
        count = services.revoke_all_tokens(user, "admin_cli", request_id="cli")
        if count:
            self.stdout.write(f"Revoked {count} token(s) of {user.username}.")
        else:
            self.stdout.write(f"{user.username} had no live tokens: nothing revoked.")
