"""Files refused as a whole (nothing applied, clear message, non-zero exit), and who may import."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, execute_from_command_line
from django.db import connections

from caseledger.imports.formats import COLUMNS

from .conftest import counts
from .test_persons import GOOD


def refused(run_import, path, kind="persons", as_user="officer.east") -> str:
    before = counts()
    with pytest.raises(CommandError) as exc:
        run_import(path, kind, as_user)
    assert counts() == before, "a refused file must leave nothing behind"
    return str(exc.value)


def test_shifted_header_is_refused_naming_the_columns(users, write_csv, run_import):
    header = [c for c in COLUMNS["persons"] if c != "full_name"]
    rows = [[c for i, c in enumerate(r) if i != 3] for r in GOOD]
    message = refused(run_import, write_csv("persons", rows, header=header))
    assert "missing column(s): 'full_name'" in message
    assert "The header must be exactly: external_id,given_names,family_names,full_name," in message
    assert "Nothing was imported" in message


def test_extra_and_reordered_columns_are_refused(users, write_csv, run_import):
    extra = [*COLUMNS["persons"], "ssn"]
    message = refused(run_import, write_csv("persons", [[*GOOD[0], "x"]], header=extra))
    assert "unexpected column(s): column 17" in message and "ssn" not in message

    trailing = [*COLUMNS["persons"], ""]
    message = refused(run_import, write_csv("persons", [[*GOOD[0], ""]], header=trailing))
    assert "unexpected column(s): an unnamed one (a trailing comma?)" in message

    swapped = list(COLUMNS["persons"])
    swapped[1], swapped[2] = swapped[2], swapped[1]
    message = refused(run_import, write_csv("persons", GOOD, header=swapped))
    assert "column 2 is 'family_names' where 'given_names' is expected" in message


def test_rows_shifted_under_a_correct_header_are_refused(users, write_csv, run_import):
    rows = [["", *r] for r in GOOD]  # every row has a leading extra field
    message = refused(run_import, write_csv("persons", rows))
    assert "Every row" in message and "has 17 fields but the header has 16" in message
    assert "columns are shifted" in message


def test_latin1_file_is_refused_with_the_byte_offset(users, write_csv, run_import):
    rows = [["P-1", "José", "Núñez", "", "1990-05-17", "", "MX", "es", "false",
             "", "", "", "", "", "", ""]]
    path = write_csv("persons", rows, encoding="latin-1")
    offset = path.read_bytes().index(b"\xe9")
    message = refused(run_import, path)
    assert "is not UTF-8" in message
    assert f"the byte at byte offset {offset} (line 2)" in message
    assert "Latin-1" in message


def test_utf16_and_binary_files_are_refused(users, tmp_path, run_import):
    path = tmp_path / "utf16.csv"
    path.write_bytes(",".join(COLUMNS["persons"]).encode("utf-16"))
    assert "is UTF-16 text, not UTF-8" in refused(run_import, path)

    path = tmp_path / "sheet.csv"
    path.write_bytes(b"PK\x03\x04\x00\x00binary")
    assert "NUL byte" in refused(run_import, path)


def test_empty_wrong_kind_semicolons_and_broken_quotes_are_refused(
    users, tmp_path, write_csv, run_import
):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"\n\n")
    assert "is empty; a header row is required" in refused(run_import, empty)

    persons = write_csv("persons", GOOD)
    message = refused(run_import, persons, kind="cases")
    assert "has the header of a persons file" in message and "--kind persons" in message

    semicolons = tmp_path / "semi.csv"
    semicolons.write_text(";".join(COLUMNS["persons"]) + "\n", encoding="utf-8")
    assert "separated by semicolons" in refused(run_import, semicolons)

    broken = write_csv("persons", ['P-1,"Maria,Gonzalez,,,,,,,,,,,,,'], name="broken.csv")
    assert "is not valid CSV at line 2" in refused(run_import, broken)

    missing = tmp_path / "missing.csv"
    assert "cannot be read" in refused(run_import, missing)


def test_only_case_officers_and_supervisors_import(users, write_csv, run_import):
    path = write_csv("persons", GOOD)
    assert "'privacy' is a privacy officer" in refused(run_import, path, as_user="privacy")
    assert "'participant' is a participant" in refused(
        run_import, path, as_user="participant"
    )
    assert "There is no user 'nobody'" in refused(run_import, path, as_user="nobody")


def test_exit_status(users, write_csv, capsys, monkeypatch):
    """0 when the file was read, even with quarantined rows; 1 when refused as a whole."""
    # run_from_argv closes the connections when it ends; keep the test's own open.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    bad_row = ["P-9", "Li", "Wei", "", "2023-02-30", "", "CN", "zh", "false",
               "", "", "", "", "", "", ""]
    good = write_csv("persons", [GOOD[0], bad_row])
    execute_from_command_line(
        ["caseledger", "import", str(good), "--kind", "persons", "--as", "officer.east"]
    )
    assert "quarantined: 1" in capsys.readouterr().out

    header = list(COLUMNS["persons"][1:])
    shifted = write_csv("persons", GOOD, header=header, name="shifted.csv")
    with pytest.raises(SystemExit) as exc:
        execute_from_command_line(
            ["caseledger", "import", str(shifted), "--kind", "persons", "--as", "officer.east"]
        )
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert "does not match the persons format (missing column(s): 'external_id')" in err
