#!/usr/bin/env bash
# The whole suite twice: on SQLite, then on a throw-away PostgreSQL (or $PGHOST if set).
#
# Each pass runs in pytest-xdist workers, one per core up to four (CASELEDGER_TEST_WORKERS
# overrides; 0 runs in this process). Each worker has its own test database (SQLite file or
# PostgreSQL database), ledger key and var/ files; `worksteal` hands the long tests (browser
# walks, subprocesses) to whichever worker is free.
set -euo pipefail
cd "$(dirname "$0")/.."
export CASELEDGER_TESTING=1 DJANGO_ALLOW_ASYNC_UNSAFE=true
cores=$(nproc 2>/dev/null || echo 1)
workers=${CASELEDGER_TEST_WORKERS:-$((cores < 4 ? cores : 4))}
PYTEST=(.venv/bin/pytest -p no:cacheprovider)
if [[ $workers -gt 1 ]]; then
    PYTEST+=(-n "$workers" --dist worksteal)
fi
PYTEST+=("$@")
echo "== SQLite ($workers workers) =="
DATABASE_URL="sqlite:///var/test-run.sqlite3" "${PYTEST[@]}"
echo "== PostgreSQL ($workers workers) =="
.venv/bin/python scripts/with_postgres.py -- "${PYTEST[@]}"
