# Everything runs from a project-local virtual environment that `make` creates
# on first use, so a machine with only python3 and make can run every target.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CHECKOV_VENV := .venv-checkov
AWSCLI_VENV := .venv-awscli
PYTEST_ARGS ?= -n auto

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

# Setting up writes nothing to standard output (commands unechoed, tools' chatter to
# stderr), so `make audit ARGS="--format json" > out.json` holds only the report.
$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) >&2
	@$(BIN)/python -m pip install --quiet --upgrade pip >&2

# The pinned tools, then the project itself (editable: the installed package is the working tree).
$(VENV)/.installed: requirements/dev.txt pyproject.toml | $(BIN)/python
	@$(BIN)/python -m pip install --quiet -r requirements/dev.txt >&2
	@$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation --editable . >&2
	@touch $@

$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	@$(PYTHON) -m venv $(CHECKOV_VENV) >&2
	@$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip >&2
	@$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements/checkov.txt >&2
	@touch $@

# The AWS CLI the tests of deploy/deploy-org.sh run (it pins its own botocore); the
# deploy targets use the user's own `aws`.
$(AWSCLI_VENV)/.installed: requirements/awscli.txt
	@$(PYTHON) -m venv $(AWSCLI_VENV) >&2
	@$(AWSCLI_VENV)/bin/python -m pip install --quiet --upgrade pip >&2
	@$(AWSCLI_VENV)/bin/python -m pip install --quiet -r requirements/awscli.txt >&2
	@touch $@

.PHONY: venv
venv: $(VENV)/.installed $(CHECKOV_VENV)/.installed $(AWSCLI_VENV)/.installed ## Create the virtual environments

.PHONY: lint
lint: $(VENV)/.installed ## ruff (lint and format check), mypy (strict, product code)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

.PHONY: test
test: venv lint ## Lint, then run the whole test suite
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# --- The main job and the command-line tool (docs/demo.md, docs/cli.md). ARGS passes options,
# e.g. make audit ARGS="--format json --profile prod"; credentials come from the usual chain.
.PHONY: demo
demo: $(VENV)/.installed ## Run the whole product on a simulated account (no AWS account needed)
	$(BIN)/python -m no_direct_policies.simulation

.PHONY: audit
audit: $(VENV)/.installed ## Read-only audit of an account's users: make audit ARGS="--format json"
	@$(BIN)/no-direct-policies audit $(ARGS)

.PHONY: remediate
remediate: $(VENV)/.installed ## Show the plan to move users' policies to groups (ARGS="--apply" runs it)
	@$(BIN)/no-direct-policies remediate $(ARGS)

.PHONY: benchmark
benchmark: $(VENV)/.installed ## Run every tests/benchmark_*.py and print the measured figures
	@set -e; for script in tests/benchmark_*.py; do \
		echo "== $$script"; \
		$(BIN)/python -m tests.$$(basename $$script .py); \
	done

.PHONY: bench-memory
bench-memory: $(VENV)/.installed ## The audit's peak RSS at 1,000 / 5,000 / 20,000 users, per format
	$(BIN)/python -m tests.bench.memory $(BENCH_ARGS)

.PHONY: bench
bench: $(VENV)/.installed ## Paging moto server: requests, time, RSS side by side (BENCH_ARGS="--markdown F")
	$(BIN)/python -m tests.bench $(BENCH_ARGS)

# --- Deployment (docs/deployment.md). The AWS CLI and credentials come from the
# machine; deploy/require-aws.sh stops with one clear line when they are missing.
STACK_NAME ?= iam-user-no-direct-policies
STACK_SET_NAME ?= iam-user-no-direct-policies
PACK_NAME ?= iam-user-no-direct-policies
ARTIFACT_BUCKET ?=
ORG_UNIT_IDS ?=
# deploy-org: the one region to deploy to (docs/deployment.md, Regions).
REGION ?=
# e.g. PARAMETER_OVERRIDES="AutomaticRemediation=false ExemptUserNames=breakglass"
PARAMETER_OVERRIDES ?=
RDKLIB_PIN = $(shell grep '^rdklib==' requirements/runtime.txt)

# rdklib for the rule's zip, fetched again only when the pin changes.
build/rdklib/.pin: requirements/runtime.txt
	rm -rf build/rdklib
	$(BIN)/python -m pip install --quiet --no-deps --target build/rdklib $(RDKLIB_PIN)
	echo "$(RDKLIB_PIN)" >$@

.PHONY: package
package: $(VENV)/.installed build/rdklib/.pin ## Build the Lambda zips and render the templates into build/
	$(BIN)/python -m deploy.build --out build --rdklib-dir build/rdklib

.PHONY: deploy
deploy: ## Deploy to one account: make deploy ARTIFACT_BUCKET=<S3 bucket for the Lambda code>
	@REGION= PYTHON="$(PYTHON)" PARAMETER_OVERRIDES="$(PARAMETER_OVERRIDES)" \
		deploy/require-aws.sh deploy ARTIFACT_BUCKET="$(ARTIFACT_BUCKET)"
	$(MAKE) package
	aws cloudformation package --template-file build/account.yaml \
		--s3-bucket "$(ARTIFACT_BUCKET)" --output-template-file build/account.packaged.yaml
	aws cloudformation deploy --template-file build/account.packaged.yaml \
		--stack-name "$(STACK_NAME)" --capabilities CAPABILITY_NAMED_IAM --no-fail-on-empty-changeset \
		$(if $(PARAMETER_OVERRIDES),--parameter-overrides $(PARAMETER_OVERRIDES))

.PHONY: undeploy
undeploy: ## Remove the one-account stack (groups the remediation created stay)
	@REGION= PYTHON="$(PYTHON)" deploy/require-aws.sh undeploy
	aws cloudformation delete-stack --stack-name "$(STACK_NAME)"
	aws cloudformation wait stack-delete-complete --stack-name "$(STACK_NAME)"

.PHONY: deploy-org
deploy-org: ## Organization: make deploy-org ARTIFACT_BUCKET=<bucket> ORG_UNIT_IDS=<ou or root ids> REGION=<region>
	@REGION="$(REGION)" PYTHON="$(PYTHON)" deploy/require-aws.sh deploy-org \
		ARTIFACT_BUCKET="$(ARTIFACT_BUCKET)" ORG_UNIT_IDS="$(ORG_UNIT_IDS)" REGION="$(REGION)"
	$(MAKE) package
	ARTIFACT_BUCKET="$(ARTIFACT_BUCKET)" ORG_UNIT_IDS="$(ORG_UNIT_IDS)" REGION="$(REGION)" \
		STACK_NAME="$(STACK_NAME)" STACK_SET_NAME="$(STACK_SET_NAME)" PACK_NAME="$(PACK_NAME)" \
		PYTHON="$(BIN)/python" deploy/deploy-org.sh

.PHONY: format
format: $(VENV)/.installed ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

.PHONY: clean
clean: ## Remove build output and virtual environments
	rm -rf build $(VENV) $(CHECKOV_VENV) $(AWSCLI_VENV) .pytest_cache .ruff_cache
