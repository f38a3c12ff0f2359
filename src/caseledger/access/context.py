"""AccessContext: who is asking, and for what declared purpose."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from caseledger.ledger.services import Actor
from caseledger.ledger.vocabulary import Purpose

if TYPE_CHECKING:
    from caseledger.accounts.models import User


#: The longest reason a client may give (break-glass); longer is refused, never cut.
MAX_REASON_CHARS = 1000


@dataclass(frozen=True)
class AccessContext:
    """Passed to every selector that reads personal data, and to every service that writes it.

    `reason` is required for break-glass; `request_id` ties ledger events to the request (the
    server's id, never a client's). `task` is named by the server for events that belong to one
    piece of work whatever request they came in (`disclosure:<id>`): the subject's access
    history may leave a withheld disclosure's events out by it, so no client value can reach it.
    """

    user: User
    purpose: str
    reason: str = ""
    request_id: str = ""
    task: str = ""
    actor: Actor = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "actor", Actor.of(self.user))

    @property
    def purpose_label(self) -> str:
        try:
            return str(Purpose(self.purpose).label)
        except ValueError:
            return self.purpose


def default_purpose(user: User) -> str:
    from caseledger.accounts.models import Role

    return {
        Role.CASE_OFFICER: Purpose.CASELOAD,
        Role.SUPERVISOR: Purpose.OFFICE_SUPERVISION,
        Role.PRIVACY_OFFICER: Purpose.PRIVACY_REVIEW,
        Role.ADMINISTRATOR: Purpose.ADMINISTRATION,
        Role.PARTICIPANT: Purpose.SELF_SERVICE,
        Role.REPRESENTATIVE: Purpose.REPRESENTATION,
    }.get(user.role, Purpose.CASELOAD)
