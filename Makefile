# Wayfinder: every target calls the project's own CLI (wayfinder) or uv; see `make help`.
.DEFAULT_GOAL := help
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
UV := $(shell command -v uv 2>/dev/null)
RUN := uv run --frozen

.PHONY: help up down status checkout test test-fast test-scenarios lint bench deps setup stack-smoke

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

deps: ## install the locked Python dependencies (bootstraps uv with pip when missing)
	@command -v uv >/dev/null 2>&1 || { command -v python3 >/dev/null 2>&1 || { echo "make: python3 (3.11 or newer) is required: install it first"; exit 1; }; echo "installing uv with pip..."; python3 -m pip install --quiet uv || { echo "make: uv is required: pip install uv"; exit 1; }; }
	@# Bytecode compiled once here: every service process then starts without compiling its imports.
	@uv sync --frozen --quiet --compile-bytecode

setup: deps ## install the servers local mode and the tests need; quick when all are there
	@$(RUN) wayfinder setup

up: setup ## start Wayfinder (Docker stack if an engine answers, else local mode) and say where to look
	@$(RUN) wayfinder up

down: deps ## stop everything `make up` started
	@$(RUN) wayfinder down

status: deps ## what is running (local mode)
	@$(RUN) wayfinder status

checkout: deps ## place one order and show its trace as a waterfall
	@$(RUN) wayfinder checkout

test: lint setup ## lint, then every test: unit, integration (real Postgres/Redis), end-to-end, stack validation
	@$(RUN) pytest -q

test-scenarios: setup ## every failure scenario at training speed: diagnosable from telemetry, healthy after (one at a time)
	@$(RUN) pytest -q -m scenarios tests/e2e/test_scenario_diagnosable.py

test-fast: deps ## unit tests only
	@$(RUN) pytest -q tests/unit

lint: deps ## ruff and mypy
	@$(RUN) ruff check .
	@$(RUN) mypy libs/wayfinder-common/src services/*/src tools/wayfinder/src

bench: setup ## performance benchmarks (targets live here, never in timed tests)
	@$(RUN) python -m benchmarks

stack-smoke: deps ## Docker only, not in `make test`: start the stack, place orders, check Tempo/Loki/Prometheus/Grafana, stop
	@$(RUN) python -m wayfinder.stack_smoke
