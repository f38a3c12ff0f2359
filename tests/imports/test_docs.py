"""docs/IMPORT_FORMATS.md matches the code: its headers are the formats', and its examples
import without a quarantined row."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from caseledger.imports.formats import COLUMNS
from caseledger.imports.models import ImportBatch, QuarantinedRow, Reason

DOC = Path(__file__).resolve().parents[2] / "docs" / "IMPORT_FORMATS.md"


def _section(text: str, kind: str) -> str:
    return text.split(f"\n## {kind}\n", 1)[1].split("\n## ", 1)[0]


def test_documented_headers_are_the_formats():
    text = DOC.read_text(encoding="utf-8")
    for kind, columns in COLUMNS.items():
        section = _section(text, kind)
        blocks = re.findall(r"```(?:csv)?\n(.*?)```", section, flags=re.S)
        assert blocks, kind
        for block in blocks:
            assert block.splitlines()[0] == ",".join(columns), kind
        # Every column is described in the section's table.
        for column in columns:
            assert f"| `{column}` |" in section, (kind, column)
    for reason in Reason.values:
        assert f"| `{reason}` |" in text, reason


def test_documented_examples_import_cleanly(users, tmp_path, run_import):
    text = DOC.read_text(encoding="utf-8")
    for kind in ("persons", "cases", "hearings"):
        example = re.findall(r"```csv\n(.*?)```", _section(text, kind), flags=re.S)[0]
        if kind == "hearings":  # keep the example's hearings in the future
            rows = list(csv.reader(io.StringIO(example)))
            for i, row in enumerate(rows[1:], start=1):
                day = timezone.now().date() + timedelta(days=30 + i)
                row[4] = f"{day.isoformat()}T{row[4][11:]}"
            out = io.StringIO()
            csv.writer(out, lineterminator="\n").writerows(rows)
            example = out.getvalue()
        path = tmp_path / f"{kind}.csv"
        path.write_text(example, encoding="utf-8")
        run_import(path, kind)
        batch = ImportBatch.objects.get(kind=kind)
        assert list(QuarantinedRow.objects.filter(batch=batch).values_list("message")) == []
        assert batch.created == batch.rows == len(example.strip().splitlines()) - 1
