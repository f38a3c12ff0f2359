"""Writes of the disclosures app, by capability: entering a request (`requests`), deciding
it and releasing the package (`decisions`), who reaches a person's accounting of disclosures
(`accounting`), and correction notices to earlier recipients (`corrections`); `common` holds
what they share.

Every function validates first and writes nothing when it refuses; each refusal names the
rule (see rules.py and docs/DISCLOSURES.md). There is no function that takes more than one
person. Patch a name where it is used (e.g. `services.decisions.render_pdf`), not here.
"""

from __future__ import annotations

from .accounting import accounting_subject
from .common import (
    PACKAGE_FORMAT,
    RECORD_TYPE,
    add_years,
    canonical,
    check_cap,
    check_categories,
    event_detail,
    letter_ad,
    lock_agency,
    month_bounds,
    package_ad,
    releases_this_month,
    tagged,
    task_of,
    text_field,
)
from .corrections import notify_prior_recipients
from .decisions import build_package, decide
from .requests import UNKNOWN_PERSON, RequestInput, check_one_person, create_request, decode_letter

__all__ = [
    "PACKAGE_FORMAT",
    "RECORD_TYPE",
    "UNKNOWN_PERSON",
    "RequestInput",
    "accounting_subject",
    "add_years",
    "build_package",
    "canonical",
    "check_cap",
    "check_categories",
    "check_one_person",
    "create_request",
    "decide",
    "decode_letter",
    "event_detail",
    "letter_ad",
    "lock_agency",
    "month_bounds",
    "notify_prior_recipients",
    "package_ad",
    "releases_this_month",
    "tagged",
    "task_of",
    "text_field",
]
