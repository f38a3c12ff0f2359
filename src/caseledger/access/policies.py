"""The one access policy: who may do what, and to which personal records.

Three declarations, and the only functions that read them:

- `ABILITIES`: what each role may do at all (`Ability` -> roles). `allows(user, ability)` asks;
  `require(ctx, ability, ...)` asks and, when the answer is no, records the refusal (with the
  person it concerned) and returns the 403 to raise.
- `Scope`: how far a user's view of persons reaches (their caseload, their office, their
  grants, themselves, the persons they represent, nobody). `scope(user)` names it, so code that
  differs by reach asks for the reach, never for a role.
- `PERSON_PATHS`: for every model that holds personal data, the path from a row to its person.
  `restrict(queryset, ctx, act)` filters rows to the persons the context may see and the acts
  its role allows; `can(ctx, act, obj)` asks the same of one row. A row whose person is
  outside the policy is "not found", like a person who does not exist.

No role is named outside `caseledger.access` (a test reads the source tree for it): a new rule
is a line here, where a reviewer sees all of them together. This is NetBox's
`RestrictedQuerySet.restrict(user, action)` with our purpose binding: what a context may see
also depends on the purpose it declared (`gate.policy_filter`).
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Model, QuerySet

from caseledger.accounts.models import STAFF_ROLES, Role

if TYPE_CHECKING:
    from caseledger.accounts.models import User

    from .context import AccessContext


class Act(enum.StrEnum):
    """What is done to a personal record."""

    VIEW = "view"
    CREATE = "create"
    CHANGE = "change"
    DECIDE = "decide"
    EXPORT = "export"


class Ability(enum.StrEnum):
    """What a role may do at all; which persons it may do it to is the scope's business."""

    # people
    EDIT_PERSON = "people.edit"
    REPORT_OWN_ADDRESS = "people.report_address"
    # cases
    EDIT_CASE = "cases.edit"
    EDIT_HEARING = "cases.edit_hearing"
    # supervision
    SUPERVISE = "supervision.staff"
    DECIDE_SUPERVISION_CHANGE = "supervision.decide_change"
    CHECK_IN = "supervision.check_in"
    SEE_CHECKIN_IMAGES = "supervision.see_images"
    # disclosures
    ENTER_DISCLOSURE = "disclosures.enter"
    DECIDE_DISCLOSURE = "disclosures.decide"
    # imports
    RUN_IMPORT = "imports.run"
    READ_IMPORTS = "imports.read"
    # notices
    AUTHOR_NOTICE_TEMPLATE = "notices.author_template"
    APPROVE_NOTICE_TEMPLATE = "notices.approve_template"
    EDIT_OFFICE_CONTACT = "notices.edit_office_contact"
    SUBSCRIBE_CALENDAR = "notices.calendar"
    SEE_REMINDERS = "notices.see_reminders"
    # portal: the person's own record and amendments (Privacy Act (d))
    SEE_OWN_RECORD = "portal.own_record"
    REQUEST_AMENDMENT = "portal.request_amendment"
    DECIDE_AMENDMENT = "portal.decide_amendment"
    MAKE_CORRECTION = "portal.make_correction"
    SEE_AMENDMENTS_AS_STAFF = "portal.staff_amendments"
    # the privacy officer's own work
    READ_LEDGER = "ledger.read"
    PRIVACY_WORK = "privacy.work"
    # access and accounts
    BREAK_GLASS = "access.break_glass"
    STAFF_PAGES = "staff.pages"
    SEE_OVERSIGHT = "reports.oversight"
    MANAGE_ACCOUNTS = "accounts.manage"


_OFFICERS = frozenset({Role.CASE_OFFICER, Role.SUPERVISOR})
_SELF = frozenset({Role.PARTICIPANT, Role.REPRESENTATIVE})
_PRIVACY = frozenset({Role.PRIVACY_OFFICER})

#: Ability -> the roles that have it. Every ability is listed (a test checks).
ABILITIES: dict[Ability, frozenset[str]] = {
    Ability.EDIT_PERSON: _OFFICERS,
    Ability.REPORT_OWN_ADDRESS: _SELF,
    Ability.EDIT_CASE: _OFFICERS,
    Ability.EDIT_HEARING: _OFFICERS,
    Ability.SUPERVISE: _OFFICERS,
    Ability.DECIDE_SUPERVISION_CHANGE: frozenset({Role.SUPERVISOR}),
    Ability.CHECK_IN: frozenset({Role.PARTICIPANT}),
    Ability.SEE_CHECKIN_IMAGES: _OFFICERS,
    Ability.ENTER_DISCLOSURE: frozenset({Role.PRIVACY_OFFICER, Role.SUPERVISOR}),
    Ability.DECIDE_DISCLOSURE: _PRIVACY,
    Ability.RUN_IMPORT: _OFFICERS,
    Ability.READ_IMPORTS: _OFFICERS | _PRIVACY,
    Ability.AUTHOR_NOTICE_TEMPLATE: frozenset(
        {Role.PRIVACY_OFFICER, Role.SUPERVISOR, Role.ADMINISTRATOR}
    ),
    Ability.APPROVE_NOTICE_TEMPLATE: _PRIVACY,
    Ability.EDIT_OFFICE_CONTACT: frozenset({Role.ADMINISTRATOR, Role.SUPERVISOR}),
    Ability.SUBSCRIBE_CALENDAR: _SELF,
    Ability.SEE_REMINDERS: STAFF_ROLES | {Role.REPRESENTATIVE},
    Ability.SEE_OWN_RECORD: _SELF,
    Ability.REQUEST_AMENDMENT: _SELF,
    Ability.DECIDE_AMENDMENT: _PRIVACY,
    Ability.MAKE_CORRECTION: _OFFICERS,
    Ability.SEE_AMENDMENTS_AS_STAFF: _OFFICERS | _PRIVACY,
    Ability.READ_LEDGER: _PRIVACY,
    Ability.PRIVACY_WORK: _PRIVACY,
    Ability.BREAK_GLASS: _OFFICERS | _PRIVACY,
    Ability.STAFF_PAGES: STAFF_ROLES,
    Ability.SEE_OVERSIGHT: frozenset({Role.PRIVACY_OFFICER, Role.SUPERVISOR}),
    Ability.MANAGE_ACCOUNTS: frozenset({Role.ADMINISTRATOR}),
}


class Scope(enum.StrEnum):
    """How far a user's ordinary (non-break-glass) view of persons reaches."""

    CASELOAD = "caseload"  # the persons assigned to them (case officer)
    OFFICE = "office"  # every person of their office (supervisor)
    GRANTS = "grants"  # persons of open, time-limited review grants (privacy officer)
    SELF = "self"  # their own record (participant)
    REPRESENTED = "represented"  # the persons they represent (representative)
    NONE = "none"  # nobody (administrator: accounts, not people)


_SCOPES: dict[str, Scope] = {
    Role.CASE_OFFICER: Scope.CASELOAD,
    Role.SUPERVISOR: Scope.OFFICE,
    Role.PRIVACY_OFFICER: Scope.GRANTS,
    Role.PARTICIPANT: Scope.SELF,
    Role.REPRESENTATIVE: Scope.REPRESENTED,
    Role.ADMINISTRATOR: Scope.NONE,
}


def scope(user: User | Any) -> Scope:
    """The reach of an active user's view; NONE for an inactive or anonymous one."""
    if not getattr(user, "is_active", False):
        return Scope.NONE
    return _SCOPES.get(getattr(user, "role", ""), Scope.NONE)


def allows(user: User | Any, ability: Ability) -> bool:
    """Whether an active user's role has `ability`."""
    return bool(getattr(user, "is_active", False)) and getattr(user, "role", None) in ABILITIES[
        ability
    ]


def is_staff(user: User | Any) -> bool:
    return allows(user, Ability.STAFF_PAGES)


def roles_with(ability: Ability) -> list[str]:
    """The stored role values that have `ability`, sorted: for queries over rows that keep a
    role as data (ledger events by staff actors). Never to decide what one user may do."""
    return sorted(ABILITIES[ability])


def users_reaching(reach: Scope, **filters: Any) -> QuerySet[Any]:
    """Active users whose view has the reach `reach`, narrowed by `filters` (e.g. the users
    who see a whole office: `users_reaching(Scope.OFFICE, office_id=...)`)."""
    from caseledger.accounts.models import User

    roles = sorted(role for role, s in _SCOPES.items() if s is reach)
    return User.objects.filter(role__in=roles, is_active=True, **filters)


def require(
    ctx: AccessContext,
    ability: Ability,
    *,
    action: str,
    category: str,
    record_type: str = "",
    record_id: Any = "",
    subject_id: Any = None,
    subject_of: tuple[type[Model], Any] | None = None,
    message: str = "Your role may not do this.",
) -> None:
    """Nothing when the context's role has `ability`; otherwise one denied event (naming the
    person it concerned, when that person exists) and the 403. Call it before the write's
    transaction, so the event survives the refusal. `subject_of=(Model, pk)` names the person
    of that row, looked up only when refusing (an allowed call costs no query)."""
    if allows(ctx.user, ability):
        return
    if subject_id is None and subject_of is not None:
        subject_id = person_of(*subject_of)
    from .gate import refuse_role

    raise refuse_role(ctx, action=action, category=category, record_type=record_type,
                      record_id=record_id, subject_id=subject_id, message=message)


# --- personal records -------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """How a model's rows reach their person, and which ability each act needs beyond seeing
    the person (an act not listed needs only that).

    `keeper`: the ability of whoever keeps these records for every person (the privacy office
    keeps the accounting of disclosures and handles every amendment request): a context with
    it, under its role's own purpose (never break-glass), reaches every row, without any grant
    on the rest of the person's record (`keeps`)."""

    path: str
    acts: tuple[tuple[Act, Ability], ...] = ()
    keeper: Ability | None = None

    def ability_for(self, act: Act) -> Ability | None:
        return dict(self.acts).get(act)


_PERSON_EDIT = ((Act.CREATE, Ability.EDIT_PERSON), (Act.CHANGE, Ability.EDIT_PERSON))
_CASE_EDIT = ((Act.CREATE, Ability.EDIT_CASE), (Act.CHANGE, Ability.EDIT_CASE))
_HEARING_EDIT = ((Act.CREATE, Ability.EDIT_HEARING), (Act.CHANGE, Ability.EDIT_HEARING))
_SUPERVISE = ((Act.CREATE, Ability.SUPERVISE), (Act.CHANGE, Ability.SUPERVISE),
              (Act.DECIDE, Ability.SUPERVISE))

#: Model label -> the path from its rows to their person. Every model with a path to
#: people.Person is declared here or in NOT_PERSONAL (a test walks the models to check).
PERSON_PATHS: dict[str, Rule] = {
    "people.person": Rule("pk", _PERSON_EDIT),
    "people.personname": Rule("person", _PERSON_EDIT),
    "people.address": Rule("person"),
    "people.contact": Rule("person", _PERSON_EDIT),
    "people.representation": Rule("person", _PERSON_EDIT),
    "cases.case": Rule("person", _CASE_EDIT),
    "cases.proceeding": Rule("case__person", _CASE_EDIT),
    "cases.hearing": Rule("proceeding__case__person", _HEARING_EDIT),
    "cases.decision": Rule("proceeding__case__person", _CASE_EDIT),
    "cases.statuschange": Rule("case__person", _CASE_EDIT),
    "cases.opendeadline": Rule("case__person", _CASE_EDIT),
    "supervision.enrolment": Rule("person", _SUPERVISE),
    "supervision.consent": Rule("enrolment__person", _SUPERVISE),
    "supervision.schedule": Rule("enrolment__person", _SUPERVISE),
    "supervision.referencephoto": Rule(
        "enrolment__person", ((Act.VIEW, Ability.SEE_CHECKIN_IMAGES),) + _SUPERVISE),
    "supervision.checkin": Rule("enrolment__person", ((Act.CREATE, Ability.CHECK_IN),)),
    "supervision.review": Rule("enrolment__person", _SUPERVISE),
    "supervision.changerequest": Rule(
        "enrolment__person", ((Act.CREATE, Ability.SUPERVISE),
                              (Act.DECIDE, Ability.DECIDE_SUPERVISION_CHANGE))),
    "supervision.departure": Rule("enrolment__person", _SUPERVISE),
    "supervision.uploadattempt": Rule("user__participant_person"),
    "supervision.checkinchallenge": Rule("user__participant_person",
                                         ((Act.CREATE, Ability.CHECK_IN),)),
    "disclosures.disclosurerequest": Rule(
        "person", ((Act.VIEW, Ability.ENTER_DISCLOSURE), (Act.CREATE, Ability.ENTER_DISCLOSURE),
                   (Act.DECIDE, Ability.DECIDE_DISCLOSURE),
                   (Act.EXPORT, Ability.DECIDE_DISCLOSURE)),
        keeper=Ability.DECIDE_DISCLOSURE),
    "disclosures.accountingentry": Rule("person", keeper=Ability.DECIDE_DISCLOSURE),
    "disclosures.correctionnotice": Rule(
        "entry__person", ((Act.VIEW, Ability.DECIDE_DISCLOSURE),),
        keeper=Ability.DECIDE_DISCLOSURE),
    "disclosures.deliverylog": Rule("notice__entry__person"),
    "notices.reminder": Rule("person"),
    "notices.delivery": Rule("reminder__person"),
    "notices.optout": Rule("person"),
    "notices.alert": Rule("person"),
    "portal.amendmentrequest": Rule(
        "person", ((Act.CREATE, Ability.REQUEST_AMENDMENT), (Act.DECIDE, Ability.DECIDE_AMENDMENT),
                   (Act.CHANGE, Ability.MAKE_CORRECTION)),
        keeper=Ability.DECIDE_AMENDMENT),
    "portal.disagreementstatement": Rule(
        "person", ((Act.CREATE, Ability.REQUEST_AMENDMENT),), keeper=Ability.DECIDE_AMENDMENT),
    "retention.legalhold": Rule("person", ((Act.CREATE, Ability.PRIVACY_WORK),
                                           (Act.CHANGE, Ability.PRIVACY_WORK)),
                                keeper=Ability.PRIVACY_WORK),
    "access.grant": Rule("person"),
    "accounts.caseloadassignment": Rule("person", _PERSON_EDIT),
}

#: Models that point at a person but are not the person's data in the policy's sense: the
#: ledger (read through its own selectors, by subject) and the account of a participant.
NOT_PERSONAL: frozenset[str] = frozenset({
    "ledger.event", "ledger.eventsubject", "ledger.entry", "ledger.node",
    "accounts.user", "accounts.apitoken", "notices.calendarfeed", "reports.householdmember",
    "reports.anomalyitem", "imports.importedrecord", "imports.quarantinedrow",
    "retention.deletionitem",
})


def rule_for(model: type[Model] | Model) -> Rule:
    """The declared rule of a personal model (KeyError names an undeclared one)."""
    label = model._meta.label_lower
    try:
        return PERSON_PATHS[label]
    except KeyError:
        raise KeyError(f"{label} has no declared path to its person in access.policies") from None


def person_path(model: type[Model] | Model) -> str:
    return rule_for(model).path


def restrict(queryset: QuerySet[Any], ctx: AccessContext, act: Act = Act.VIEW) -> QuerySet[Any]:
    """`queryset` cut to the rows whose person the context may see (all of them for the
    model's keeper, `keeps`), and to nothing when the act needs an ability the context's role
    lacks."""
    from .gate import visible_persons

    rule = rule_for(queryset.model)
    needed = rule.ability_for(act)
    if needed is not None and not allows(ctx.user, needed):
        return queryset.none()
    if keeps(ctx, queryset.model):
        return queryset
    office = office_reach(ctx)
    if office is not None:  # the same rows, as a join the planner can order (see office_reach)
        key = "office_id" if rule.path == "pk" else f"{rule.path}__office_id"
        return queryset.filter(**{key: office})
    visible = visible_persons(ctx)
    if rule.path == "pk":
        return queryset.filter(pk__in=visible.values("pk"))
    return queryset.filter(**{f"{rule.path}__in": visible.values("pk")})


def office_reach(ctx: AccessContext) -> Any | None:
    """The office id when the context's whole reach is the persons of one office (the gate's
    `policy_filter` is exactly `Q(office_id=...)`), else None.

    `restrict` then filters on the row's person's office through a join instead of
    `person IN (every person of the office)`: the same rows, but PostgreSQL no longer hashes
    the whole office (10^6 persons) to list a page of 25."""
    from .gate import policy_filter

    q = policy_filter(ctx)
    if q.negated or q.connector != "AND" or len(q.children) != 1:
        return None
    child = q.children[0]
    if isinstance(child, tuple) and child[0] == "office_id" and child[1] is not None:
        return child[1]
    return None


def keeps(ctx: AccessContext, model: type[Model] | Model) -> bool:
    """Whether the context keeps every row of `model`: its rule names a keeper ability, the
    context's role has it, and the context declared its role's own purpose."""
    from .context import default_purpose

    keeper = rule_for(model).keeper
    return (keeper is not None and allows(ctx.user, keeper)
            and ctx.purpose == default_purpose(ctx.user))


def persons_in_reach(ctx: AccessContext, model: type[Model], act: Act = Act.VIEW) -> QuerySet[Any]:
    """The persons whose rows of `model` the context may `act` on: what `restrict` allows, for
    a row that does not exist yet (`Act.CREATE`: the person it will belong to must be here)."""
    from .gate import visible_persons

    needed = rule_for(model).ability_for(act)
    visible = visible_persons(ctx)
    if needed is not None and not allows(ctx.user, needed):
        return visible.none()
    if keeps(ctx, model):
        return visible.model._default_manager.all()
    return visible


def can(ctx: AccessContext, act: Act, obj: Model) -> bool:
    """Whether the context may do `act` to the row `obj` (its person visible, its role able)."""
    return restrict(type(obj)._default_manager.filter(pk=obj.pk), ctx, act).exists()


def person_of(model: type[Model], pk: Any) -> uuid.UUID | None:
    """The person a row belongs to, read without the policy, for naming the subject of a
    refusal; None when `pk` names no row. Never return it to a caller as data."""
    try:
        key = uuid.UUID(str(pk))
    except ValueError:
        return None
    path = person_path(model)
    if path == "pk":
        return key if model._default_manager.filter(pk=key).exists() else None
    return model._default_manager.filter(pk=key).values_list(path, flat=True).first()
