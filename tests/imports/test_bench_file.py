"""The benchmark's generated case list is a valid persons file: only the rows it spoils on
purpose are quarantined (so the benchmark measures imports, not refusals)."""

from __future__ import annotations

from bench.imports import generate

from caseledger.imports.models import Reason
from caseledger.imports.services import import_file
from caseledger.people.models import Person


def test_generated_file_imports_with_only_the_spoiled_rows_quarantined(users, tmp_path):
    path = tmp_path / "bench.csv"
    bad = generate(path, 120, seed=2, prefix="t")

    result = import_file(path, kind="persons", user=users["officer_east"])

    assert bad > 0
    assert result.rows == 120
    assert len(result.quarantined) == bad
    assert result.created == 120 - bad == Person.objects.count()
    assert set(result.by_reason) <= {
        Reason.INVALID_DATE,
        Reason.INVALID_A_NUMBER,
        Reason.UNKNOWN_CODE,
        Reason.INVALID_CONTACT,
    }
    # Names in their own script are kept as written, with a Latin search key.
    native = Person.objects.filter(names__full_name__regex=r"[\u0400-\u04ff\u4e00-\u9fff]")
    assert native.exists()
