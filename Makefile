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
MONITORING_ASL := statemachines/monitoring.asl.json
# checkov pins its own boto3/botocore, which conflict with the project's: it lives in a venv of its own.
SCAN_VENV := .venv-scan
CHECKOV_VERSION := 3.3.30
CHECKOV := $(SCAN_VENV)/bin/checkov

.PHONY: help lock venv lint typecheck validate render check-render unit scan audit test demo monitoring-demo bench stress invoke serve clean

help:
	@echo "make test     lint, type checks, template + state machine validation, security scans, pytest"
	@echo "make scan     checkov on template.yaml (no failed check) and bandit on the code (no medium/high finding)"
	@echo "make audit    pip-audit of requirements.lock against the vulnerability database (needs network access)"
	@echo "make demo     the whole retraining flow offline (no AWS account, no Docker)"
	@echo "make serve    the stack offline behind a local AWS endpoint (PORT=4566 CLOCK_SCALE=0.001)"
	@echo "make bench    performance figures (BENCH_ROWS=1000000 for the 1M-row comparison)"
	@echo "make stress   the demo with two CPU-bound processes running beside it"
	@echo "make render   re-render $(ASL) and $(MONITORING_ASL) from statemachines/*_workflow.py"
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
	$(BIN)/python -m statemachines.monitoring_workflow --output $(MONITORING_ASL)

check-render: venv
	$(BIN)/python -m statemachines.retraining_workflow --check $(ASL)
	$(BIN)/python -m statemachines.monitoring_workflow --check $(MONITORING_ASL)

validate: venv check-render
	$(BIN)/cfn-lint template.yaml
	$(BIN)/statelint $(ASL)
	$(BIN)/statelint $(MONITORING_ASL)

unit: venv
	$(BIN)/pytest

$(CHECKOV):
	$(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet "checkov==$(CHECKOV_VERSION)"

# checkov: every failed check fails the build; a skip needs its reason in template.yaml (resource Metadata
# `checkov: skip: [{id, comment}]`). --skip-download keeps it offline (no Prisma Cloud guideline lookup).
# bandit: medium and high severity findings fail the build (low ones are listed by `bandit -r ...`).
scan: venv $(CHECKOV)
	$(CHECKOV) --file template.yaml --framework cloudformation --compact --quiet --skip-download
	$(BIN)/bandit --recursive --quiet --severity-level medium functions shared sagemaker_jobs statemachines offline

# Known vulnerabilities in the pinned dependencies. Needs network access (it queries the PyPI/OSV
# vulnerability database), so it is not part of `make test`.
audit: venv
	$(BIN)/pip-audit --requirement requirements.lock --disable-pip --no-deps --progress-spinner off

test: lint typecheck validate scan unit

demo: venv
	$(BIN)/python -m retrainer_offline demo

# The monitoring loop offline: promotion, drifted traffic, a scheduled run finds the drift, a retraining starts.
monitoring-demo: venv
	$(BIN)/python -m retrainer_offline.commands.monitoring_loop

bench: venv
	$(BIN)/python -m retrainer_offline bench

# Any AWS client works against it with --endpoint-url http://127.0.0.1:$(PORT) (README "Your own data").
serve: venv
	$(BIN)/python -m retrainer_offline serve --port $(or $(PORT),4566) --clock-scale $(or $(CLOCK_SCALE),0.001)

stress: venv
	$(BIN)/python -m retrainer_offline.commands.stress

invoke: venv
	$(BIN)/python -m retrainer_offline invoke $(FUNCTION) --event $(EVENT)

clean:
	rm -rf $(VENV) $(SCAN_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
