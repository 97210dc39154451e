# Two entry points for a fresh machine: `make demo` and `make test`. Both are idempotent.
# `make test-fast` is the quick loop (no browser, PostgreSQL, Ray or slow tests); `make lock`
# refreshes constraints.txt, the pinned versions every install uses.
VENV   := .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   ?= demo-project
LOCK   := constraints.txt
FAST   := not slow and not postgres and not browser and not ray
JOBS   ?= 2
export HF_HUB_OFFLINE := 1
export LITELLM_LOCAL_MODEL_COST_MAP := True

.PHONY: install demo test test-fast lock lint bench

$(STAMP): pyproject.toml $(LOCK)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, pinned: it takes the CPU wheel on this disk instead of a CUDA build
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -c $(LOCK) -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/flywheel demo quickstart $(DEMO)
	$(BIN)/flywheel --project $(DEMO) ui --demo-account

test: install
	bash .ci/postgres.sh start
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	. .ci/postgres.env && $(BIN)/pytest

# No PostgreSQL server is started; FLYWHEEL_TEST_POSTGRES_URL is ignored (postgres deselected).
# JOBS worker processes (pytest-xdist), one test file each at a time.
test-fast: install
	$(BIN)/pytest -q -m '$(FAST)' -n $(JOBS) --dist loadfile

# Resolve every dependency of .[dev] again (newest releases, torch kept at the Makefile's
# pin through constraints.in), install them and run the fast tests against them.
lock: install
	$(BIN)/pip-compile --quiet --upgrade --extra dev --strip-extras --no-emit-index-url \
		--no-emit-find-links --output-file $(LOCK) pyproject.toml constraints.in
	$(PY) -m pip install -q -c $(LOCK) -e '.[dev]'
	touch $(STAMP)
	$(MAKE) test-fast

bench: install
	$(BIN)/flywheel bench ingest
