# xborder: one Makefile as the entry point. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock requirements-dev.lock pyproject.toml Makefile | sha256sum | cut -c1-12)
export XBORDER_HOME ?= $(CURDIR)/data
export AIRFLOW_HOME ?= $(CURDIR)/airflow_home
PYTEST_ARGS ?=

.PHONY: help install test lint demo bench airflow airflow-prod lock clean browser services wheel

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(STAMP): requirements.lock requirements-dev.lock pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip install --python $(PY) --quiet --compile-bytecode -r requirements.lock -r requirements-dev.lock
	$(BIN)/uv pip install --python $(PY) --quiet --no-deps -e .
	$(PY) -m compileall -q -j 0 pipelines  # pipelines/dags/ too; start-up reads bytecode even where PYTHONDONTWRITEBYTECODE is set
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the pinned dependencies (reused when unchanged)

browser:  ## headless Chromium for the report and Data Docs tests (Debian package)
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

services:  ## PostgreSQL (15 on Debian 12) and Redis for the production profile and its test (Debian packages)
	@{ ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 && command -v redis-server >/dev/null; } || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql redis-server >/dev/null; }

lint: install  ## ruff (incl. Airflow 3 rules AIR3), ruff format --check, mypy (pipelines/, pipelines/dags/)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install browser services  ## install everything and run the whole test suite
	$(MAKE) --no-print-directory lint
	$(PY) -m pytest $(PYTEST_ARGS)

demo: install  ## generate sample data, run the real Airflow DAGs over it, print where things are
	$(BIN)/xborder demo

bench: install  ## benchmark the pipeline against two plain DuckDB references (single pass, month by month)
	$(BIN)/xborder bench

airflow: install  ## airflow standalone with the project's DAGs (Ctrl-C stops it)
	$(PY) -m pipelines.airflow_standalone

wheel: install  ## build dist/xborder-<version>.tar.gz and the wheel from it (offline: uv's cache from make install)
	$(BIN)/uv build --offline --out-dir dist

airflow-prod: install services  ## production profile: Postgres, Redis, CeleryExecutor, 2 workers (Ctrl-C stops it; docs/production.md)
	$(PY) -m pipelines.airflow_prod run

lock:  ## re-pin requirements.lock (runtime) and requirements-dev.lock (tools) from the .in files
	$(BIN)/uv pip compile requirements.in -o requirements.lock --python-version 3.11 --no-header
	$(BIN)/uv pip compile requirements-dev.in -o requirements-dev.lock --python-version 3.11 --no-header

clean:  ## remove generated data (keeps .venv)
	rm -rf data airflow_home
