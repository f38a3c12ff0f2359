#!/usr/bin/env bash
# The whole suite twice: on SQLite, then on a throw-away PostgreSQL (or $PGHOST if set).
set -euo pipefail
cd "$(dirname "$0")/.."
export CASELEDGER_TESTING=1 DJANGO_ALLOW_ASYNC_UNSAFE=true
PYTEST=(.venv/bin/pytest -p no:cacheprovider "$@")
echo "== SQLite =="
DATABASE_URL="sqlite:///var/test-run.sqlite3" "${PYTEST[@]}"
echo "== PostgreSQL =="
.venv/bin/python scripts/with_postgres.py -- "${PYTEST[@]}"
