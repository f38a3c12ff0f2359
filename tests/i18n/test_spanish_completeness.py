"""Spanish completeness: every string a participant's or a representative's page can show is
translated in the Spanish catalogue, and the compiled catalogue gives it.

The strings are those of the code and templates these pages reach (tests/i18n/reach.py works
them out from the URL conf and the route matrix), read the way `makemessages` reads them; the
catalogue is src/caseledger/locale/es/LC_MESSAGES/django.po (filled by
scripts/update_translations.sh from the locale/es/translations*.json tables) and its compiled
django.mo. A string missing from the catalogue (added after the last update), empty, or fuzzy
fails; so does a marked string that xgettext cannot read (an f-string).
"""

from __future__ import annotations

import ast
import gettext
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.i18n import reach

LOCALE = reach.PACKAGE / "locale" / "es" / "LC_MESSAGES"
FIX = ("Run scripts/update_translations.sh; translate what it leaves empty in a "
       "src/caseledger/locale/es/translations*.json table, and run it again.")


@dataclass(frozen=True)
class Entry:
    translations: tuple[str, ...]
    fuzzy: bool


def _unquote(lines: list[str]) -> str:
    return "".join(ast.literal_eval(line) for line in lines)


def parse_po(text: str) -> dict[str, Entry]:
    """A gettext .po file as {key: Entry}; the key is the msgid, prefixed by its context
    and \\x04 when it has one (as in a .mo). Obsolete entries (#~) are left out."""
    entries: dict[str, Entry] = {}
    for block in re.split(r"\n\s*\n", text):
        lines = [line for line in block.splitlines() if line.strip()]
        if not lines or all(line.startswith("#~") or line.startswith("#") for line in lines):
            continue
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in lines)
        fields: dict[str, list[str]] = {}
        current = None
        for line in lines:
            if line.startswith("#"):
                continue
            if line.startswith('"'):
                fields[current].append(line)  # type: ignore[index]
                continue
            current, _space, rest = line.partition(" ")
            fields[current] = [rest]
        msgid = _unquote(fields.get("msgid", ['""']))
        context = _unquote(fields["msgctxt"]) if "msgctxt" in fields else None
        if not msgid:
            continue  # the header
        strs = [_unquote(v) for k, v in sorted(fields.items()) if k.startswith("msgstr")]
        key = f"{context}\x04{msgid}" if context is not None else msgid
        entries[key] = Entry(tuple(strs), fuzzy)
    return entries


@pytest.fixture(scope="module")
def catalogue() -> dict[str, Entry]:
    return parse_po((LOCALE / "django.po").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compiled() -> gettext.GNUTranslations:
    with open(LOCALE / "django.mo", "rb") as handle:
        return gettext.GNUTranslations(handle)


@pytest.fixture(scope="module")
def reached() -> tuple[reach.Reach, list[reach.Message]]:
    found = reach.reach()
    return found, reach.messages(found)


def _key(message: reach.Message) -> str:
    if message.context is not None:
        return f"{message.context}\x04{message.msgid}"
    return message.msgid


def _problem(message: reach.Message, entry: Entry | None,
             mo: gettext.GNUTranslations) -> str | None:
    if entry is None:
        return "not in the catalogue"
    if entry.fuzzy:
        return "fuzzy"
    if not entry.translations or not all(entry.translations):
        return "not translated"
    if message.plural is not None:
        given = mo.ngettext(message.msgid, message.plural, 1)
    elif message.context is not None:
        given = mo.pgettext(message.context, message.msgid)
    else:
        given = mo.gettext(message.msgid)
    if given == message.msgid and entry.translations[0] != message.msgid:
        return "not in the compiled django.mo"
    return None


def test_the_reach_covers_the_participant_and_representative_pages(reached):
    found, messages = reached
    for page in ("portal:home", "portal:check_in", "portal:address", "record:home",
                 "record:person", "record:statement_new", "caseledger.urls.handler404"):
        assert page in found.pages
    for staff_page in ("supervision:dashboard", "people:detail", "record:queue"):
        assert staff_page not in found.pages
    for template in ("portal/_state.html", "portal/receipt.html", "_required_note.html",
                     "record/record.html", "supervision/_camera.html", "errors/404.html"):
        assert template in found.templates, template
    assert "supervision/dashboard.html" not in found.templates
    texts = {m.msgid for m in messages}
    # Python code the pages reach: the check-in's refusals, the verifier's photo messages,
    # the labels of "who accessed my record", the amendment form.
    assert "Take a new photo and press “Send check-in” again." in texts  # views._next_step
    assert "This check-in was already received." in texts  # services.checkins
    assert "Shared outside the agency" in texts  # portal.labels
    assert "Face did not match" not in texts  # staff wording of supervision.models


def test_every_reachable_string_is_translated(reached, catalogue, compiled):
    _found, messages = reached
    missing = sorted({
        f"{m.where}: {m.msgid!r} ({problem})"
        for m in messages
        if (problem := _problem(m, catalogue.get(_key(m)), compiled))
    })
    assert not missing, f"{len(missing)} Spanish gap(s). {FIX}\n" + "\n".join(missing)


def test_no_marked_string_is_hidden_from_xgettext(reached):
    found, _messages = reached
    assert not found.problems, "\n".join(found.problems)


def test_no_template_string_is_cut_by_an_escaped_quote(reached):
    """`{% translate "say \\"this\\"" %}` is read by makemessages only up to the backslash, so
    the page's msgid is never in the catalogue: write “ ” instead."""
    _found, messages = reached
    cut = [f"{m.where}: {m.msgid!r}" for m in messages if m.msgid.endswith("\\")]
    assert not cut, "\n".join(cut)


def test_the_parser_sees_fuzzy_empty_and_plural_entries():
    entries = parse_po(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        '#, fuzzy\nmsgid "Open"\nmsgstr "Abierto"\n\n'
        'msgid "Closed"\nmsgstr ""\n\n'
        'msgid "one try"\nmsgid_plural "%(n)s tries"\nmsgstr[0] "un intento"\n'
        'msgstr[1] ""\n\n'
        'msgctxt "door"\nmsgid "Open"\nmsgstr ""\n"Abierta"\n\n'
        '#~ msgid "Gone"\n#~ msgstr "Ido"\n'
    )
    assert entries["Open"] == Entry(("Abierto",), True)
    assert entries["Closed"] == Entry(("",), False)
    assert entries["one try"] == Entry(("un intento", ""), False)
    assert entries["door\x04Open"] == Entry(("Abierta",), False)
    assert "Gone" not in entries


def test_a_gap_is_named(catalogue, compiled):
    gap = reach.Message("A sentence nobody translated", None, None, "templates/x.html:1")
    assert _problem(gap, catalogue.get(_key(gap)), compiled) == "not in the catalogue"
    assert _problem(gap, Entry(("",), False), compiled) == "not translated"
    assert _problem(gap, Entry(("Una frase",), True), compiled) == "fuzzy"


def test_an_fstring_under_a_mark_is_a_problem(tmp_path):
    module = tmp_path / "marked.py"
    module.write_text(
        "from django.utils.translation import gettext as _\n"
        "def page(n):\n"
        "    a = _(f'{n} tries left')\n"
        "    b = f\"{_('Hello')} there\"\n"
        "    return _('Plain'), a, b\n",
        encoding="utf-8",
    )
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("caseledger_i18n_probe", module)
    loaded = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["caseledger_i18n_probe"] = loaded
    try:
        spec.loader.exec_module(loaded)  # type: ignore[union-attr]
        found = reach.Reach()
        messages = reach.python_messages(module, {(1, 5)}, found)
    finally:
        del sys.modules["caseledger_i18n_probe"]
    assert [m.msgid for m in messages] == ["Plain"]
    assert sorted(p.split(": ", 1)[0] for p in found.problems) == ["marked.py:3", "marked.py:4"]
    assert any("inside an f-string" in p for p in found.problems)


def test_template_strings_are_read_as_makemessages_reads_them():
    messages = reach.template_messages("portal/_state.html")
    texts = {m.msgid for m in messages}
    assert "Tries left: %(left)s of %(total)s." in texts  # a blocktranslate, placeholders named
    assert "Your check-in is open now" in texts
    assert all(m.where.startswith("templates/portal/_state.html:") for m in messages)
    assert all(Path(reach.PACKAGE / m.where.split(":")[0]).exists() for m in messages)
