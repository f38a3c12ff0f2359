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
from collections.abc import Iterator
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


class RowReader:
    """The rows of a decoded file, one at a time, so a large file is never held as a list.

    The header is checked when the reader is made (a bad one refuses the file). Blank lines
    are skipped. A row whose number of fields differs from the header's is yielded (it is
    quarantined as malformed later); `finish()`, called after the last row, refuses the file
    if every row differs (the columns are shifted). A CSV error (an unclosed quote) refuses
    the file when it is met. Callers stage the rows inside a transaction they roll back on a
    refusal, so a refused file leaves nothing behind.
    """

    def __init__(self, text: str, kind: str, name: str) -> None:
        _allow_large_fields()
        self.name = name
        self._consumed: list[str] = []  # the physical lines of the record being read
        self._reader = csv.reader(self._lines(text), strict=True)
        try:
            header = next(self._reader)
        except StopIteration:
            raise FileRefused(f"{name} has no header row. Nothing was imported.") from None
        except csv.Error as exc:
            raise FileRefused(
                f"{name}: the header row is not valid CSV ({exc}). Nothing was imported."
            ) from None
        check_header(header, kind, name)
        self.header = header
        self.width = len(header)
        self.rows = 0
        self._widths: set[int] = set()
        self._matching = 0
        self._start = self._reader.line_num + 1
        self._consumed.clear()

    def _lines(self, text: str) -> Iterator[str]:
        for match in _LINES.finditer(text):
            line = match.group(0)
            self._consumed.append(line)
            yield line

    def __iter__(self) -> Iterator[Row]:
        reader = self._reader
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise FileRefused(
                    f"{self.name} is not valid CSV at line {self._start}: {exc} (an unclosed "
                    "or stray quote?). Nothing was imported."
                ) from None
            end = reader.line_num
            start, self._start = self._start, end + 1
            raw = "".join(self._consumed).rstrip("\r\n")
            self._consumed.clear()
            if not cells or not any(cell.strip() for cell in cells):
                continue
            self.rows += 1
            self._widths.add(len(cells))
            self._matching += len(cells) == self.width
            yield Row(line=start, cells=cells, raw=raw)

    def finish(self) -> None:
        """Refuse the file if every row has the wrong number of fields (shifted columns)."""
        if self.rows and not self._matching:
            counts = sorted(self._widths)
            raise FileRefused(
                f"Every row of {self.name} has {' or '.join(map(str, counts))} fields but the "
                f"header has {self.width} ({','.join(self.header)}): the columns are shifted. "
                "Nothing was imported."
            )


def _allow_large_fields() -> None:
    """A value may be as large as the file (the row is quarantined with its size, never
    echoed); the csv module's default limit of 128 KiB would refuse the whole file instead."""
    if csv.field_size_limit() < MAX_FILE_BYTES:
        csv.field_size_limit(MAX_FILE_BYTES)


def read_rows(text: str, kind: str, name: str) -> list[Row]:
    """Every row of a file at once (small files, tests); `RowReader` streams them."""
    reader = RowReader(text, kind, name)
    rows = list(reader)
    reader.finish()
    return rows
