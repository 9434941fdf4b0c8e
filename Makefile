# One-command set-up: `make run` serves the app, `make test` runs every test (SQLite, then PostgreSQL).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export LMS_DATA_DIR ?= ./var
PG_TEST_DB ?= lms_test
PG_TEST_ROLE ?= lms_test
PG_TEST_URL := postgresql+psycopg://$(PG_TEST_ROLE):$(PG_TEST_ROLE)@127.0.0.1:5432/$(PG_TEST_DB)

.PHONY: install run serve migrate test test-sqlite test-pg pg-up lint fmt typecheck audit check bench revision clean browser

$(STAMP): pyproject.toml requirements.lock
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# requirements.lock pins every dependency; the editable install adds the app itself.
	$(BIN)/pip install --quiet -c requirements.lock -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: serve
serve: install
	$(BIN)/lms serve --host 127.0.0.1 --port 8000

migrate: install
	$(BIN)/lms db upgrade

revision: install
	$(BIN)/alembic revision --autogenerate -m "$(m)"

test: install browser
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-pg

test-sqlite: install
	@echo "=== pytest on SQLite ==="
	$(BIN)/pytest $(PYTEST_ARGS)

# Debian chromium for the browser tests (tests/e2e); with CI=true a missing browser fails.
browser: install
	bash scripts/install-browser.sh

# Starts the local cluster if it is installed but stopped, makes a throwaway role and database.
pg-up:
	@bash scripts/pg-test-db.sh "$(PG_TEST_ROLE)" "$(PG_TEST_DB)"

test-pg: install
	@if bash scripts/pg-test-db.sh "$(PG_TEST_ROLE)" "$(PG_TEST_DB)"; then \
	  echo "=== pytest on PostgreSQL ==="; \
	  LMS_TEST_POSTGRES_URL="$(PG_TEST_URL)" $(BIN)/pytest $(PYTEST_ARGS); \
	elif [ "$$CI" = "true" ]; then \
	  echo "FAIL: PostgreSQL is unreachable and CI=true" >&2; exit 1; \
	else \
	  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2; \
	  echo "!!! SKIPPED the PostgreSQL test run: no PostgreSQL reachable on 127.0.0.1:5432 !!!" >&2; \
	  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install
	$(BIN)/mypy

audit: install
	bash scripts/audit.sh

check: lint test

bench: install
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
