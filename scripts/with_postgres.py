#!/usr/bin/env python3
"""Run a command against a throw-away PostgreSQL server: `with_postgres.py -- CMD ARGS...`.

If PGHOST is set, that server is used instead (DATABASE_URL is built from PGHOST, PGPORT,
PGUSER, PGPASSWORD, PGDATABASE). Otherwise initdb makes a cluster in a temporary directory,
listening on a Unix socket only, with fsync off; as root it runs as the `postgres` user
(initdb refuses root). The server is stopped and removed afterwards, whatever the outcome.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote


def find_bindir() -> Path:
    for candidate in [
        os.environ.get("PG_BINDIR", ""),
        *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True),
    ]:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    sys.exit("PostgreSQL server binaries (initdb) not found: install the 'postgresql' package.")


def as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def main() -> int:
    argv = sys.argv[1:]
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        sys.exit(__doc__)
    env = dict(os.environ)
    if env.get("PGHOST"):
        user = quote(env.get("PGUSER", "postgres"))
        password = ":" + quote(env["PGPASSWORD"]) if env.get("PGPASSWORD") else ""
        env["DATABASE_URL"] = (
            f"postgres://{user}{password}@/{env.get('PGDATABASE', 'caseledger')}"
            f"?host={quote(env['PGHOST'])}&port={env.get('PGPORT', '5432')}"
        )
        return subprocess.call(argv, env=env)

    bindir = find_bindir()
    root = Path(tempfile.mkdtemp(prefix="caseledger-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    log = root / "server.log"
    try:
        subprocess.run(
            as_postgres(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        subprocess.run(
            as_postgres(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(log),
                    "-w",
                    "-o",
                    f"-k {sock} -c listen_addresses='' -c fsync=off "
                    "-c synchronous_commit=off -c full_page_writes=off "
                    "-c max_connections=100",
                    "start",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        subprocess.run(
            [
                str(bindir.parent / "bin" / "createdb")
                if (bindir / "createdb").exists()
                else "createdb",
                "-h",
                str(sock),
                "-U",
                "postgres",
                "caseledger",
            ],
            check=True,
        )
        env["DATABASE_URL"] = f"postgres://postgres@/caseledger?host={quote(str(sock))}"
        env["PGHOST"] = str(sock)
        env["PGUSER"] = "postgres"
        print(f"PostgreSQL ({bindir.parent.name}) running on a temporary socket", flush=True)
        return subprocess.call(argv, env=env)
    finally:
        subprocess.run(
            as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
