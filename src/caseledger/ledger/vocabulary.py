"""The ledger's vocabulary: what an event may say it did, to which kind of data, and why.

Every event's action, data category, purpose and outcome come from these closed sets, and its
record type is a model's `_meta.label_lower` (or empty). `record_event` refuses anything else,
so a typo cannot slip into the append-only log, and "who accessed my record", the anomaly
review and the transparency report can rely on every code they read.

Events written before this vocabulary keep their bytes (the leaf is never rewritten); the few
record types spelled another way then are mapped on write and listed in docs/LEDGER.md.
"""

from __future__ import annotations

from functools import cache

from django.db import models


class Action(models.TextChoices):
    # reads
    READ = "read", "read"
    LIST = "list", "list"
    SEARCH = "search", "search"
    EXPORT = "export", "export"
    DOWNLOAD = "download", "download"
    # writes
    CREATE = "create", "create"
    UPDATE = "update", "update"
    DELETE = "delete", "delete"
    CORRECT = "correct", "correct"
    ASSIGN = "assign", "assign"
    END = "end", "end"
    CLOSE = "close", "close"
    TRANSITION = "transition", "transition"
    IMPORT = "import", "import"
    IMPORT_BATCH = "import_batch", "import batch"
    # decisions and requests
    REQUEST = "request", "request"
    ACKNOWLEDGE = "acknowledge", "acknowledge"
    PROPOSE = "propose", "propose"
    APPROVE = "approve", "approve"
    DECIDE = "decide", "decide"
    DECLINE = "decline", "decline"
    DISAGREE = "disagree", "disagree"
    DISCLOSE = "disclose", "disclose"
    # supervision
    CHECKIN = "checkin", "check-in"
    # access and accounts
    LOGIN = "login", "sign-in"
    BREAK_GLASS = "break_glass", "break-glass"
    GRANT = "grant", "grant"
    REVOKE = "revoke", "revoke"
    TOKEN_REVOKE = "token_revoke", "token revoked"
    PASSWORD_CHANGE = "password_change", "password changed"
    DEACTIVATE = "deactivate", "deactivate"
    REACTIVATE = "reactivate", "reactivate"
    UNLOCK = "unlock", "unlock"
    MFA_RESET = "mfa_reset", "MFA reset"
    # notices
    NOTICE = "notice", "notice"
    NOTIFY = "notify", "notify"
    NOTIFY_CORRECTION = "notify_correction", "notify of a correction"
    OPT_IN = "opt_in", "opt in"
    OPT_OUT = "opt_out", "opt out"
    # retention
    PURGE = "purge", "purge"
    PURGE_RUN = "purge_run", "purge run"
    PLACE_HOLD = "place_hold", "place a legal hold"
    RELEASE_HOLD = "release_hold", "release a legal hold"
    # operations
    BACKUP = "backup", "backup"
    RESTORE = "restore", "restore"


class Category(models.TextChoices):
    """The kind of data an event touched. The disclosure category codes
    (`disclosures.categories`) are among them: a release reads each listed category."""

    IDENTITY = "identity", "identity"
    ADDRESS = "address", "address"
    ADDRESSES = "addresses", "addresses"
    CONTACT = "contact", "contact"
    CONTACTS = "contacts", "contacts"
    LANGUAGE = "language", "language"
    CASE = "case", "case"
    CASES = "cases", "cases"
    HEARING = "hearing", "hearing"
    HEARINGS = "hearings", "hearings"
    DECISION = "decision", "decision"
    DECISIONS = "decisions", "decisions"
    CHECK_INS = "check_ins", "check-ins"
    REVIEW_DISPOSITIONS = "review_dispositions", "review dispositions"
    NOTES = "notes", "notes"
    REPRESENTATION = "representation", "representation"
    CASELOAD = "caseload", "caseload"
    SUPERVISION = "supervision", "supervision"
    CONSENT = "consent", "consent"
    BIOMETRIC = "biometric", "biometric"
    CALENDAR = "calendar", "calendar"
    CALENDAR_FEED = "calendar_feed", "calendar feed"
    NOTICE = "notice", "notice"
    NOTICE_TEMPLATE = "notice_template", "notice template"
    OFFICE = "office", "office"
    ACCOUNT = "account", "account"
    ACCESS = "access", "access"
    LEDGER = "ledger", "ledger"
    RECORD = "record", "whole record"
    AMENDMENT = "amendment", "amendment"
    DISCLOSURE = "disclosure", "disclosure"
    RETENTION = "retention", "retention"
    IMPORT = "import", "import"
    ANOMALY = "anomaly", "access anomaly"
    HOUSEHOLD = "household", "household declaration"
    SYSTEM = "system", "system"


class Purpose(models.TextChoices):
    """Why an access happened. A client may declare one of the staff purposes (the gate then
    decides what it reaches); the last four are the system's and a person's own work."""

    CASELOAD = "caseload", "Managing my caseload"
    OFFICE_SUPERVISION = "office_supervision", "Supervising my office's cases"
    PRIVACY_REVIEW = "privacy_review", "Privacy review"
    BREAK_GLASS = "break_glass", "Emergency access (break-glass)"
    ADMINISTRATION = "administration", "System administration"
    SELF_SERVICE = "self_service", "The person's own record"
    REPRESENTATION = "representation", "Representing the person"
    NOTICE = "notice", "Reminding the person of their own obligations"
    AUTHENTICATION = "authentication", "Signing in and out"
    RETENTION = "retention", "Applying the retention schedule"
    SUPERVISION = "supervision", "Running the check-in schedule"
    DECLARATION = "declaration", "A staff member's declaration about themselves"

    @classmethod
    def parse(cls, text: str) -> Purpose | None:
        """The purpose a client declared (`break-glass` and `break_glass` alike), or None when
        it is not one of ours. The client's text is never kept."""
        value = text.strip().lower().replace("-", "_")
        try:
            return cls(value)
        except ValueError:
            return None


#: Record types spelled otherwise before the vocabulary; written as the model label since.
LEGACY_RECORD_TYPES: dict[str, str] = {
    "accounts.caseload": "accounts.caseloadassignment",
    "imports.batch": "imports.importbatch",
    "notices.calendar_feed": "notices.calendarfeed",
    "notices.office_contact": "notices.officecontact",
    "notices.opt_out": "notices.optout",
    "notices.template": "notices.noticetemplate",
    "people.name": "people.personname",
    "portal.amendment_request": "portal.amendmentrequest",
    "portal.disagreement_statement": "portal.disagreementstatement",
    "reports.anomaly_item": "reports.anomalyitem",
    "reports.anomaly_report": "reports.anomalyreport",
    "reports.household_member": "reports.householdmember",
    "supervision.change_request": "supervision.changerequest",
    "supervision.reference_photo": "supervision.referencephoto",
}


def record_type_of(model: type[models.Model] | models.Model) -> str:
    """The record type of a model (class or row): its `_meta.label_lower`."""
    return model._meta.label_lower


@cache
def _model_labels() -> frozenset[str]:
    from django.apps import apps

    return frozenset(m._meta.label_lower for m in apps.get_models(include_auto_created=True))


def check(*, action: str, category: str, purpose: str, outcome: str, record_type: str) -> str:
    """Refuse a code outside the vocabulary (a programming error: ValueError); return the
    record type as it is written (legacy spellings mapped to the model label)."""
    from .models import Outcome

    for value, kind in ((action, Action), (category, Category), (purpose, Purpose),
                        (outcome, Outcome)):
        if value not in kind.values:
            raise ValueError(f"{value!r} is not a ledger {kind.__name__.lower()}")
    record_type = LEGACY_RECORD_TYPES.get(record_type, record_type)
    if record_type and record_type not in _model_labels():
        raise ValueError(f"{record_type!r} is not a model label (app_label.modelname)")
    return record_type
