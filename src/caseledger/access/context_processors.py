"""What templates may ask about the signed-in user: their abilities and their reach, never
their role (a page shows an action when the policy allows it, as the service will decide)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .policies import Ability, allows, scope


class _Abilities:
    """`can.EDIT_CASE` in a template: whether the user's role has that ability. Computed on
    first use, so pages that ask nothing pay nothing."""

    def __init__(self, user: Any) -> None:
        self._user = user

    def __getattr__(self, name: str) -> bool:
        try:
            ability = Ability[name]
        except KeyError:
            raise AttributeError(name) from None
        return allows(self._user, ability)

    def __getitem__(self, name: str) -> bool:
        # Django templates try item lookup first; an unknown name is falsy, never an error
        # page, and the no-role-literal test catches a misspelt ability in review.
        try:
            return getattr(self, name)
        except AttributeError:
            raise KeyError(name) from None


def abilities(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {"can": _Abilities(user), "reach": scope(user).value}
