"""The rules a disclosure request must meet, with the message each refusal gives.

Kept apart from services.py so the API, the pages and the documentation name the same rules.
"""

from __future__ import annotations

LETTER_MAX_BYTES = 2 * 1024 * 1024
LETTER_CONTENT_TYPES = frozenset({"application/pdf"})
MIN_RANK_B7 = "section_chief"
GRANT_MINUTES = 15
RETAIN_YEARS = 5

ONE_PERSON = (
    "A disclosure request names exactly one person. The Privacy Act (5 U.S.C. 552a(b)(7)) "
    "allows a disclosure only on a written request for a particular record, so each person "
    "needs their own request, letter and decision; lists of persons are never accepted."
)

NEVER_DISCLOSED = frozenset(
    {
        "biometric",
        "biometrics",
        "face",
        "face_template",
        "template",
        "photo",
        "photos",
        "image",
        "images",
        "location",
        "locations",
    }
)
