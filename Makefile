# Noriai: `make demo` runs the main job, `make test` runs the tests, `make bench` the benchmarks.
# Each creates .venv and installs what it needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: venv demo test lint services bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: venv
	$(BIN)/noriai demo

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy routing dispatch simulations api
	$(BIN)/lint-imports

# Servers the tests need (PostgreSQL, headless Chromium), installed and started by our own script.
services:
	@bash scripts/services.sh

test: venv services lint
	set -a; [ -f .services.env ] && source .services.env; set +a; \
	$(BIN)/pytest -q

bench: venv
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .noriai-cache build *.egg-info
