# Prep — developer entry points. `make` alone lists the targets.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV ?= .venv
PY = $(VENV)/bin/python
BIN = $(VENV)/bin
PYTHON ?= $(shell command -v python3.11 || command -v python3)
INSTALLED = $(VENV)/.installed
PACKAGES = sync reference_db edge hub tui

DEMO = .demo
KEY = $(DEMO)/keys/refdb.key
BUNDLE = $(DEMO)/prep-reference.sqlite

EDGE_PORT ?= 8700

.PHONY: help install run run-edge refdb-demo test test-long lint typecheck check bench bench-quick clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) \
		| awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

# Reinstall when pyproject.toml changes or a top-level package gains its __init__.py: the editable
# install maps only the packages that existed when it ran.
$(INSTALLED): pyproject.toml $(wildcard $(addsuffix /__init__.py,$(PACKAGES)))
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(INSTALLED) ## create the venv and install prep with its dev tools (re-runs when pyproject.toml changes)

$(KEY): | $(INSTALLED)
	@mkdir -p $(dir $@)
	$(BIN)/prep-refdb keygen --out $@

run: $(INSTALLED) ## the demo kitchen (set up once in .demo/edge) served in the background, the staff terminal on it
	@$(PY) -m edge.demo --root $(DEMO) --host 127.0.0.1 --port $(EDGE_PORT) --no-serve
	@$(PY) -m edge.demo --root $(DEMO) --host 127.0.0.1 --port $(EDGE_PORT) > $(DEMO)/edge.log 2>&1 & \
		edge=$$!; trap 'kill $$edge 2>/dev/null || true; wait $$edge 2>/dev/null || true' EXIT; \
		$(BIN)/prep-tui --edge http://127.0.0.1:$(EDGE_PORT) --wait 60

run-edge: $(INSTALLED) ## set up (once) and serve the demo edge; logins in .demo/credentials.txt
	$(PY) -m edge.demo --root $(DEMO) --host 127.0.0.1 --port $(EDGE_PORT)

refdb-demo: $(INSTALLED) $(KEY) ## build, verify and describe the reference bundle, then evaluate the samples
	$(BIN)/prep-refdb build --out $(BUNDLE) --key $(KEY)
	$(BIN)/prep-refdb verify $(BUNDLE) --pubkey $(KEY).pub
	$(BIN)/prep-refdb info --db $(BUNDLE)
	@for scenario in reference_db/samples/*.json; do \
		printf '%-44s ' "$$(basename "$$scenario")"; \
		$(BIN)/prep-refdb evaluate --brief --db $(BUNDLE) "$$scenario"; \
	done
	$(BIN)/prep-refdb quote --db $(BUNDLE) reference_db/samples/quotes/portland.json

test: $(INSTALLED) ## run the tests, without the long simulation runs
	$(PY) -m pytest -m "not long" -q

test-long: $(INSTALLED) ## run only the long simulation runs (marker `long`)
	$(PY) -m pytest -m long -q || [ $$? -eq 5 ]

lint: $(INSTALLED) ## check formatting, lint rules and import boundaries
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: $(INSTALLED) ## run mypy (strict on sync and reference_db)
	$(BIN)/mypy $(PACKAGES)

check: lint typecheck test ## lint, typecheck and test

bench: $(INSTALLED) ## run the reference bundle, edge, sync and hub benchmarks (writes bench/results/)
	$(PY) -m bench.refdb
	$(PY) -m bench.edge
	$(PY) -m bench.sync
	$(PY) -m bench.audit_chain
	$(PY) -m bench.fanin

bench-quick: $(INSTALLED) ## the same benchmarks, CI-sized
	$(PY) -m bench.refdb --quick
	$(PY) -m bench.edge --quick
	$(PY) -m bench.sync --quick
	$(PY) -m bench.audit_chain --quick
	$(PY) -m bench.fanin --quick

clean: ## remove the demo data, build output and tool caches (keeps the venv)
	rm -rf $(DEMO) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis \
		.import_linter_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
