#!/usr/bin/env python3
"""Fill msgstr in a gettext .po file from JSON dictionaries {msgid: translation}.

The Spanish catalogue is kept in `locale/es/translations*.json` (one table per app or area),
which are easier to review than the .po file; `scripts/update_translations.sh` runs this.
Entries without a translation are left empty (Django falls back to English); a later file
wins. Usage: fill_translations.py PO_FILE JSON_FILE...
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _unquote(lines: list[str]) -> str:
    return "".join(bytes(m, "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")
                   for line in lines for m in _STRING.findall(line))


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def fill(po_text: str, translations: dict[str, str]) -> tuple[str, int]:
    out: list[str] = []
    filled = 0
    blocks = po_text.split("\n\n")
    for block in blocks:
        lines = block.split("\n")
        try:
            start = next(i for i, line in enumerate(lines) if line.startswith("msgid "))
            end = next(i for i, line in enumerate(lines) if line.startswith("msgstr "))
        except StopIteration:
            out.append(block)
            continue
        msgid = _unquote(lines[start:end])
        if msgid and msgid in translations:
            lines = [*lines[:end], "msgstr " + _quote(translations[msgid])]
            lines = [line for line in lines if not line.startswith("#, fuzzy")]
            filled += 1
        out.append("\n".join(lines))
    return "\n\n".join(out), filled


def main() -> int:
    po, table = Path(sys.argv[1]), {}
    for name in sys.argv[2:]:  # later files win
        table.update(json.loads(Path(name).read_text(encoding="utf-8")))
    text, filled = fill(po.read_text(encoding="utf-8"), table)
    po.write_text(text, encoding="utf-8")
    print(f"{filled} of {len(table)} translations filled in {po.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
