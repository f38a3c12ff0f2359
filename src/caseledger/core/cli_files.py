"""Files and folders that management commands write (`--out`): never overwritten by surprise.

One rule for every command: an existing file, or a non-empty folder, is refused with a clear
`CommandError` unless the operator passes `--force`. The check and the creation are one step
(`O_CREAT | O_EXCL`), so a file that appears meanwhile is not overwritten either, and a symbolic
link planted at the path is refused rather than followed. With `--force` the new content is
written to a temporary file beside the target and renamed over it, so a reader never sees a
half-written file and a failed run leaves the old file as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from django.core.management.base import CommandError

FORCE_HINT = "pass --force to replace it"


def check_output_file(path: Path, *, force: bool = False) -> None:
    """Refuse early (before slow work) a path `write_output` would refuse."""
    path = Path(path)
    if path.is_dir():
        raise CommandError(f"{path} is a folder; --out needs a file name.")
    if not path.parent.is_dir():
        raise CommandError(f"{path.parent} does not exist; create the folder first.")
    if not force and os.path.lexists(path):
        raise CommandError(f"{path} exists; refusing to overwrite it ({FORCE_HINT}).")


def write_output(path: Path, data: bytes, *, force: bool = False, mode: int = 0o644) -> None:
    """Write `data` to `path`. Refuses an existing path unless `force`; `mode` applies from
    the moment the file exists (a secret written with 0o600 is never readable by others)."""
    path = Path(path)
    check_output_file(path, force=force)
    if force:
        _replace(path, data, mode)
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise CommandError(f"{path} exists; refusing to overwrite it ({FORCE_HINT}).") from None
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror}.") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except BaseException:
        path.unlink(missing_ok=True)  # never leave a half-written file behind
        raise


def _replace(path: Path, data: bytes, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def prepare_output_dir(path: Path, *, force: bool = False) -> None:
    """Make sure `path` is a folder that may be written into: missing (it is created) or
    empty; a non-empty folder only with `force`. A file at `path` is always refused."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise CommandError(f"{path} is a file; --out needs a folder.")
    if path.is_dir() and any(path.iterdir()) and not force:
        raise CommandError(
            f"{path} is not empty; write into a new folder, or pass --force to write into "
            "this one (files of the same name are replaced)."
        )
    path.mkdir(parents=True, exist_ok=True)
