# Two entry points for a fresh machine: `make demo` and `make test`. Both are idempotent.
# `make test-fast` is the quick loop (no browser, PostgreSQL, Ray or slow tests).
VENV   := .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   ?= demo-project
FAST   := not slow and not postgres and not browser and not ray
export HF_HUB_OFFLINE := 1
export LITELLM_LOCAL_MODEL_COST_MAP := True

.PHONY: install demo test test-fast lint bench

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, pinned: it takes the CPU wheel on this disk instead of a CUDA build
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
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
test-fast: install
	$(BIN)/pytest -q -m '$(FAST)'

bench: install
	$(BIN)/flywheel bench ingest
