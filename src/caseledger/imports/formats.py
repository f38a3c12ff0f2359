"""The CSV formats (docs/IMPORT_FORMATS.md) and the checks that refuse a whole file.

A file is refused as a whole, before anything is applied, when it is not UTF-8, is not
well-formed CSV, or its header row is not exactly the format's. Problems of single rows
(a row with the wrong number of fields, a bad value) are quarantined row by row instead.

A refusal names lines, byte offsets and column numbers, and quotes only the format's own
column names, never what the file holds: the command may be pointed at the wrong file (a key,
a password file) by mistake, and its message ends up in terminals, logs and tickets.
"""

from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass

from caseledger.core.errors import DomainError

from .models import ImportKind

COLUMNS: dict[str, tuple[str, ...]] = {
    ImportKind.PERSONS: (
        "external_id",
        "given_names",
        "family_names",
        "full_name",
        "date_of_birth",
        "a_number",
        "citizenship",
        "languages",
        "interpreter_needed",
        "address_line1",
        "address_city",
        "address_region",
        "address_postal_code",
        "address_valid_from",
        "phone",
        "email",
    ),
    ImportKind.CASES: (
        "external_id",
        "person_a_number",
        "case_type",
        "court",
        "opened_on",
        "reference",
    ),
    ImportKind.HEARINGS: (
        "external_id",
        "case_reference",
        "calendar",
        "court",
        "scheduled_at_local",
        "judge",
    ),
}
LIST_SEPARATOR = ";"
MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_NAMED = 10  # columns listed by number in a refusal; the rest are counted
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


class FileRefused(DomainError):
    """The file as a whole cannot be imported; nothing was applied."""

    status_code = 422
    code = "file_refused"


@dataclass(frozen=True)
class Row:
    line: int  # first physical line of the row in the file (the header is line 1)
    cells: list[str]
    raw: str  # the row as written, without its line ending


def decode(data: bytes, name: str) -> str:
    """The file's text if it is UTF-8 (a BOM is allowed and dropped); refused otherwise."""
    if len(data) > MAX_FILE_BYTES:
        raise FileRefused(
            f"{name} is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}. Split it into "
            "smaller files (each with the header row) and import them one by one."
        )
    for bom, label in (
        (codecs.BOM_UTF32_LE, "UTF-32"),
        (codecs.BOM_UTF32_BE, "UTF-32"),
        (codecs.BOM_UTF16_LE, "UTF-16"),
        (codecs.BOM_UTF16_BE, "UTF-16"),
    ):
        if data.startswith(bom):
            raise FileRefused(
                f"{name} is {label} text, not UTF-8. Save it as UTF-8 (\"CSV UTF-8\") and "
                "import it again. Nothing was imported."
            )
    skipped = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[skipped:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = skipped + exc.start
        line = data.count(b"\n", 0, offset) + 1
        raise FileRefused(
            f"{name} is not UTF-8: the byte at byte offset {offset} "
            f"(line {line}) is not valid UTF-8. The file is probably in another encoding "
            "(Latin-1 or Windows-1252?). Save it as UTF-8 (\"CSV UTF-8\") and import it "
            "again. Nothing was imported."
        ) from None
    if "\x00" in text:
        offset = skipped + len(text[: text.index("\x00")].encode("utf-8"))
        raise FileRefused(
            f"{name} contains a NUL byte at byte offset {offset}: it is not a text CSV file "
            "(a spreadsheet, or UTF-16 without a byte order mark?). Nothing was imported."
        )
    if not text.strip():
        raise FileRefused(f"{name} is empty; a header row is required. Nothing was imported.")
    return text


def check_header(header: list[str], kind: str, name: str) -> None:
    """Refuse a header that is not exactly the format's. The message quotes only names of the
    format's columns; a column the format does not have is named by its number."""
    expected = list(COLUMNS[kind])
    if header == expected:
        return
    listed = ",".join(expected)
    for other, columns in COLUMNS.items():
        if other != kind and header == list(columns):
            raise FileRefused(
                f"{name} has the header of a {other} file, not of a {kind} file: import it "
                f"with --kind {other}. Nothing was imported."
            )
    if len(header) == 1 and any(sep in header[0] for sep in (";", "\t", "|")):
        sep = next(s for s in (";", "\t", "|") if s in header[0])
        shown = {"\t": "tabs", ";": "semicolons", "|": "vertical bars"}[sep]
        raise FileRefused(
            f"{name} appears to be separated by {shown}; the import reads comma-separated "
            f"files. Expected the header: {listed}. Nothing was imported."
        )
    problems = []
    missing = [c for c in expected if c not in header]
    extra = [(i, c) for i, c in enumerate(header, start=1) if c not in expected]
    repeated = sorted({c for c in header if c in expected and header.count(c) > 1})
    if missing:
        problems.append("missing column(s): " + ", ".join(f"'{c}'" for c in missing))
    if extra:
        problems.append(
            "unexpected column(s): "
            + ", ".join(_unexpected(i, c, expected) for i, c in extra[:MAX_NAMED])
            + (f" and {len(extra) - MAX_NAMED} more" if len(extra) > MAX_NAMED else "")
        )
    if repeated:
        problems.append("repeated column(s): " + ", ".join(f"'{c}'" for c in repeated))
    if not problems:  # the same columns in another order: header[at] is one of the format's
        at = next(i for i, (a, b) in enumerate(zip(header, expected, strict=True)) if a != b)
        problems.append(
            f"the columns are in another order: column {at + 1} is '{header[at]}' where "
            f"'{expected[at]}' is expected"
        )
    raise FileRefused(
        f"The header row (line 1) of {name} does not match the {kind} format "
        f"({'; '.join(problems)}). The header must be exactly: {listed}. Nothing was imported."
    )


def _unexpected(number: int, cell: str, expected: list[str]) -> str:
    """An unexpected header cell, by its column number; never its text (a known column name
    written with other spaces or capitals is named by the known name)."""
    if not cell.strip():
        return f"an unnamed one (a trailing comma?) in column {number}"
    known = cell.strip().lower()
    if known in expected:
        return f"column {number} (is it '{known}'? the names are lower case, without spaces)"
    return f"column {number}"


def read_rows(text: str, kind: str, name: str) -> list[Row]:
    """Parse the whole file first, so a structural error refuses it before anything is applied.

    Blank lines are skipped. A row whose number of fields differs from the header's is kept
    (it is quarantined as malformed later) unless every row differs: then the columns are
    shifted and the file is refused.
    """
    lines = _LINES.findall(text)
    reader = csv.reader(iter(lines), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise FileRefused(f"{name} has no header row. Nothing was imported.") from None
    except csv.Error as exc:
        raise FileRefused(
            f"{name}: the header row is not valid CSV ({exc}). Nothing was imported."
        ) from None
    check_header(header, kind, name)
    rows: list[Row] = []
    start = reader.line_num + 1
    try:
        for cells in reader:
            end = reader.line_num
            if cells and any(cell.strip() for cell in cells):
                raw = "".join(lines[start - 1 : end]).rstrip("\r\n")
                rows.append(Row(line=start, cells=cells, raw=raw))
            start = end + 1
    except csv.Error as exc:
        raise FileRefused(
            f"{name} is not valid CSV at line {start}: {exc} (an unclosed or stray quote?). "
            "Nothing was imported."
        ) from None
    width = len(header)
    if rows and all(len(r.cells) != width for r in rows):
        counts = sorted({len(r.cells) for r in rows})
        raise FileRefused(
            f"Every row of {name} has {' or '.join(map(str, counts))} fields but the header "
            f"has {width} ({','.join(header)}): the columns are shifted. Nothing was imported."
        )
    return rows
