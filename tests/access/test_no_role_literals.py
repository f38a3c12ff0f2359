"""No role is named outside `caseledger.access` (and `accounts`, which defines roles, and the
demo, which creates accounts): every rule about who may do what is a line in
`access/policies.py`, where a reviewer sees them all. This test reads the source tree."""

from __future__ import annotations

import ast
from pathlib import Path

import caseledger
from caseledger.accounts.models import Role

ROOT = Path(caseledger.__file__).parent
ALLOWED = ("access/", "accounts/", "demo/")
ROLE_VALUES = frozenset(Role.values)
ROLE_SETS = frozenset({"Role", "STAFF_ROLES"})


def _sources() -> list[tuple[str, ast.AST]]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(ALLOWED) or "/migrations/" in rel:
            continue
        found.append((rel, ast.parse(path.read_text(encoding="utf-8"), filename=rel)))
    return found


def _is_role_attribute(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute) and node.attr == "role":
        return True
    # getattr(user, "role", None)
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "getattr" and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant) and node.args[1].value == "role")


def role_uses(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) for each use of a role name, role set, or comparison of a role."""
    uses = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in ROLE_SETS:
            uses.append((node.lineno, node.id))
        elif isinstance(node, ast.ImportFrom):
            uses += [(node.lineno, f"import {a.name}") for a in node.names if a.name in ROLE_SETS]
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_is_role_attribute(s) for s in sides):
                uses.append((node.lineno, "role comparison"))
            elif any(isinstance(s, ast.Constant) and s.value in ROLE_VALUES for s in sides):
                uses.append((node.lineno, "role value comparison"))
        elif isinstance(node, ast.Call) and _is_query(node.func):
            uses += [(k.lineno, "query or assignment by role")
                     for k in node.keywords if k.arg == "role"]
    return uses


#: Calls whose `role=` argument selects or sets accounts by role (an `Actor(role=...)` that
#: records who acted is data, not a rule).
QUERIES = frozenset({"filter", "exclude", "get", "create", "update", "get_or_create",
                     "update_or_create", "create_user"})


def _is_query(func: ast.AST) -> bool:
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name in QUERIES


def test_no_role_is_named_outside_access() -> None:
    found = [f"{rel}:{line}: {what}" for rel, tree in _sources() for line, what in role_uses(tree)]
    assert found == [], "use caseledger.access.policies instead:\n" + "\n".join(found)


def test_the_check_sees_what_it_forbids() -> None:
    """The reader finds each kind of role use (so the test above can fail)."""
    sample = ast.parse(
        "from caseledger.accounts.models import Role\n"
        "if user.role == Role.SUPERVISOR: pass\n"
        "if getattr(user, 'role', None) in STAFF_ROLES: pass\n"
        "if kind == 'participant': pass\n"
        "User.objects.filter(role=x)\n"
    )
    kinds = {what for _, what in role_uses(sample)}
    assert kinds == {"import Role", "Role", "role comparison", "STAFF_ROLES",
                     "role value comparison", "query or assignment by role"}
    harmless = "requester = ctx.user.role\nlabel = 'supervisor.east'\nActor(role=user.role)\n"
    assert role_uses(ast.parse(harmless)) == []


def test_no_template_decides_by_role() -> None:
    """Templates ask the policy (`can.ABILITY`, `reach`, from
    access.context_processors.abilities), never compare a user's role."""
    templates = ROOT / "templates"
    found = [
        f"{path.relative_to(templates)}:{n}"
        for path in sorted(templates.rglob("*.html"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "user.role" in line or "is_staff_role" in line
    ]
    assert found == []


def test_templates_name_only_real_abilities() -> None:
    """A misspelt `can.X` would be silently false: every name a template asks must exist."""
    import re

    from caseledger.access.policies import Ability

    asked = {
        name
        for path in (ROOT / "templates").rglob("*.html")
        for name in re.findall(r"\bcan\.([A-Z_]+)\b", path.read_text(encoding="utf-8"))
    }
    assert asked, "no template asks the policy: the pattern above is stale"
    assert asked <= set(Ability.__members__)
