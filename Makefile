# Parley — the two commands are `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# The tests keep their database, embedded Redis and tiny models apart from `make run`'s.
test: export DATA_DIR ?= $(CURDIR)/var/test

.PHONY: run test test-fast lint format install clean-data flower

$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Parley needs Python 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

# axe-core, for the browser tests' accessibility audits; skipped where npm is missing.
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --silent && touch $@; \
	else echo "npm not found: the browser tests' accessibility audits will be skipped"; fi

install: $(VENV)/.installed node_modules/.installed

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py import_kb generation/data/demo_kb.json --if-empty
	exec $(PY) -m chatsite.runner

test: install
	@mkdir -p $(DATA_DIR)
	$(PY) -m pytest $(PYTEST_ARGS)

# The suite without the tests marked slow (the fault tests, the minute-long idle socket);
# `make test` and CI run everything.
test-fast: PYTEST_ARGS = -m "not slow"
test-fast: test

# Flower, Celery's own monitor, against the same broker (http://127.0.0.1:5555/).
# Start it while `make run` is up; with the embedded Redis it finds the broker through DATA_DIR.
flower: install
	$(PY) -m celery -A chatsite flower --address=127.0.0.1 --port=$${FLOWER_PORT:-5555}

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports
