"""The liveness record of a check-in in words, for the reviewer (no codes): what the
participant was asked to do, what the pictures showed, and why the check passed or not.

Read from the record the check-in stored (`CheckIn.liveness`, see biometrics.liveness
`LivenessResult.as_dict`); nothing is measured again here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .models import CheckIn

OUTCOME_WORDS = {
    "live": "Passed: a live head followed the prompts",
    "not_live": "Not passed",
    "unusable": "Could not be judged",
}
REASON_WORDS = {
    "ok": "The head turned as asked, and the face did not move like a flat picture.",
    "prompt_not_followed": "The head did not turn as asked: no turn, too small a turn, or the "
    "turns in the wrong order. A photo held still or turned as a whole looks like this.",
    "planar_motion": "The face moved the way a flat picture moves (a printed photo or a screen "
    "held to the camera and tilted): one flat-picture motion explains it.",
    "face_changed": "Not every picture shows the same person as the picture compared with the "
    "enrolment photo.",
    "motion_unclear": "The movement between the pictures could not be measured.",
    "too_few_faces": "Too few pictures show a clear face.",
    "key_frame_problem": "The picture to compare was too blurred, dark or small.",
    "unsupported_verifier": "This installation's face verifier cannot judge liveness; look at "
    "the pictures yourself.",
}
PROMPT_WORDS = {
    "turn_left": "turn the head to their left",
    "turn_right": "turn the head to their right",
}


@dataclass(frozen=True)
class Frame:
    """A picture of a try the reviewer can open: its position in the burst (from 0), whether
    it is the one compared with the enrolment photo, and its description."""

    index: int
    key: bool
    alt: str


def liveness_facts(checkin: CheckIn) -> list[tuple[str, str]]:
    """(label, sentence) pairs describing the liveness check of one try; empty for a single
    photo (sent while liveness was off)."""
    record = checkin.liveness or {}
    if not checkin.liveness_outcome:
        return []
    facts = [("Live check", _outcome(checkin))]
    prompts = ((record.get("challenge") or {}).get("prompts")) or []
    if prompts:
        asked = ", then ".join(PROMPT_WORDS.get(p, p) for p in prompts)
        facts.append(("Asked to", asked[0].upper() + asked[1:] + "."))
    yaws = record.get("yaw_deg") or []
    if yaws:
        facts.append(("Head turn in each picture", "; ".join(
            f"picture {k + 1}: {_turn(y)}" for k, y in enumerate(yaws)) + "."))
    facts.extend(_pairs(record))
    continuity = [d for d in record.get("continuity_distance") or [] if d is not None]
    if continuity:
        limit = (record.get("limits") or {}).get("max_continuity_distance")
        facts.append(("Same person in every picture", (
            f"largest difference from the compared picture {max(continuity):.2f} "
            f"(the same person is within {limit})" if limit is not None
            else f"largest difference from the compared picture {max(continuity):.2f}")))
    return facts


def _outcome(checkin: CheckIn) -> str:
    outcome = OUTCOME_WORDS.get(checkin.liveness_outcome, "Not recorded")
    reason = REASON_WORDS.get(checkin.liveness_reason, "The pictures could not be used.")
    return f"{outcome}. {reason}"


def _turn(yaw: Any) -> str:
    """An estimated yaw in words (positive: the person's own left)."""
    if yaw is None:
        return "no face found"
    if abs(yaw) < 3:
        return "facing the camera"
    side = "their left" if yaw > 0 else "their right"
    return f"about {abs(yaw):.0f}° to {side}"


def _pairs(record: dict[str, Any]) -> list[tuple[str, str]]:
    """The flat-picture test of each pair of pictures that was measured."""
    limit = (record.get("limits") or {}).get("planar_zncc")
    facts = []
    for pair in record.get("pairs") or []:
        first, second = (k + 1 for k in pair.get("frames", (0, 0)))
        score = pair.get("zncc")
        if score is None:
            text = "could not be measured"
        else:
            verdict = "like a flat picture" if limit is not None and score >= limit else (
                "not like a flat picture")
            text = f"{score:.3f}: moved {verdict}"
            if limit is not None:
                text += f" (a flat picture scores {limit} or more)"
        facts.append((f"Flat-picture test, pictures {first} and {second}", text))
    return facts


def frames(checkin: CheckIn, kept: list[int]) -> list[Frame]:
    """The pictures of a try that can be opened, described for their `alt` text."""
    count = len((checkin.liveness or {}).get("frames") or []) or 1
    key = (checkin.liveness or {}).get("key_frame")
    key = key if isinstance(key, int) else 0
    if not checkin.liveness_outcome:  # a single photo
        return [Frame(0, True, f"Photo taken at attempt {checkin.attempt}")] if kept else []
    return [
        Frame(k, k == key, f"Photo taken at attempt {checkin.attempt}, picture {k + 1} of "
                           f"{count}" + (", compared with the enrolment photo" if k == key else ""))
        for k in kept
    ]
