# Everything runs from a project-local virtual environment that `make` creates
# on first use, so a machine with only python3 and make can run every target.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CHECKOV_VENV := .venv-checkov
PYTEST_ARGS ?= -n auto

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements/dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt
	touch $@

$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements/checkov.txt
	touch $@

.PHONY: venv
venv: $(VENV)/.installed $(CHECKOV_VENV)/.installed ## Create the virtual environments

.PHONY: lint
lint: $(VENV)/.installed ## ruff (lint and format check)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

.PHONY: test
test: venv lint ## Lint, then run the whole test suite
	$(BIN)/python -m pytest $(PYTEST_ARGS)

.PHONY: benchmark
benchmark: $(VENV)/.installed ## Run every tests/benchmark_*.py and print the measured figures
	@set -e; for script in tests/benchmark_*.py; do \
		echo "== $$script"; \
		PYTHONPATH=rules/IAM_USER_NO_DIRECT_POLICIES:remediation:. $(BIN)/python $$script; \
	done

.PHONY: format
format: $(VENV)/.installed ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

.PHONY: clean
clean: ## Remove build output and virtual environments
	rm -rf build $(VENV) $(CHECKOV_VENV) .pytest_cache .ruff_cache
