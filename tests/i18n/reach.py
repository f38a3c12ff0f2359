"""What a participant's or a representative's pages can show: worked out from the URL conf,
not listed by hand.

1. Pages: every URL pattern under /me/ that the route matrix (tests/access/route_matrix.py)
   opens to a participant or a representative, every other pattern that it opens to them and
   to no staff role, and the error handlers (a participant sees them in their language).
2. Code: from each view (and the decorators around it), the functions and classes of
   caseledger it calls or names, resolved in the function's own globals and closure, followed
   recursively; a class (a form, a model's choices) counts whole; a module-level table (a dict
   of labels) counts by its assignment.
3. Templates: the names ("....html") that code mentions, and what those templates extend or
   include, recursively.

The strings marked for translation in that code and in those templates are the ones a
participant or representative can be shown.
"""

from __future__ import annotations

import ast
import inspect
import io
import sys
import tokenize
import types
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from django.template import engines
from django.template.base import FilterExpression, Node, NodeList
from django.template.loader_tags import ExtendsNode, IncludeNode
from django.utils import translation
from django.utils.translation.template import templatize

import caseledger
from tests.access import matrix_harness
from tests.access.route_matrix import AD, CO, GROUPS, OWN, PA, PAGES, PO, RE, SU

PACKAGE = Path(caseledger.__file__).resolve().parent
PEOPLE, STAFF = (PA, RE), (CO, SU, PO, AD)
PERSON_PREFIX = "me/"  # the participant's and the representative's own pages
ERROR_HANDLERS = ("handler400", "handler403", "handler404", "handler500", "csrf_failure")

#: django.utils.translation's marking functions -> (has a context, has a plural)
MARKERS = {
    translation.gettext: (False, False),
    translation.gettext_lazy: (False, False),
    translation.gettext_noop: (False, False),
    translation.ngettext: (False, True),
    translation.ngettext_lazy: (False, True),
    translation.pgettext: (True, False),
    translation.pgettext_lazy: (True, False),
    translation.npgettext: (True, True),
    translation.npgettext_lazy: (True, True),
}
#: The names makemessages tells xgettext to read (Django's keywords and xgettext's own for
#: Python); a marking function imported under another name (`gettext_noop as _noop`) is not read.
XGETTEXT_NAMES = frozenset({
    "_", "gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy", "pgettext",
    "pgettext_lazy", "npgettext", "npgettext_lazy",
})
TEMPLATE_MARKERS = {"gettext": (False, False), "ngettext": (False, True),
                    "pgettext": (True, False), "npgettext": (True, True)}


@dataclass(frozen=True)
class Message:
    """A msgid as the catalogue keys it, and where it was found."""

    msgid: str
    plural: str | None
    context: str | None
    where: str


@dataclass
class Reach:
    pages: list[str] = field(default_factory=list)
    code: dict[Path, set[tuple[int, int]]] = field(default_factory=dict)  # file -> line ranges
    templates: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)  # marked strings xgettext cannot read


# --- 1. pages -----------------------------------------------------------------------------
def _opens(rule_name: str | None, role: str) -> bool:
    if rule_name is None:
        return False
    expect = GROUPS[rule_name](role, OWN)
    return expect is not None and any(200 <= s < 300 for s in expect.statuses)


def person_pages() -> list[tuple[str, Any]]:
    """(key, view) of the pages a participant or a representative uses."""
    out = []
    for route, name, pattern in matrix_harness.url_patterns():
        key = name or "/" + route.lstrip("^").rstrip("$")
        if key not in PAGES:
            continue
        rules = PAGES[key]
        people = any(_opens(r, role) for r in rules for role in PEOPLE)
        staff = any(_opens(r, role) for r in rules for role in STAFF)
        if people and (route.startswith(PERSON_PREFIX) or not staff):
            out.append((key, pattern.callback))
    return out


def error_handlers() -> list[tuple[str, Any]]:
    import caseledger.urls as urls  # the URL conf, loaded once Django is ready

    return [(f"caseledger.urls.{name}", getattr(urls, name)) for name in ERROR_HANDLERS]


# --- 2. code ------------------------------------------------------------------------------
def _ours_module(name_or_module: Any) -> bool:
    name = getattr(name_or_module, "__name__", name_or_module) or ""
    return name == "caseledger" or name.startswith("caseledger.")


def _ours(obj: Any) -> bool:
    return _ours_module(getattr(obj, "__module__", None) or "")


@cache
def _module_tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _assignment(module: types.ModuleType, name: str) -> ast.stmt | None:
    """The module-level statement that binds `name` in `module` (a table of labels)."""
    path = Path(getattr(module, "__file__", "") or "")
    if path.suffix != ".py":
        return None
    for node in _module_tree(path).body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return node
    return None


class _Walker:
    def __init__(self) -> None:
        self.reach = Reach()
        self.seen: set[tuple[Path, int, int]] = set()

    # Each unit of code: a file, a line range, the namespace its names resolve in.
    def unit(self, path: Path, node: ast.AST, namespace: dict[str, Any]) -> None:
        start, end = node.lineno, node.end_lineno or node.lineno  # type: ignore[attr-defined]
        if (path, start, end) in self.seen:
            return
        self.seen.add((path, start, end))
        self.reach.code.setdefault(path, set()).add((start, end))
        for child in ast.walk(node):
            if isinstance(child, ast.Constant) and isinstance(child.value, str):
                if child.value.endswith(".html") and " " not in child.value:
                    self.template(child.value)
            elif isinstance(child, ast.Name | ast.Attribute):
                target = _resolve(child, namespace)
                if target is not None:
                    self.follow(target, child, namespace)

    def follow(self, obj: Any, node: ast.AST, namespace: dict[str, Any]) -> None:
        if isinstance(obj, types.FunctionType | types.MethodType | type):
            self.callable(obj)
        elif isinstance(node, ast.Name | ast.Attribute) and not isinstance(obj, types.ModuleType):
            owner, name = _binding(node, namespace)
            if owner is not None and _ours_module(owner):
                statement = _assignment(owner, name)
                if statement is not None:
                    self.unit(Path(owner.__file__), statement, vars(owner))

    def callable(self, obj: Any) -> None:
        """A function (and what it wraps) or a class of caseledger, whole."""
        while obj is not None:
            function = getattr(obj, "__func__", obj)
            if _ours(function) and (inspect.isfunction(function) or inspect.isclass(function)):
                self._source(function)
            obj = getattr(function, "__wrapped__", None)

    def _source(self, obj: Any) -> None:
        try:
            path = Path(inspect.getsourcefile(obj) or "")
        except TypeError:
            return
        if path.suffix != ".py":
            return
        node = _definition(path, obj)
        if node is None:
            return
        namespace = dict(getattr(obj, "__globals__", None) or vars(sys.modules[obj.__module__]))
        code = getattr(obj, "__code__", None)
        if code is not None and obj.__closure__:
            for name, cell in zip(code.co_freevars, obj.__closure__, strict=True):
                try:
                    namespace[name] = cell.cell_contents
                except ValueError:  # an empty cell
                    continue
        self.unit(path, node, namespace)

    def template(self, name: str) -> None:
        if name in self.reach.templates:
            return
        try:
            compiled = engines["django"].get_template(name).template
        except Exception:  # noqa: BLE001 - a string that only looks like a template name
            return
        self.reach.templates.add(name)
        for function in _template_functions(compiled):  # filters and tags of {% load %}
            self.callable(function)
        for node in compiled.nodelist.get_nodes_by_type(ExtendsNode | IncludeNode):
            expression = node.parent_name if isinstance(node, ExtendsNode) else node.template
            value = getattr(expression, "var", None)
            literal = getattr(value, "literal", None) if value is not None else None
            if isinstance(value, str):
                self.template(value)
            elif isinstance(literal, str):
                self.template(literal)


@cache
def _definitions(path: Path) -> dict[str, list[ast.AST]]:
    """Every function and class of a module by qualified name (`f.<locals>.g` for a
    function defined in a function), as Python names them."""
    index: dict[str, list[ast.AST]] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = prefix + child.name
                index.setdefault(name, []).append(child)
                inner = ".<locals>." if not isinstance(child, ast.ClassDef) else "."
                visit(child, name + inner)
            else:
                visit(child, prefix)

    visit(_module_tree(path), "")
    return index


def _definition(path: Path, obj: Any) -> ast.AST | None:
    """The definition of a function or class in its module's syntax tree (without
    `inspect.getsource`, which parses the module again for every class)."""
    candidates = _definitions(path).get(getattr(obj, "__qualname__", ""), [])
    code = getattr(obj, "__code__", None)
    if code is not None:
        candidates = [n for n in candidates
                      if code.co_firstlineno in (n.lineno, _first_line(n))]  # type: ignore[attr-defined]
    return candidates[-1] if candidates else None


def _template_functions(compiled: Any) -> list[Any]:
    """The filter and tag functions a compiled template calls (its `{% load %}` libraries'
    code): found in the filter expressions and the tag nodes of every node."""
    found: list[Any] = []
    seen: set[int] = set()

    def visit(value: Any, depth: int) -> None:
        if depth > 6 or id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, FilterExpression):
            found.extend(function for function, _args in value.filters)
            return
        if isinstance(value, list | tuple):
            for item in value:
                visit(item, depth + 1)
        elif isinstance(value, dict):
            for item in value.values():
                visit(item, depth + 1)
        elif hasattr(value, "__dict__") and not isinstance(value, type | types.ModuleType):
            if callable(getattr(value, "func", None)):
                found.append(value.func)
            for item in vars(value).values():
                visit(item, depth + 1)

    for node in compiled.nodelist.get_nodes_by_type(Node):
        for attribute, value in vars(node).items():
            if attribute not in ("origin", "token") and not isinstance(value, NodeList):
                visit(value, 0)
    return [f for f in found if _ours(f)]


def _first_line(node: ast.AST) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])  # type: ignore[attr-defined]


def _binding(node: ast.AST, namespace: dict[str, Any]) -> tuple[Any, str]:
    """The module an attribute chain's last name is looked up in, and that name."""
    if isinstance(node, ast.Name):
        return _module_of(namespace), node.id
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, namespace)
        if isinstance(base, types.ModuleType):
            return base, node.attr
    return None, ""


def _module_of(namespace: dict[str, Any]) -> types.ModuleType | None:
    return sys.modules.get(namespace.get("__name__", ""))


def _resolve(node: ast.AST, namespace: dict[str, Any]) -> Any:
    if isinstance(node, ast.Name):
        return namespace.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, namespace)
        if base is None:
            return None
        try:
            return inspect.getattr_static(base, node.attr)
        except AttributeError:
            return None
    return None


def reach() -> Reach:
    walker = _Walker()
    pages = person_pages() + error_handlers()
    walker.reach.pages = [key for key, _view in pages]
    for _key, view in pages:
        walker.callable(view)
    return walker.reach


# --- 3. the marked strings ----------------------------------------------------------------
def _marker(call: ast.Call, namespace: dict[str, Any]) -> tuple[bool, bool] | None:
    target = _resolve(call.func, namespace)
    try:
        return MARKERS.get(target)
    except TypeError:  # unhashable
        return None


def python_messages(path: Path, ranges: set[tuple[int, int]], found: Reach) -> list[Message]:
    """The marked strings of `path` inside `ranges`; a marked string xgettext cannot read
    (an f-string, a formatted or joined string, a mark inside an f-string) is a problem."""
    module = next((m for m in list(sys.modules.values())
                   if Path(getattr(m, "__file__", "") or "") == path), None)
    namespace = vars(module) if module else {}
    tree = _module_tree(path)
    inside_fstrings = {
        id(n) for j in ast.walk(tree) if isinstance(j, ast.JoinedStr) for n in ast.walk(j)
    }
    relative = path.relative_to(PACKAGE) if path.is_relative_to(PACKAGE) else path.name
    out = []
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call) or not any(
            a <= call.lineno <= b for a, b in ranges
        ):
            continue
        kind = _marker(call, namespace)
        if kind is None:
            continue
        has_context, has_plural = kind
        where = f"{relative}:{call.lineno}"
        name = getattr(call.func, "id", None) or getattr(call.func, "attr", "")
        if name not in XGETTEXT_NAMES:
            found.problems.append(f"{where}: marked with `{name}`, a name xgettext does not "
                                  "read; import the function under its own name")
            continue
        if id(call) in inside_fstrings:
            found.problems.append(f"{where}: marked inside an f-string (xgettext skips it)")
            continue
        args = list(call.args)
        context = None
        if has_context and args:
            context_node = args.pop(0)
            context = context_node.value if isinstance(context_node, ast.Constant) else None
        if not args:
            continue
        texts = args[: 2 if has_plural else 1]
        if any(isinstance(t, ast.JoinedStr | ast.BinOp) for t in texts):
            found.problems.append(f"{where}: an f-string or formatted string is marked; "
                                  "mark the literal and format after translating")
            continue
        if not all(isinstance(t, ast.Constant) and isinstance(t.value, str) for t in texts):
            continue  # a variable: its msgid is marked where it is written
        plural = texts[1].value if has_plural and len(texts) > 1 else None  # type: ignore[attr-defined]
        out.append(Message(texts[0].value, plural, context, where))  # type: ignore[attr-defined]
    return out


def _line_tokens(line: str, number: int) -> list[tokenize.TokenInfo]:
    """The Python tokens of one line of `templatize`'s output (each marked string is one
    repr() on one line), numbered as the template's line."""
    out = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(line).readline):
            out.append(token._replace(start=(number, token.start[1])))
    except (tokenize.TokenError, SyntaxError):
        pass  # the rest of the line is not Python (template text turned into X and B)
    return out


def template_messages(name: str) -> list[Message]:
    """The marked strings of a template, read as `makemessages` reads them (Django's
    `templatize`, then Python's tokenizer on its output)."""
    origin = engines["django"].get_template(name).origin
    source = Path(origin.name).read_text(encoding="utf-8")
    tokens = [t for number, line in enumerate(templatize(source).splitlines(), 1)
              for t in _line_tokens(line.lstrip(), number)]
    out = []
    for i, token in enumerate(tokens):
        kind = TEMPLATE_MARKERS.get(token.string) if token.type == tokenize.NAME else None
        if kind is None or i + 1 >= len(tokens) or tokens[i + 1].string != "(":
            continue
        strings = []
        for t in tokens[i + 2:]:
            if t.type == tokenize.STRING:
                strings.append(ast.literal_eval(t.string))
            elif t.string == ")":
                break
        has_context, has_plural = kind
        context = strings.pop(0) if has_context and strings else None
        if not strings:
            continue
        plural = strings[1] if has_plural and len(strings) > 1 else None
        out.append(Message(strings[0], plural, context, f"templates/{name}:{token.start[0]}"))
    return out


def messages(found: Reach) -> list[Message]:
    out: list[Message] = []
    for path, ranges in sorted(found.code.items()):
        if path.is_relative_to(PACKAGE):
            out += python_messages(path, ranges, found)
    for name in sorted(found.templates):
        out += template_messages(name)
    return out
