"""Account reads for operators (no personal data of a person: no access gate here)."""

from __future__ import annotations

from .models import ApiToken, User


def user_named(username: str) -> User | None:
    """The account called exactly `username` (active or not), or None."""
    return User.objects.filter(username=username).first()


def api_tokens(user: User) -> list[ApiToken]:
    """Every token of `user`, newest first, without its hash: a listing never needs it."""
    return list(
        ApiToken.objects.filter(user=user)
        .only("id", "created_at", "expires_at", "revoked_at")
        .order_by("-created_at")
    )
