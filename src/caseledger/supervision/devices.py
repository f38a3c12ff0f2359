"""The coarse class of the device a check-in came from (phone, tablet, computer, other),
derived on the server from the request's User-Agent with `user-agents-ng` (the maintained
successor of `user-agents`, on `ua-parser`'s rules).

Only the class is kept (on the check-in, and in the event of a refused upload): never the
User-Agent string, which can single a person out. The field report counts the verifier's
errors by this class, so an agency sees whether, say, tablets are refused more often.
"""

from __future__ import annotations

import user_agents

from caseledger.biometrics import liveness
from caseledger.biometrics import verifier as faces

from .models import CaptureDevice

#: The refusals that are the verifier's (the photo or burst could not be used): their events
#: carry the device class, for the field report. Other refusals (a closed window, a replay,
#: the rate limit, a bad location) say nothing about the verifier and carry no class.
UNUSABLE_UPLOAD_CODES: frozenset[str] = frozenset({
    *faces.PHOTO_PROBLEMS,
    liveness.NO_FRAMES, liveness.TOO_MANY_FRAMES, liveness.FRAME_TOO_LARGE, liveness.BAD_FRAME,
    liveness.TOO_FEW_FACES, liveness.KEY_FRAME_PROBLEM, liveness.MOTION_UNCLEAR,
})

#: Real User-Agent strings are a few hundred characters; a longer one is cut before parsing,
#: so a hostile header costs bounded time (ua-parser's expressions scan the whole string).
MAX_USER_AGENT = 512


def capture_device(user_agent: str | None) -> str:
    """`CaptureDevice` value for a User-Agent header; `other` for an empty, unreadable, bot or
    unknown one. Never raises."""
    text = (user_agent or "")[:MAX_USER_AGENT]
    if not text.strip():
        return CaptureDevice.OTHER
    try:
        agent = user_agents.parse(text)
    except Exception:  # noqa: BLE001 - a header nobody can parse is "other", not a 500
        return CaptureDevice.OTHER
    if agent.is_bot:
        return CaptureDevice.OTHER
    if agent.is_tablet:
        return CaptureDevice.TABLET
    if agent.is_mobile:
        return CaptureDevice.PHONE
    if agent.is_pc:
        return CaptureDevice.COMPUTER
    return CaptureDevice.OTHER
