# caseledger: the two commands are `make demo` and `make test`.
SHELL := /bin/bash
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
export UV_COMPILE_BYTECODE := 1
export UV_PYTHON_DOWNLOADS := never

.PHONY: demo test fuzz bench lint ci system-deps browser-deps postgres-deps clean screenshots

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --quiet
	touch $@

## demo: install, create a SQLite database, seed synthetic data, serve http://127.0.0.1:8000/
demo: $(VENV)/.synced
	CASELEDGER_DEMO=1 DATABASE_URL=$${DATABASE_URL:-sqlite:///var/demo.sqlite3} $(VENV)/bin/caseledger demo

## test: install (Chromium and PostgreSQL too, as root), run the suite on SQLite and PostgreSQL
test: $(VENV)/.synced system-deps
	scripts/test.sh

## screenshots: walk each role's day in Chromium (SQLite), a full-page PNG per step in var/screenshots
screenshots: $(VENV)/.synced system-deps
	rm -rf var/screenshots && mkdir -p var/screenshots
	CASELEDGER_TESTING=1 CASELEDGER_SCREENSHOTS=var/screenshots DATABASE_URL=sqlite:///var/screenshots.sqlite3 \
		$(VENV)/bin/pytest -q -p no:cacheprovider -m browser tests/browser/test_walkthrough.py

## fuzz: Schemathesis against a live server on a fresh demo database (CI runs it after test)
fuzz: $(VENV)/.synced
	$(VENV)/bin/python scripts/api_fuzz.py

## system-deps: Debian packages the suite needs (browser tests, a PostgreSQL server)
system-deps:
	@scripts/system_deps.sh

## bench: run the benchmarks and write docs/BENCHMARKS.md
bench: $(VENV)/.synced system-deps
	$(VENV)/bin/python scripts/with_postgres.py -- $(VENV)/bin/python -m bench

lint: $(VENV)/.synced
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/lint-imports --no-cache

clean:
	rm -rf var .venv .tools
