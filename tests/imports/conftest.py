"""Helpers for the import tests: write a CSV, run `caseledger import`, count what exists."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from caseledger.cases.models import Case, Hearing, Proceeding
from caseledger.imports.formats import COLUMNS
from caseledger.imports.models import ImportBatch, ImportedRecord, QuarantinedRow
from caseledger.ledger.models import Event
from caseledger.people.models import Address, Contact, Person, PersonName


def csv_text(kind: str, rows: list[list[str] | str], header: list[str] | None = None) -> str:
    """A CSV with the kind's header (or `header`); a row given as str is written as is."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header if header is not None else COLUMNS[kind])
    for row in rows:
        if isinstance(row, str):
            out.write(row + "\n")
        else:
            writer.writerow(row)
    return out.getvalue()


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    def write(
        kind: str,
        rows: list[list[str] | str],
        *,
        name: str | None = None,
        header: list[str] | None = None,
        encoding: str = "utf-8",
    ) -> Path:
        path = tmp_path / (name or f"{kind}.csv")
        path.write_bytes(csv_text(kind, rows, header).encode(encoding))
        return path

    return write


@pytest.fixture
def run_import() -> Callable[..., str]:
    """Run the command as the CLI would; returns what it printed on stdout."""

    def run(path: Path, kind: str, as_user: str = "officer.east", *extra: str) -> str:
        out, err = io.StringIO(), io.StringIO()
        call_command(
            "import", str(path), "--kind", kind, "--as", as_user, *extra, stdout=out, stderr=err
        )
        return out.getvalue()

    return run


def counts() -> dict[str, int]:
    models: dict[str, Any] = {
        "persons": Person,
        "names": PersonName,
        "addresses": Address,
        "contacts": Contact,
        "cases": Case,
        "proceedings": Proceeding,
        "hearings": Hearing,
        "events": Event,
        "batches": ImportBatch,
        "imported": ImportedRecord,
        "quarantined": QuarantinedRow,
    }
    return {name: model.objects.count() for name, model in models.items()}
