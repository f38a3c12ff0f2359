"""`caseledger import` pointed at the wrong file (a key, a password file) refuses it by line and
column number and never repeats what the file holds: not in its output, its error, the
quarantine or the ledger."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from caseledger.imports.formats import COLUMNS
from caseledger.imports.models import ImportBatch, QuarantinedRow
from caseledger.ledger.models import Event

from .conftest import counts

SECRET = "PRIVATE+KEY+caseledger.example+1f2e3d4c+Zm9vYmFyc2VjcmV0a2V5bWF0ZXJpYWw"
SHADOW_HASH = "$6$rounds=5000$saltsalt$Qm9ndXNIYXNoVmFsdWVGb3JUZXN0aW5nT25seQ"
FILES = {
    "key": f"{SECRET}\n".encode(),
    "shadow": f"root:{SHADOW_HASH}:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n".encode(),
    "commas": f"api_token,{SECRET}\nuser,{SHADOW_HASH}\n".encode(),
    "known_and_secret": f"external_id,{SECRET},family_names\n".encode(),
    "semicolons": f"token;{SECRET}\n".encode(),
    "not_utf8": f"{SECRET}\n".encode() + b"\xff\xfe secret tail \xe9\n",
    "quote": f'"{SECRET},\n'.encode(),
}


def _run(path, kind: str, *extra: str) -> tuple[str, str, str]:
    """Run the import as the CLI would: (stdout, stderr, the error it ends with)."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("import", str(path), "--kind", kind, "--as", "officer.east", *extra,
                     stdout=out, stderr=err)
    return out.getvalue(), err.getvalue(), str(exc.value)


def _stored_text() -> str:
    """Everything the import could have written: batches, quarantine, ledger events."""
    parts = [repr(list(ImportBatch.objects.values()))]
    parts += [f"{q.raw}\n{q.message}" for q in QuarantinedRow.objects.all()]
    for event in Event.objects.all():
        parts.append(repr(event.detail))
        parts.append(bytes(event.leaf).decode("utf-8", "replace"))
    return "\n".join(parts)


@pytest.mark.parametrize("name", sorted(FILES))
@pytest.mark.parametrize("kind", ["persons", "cases", "hearings"])
def test_a_file_that_is_not_a_case_list_is_refused_without_echoing_it(
    users, tmp_path, name, kind
):
    path = tmp_path / f"{name}.csv"
    path.write_bytes(FILES[name])
    before = counts()
    out, err, error = _run(path, kind)
    for text in (out, err, error):
        for secret in (SECRET, SHADOW_HASH, "root:", "api_token", "token;", "secret tail"):
            assert secret not in text, (name, secret, text)
        # Not even a piece of the secret: no run of 12 of its characters.
        assert not any(SECRET[i : i + 12] in text for i in range(len(SECRET) - 11)), text
    assert "Nothing was imported" in error
    assert counts() == before
    stored = _stored_text()
    assert SECRET not in stored and SHADOW_HASH not in stored


def test_the_refusal_names_the_line_and_the_columns(users, tmp_path):
    path = tmp_path / "id_ed25519"
    path.write_bytes(FILES["key"])
    *_, error = _run(path, "persons")
    assert "The header row (line 1) of id_ed25519 does not match the persons format" in error
    missing = ", ".join(f"'{c}'" for c in COLUMNS["persons"])
    assert f"missing column(s): {missing}" in error
    assert "unexpected column(s): column 1)" in error

    path.write_bytes(FILES["known_and_secret"])
    *_, error = _run(path, "persons")
    assert "missing column(s): 'given_names', 'full_name', 'date_of_birth'," in error
    assert "unexpected column(s): column 2)" in error


def test_a_misspelt_column_is_named_by_the_known_name_only(users, write_csv, tmp_path):
    header = list(COLUMNS["persons"])
    header[1] = " Given_Names"
    path = write_csv("persons", [], header=header)
    *_, error = _run(path, "persons")
    assert "column 2 (is it 'given_names'? the names are lower case, without spaces)" in error
    assert "Given_Names" not in error


def test_many_unexpected_columns_are_counted(users, tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"secret{i}" for i in range(25)) + "\n", encoding="utf-8")
    *_, error = _run(path, "hearings")
    assert "column 10 and 15 more" in error
    assert "secret" not in error


def test_a_dry_run_refuses_the_same_way(users, tmp_path):
    path = tmp_path / "key.csv"
    path.write_bytes(FILES["key"])
    out, err, error = _run(path, "persons", "--dry-run")
    assert SECRET not in out + err + error
    assert "line 1" in error
