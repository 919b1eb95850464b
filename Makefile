# orderbridge: `make run` plays the whole loop on the sandboxes; `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install browser run run-prod demo chaos test test-sqlite test-pg bench lint clean

# The browser suite drives Debian's Chromium through Playwright (no browser download).
CHROMIUM ?= /usr/bin/chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Installs Debian's chromium when it is missing (needs root, as on CI and the dev machines).
browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
		echo "installing chromium (Debian package) for the browser tests"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

run: install
	$(BIN)/orderbridge run $(ARGS)

demo: install
	$(BIN)/orderbridge run --exit $(ARGS)

# The production topology on this machine's PostgreSQL and Redis (override DATABASE_URL / REDIS_URL):
# gunicorn with 2 web workers, 2 Huey consumers; the run uses a private schema and queue name.
PROD_DATABASE_URL ?= $(if $(DATABASE_URL),$(DATABASE_URL),postgresql://postgres@127.0.0.1:5432/postgres)
PROD_REDIS_URL    ?= $(if $(REDIS_URL),$(REDIS_URL),redis://127.0.0.1:6379/0)

run-prod: install
	DATABASE_URL=$(PROD_DATABASE_URL) REDIS_URL=$(PROD_REDIS_URL) $(BIN)/orderbridge run --topology prod $(ARGS)

# Faults, SIGKILLs and redelivered, reordered webhooks on the production topology; exits non-zero
# on any lost or duplicated order or shipment.
chaos: install
	DATABASE_URL=$(PROD_DATABASE_URL) REDIS_URL=$(PROD_REDIS_URL) $(BIN)/orderbridge chaos $(ARGS)

# The suite on SQLite + Huey's SQLite storage; again on PostgreSQL + Redis when DATABASE_URL and
# REDIS_URL point at them (CI sets both).
test: install browser
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$DATABASE_URL" ] && [ -n "$$REDIS_URL" ]; then \
		$(MAKE) --no-print-directory test-pg; \
	else echo "DATABASE_URL/REDIS_URL not set: PostgreSQL + Redis run skipped"; fi

test-sqlite: install
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python -m pytest $(PYTEST_ARGS)

test-pg: install
	ORDERBRIDGE_TEST_BACKEND=postgres $(BIN)/python -m pytest $(PYTEST_ARGS)

# The performance figures on the embedded topology and, when DATABASE_URL/REDIS_URL are set or PostgreSQL +
# Redis answer on 127.0.0.1, on the prod one; tables side by side, written into bench/RESULTS.md.
# BENCH_SIZE=small for a quick run (10 shops, 600 orders); see bench/__main__.py for the knobs.
bench: install
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf var/demo .pytest_cache
