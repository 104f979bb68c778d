# The two commands a newcomer needs: `make dev` (run the backend locally) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# sam build needs an interpreter of the functions' runtime (python3.13) on PATH.
SAM_PYENV ?= 3.11.7:3.12.1:3.13.0

.DEFAULT_GOAL := help
.PHONY: help install dev token test test-unit test-integration test-e2e test-infra lint typecheck \
        template-check build bench pr clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## Create the virtualenv and install the project with its dev tools

dev: $(STAMP) ## Run the whole backend locally: moto server, resources from template.yaml, HTTP gateway on :3000
	$(PY) -m infra.local

token: $(STAMP) ## Print a bearer token: make -s token TENANT=acme ROLE=admin (needs `make dev` running)
	@$(PY) -m infra.local.token --tenant "$(TENANT)" --role "$(or $(ROLE),admin)"

test: $(STAMP) ## Run every test: unit, integration (moto), end to end (local stack over HTTP), template
	$(PY) -m pytest

test-unit: $(STAMP)
	$(PY) -m pytest tests/unit

test-integration: $(STAMP)
	$(PY) -m pytest tests/integration

test-e2e: $(STAMP)
	$(PY) -m pytest tests/e2e

test-infra: $(STAMP)
	$(PY) -m pytest tests/infra

lint: $(STAMP) ## ruff (lint and format check)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP) ## mypy --strict on the domain package
	$(VENV)/bin/mypy

.tools/sam/.installed:
	$(PYTHON) -m venv .tools/sam
	.tools/sam/bin/python -m pip install --quiet --upgrade pip
	.tools/sam/bin/python -m pip install --quiet 'aws-sam-cli>=1.140'
	touch $@

template-check: $(STAMP) .tools/sam/.installed ## cfn-lint, sam validate --lint and sam build (no Docker, no AWS account)
	$(VENV)/bin/cfn-lint template.yaml
	AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 .tools/sam/bin/sam validate --lint --template template.yaml
	$(MAKE) build

build: .tools/sam/.installed ## sam build (arm64, python3.13; no container)
	PYENV_VERSION=$(SAM_PYENV) SAM_CLI_TELEMETRY=0 .tools/sam/bin/sam build --template template.yaml

bench: $(STAMP) ## Benchmarks: prints ratios against in-run baselines, writes bench-results.json
	$(PY) -m tests.bench

pr: lint typecheck test template-check ## Everything a reviewer would run

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache bench-results.json .local
