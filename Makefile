# Two commands do everything: `make dev` serves, `make test` checks.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
ARGS ?=

.PHONY: install dev test lint fmt typecheck unit e2e bench services node-deps

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=23"
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# The TypeScript SDK apps (tests/e2e/ts_app, bench/ts_app): `npm ci` when node_modules
# is missing or older than package-lock.json.
%/node_modules/.installed: %/package-lock.json %/package.json
	cd $* && npm ci --no-audit --no-fund
	touch $@

node-deps: tests/e2e/ts_app/node_modules/.installed

dev: install
	$(BIN)/inngestd dev $(ARGS)

services:
	bash scripts/ensure-services.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q tests/unit tests/contract

e2e: install node-deps
	$(BIN)/pytest -q tests/e2e

# Every test on the embedded store (`inngestd dev`), then every end-to-end and browser scenario
# again against `inngestd start` on Redis + PostgreSQL (keys enforced, apps in cloud mode),
# then the multi-process, trimming, fairness and step scenarios on a Redis Cluster started
# for them (also `inngestd start`).
# tests/e2e/test_redis_failover.py starts its own Redis Cluster with replicas and kills the
# master holding the deployment: it runs in the first e2e pass only (the shared pass would
# repeat it unchanged).
# The browser tests run in their own pytest process: Playwright's sync API keeps an event loop
# running in the main thread, which the async tests must not share.
CLUSTER_E2E := tests/e2e/test_multi_process.py tests/e2e/test_hot_trim.py \
	tests/e2e/test_fairness.py tests/e2e/test_steps.py
test: install services node-deps lint typecheck
	$(BIN)/pytest -q -p no:cacheprovider tests/unit tests/contract tests/e2e
	$(BIN)/pytest -q -p no:cacheprovider tests/browser
	INNGESTD_TEST_BACKEND=shared $(BIN)/pytest -q -p no:cacheprovider tests/e2e \
		--ignore tests/e2e/test_redis_failover.py
	INNGESTD_TEST_BACKEND=shared $(BIN)/pytest -q -p no:cacheprovider tests/browser
	INNGESTD_TEST_BACKEND=shared $(PY) -m tests.contract.redis_cluster \
		$(BIN)/pytest -q -p no:cacheprovider $(CLUSTER_E2E)

bench: install bench/ts_app/node_modules/.installed
	$(PY) bench/run.py $(ARGS)
