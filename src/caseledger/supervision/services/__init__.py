"""Writes of supervised release. Each runs in one transaction with its ledger events.

Invariants kept here: a failed face check only opens a review (compliance changes only by a
human disposition); a location is accepted only inside a check-in; a level change or a
termination needs a second person; photos and templates are stored encrypted.

One module per capability; every public name is re-exported here, so
`from caseledger.supervision import services; services.enrol(...)` keeps working. To patch a
function in a test, patch it in the module that calls it (e.g. `services.checkins`). Services
import `supervision.selectors`, never the other way round.
"""

from __future__ import annotations

from ..sealing import unseal
from .bursts import IssuedChallenge, issue_challenge, purge_challenges
from .changes import decide_change, propose_change
from .checkins import Receipt, submit_check_in
from .consent import record_consent
from .departures import confirm_departure
from .enrolment import CONDITIONS, EnrolmentInput, EnrolmentResult, end_enrolment, enrol
from .limits import (
    CHECKIN_UPLOAD_WINDOW_SECONDS,
    CHECKIN_UPLOADS_PER_ADDRESS,
    CHECKIN_UPLOADS_PER_PARTICIPANT,
    UploadLimits,
    address_key,
    count_upload,
    lock_enrolment,
    purge_upload_attempts,
)
from .reviews import DISPOSITION_COMPLIANCE, dispose_review, open_review
from .schedule import ScheduleInput, create_schedule
from .sweep import sweep_missed_windows
from .templates import TemplateCounts, rederive_templates, template_counts

__all__ = [
    "CHECKIN_UPLOADS_PER_ADDRESS",
    "CHECKIN_UPLOADS_PER_PARTICIPANT",
    "CHECKIN_UPLOAD_WINDOW_SECONDS",
    "CONDITIONS",
    "DISPOSITION_COMPLIANCE",
    "EnrolmentInput",
    "EnrolmentResult",
    "IssuedChallenge",
    "Receipt",
    "ScheduleInput",
    "TemplateCounts",
    "UploadLimits",
    "address_key",
    "confirm_departure",
    "count_upload",
    "create_schedule",
    "decide_change",
    "dispose_review",
    "end_enrolment",
    "enrol",
    "issue_challenge",
    "lock_enrolment",
    "open_review",
    "propose_change",
    "purge_challenges",
    "purge_upload_attempts",
    "record_consent",
    "rederive_templates",
    "submit_check_in",
    "sweep_missed_windows",
    "template_counts",
    "unseal",
]
