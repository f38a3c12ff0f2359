"""What every route does for every role and scenario: the expectations of the route matrix
(tests/access/test_route_matrix.py).

Routes are grouped by kind; each group has one rule, `rule(role, scenario) -> Expect`, and
each page route (by URL name) and API operation ("METHOD /path") names its group per method.
A route or operation missing here fails the matrix: add it to `PAGES` or `API` below.

Scenarios (tests/access/matrix_world.py): `own` (on the case officer's caseload, the
participant's own record, the representative's client), `other_office`, `no_relation` (the
case officer's office, another officer's caseload), `break_glass` (another office, with an
open break-glass grant for the case officer, supervisor and privacy officer; API calls send
the break-glass headers) and `nonexistent` (ids of no record). A route without parameters is
run once, as `own`.

An `Expect` is the status and the ledger event: "action/outcome", and whom it names:
`scenario` (the scenario's person; nobody for `nonexistent`), `own` (the `own` person whatever
the scenario), `none`, or `any` (a list, whose persons are named as subjects). A refusal must
write exactly one denied event and change no table but the ledger. Writes are checked in
their refusal scenarios only (`None` below: the write is allowed and is not exercised here).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

CO, SU, PO, AD, PA, RE, AN = (
    "case_officer", "supervisor", "privacy_officer", "administrator", "participant",
    "representative", "anonymous",
)
OWN, OTHER, NONE, BG, MISSING = "own", "other_office", "no_relation", "break_glass", "nonexistent"
PERSONS = (OWN, OTHER, NONE, BG)
SIGNED_IN = frozenset({CO, SU, PO, AD, PA, RE})
STAFF = frozenset({CO, SU, PO, AD})
WRITERS = frozenset({CO, SU})  # keep persons, cases, hearings and supervision
SELF = frozenset({PA, RE})  # the person and their representative
BREAK_GLASS_ROLES = frozenset({CO, SU, PO})


@dataclass(frozen=True)
class Expect:
    status: int | frozenset[int]
    event: str = ""  # "action/outcome"; empty: the request writes no ledger event
    subject: str = "scenario"  # "scenario", "own", "none" or "any"
    location: str = ""  # a redirect's target starts with this

    @property
    def statuses(self) -> frozenset[int]:
        return self.status if isinstance(self.status, frozenset) else frozenset({self.status})


Rule = Callable[[str, str], Expect | None]
Visible = Mapping[str, frozenset[str]]


def allowed(action: str = "read", status: int = 200, subject: str = "scenario") -> Expect:
    return Expect(status, f"{action}/allowed", subject)


def denied(action: str = "read", status: int = 404, subject: str = "scenario") -> Expect:
    return Expect(status, f"{action}/denied", subject)


SILENT = Expect(200)  # a page without personal data: no event
ROLE_REFUSED = denied("read", 403, "none")  # a role that may not use a page naming nobody
ROLE_REFUSED_ON_RECORD = denied("read", 403)  # ... a page naming a person's record
LOGIN = Expect(302, location="/accounts/login/")  # nobody to record: sent to sign in
UNAUTHENTICATED = Expect(401)

#: Whom the gate gives each role (its own purpose; break-glass where the route uses the grant).
GATE: Visible = {
    CO: frozenset({OWN, BG}), SU: frozenset({OWN, NONE, BG}), PO: frozenset({BG}),
    AD: frozenset(), PA: frozenset({OWN}), RE: frozenset({OWN}),
}
#: The same without break-glass: pages whose context is not chosen by a person in the URL.
ORDINARY: Visible = {role: persons - {BG} for role, persons in GATE.items()}
#: Amendment requests: the gate, and the privacy officer sees all of them.
AMENDMENTS: Visible = {**ORDINARY, PO: frozenset(PERSONS)}
#: Disclosure requests: a supervisor their office's, a privacy officer all (break-glass does
#: not reach them: an API call that declares it is refused).
DISCLOSURES: Visible = {SU: frozenset({OWN, NONE}), PO: frozenset(PERSONS)}
#: The accounting of disclosures: the gate; a privacy officer for anyone named in a request.
ACCOUNTING: Visible = {**GATE, PO: frozenset(PERSONS)}
#: "My record": the person and their representative only.
MY_RECORD: Visible = {**{role: frozenset() for role in STAFF}, PA: frozenset({OWN}),
                      RE: frozenset({OWN})}
EVERYONE: Visible = {role: frozenset(PERSONS) for role in SIGNED_IN}


def everyone(expect: Expect) -> Rule:
    """The same answer for every role, signed in or not."""
    return lambda role, scenario: expect


def public(status: int | frozenset[int], *, signed_in: int | None = None) -> Rule:
    """No sign-in needed and no personal data: the same answer for everyone, no event."""
    def rule(role: str, scenario: str) -> Expect:
        return Expect(signed_in if signed_in and role != AN else status)
    return rule


def for_roles(roles: frozenset[str], ok: Expect, *, refused: Expect = ROLE_REFUSED,
              missing: Expect | None = None, overrides: Mapping[str, Expect] | None = None,
              anonymous: Expect = LOGIN) -> Rule:
    """A route that names no person: `ok` for `roles` (`missing` for a record that does not
    exist), a recorded 403 for the others."""
    def rule(role: str, scenario: str) -> Expect:
        if role == AN:
            return anonymous
        if overrides and role in overrides:
            return overrides[role]
        if role not in roles:
            return refused
        return missing if missing and scenario == MISSING else ok
    return rule


def gated(visible: Visible, *, action: str = "read", ok: Expect | None = None,
          roles: frozenset[str] = SIGNED_IN, refused: Expect = ROLE_REFUSED_ON_RECORD,
          grants: bool = False, break_glass: Expect | None = None,
          missing: Expect | None = None, anonymous: Expect = LOGIN) -> Rule:
    """A read of one person's record: `ok` where `visible`, a recorded 404 naming the person
    elsewhere; roles outside `roles` get `refused`. `grants`: the API opens the break-glass
    grant from the headers (refused, and recorded, for roles that cannot use it);
    `break_glass`: what a declared break-glass gets instead of the gate's answer."""
    def rule(role: str, scenario: str) -> Expect:
        if role == AN:
            return anonymous
        if role not in roles:
            return refused
        if grants and scenario == BG and role not in BREAK_GLASS_ROLES:
            return denied("break_glass", 403)
        if break_glass is not None and scenario == BG:
            return break_glass
        if scenario == MISSING and missing is not None:
            return missing
        if scenario in visible.get(role, ()):
            return ok or allowed(action)
        return denied(action)
    return rule


def gated_write(visible: Visible, *, writers: frozenset[str], action: str,
                refused: Expect, hidden: Expect | None = None, role_first: bool = True,
                grants: bool = False, missing: Expect | None = None,
                anonymous: Expect = LOGIN) -> Rule:
    """A write on one person's record, in its refusal scenarios: a role that may not write
    gets `refused` (before the gate when `role_first`, as in a service; after it when the page
    reads the record first); a record it may not see, `hidden` (a recorded 404)."""
    hidden = hidden or denied(action)

    def rule(role: str, scenario: str) -> Expect | None:
        if role == AN:
            return anonymous
        if grants and scenario == BG and role not in BREAK_GLASS_ROLES:
            return denied("break_glass", 403)
        if role_first and role not in writers:
            return refused
        if scenario == MISSING and missing is not None:
            return missing
        if scenario not in visible.get(role, ()):
            return hidden
        return None if role in writers else refused
    return rule


def write_for_roles(roles: frozenset[str], *, refused: Expect,
                    missing: Expect | None = None, anonymous: Expect = LOGIN) -> Rule:
    """A write that names no person (or whose record is not a person's): refused, and
    recorded, for roles outside `roles`; `missing` for a record that does not exist."""
    def rule(role: str, scenario: str) -> Expect | None:
        if role == AN:
            return anonymous
        if role not in roles:
            return refused
        return missing if scenario == MISSING else None
    return rule


def by_role(rules: Mapping[str, Rule | Expect | None], default: Rule | Expect | None) -> Rule:
    """A rule per role (for the few routes whose roles each see something else)."""
    def rule(role: str, scenario: str) -> Expect | None:
        chosen = rules.get(role, default)
        return chosen(role, scenario) if callable(chosen) else chosen
    return rule


def account_write(action: str, *, anonymous: Expect = LOGIN) -> Rule:
    """An administrator's write on an account (or role request): a recorded 403 for any other
    role, a recorded 404 for an id of no account."""
    return write_for_roles(ADMIN, refused=denied(action, 403, "none"),
                           missing=denied(action, 404, "none"), anonymous=anonymous)


def _my_accesses(role: str, scenario: str) -> Expect:
    """Who accessed my record, for a participant: always their own (the person parameter is
    for representatives); with a break-glass header, nothing (they cannot use it)."""
    return denied("read", 404, "none") if scenario == BG else allowed("read", subject="own")


PO_ONLY = frozenset({PO})
ADMIN = frozenset({AD})
DISCLOSURE_ROLES = frozenset({SU, PO})
FEED_ROLES = frozenset({PA, RE})
TEMPLATE_AUTHORS = frozenset({SU, PO, AD})

GROUPS: dict[str, Rule] = {
    # --- public: no sign-in, no personal data, nothing recorded -----------------------------
    "public redirect": public(302),
    "public page": public(200),
    "public absent": public(404),
    "public, POST only": public(405),
    "sign-in page": public(200, signed_in=302),
    "public form, refused token": public(404),
    "gateway webhook, refused token": public(403),
    "sign-out": by_role({AN: Expect(302, location="/accounts/login/")}, None),
    "calendar feed (the token is the key)": lambda role, scenario: (
        Expect(404) if scenario == MISSING else allowed("read")),
    # --- signed in, no person in the URL --------------------------------------------------------
    "signed-in page, POST only": for_roles(SIGNED_IN, Expect(405)),
    "signed-in form": for_roles(SIGNED_IN, SILENT),
    "caseload dashboard": for_roles(
        SIGNED_IN, allowed("list", subject="any"),
        overrides={PA: Expect(302, location="/me/")}),
    "staff page": for_roles(STAFF, SILENT),
    "alerts": for_roles(STAFF | {RE}, SILENT),
    "notice templates": for_roles(TEMPLATE_AUTHORS, SILENT),
    "calendar feed settings": for_roles(FEED_ROLES, SILENT),
    "staff supervision list": for_roles(WRITERS, allowed("list", subject="any")),
    "staff supervision form": for_roles(WRITERS, SILENT),
    "amendment queue": for_roles(WRITERS | {PO}, allowed("list", subject="any")),
    "disclosure list": for_roles(DISCLOSURE_ROLES, allowed("list", subject="any")),
    "disclosure form": for_roles(DISCLOSURE_ROLES, SILENT),
    "correction notice list": for_roles(
        PO_ONLY, allowed("list", subject="any"), overrides={SU: denied("list", 403, "none")}),
    "privacy-officer-only page": for_roles(PO_ONLY, SILENT),
    "privacy-officer-only list": for_roles(PO_ONLY, allowed("read", subject="any")),
    "anomaly report list": for_roles(PO_ONLY, allowed("list", subject="none"),
                                     refused=denied("list", 403, "none")),
    # the field report: aggregate counts of check-ins, supervisors (own office) and PO
    "oversight report": for_roles(frozenset({SU, PO}), allowed("read", subject="none")),
    "participant-self page": for_roles(frozenset({PA}), allowed("read", subject="scenario")),
    "my record": for_roles(
        frozenset({PA}), allowed("read"), refused=denied("read", 404, "none"),
        overrides={RE: allowed("list", subject="any")}),
    "my record export": for_roles(frozenset({PA}), allowed("export"),
                                  refused=denied("read", 404, "none")),
    "my amendment form": for_roles(frozenset({PA}), SILENT, refused=denied("read", 404, "none")),
    # --- one person's record ------------------------------------------------------------------
    "person page": gated(GATE),
    "staff person page": gated(GATE, roles=WRITERS),
    "staff supervision record": gated(ORDINARY, roles=WRITERS),
    "person reminders": gated(GATE, roles=STAFF | {RE}),
    "break-glass form": for_roles(BREAK_GLASS_ROLES, SILENT,
                                  refused=denied("break_glass", 403)),
    "my record of a person": gated(MY_RECORD),
    "my record export of a person": gated(MY_RECORD, ok=allowed("export")),
    "my amendment form for a person": gated(MY_RECORD, ok=SILENT),
    "amendment page": gated(AMENDMENTS),
    "staff amendment page": gated(AMENDMENTS, roles=WRITERS | {PO}),
    "participant's own record page": gated({PA: frozenset({OWN})}, roles=frozenset({PA})),
    "disclosure accounting page": gated(ACCOUNTING, roles=DISCLOSURE_ROLES),
    "disclosure request page": gated(DISCLOSURES, roles=DISCLOSURE_ROLES),
    "disclosure letter": gated(DISCLOSURES, action="download", roles=DISCLOSURE_ROLES),
    "disclosure package page": by_role(
        {SU: denied("download", 403)}, gated(DISCLOSURES, action="download", roles=PO_ONLY)),
    "privacy-officer-only record": gated(
        EVERYONE, roles=PO_ONLY, missing=denied("read", 404, "none")),
    "privacy-officer-only record, no person": for_roles(
        PO_ONLY, SILENT, missing=denied("read", 404, "none")),
    "anomaly report": for_roles(PO_ONLY, allowed("read", subject="any"),
                                missing=denied("read", 404, "none")),
    "own household declaration": for_roles(STAFF, SILENT, refused=denied("read", 404, "none"),
                                           missing=denied("read", 404, "none")),
    # --- writes from pages (refusal scenarios) ------------------------------------------------
    "person create form": write_for_roles(WRITERS, refused=denied("create", 403, "none")),
    "person edit form": gated_write(GATE, writers=WRITERS, action="read", role_first=False,
                                    refused=denied("update", 403)),
    "address form": gated_write(GATE, writers=WRITERS | SELF, action="read", role_first=False,
                                refused=denied("update", 403)),
    "case and hearing form": gated_write(GATE, writers=WRITERS, action="read",
                                         role_first=False, refused=denied("create", 403)),
    "break-glass request": write_for_roles(
        BREAK_GLASS_ROLES, refused=denied("break_glass", 403),
        missing=Expect(422, "break_glass/denied", "none")),
    "case status change": gated_write(GATE, writers=WRITERS, action="transition",
                                      refused=denied("transition", 403)),
    "hearing change": gated_write(GATE, writers=WRITERS, action="update",
                                  refused=denied("update", 403)),
    "staff supervision write": gated_write(ORDINARY, writers=WRITERS, action="update",
                                           refused=denied("update", 403)),
    "staff supervision form on a record": gated_write(
        ORDINARY, writers=WRITERS, action="read", refused=denied("update", 403)),
    "staff supervision form on a person": gated_write(
        GATE, writers=WRITERS, action="read", refused=denied("update", 403)),
    "change decision": by_role(
        {CO: denied("decide", 403)},
        write_for_roles(frozenset({SU}), refused=denied("update", 403, "none"))),
    "participant-self write": write_for_roles(
        frozenset({PA}), refused=denied("update", 403, "none")),
    "my amendment request": write_for_roles(frozenset({PA}),
                                            refused=denied("read", 404, "none")),
    "my amendment request for a person": gated_write(
        MY_RECORD, writers=SELF, action="read", refused=denied("read", 404)),
    "statement of disagreement": gated_write(
        AMENDMENTS, writers=SELF, action="read", role_first=False,
        refused=denied("disagree", 403)),
    "amendment step": by_role(
        {CO: denied("acknowledge", 403), SU: denied("acknowledge", 403)},
        write_for_roles(PO_ONLY, refused=denied("update", 403),
                        missing=denied("acknowledge", 404, "none"))),
    "disclosure form post": write_for_roles(DISCLOSURE_ROLES,
                                            refused=denied("update", 403, "none")),
    "disclosure decision form": by_role(
        {SU: gated_write(DISCLOSURES, writers=frozenset(), action="read", role_first=False,
                         refused=denied("decide", 403))},
        write_for_roles(PO_ONLY, refused=denied("update", 403),
                        missing=denied("read", 404, "none"))),
    "correction notice form": gated_write(
        ACCOUNTING, writers=DISCLOSURE_ROLES, action="notify",
        refused=denied("update", 403)),
    "privacy-officer-only form": write_for_roles(PO_ONLY, refused=denied("update", 403, "none")),
    "legal hold release form": gated_write(
        EVERYONE, writers=PO_ONLY, action="read", refused=denied("update", 403),
        missing=denied("read", 404, "none")),
    "anomaly build form": write_for_roles(PO_ONLY, refused=denied("list", 403, "none")),
    "anomaly finding form": gated_write(
        EVERYONE, writers=PO_ONLY, action="read", refused=denied("read", 403),
        missing=denied("read", 404, "none")),
    "staff declaration form": write_for_roles(STAFF, refused=denied("update", 403, "none")),
    "withdraw own declaration": write_for_roles(
        STAFF, refused=denied("delete", 404, "none"), missing=denied("delete", 404, "none")),
    "feed settings form": write_for_roles(FEED_ROLES, refused=denied("update", 403, "none")),
    "alerts form": write_for_roles(STAFF | {RE}, refused=denied("update", 403, "none")),
    "template form": write_for_roles(TEMPLATE_AUTHORS, refused=denied("update", 403, "none")),
    "template approval": write_for_roles(
        PO_ONLY, refused=Expect(302, "approve/denied", "none"),
        missing=Expect(302, "approve/denied", "none")),
    # --- account administration (administrators) ----------------------------------------------
    "account list": for_roles(ADMIN, SILENT, refused=denied("list", 403, "none")),
    "account page": for_roles(ADMIN, SILENT),
    "account record": for_roles(ADMIN, SILENT, missing=denied("read", 404, "none")),
    "account creation": write_for_roles(ADMIN, refused=denied("create", 403, "none")),
    "account role change": account_write("update"),
    "account deactivation": account_write("deactivate"),
    "account reactivation": account_write("reactivate"),
    "account unlock": account_write("unlock"),
    "account MFA reset": account_write("mfa_reset"),
    "account password reset": account_write("password_change"),
    "account token revocation": account_write("token_revoke"),
    "role request approval": account_write("approve"),
    "API account list": for_roles(ADMIN, SILENT, refused=denied("list", 403, "none"),
                                  anonymous=UNAUTHENTICATED),
    "API account record": for_roles(ADMIN, SILENT, missing=denied("read", 404, "none"),
                                    anonymous=UNAUTHENTICATED),
    "API account creation": write_for_roles(ADMIN, refused=denied("create", 403, "none"),
                                            anonymous=UNAUTHENTICATED),
    "API account role change": account_write("update", anonymous=UNAUTHENTICATED),
    "API account deactivation": account_write("deactivate", anonymous=UNAUTHENTICATED),
    "API account reactivation": account_write("reactivate", anonymous=UNAUTHENTICATED),
    "API account unlock": account_write("unlock", anonymous=UNAUTHENTICATED),
    "API account MFA reset": account_write("mfa_reset", anonymous=UNAUTHENTICATED),
    "API account password reset": account_write("password_change", anonymous=UNAUTHENTICATED),
    "API account token revocation": account_write("token_revoke", anonymous=UNAUTHENTICATED),
    "API role request approval": account_write("approve", anonymous=UNAUTHENTICATED),
    "API role request decline": account_write("decline", anonymous=UNAUTHENTICATED),
    # --- API reads ------------------------------------------------------------------------------
    "API list": for_roles(SIGNED_IN, allowed("list", subject="any"), anonymous=UNAUTHENTICATED),
    "API person read": gated(GATE, grants=True, anonymous=UNAUTHENTICATED),
    "API record read": gated(GATE, anonymous=UNAUTHENTICATED),
    "API accounting": gated(ACCOUNTING, grants=True, anonymous=UNAUTHENTICATED),
    "API who accessed my record": by_role({PA: _my_accesses},
                                          gated(GATE, anonymous=UNAUTHENTICATED)),
    "API ledger of a person": by_role(
        {PO: lambda role, scenario: allowed("read", subject="any" if scenario == MISSING
                                             else "scenario")},
        gated(GATE, roles=PO_ONLY, refused=denied("read", 404), anonymous=UNAUTHENTICATED)),
    "API my record": gated(MY_RECORD, ok=allowed("export"), anonymous=UNAUTHENTICATED),
    "API my amendments": gated(MY_RECORD, ok=allowed("list"), anonymous=UNAUTHENTICATED),
    "API disclosure list": for_roles(DISCLOSURE_ROLES, allowed("list", subject="any"),
                                     refused=denied("list", 403, "none"),
                                     anonymous=UNAUTHENTICATED),
    "API disclosure request": gated(DISCLOSURES, roles=DISCLOSURE_ROLES,
                                    break_glass=denied("read", 403), anonymous=UNAUTHENTICATED),
    "API disclosure package": gated(DISCLOSURES, action="download", roles=PO_ONLY,
                                    refused=denied("download", 403),
                                    break_glass=denied("download", 403),
                                    anonymous=UNAUTHENTICATED),
    "API privacy-officer-only page": for_roles(PO_ONLY, SILENT, anonymous=UNAUTHENTICATED),
    "API privacy-officer-only list": for_roles(PO_ONLY, allowed("read", subject="any"),
                                               anonymous=UNAUTHENTICATED),
    "API staff report": for_roles(STAFF, SILENT, anonymous=UNAUTHENTICATED),
    "API oversight report": for_roles(frozenset({SU, PO}), allowed("read", subject="none"),
                                      anonymous=UNAUTHENTICATED),
    "API anomaly report": for_roles(PO_ONLY, allowed("read", subject="any"),
                                    missing=denied("read", 404, "none"),
                                    anonymous=UNAUTHENTICATED),
    # --- API writes (refusal scenarios) -------------------------------------------------------
    "API sign-in, wrong password": everyone(Expect(403, "login/denied", "none")),
    "API sign-out": by_role({AN: UNAUTHENTICATED}, None),
    "API person create": write_for_roles(WRITERS, refused=denied("create", 403, "none"),
                                         anonymous=UNAUTHENTICATED),
    "API person change": gated_write(GATE, writers=WRITERS, action="update", grants=True,
                                     refused=denied("update", 403), anonymous=UNAUTHENTICATED),
    "API address report": gated_write(GATE, writers=WRITERS | SELF, action="update",
                                      grants=True, refused=denied("update", 403),
                                      anonymous=UNAUTHENTICATED),
    "API case status change": gated_write(GATE, writers=WRITERS, action="transition",
                                          refused=denied("transition", 403),
                                          anonymous=UNAUTHENTICATED),
    "API hearing scheduling": gated_write(GATE, writers=WRITERS, action="update",
                                          refused=denied("create", 403),
                                          anonymous=UNAUTHENTICATED),
    "API hearing change": gated_write(GATE, writers=WRITERS, action="update",
                                      refused=denied("update", 403), anonymous=UNAUTHENTICATED),
    "API review decision": gated_write(GATE, writers=WRITERS, action="update",
                                       refused=denied("update", 403),
                                       anonymous=UNAUTHENTICATED),
    "API enrolment": gated_write(GATE, writers=WRITERS, action="create", grants=True,
                                 refused=denied("create", 403), anonymous=UNAUTHENTICATED),
    "API check-in": write_for_roles(frozenset({PA}), refused=denied("checkin", 403, "none"),
                                    anonymous=UNAUTHENTICATED),
    "API disclosure request entry": gated_write(
        {**DISCLOSURES, SU: GATE[SU], PO: frozenset(PERSONS)}, writers=DISCLOSURE_ROLES,
        action="create", refused=denied("create", 403), anonymous=UNAUTHENTICATED),
    "API disclosure decision": write_for_roles(
        PO_ONLY, refused=denied("decide", 403), missing=denied("decide", 404, "none"),
        anonymous=UNAUTHENTICATED),
    "API amendment request": gated_write(
        MY_RECORD, writers=SELF, action="create", refused=denied("request", 403),
        anonymous=UNAUTHENTICATED),
    "API legal hold": write_for_roles(
        PO_ONLY, refused=denied("place_hold", 403), missing=denied("place_hold", 404, "none"),
        anonymous=UNAUTHENTICATED),
    "API legal hold release": write_for_roles(
        PO_ONLY, refused=denied("release_hold", 403),
        missing=denied("release_hold", 404, "none"), anonymous=UNAUTHENTICATED),
    "API anomaly build": write_for_roles(PO_ONLY, refused=denied("create", 403, "none"),
                                         anonymous=UNAUTHENTICATED),
    "API anomaly finding": write_for_roles(
        PO_ONLY, refused=denied("close", 403), missing=denied("close", 404, "none"),
        anonymous=UNAUTHENTICATED),
}

#: Page routes by URL name (unnamed ones by "/route"): (GET rule, POST rule or None when
#: the page takes no POST).
PAGES: dict[str, tuple[str, str | None]] = {
    "home": ("public redirect", None),
    "accounts:login": ("sign-in page", "sign-in page"),
    "accounts:mfa": ("public redirect", "public redirect"),
    "accounts:password": ("public redirect", "public redirect"),
    "accounts:logout": ("public, POST only", "sign-out"),
    "accounts:manage": ("account list", None),
    "accounts:manage_new": ("account page", "account creation"),
    "accounts:manage_detail": ("account record", None),
    "accounts:manage_role": ("account record", "account role change"),
    "accounts:manage_deactivate": ("account record", "account deactivation"),
    "accounts:manage_reactivate": ("account record", "account reactivation"),
    "accounts:manage_unlock": ("account record", "account unlock"),
    "accounts:manage_reset_mfa": ("account record", "account MFA reset"),
    "accounts:manage_reset_password": ("account record", "account password reset"),
    "accounts:manage_revoke_tokens": ("account record", "account token revocation"),
    "accounts:manage_role_request": ("account record", "role request approval"),
    "people:dashboard": ("caseload dashboard", None),
    "people:search": ("signed-in form", None),
    "people:create": ("signed-in form", "person create form"),
    "people:detail": ("person page", None),
    "people:edit": ("person page", "person edit form"),
    "people:address_add": ("person page", "address form"),
    "people:case_open": ("person page", "case and hearing form"),
    "people:break_glass": ("break-glass form", "break-glass request"),
    "cases:detail": ("person page", None),
    "cases:transition": ("signed-in page, POST only", "case status change"),
    "cases:hearing_new": ("person page", "case and hearing form"),
    "cases:hearing": ("person page", None),
    "cases:hearing_move": ("signed-in page, POST only", "hearing change"),
    "cases:hearing_confirm": ("person page", "hearing change"),
    "supervision:dashboard": ("staff supervision list", None),
    "supervision:reviews": ("staff supervision list", None),
    "supervision:review": ("staff supervision record", "staff supervision write"),
    "supervision:review_image": ("staff supervision record", None),
    "supervision:review_reference": ("staff supervision record", None),
    "supervision:notice": ("staff supervision form", None),
    "supervision:enrol": ("staff person page", "staff supervision form on a person"),
    "supervision:enrolment": ("staff supervision record", "staff supervision form on a record"),
    "supervision:changes": ("staff supervision list", "change decision"),
    "record:home": ("my record", None),
    "record:export_json": ("my record export", None),
    "record:export_pdf": ("my record export", None),
    "record:amendment_new": ("my amendment form", "my amendment request"),
    "record:statement_new": ("amendment page", "statement of disagreement"),
    "record:queue": ("amendment queue", None),
    "record:amendment": ("staff amendment page", "amendment step"),
    "record:person": ("my record of a person", None),
    "record:person_export_json": ("my record export of a person", None),
    "record:person_export_pdf": ("my record export of a person", None),
    "record:person_amendment_new": ("my amendment form for a person",
                                    "my amendment request for a person"),
    "portal:home": ("participant-self page", None),
    "portal:check_in": ("participant-self page", "participant-self write"),
    "portal:check_in_challenge": ("signed-in page, POST only", "participant-self write"),
    "portal:address": ("participant-self page", "participant-self write"),
    "portal:address_receipt": ("participant's own record page", None),
    "disclosures:queue": ("disclosure list", None),
    "disclosures:new": ("disclosure form", "disclosure form post"),
    "disclosures:routine_uses": ("disclosure form", None),
    "disclosures:corrections": ("correction notice list", None),
    "disclosures:accounting": ("disclosure accounting page", "correction notice form"),
    "disclosures:detail": ("disclosure request page", "disclosure decision form"),
    "disclosures:letter": ("disclosure letter", None),
    "disclosures:package": ("disclosure package page", None),
    "retention:schedules": ("privacy-officer-only page", None),
    "retention:holds": ("privacy-officer-only list", "privacy-officer-only form"),
    "retention:release": ("privacy-officer-only record", "legal hold release form"),
    "retention:certificates": ("privacy-officer-only page", None),
    "retention:certificate": ("privacy-officer-only record, no person", None),
    "retention:preview": ("privacy-officer-only page", None),
    "reports:index": ("public redirect", None),
    "reports:anomalies": ("anomaly report list", "anomaly build form"),
    "reports:anomaly_item": ("privacy-officer-only record", "anomaly finding form"),
    "reports:anomaly_report": ("anomaly report", None),
    "reports:event": ("privacy-officer-only record", None),
    "reports:household": ("staff page", "staff declaration form"),
    "reports:household_remove": ("own household declaration", "withdraw own declaration"),
    "reports:transparency": ("staff page", None),
    "reports:field": ("oversight report", None),
    "notices:calendar": ("calendar feed settings", "feed settings form"),
    "notices:calendar_feed": ("calendar feed (the token is the key)", None),
    "notices:opt_out": ("public page", "public form, refused token"),
    "notices:sms_inbound": ("public, POST only", "gateway webhook, refused token"),
    "notices:alerts": ("alerts", "alerts form"),
    "notices:person_reminders": ("person reminders", None),
    "notices:templates": ("notice templates", "template form"),
    "notices:template_approve": ("signed-in page, POST only", "template approval"),
    "api-v1:openapi-json": ("public page", None),
    "api-v1:openapi-view": ("public page", None),
    "api-v1:api-root": ("public absent", None),
    "/api/docs": ("public redirect", None),
    "/healthz": ("public page", None),
    "set_language": ("public redirect", "public redirect"),
}

#: API operations ("METHOD /api/v1/path" as in the OpenAPI schema) -> rule.
API: dict[str, str] = {
    "POST /api/v1/auth/token": "API sign-in, wrong password",
    "DELETE /api/v1/auth/token": "API sign-out",
    "GET /api/v1/persons": "API list",
    "POST /api/v1/persons": "API person create",
    "GET /api/v1/persons/{person_id}": "API person read",
    "PATCH /api/v1/persons/{person_id}": "API person change",
    "POST /api/v1/persons/{person_id}/addresses": "API address report",
    "GET /api/v1/cases/{case_id}": "API record read",
    "POST /api/v1/cases/{case_id}/transitions": "API case status change",
    "POST /api/v1/cases/{case_id}/hearings": "API hearing scheduling",
    "GET /api/v1/hearings/{hearing_id}": "API record read",
    "POST /api/v1/hearings/{hearing_id}/move": "API hearing change",
    "POST /api/v1/hearings/{hearing_id}/adjourn": "API hearing change",
    "POST /api/v1/hearings/{hearing_id}/cancel": "API hearing change",
    "GET /api/v1/ledger/events": "API ledger of a person",
    "GET /api/v1/ledger/checkpoint": "public absent",  # no checkpoint is signed in the world
    "GET /api/v1/ledger/proofs/inclusion": "public absent",  # of an event that is not there
    "GET /api/v1/ledger/proofs/consistency": "public page",
    "GET /api/v1/me/accesses": "API who accessed my record",
    "GET /api/v1/persons/{person_id}/accounting": "API accounting",
    "POST /api/v1/disclosures": "API disclosure request entry",
    "GET /api/v1/disclosures": "API disclosure list",
    "GET /api/v1/disclosures/{request_id}": "API disclosure request",
    "POST /api/v1/disclosures/{request_id}/decision": "API disclosure decision",
    "GET /api/v1/disclosures/{request_id}/package": "API disclosure package",
    "GET /api/v1/me/record": "API my record",
    "POST /api/v1/me/amendments": "API amendment request",
    "GET /api/v1/me/amendments": "API my amendments",
    "GET /api/v1/retention/schedules": "API privacy-officer-only page",
    "GET /api/v1/retention/holds": "API privacy-officer-only list",
    "POST /api/v1/retention/holds": "API legal hold",
    "POST /api/v1/retention/holds/{hold_id}/release": "API legal hold release",
    "GET /api/v1/retention/certificates": "API privacy-officer-only page",
    "GET /api/v1/reports/transparency": "API staff report",
    "GET /api/v1/reports/field": "API oversight report",
    "GET /api/v1/reports/anomalies": "API anomaly report",
    "POST /api/v1/reports/anomalies": "API anomaly build",
    "POST /api/v1/reports/anomalies/items/{item_id}/finding": "API anomaly finding",
    "POST /api/v1/checkins": "API check-in",
    "POST /api/v1/checkins/challenge": "API check-in",
    "GET /api/v1/reviews": "API list",
    "GET /api/v1/reviews/{review_id}": "API record read",
    "POST /api/v1/reviews/{review_id}/disposition": "API review decision",
    "POST /api/v1/enrolments": "API enrolment",
    "GET /api/v1/users": "API account list",
    "POST /api/v1/users": "API account creation",
    "GET /api/v1/users/{user_id}": "API account record",
    "POST /api/v1/users/{user_id}/deactivate": "API account deactivation",
    "POST /api/v1/users/{user_id}/reactivate": "API account reactivation",
    "POST /api/v1/users/{user_id}/unlock": "API account unlock",
    "POST /api/v1/users/{user_id}/reset-mfa": "API account MFA reset",
    "POST /api/v1/users/{user_id}/reset-password": "API account password reset",
    "POST /api/v1/users/{user_id}/revoke-tokens": "API account token revocation",
    "POST /api/v1/users/{user_id}/role": "API account role change",
    "GET /api/v1/role-requests": "API account list",
    "POST /api/v1/role-requests/{role_request_id}/approve": "API role request approval",
    "POST /api/v1/role-requests/{role_request_id}/decline": "API role request decline",
}
