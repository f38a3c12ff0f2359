"""The statements of disagreement a release must carry (5 U.S.C. 552a(d)(4)).

A person files a statement of disagreement with a refused amendment in the portal, which sits
above this app (the layers in .importlinter): it hands its reader to `provide` when Django
starts (`portal.apps`), and a release asks `for_release`, so this app never imports the
portal. Without a reader there are no statements to carry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from caseledger.access.context import AccessContext

    from .models import DisclosureRequest

#: (the release's privacy-review context, the request) -> the statements whose disputed part
#: the release discloses, oldest first, each {category, released_categories, filed_on, text}.
Reader = Callable[["AccessContext", "DisclosureRequest"], list[dict[str, Any]]]

_readers: list[Reader] = []


def provide(reader: Reader) -> None:
    """Plug in a reader of statements (once; providing it again changes nothing)."""
    if reader not in _readers:
        _readers.append(reader)


def provided() -> tuple[Reader, ...]:
    return tuple(_readers)


def for_release(ctx: AccessContext, req: DisclosureRequest) -> list[dict[str, Any]]:
    """Every provided reader's statements about the person of `req` that concern what it
    releases; each reader reads through the gate and records its read."""
    return [entry for reader in _readers for entry in reader(ctx, req)]
