# One entry point for everything: `make test` on a fresh clone builds the project-local
# virtual environment from pyproject.toml and runs every check CI runs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONPATH := $(CURDIR)/shared:$(CURDIR)/offline:$(CURDIR)/sagemaker_jobs:$(CURDIR)
export SAGEMAKER_SUPPRESS_V2_WARNING := 1
export AWS_DEFAULT_REGION ?= us-east-1

ASL := statemachines/retraining.asl.json

.PHONY: help lock venv lint typecheck validate render check-render unit test demo bench stress invoke clean

help:
	@echo "make test     lint, type checks, template + state machine validation, pytest"
	@echo "make demo     the whole retraining flow offline (no AWS account, no Docker)"
	@echo "make bench    performance figures (BENCH_ROWS=1000000 for the 1M-row comparison)"
	@echo "make stress   the demo with two CPU-bound processes running beside it"
	@echo "make render   re-render $(ASL) from statemachines/retraining_workflow.py"
	@echo "make invoke FUNCTION=StartRetrainingFunction EVENT=events/s3_object_created.json"

venv: $(STAMP)

# Installs exactly what requirements.lock pins (reproducible, auditable), then the project itself
# in editable mode (the `retrainer` command). `make lock` re-resolves the lock from pyproject.toml.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

lock: venv
	$(BIN)/uv pip compile --quiet pyproject.toml --all-extras --universal --python-version 3.11 -o requirements.lock

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy functions shared sagemaker_jobs statemachines offline

render: venv
	$(BIN)/python -m statemachines.retraining_workflow --output $(ASL)

check-render: venv
	$(BIN)/python -m statemachines.retraining_workflow --check $(ASL)

validate: venv check-render
	$(BIN)/cfn-lint template.yaml
	$(BIN)/statelint $(ASL)

unit: venv
	$(BIN)/pytest

test: lint typecheck validate unit

demo: venv
	$(BIN)/python -m retrainer_offline demo

bench: venv
	$(BIN)/python -m retrainer_offline bench

stress: venv
	$(BIN)/python -m retrainer_offline.stress

invoke: venv
	$(BIN)/python -m retrainer_offline invoke $(FUNCTION) --event $(EVENT)

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
