"""Limits of the check-in path: the per-enrolment lock, and the photo upload rate limits.

A refused photo costs no try, so without the rate limits nothing would bound how often one
participant (or one network) makes the server decode and compare a face. Every submission that
reaches the service counts, refused ones included; a submission refused for the rate itself
does not. Settings of the same names override the defaults below; 0 turns a limit off (e.g.
the per-address one where many participants share one address).

The counts are not reads of anyone's data: they are taken under locks inside the transaction
that records the upload (invariant 11), keyed by the signed-in participant and by a keyed hash
of the client address, and answer only "over the limit or not".
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from caseledger.accounts.models import User
from caseledger.core import clock
from caseledger.core.errors import NotFound, RateLimited

from ..models import Enrolment, EnrolmentStatus, UploadAttempt

CHECKIN_UPLOADS_PER_PARTICIPANT = 10
CHECKIN_UPLOADS_PER_ADDRESS = 30
CHECKIN_UPLOAD_WINDOW_SECONDS = 600
# Key space of the PostgreSQL advisory locks that serialise the count of one address ("UPLD").
_ADDRESS_LOCK_CLASS = 0x55504C44


@dataclass(frozen=True)
class UploadLimits:
    per_participant: int
    per_address: int
    window: timedelta

    @classmethod
    def current(cls) -> UploadLimits:
        """The limits now: a setting of the same name wins over the module's default."""

        def setting(name: str) -> int:
            return int(getattr(settings, name, globals()[name]))

        return cls(
            setting("CHECKIN_UPLOADS_PER_PARTICIPANT"),
            setting("CHECKIN_UPLOADS_PER_ADDRESS"),
            timedelta(seconds=max(1, setting("CHECKIN_UPLOAD_WINDOW_SECONDS"))),
        )


def lock_enrolment(enrolment: Enrolment) -> None:
    """Serialise one participant's check-in writes: a row lock on PostgreSQL (held to the end
    of the transaction); SQLite runs one writer at a time already (BEGIN IMMEDIATE)."""
    locked = (
        Enrolment.objects.select_for_update()
        .filter(pk=enrolment.pk, status=EnrolmentStatus.ACTIVE)
        .values_list("pk", flat=True)
        .first()
    )
    if locked is None:
        raise NotFound(_("You have no active check-in schedule."), code="not_enrolled")


def address_key(address: str) -> str:
    """What is stored of a client address: a keyed hash (HMAC-SHA256 with the secret key), so
    the table cannot be turned back into addresses. An IPv6 address counts by its /64 (what
    one subscriber gets); empty when there is no address."""
    text = (address or "").strip()[:64]
    if not text:
        return ""
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
            text = str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
        else:
            text = str(getattr(ip, "ipv4_mapped", None) or ip)
    return salted_hmac(
        "caseledger.supervision.upload-address", text, algorithm="sha256"
    ).hexdigest()


def _lock_address(key: str) -> None:
    """On PostgreSQL, serialise the count of one address across participants (an advisory
    lock until the end of the transaction). SQLite runs one writer at a time already."""
    if not key or connection.vendor != "postgresql":
        return
    number = int.from_bytes(bytes.fromhex(key[:8]), "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_ADDRESS_LOCK_CLASS, number])


def count_upload(
    user: User, enrolment: Enrolment, address: str, now: datetime
) -> RateLimited | None:
    """Count this upload, or return the refusal when a limit is reached.

    Counted and recorded in one transaction under the enrolment's lock (and the address's),
    so that simultaneous uploads cannot all slip under a limit; committed on its own, so a
    photo refused afterwards still counts. The participant's own expired rows go here; the
    sweep removes the rest (`purge_upload_attempts`)."""
    limits = UploadLimits.current()
    since = now - limits.window
    key = address_key(address)
    with transaction.atomic():
        lock_enrolment(enrolment)
        _lock_address(key)
        UploadAttempt.objects.filter(user=user, at__lte=since).delete()
        refusal = _over_limit(
            UploadAttempt.objects.filter(user=user), limits.per_participant, limits, now
        )
        if refusal is None and key:
            refusal = _over_limit(
                UploadAttempt.objects.filter(address_hash=key),
                limits.per_address,
                limits,
                now,
                code="rate_limited_address",
            )
        if refusal is None:
            UploadAttempt.objects.create(user=user, address_hash=key, at=now)
    return refusal


def _over_limit(
    uploads: Any, limit: int, limits: UploadLimits, now: datetime, code: str = "rate_limited"
) -> RateLimited | None:
    """A refusal when `limit` uploads (or more) fall in the window; it says to wait until the
    oldest of the last `limit` leaves the window."""
    if limit <= 0:
        return None
    recent = list(
        uploads.filter(at__gt=now - limits.window)
        .order_by("-at")
        .values_list("at", flat=True)[:limit]
    )
    if len(recent) < limit:
        return None
    seconds = (recent[-1] + limits.window - now).total_seconds()
    wait = min(max(1, math.ceil(seconds)), int(limits.window.total_seconds()))
    return RateLimited(_rate_message(code, wait), retry_after=wait, code=code)


def _rate_message(code: str, seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    why = (
        _("You have sent many photos in a short time.")
        if code == "rate_limited"
        else _("Many photos were sent from this network in a short time.")
    )
    wait = (
        _("Please wait a minute, then try again.")
        if minutes <= 1
        else _("Please wait %(minutes)s minutes, then try again.") % {"minutes": minutes}
    )
    not_a_violation = _("This is not a violation.")  # not in an f-string: xgettext skips those
    return f"{why} {wait} {not_a_violation}"


def purge_upload_attempts(*, now: datetime | None = None) -> int:
    """Delete upload records older than the rate limits' window (they count for nothing)."""
    since = (now or clock.now()) - UploadLimits.current().window
    return UploadAttempt.objects.filter(at__lte=since).delete()[0]
