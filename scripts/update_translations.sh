#!/usr/bin/env bash
# Refresh the Spanish catalogue: collect the marked strings, fill them from
# locale/es/translations*.json (reviewable {msgid: translation} tables), compile the .mo.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
(cd src/caseledger && CASELEDGER_TESTING=1 "$ROOT/.venv/bin/python" -m django makemessages -l es \
  --settings=tests.settings --pythonpath="$ROOT" -i "static/*" --no-obsolete)
LOCALE=src/caseledger/locale/es
.venv/bin/python scripts/fill_translations.py "$LOCALE/LC_MESSAGES/django.po" "$LOCALE"/translations*.json
msgfmt --check-format -o "$LOCALE/LC_MESSAGES/django.mo" "$LOCALE/LC_MESSAGES/django.po"
