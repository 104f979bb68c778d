# The two commands a newcomer needs: `make dev` (run the backend locally) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# sam build needs an interpreter of the functions' runtime (python3.13) on PATH.
SAM_PYENV ?= 3.11.7:3.12.1:3.13.0

.DEFAULT_GOAL := help
.PHONY: help install dev dev-reset token schedule test test-unit test-integration test-e2e test-infra test-local lint typecheck \
        template-check checkov build deploy bench pr clean

help: ## List the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

# One line per step: pip itself stays quiet (its per-package lines would flood a CI log).
$(STAMP): pyproject.toml
	@echo '==> [1/3] creating the virtualenv $(VENV) with $(PYTHON) ($(shell $(PYTHON) -V 2>&1))'
	@$(PYTHON) -m venv $(VENV)
	@echo '==> [2/3] upgrading pip'
	@$(PY) -m pip install --quiet --upgrade pip
	@echo '==> [3/3] installing the project and its dev tools (about 1-2 minutes the first time)'
	@$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)
	@echo '==> $(VENV) is ready'

install: $(STAMP) ## Create the virtualenv and install the project with its dev tools

dev: $(STAMP) ## Run the whole backend locally: moto server, resources from template.yaml, HTTP gateway on :3000; keeps its state in .local/
	$(PY) -m infra.local

dev-reset: $(STAMP) ## As `make dev`, but forget the kept state first and start empty
	$(PY) -m infra.local --reset

token: $(STAMP) ## Print a bearer token: make -s token TENANT=acme ROLE=admin (needs `make dev` running)
	@$(PY) -m infra.local.token --tenant "$(TENANT)" --role "$(or $(ROLE),admin)"

schedule: $(STAMP) ## Fire the template's schedules now, as EventBridge would; waits until the queues are drained: make schedule [NAME=AuditSchedulerFunction]
	$(PY) -m infra.local.schedule $(NAME) --wait

test: $(STAMP) ## Run every test: unit, integration (moto), end to end (local stack over HTTP), template
	$(PY) -m pytest

test-unit: $(STAMP) ## Run tests/unit: the domain, the routes with fakes (fast, no emulator)
	$(PY) -m pytest tests/unit

test-integration: $(STAMP) ## Run tests/integration: adapters and handlers against moto in-process
	$(PY) -m pytest tests/integration

test-e2e: $(STAMP) ## Run tests/e2e: the real local stack over HTTP
	$(PY) -m pytest tests/e2e

test-infra: $(STAMP) ## Run tests/infra: template.yaml's resources, policies and routes
	$(PY) -m pytest tests/infra

test-local: $(STAMP) ## Run tests/local: the local stack's own pieces (gateway, runner, emulator fixes)
	$(PY) -m pytest tests/local

lint: $(STAMP) ## ruff (lint and format check)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP) ## mypy --strict on the domain package
	$(VENV)/bin/mypy

.tools/sam/.installed:
	@echo '==> installing the SAM CLI into .tools/sam (about a minute the first time)'
	$(PYTHON) -m venv --clear .tools/sam
	.tools/sam/bin/python -m pip install --quiet --upgrade pip
	.tools/sam/bin/python -m pip install --quiet 'aws-sam-cli>=1.140,<2'
	SAM_CLI_TELEMETRY=0 .tools/sam/bin/sam --version
	touch $@

# checkov pins an older boto3 than the project's: it gets a virtualenv of its own, as the SAM CLI does.
.tools/checkov/.installed:
	@echo '==> installing checkov into .tools/checkov (about a minute the first time)'
	$(PYTHON) -m venv --clear .tools/checkov
	.tools/checkov/bin/python -m pip install --quiet --upgrade pip
	.tools/checkov/bin/python -m pip install --quiet 'checkov>=3.3,<4'
	.tools/checkov/bin/checkov --version
	touch $@

template-check: $(STAMP) .tools/sam/.installed .tools/checkov/.installed ## cfn-lint, checkov, sam validate --lint and sam build (no Docker, no AWS account)
	@echo '--- cfn-lint'
	$(VENV)/bin/cfn-lint template.yaml
	@echo '--- checkov (fails on any failed check; skips are in each resource Metadata, with a reason)'
	$(MAKE) --no-print-directory checkov
	@echo '--- sam validate --lint'
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-$${AWS_REGION:-us-east-1}} SAM_CLI_TELEMETRY=0 \
	  .tools/sam/bin/sam validate --lint --template template.yaml --config-file infra/samconfig.toml
	@echo '--- sam build'
	$(MAKE) --no-print-directory build

# checkov, offline (no policy download, no Bridgecrew mapping): any failed check fails, and so does a
# template it could not read (checkov itself exits 0 then). A skipped check is declared on its
# resource (Metadata: checkov: skip) with the reason.
CHECKOV_REPORT := .tools/checkov/last-run.json
checkov: .tools/checkov/.installed ## checkov on template.yaml: fails on any failed check
	BC_SKIP_MAPPING=TRUE .tools/checkov/bin/checkov --file template.yaml --framework cloudformation \
	  --skip-download --compact --quiet --output cli --output json --output-file-path console,$(CHECKOV_REPORT)
	@$(PYTHON) -c 'import json, sys; s = json.load(open("$(CHECKOV_REPORT)"))["summary"]; \
	  sys.exit(0 if s["parsing_errors"] == 0 and s["resource_count"] > 0 else f"checkov read no template: {s}")'

# sam build (no container) runs pip through an interpreter of the runtime's version found on PATH.
# It looks for python3.13: $(SAM_PYTHON) if given, `python3.13` on PATH (pyenv shims need
# PYENV_VERSION=$(SAM_PYENV)), then pyenv's and the system's install locations; the directory of
# the interpreter it finds goes first on PATH for sam. The checks after it make sure the layer holds
# the domain package and aarch64 wheels (pydantic_core) and the function only its own code.
build: .tools/sam/.installed ## sam build (arm64, python3.13, bytecode compiled ahead of time; no container)
	@py=""; \
	for cand in "$(SAM_PYTHON)" \
	    "$$(PYENV_VERSION=$(SAM_PYENV) python3.13 -c 'import sys; print(sys.executable)' 2>/dev/null)" \
	    $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3.13 /usr/local/bin/python3.13 /usr/bin/python3.13; do \
	  if [ -n "$$cand" ] && [ -x "$$cand" ] && \
	     "$$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null; then py="$$cand"; break; fi; \
	done; \
	if [ -z "$$py" ]; then \
	  echo "make build: no python3.13 interpreter found (the functions' runtime is python3.13)." >&2; \
	  echo "  Install Python 3.13 (e.g. pyenv install 3.13) or pass SAM_PYTHON=/path/to/python3.13." >&2; \
	  exit 1; \
	fi; \
	echo "sam build: using $$py ($$("$$py" -V 2>&1))"; \
	rm -rf .aws-sam/build; \
	PATH="$$(dirname "$$py"):$$PATH" SAM_CLI_TELEMETRY=0 \
	  .tools/sam/bin/sam build --template template.yaml --config-file infra/samconfig.toml
	@b=.aws-sam/build; fail() { echo "make build: $$*" >&2; exit 1; }; \
	test -f $$b/ApiFunction/handler.py || fail "$$b/ApiFunction/handler.py is missing"; \
	for f in ApiFunction AssetsApiFunction LicensesApiFunction InventoryApiFunction ProcurementApiFunction RequestsApiFunction; do \
	  test -f $$b/$$f/routes/__init__.py || fail "$$b/$$f/routes/ is missing"; done; \
	test -z "$$(find $$b/ApiFunction -name __pycache__ -o -name '*.pyc')" || fail "$$b/ApiFunction holds bytecode"; \
	test -f $$b/DomainLayer/python/itam/__init__.py || fail "$$b/DomainLayer/python/itam/ is missing"; \
	compgen -G "$$b/DomainLayer/python/pydantic_core/_pydantic_core.cpython-313-aarch64-linux-gnu.so" >/dev/null \
	  || fail "$$b/DomainLayer/python/pydantic_core has no cpython-313 aarch64 extension"; \
	test -z "$$(find $$b/DomainLayer/python -name '*x86_64*.so')" || fail "the layer holds x86_64 extensions"; \
	test -f $$b/DomainLayer/python/itam/__pycache__/__init__.cpython-313.pyc || fail "the layer ships no python3.13 bytecode"; \
	echo "build artifacts OK: $$b/*ApiFunction/{handler.py,routes/}, $$b/DomainLayer/python/{itam,pydantic_core (aarch64)}"

deploy: build ## Deploy to the AWS account of your credentials (sam deploy --guided)
	SAM_CLI_TELEMETRY=0 .tools/sam/bin/sam deploy --guided --config-file infra/samconfig.toml

bench: $(STAMP) ## Benchmarks: prints ratios against in-run baselines, writes bench-results.json
	PYTHONPATH=$(CURDIR)/functions/api $(PY) -m tests.bench

pr: lint typecheck test template-check ## Everything a reviewer would run

clean: ## Remove build outputs, caches, bench results and the local stack's state (.local/)
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache bench-results.json .local
