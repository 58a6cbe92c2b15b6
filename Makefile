# Two entry points that set everything up on a fresh machine:
#   make demo   scan the bundled example against its bundled OSV records (no network needed
#               once the virtualenv exists)
#   make test   ruff, ruff format --check, mypy --strict and the pytest suite
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
DEMO_DB := $(VENV)/demo-advisories.sqlite3

.PHONY: venv demo test lint bench clean

$(BIN)/patchpilot: pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; run make PYTHON=python3.X" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	@touch $@

venv: $(BIN)/patchpilot

demo: venv
	rm -f $(DEMO_DB)
	$(BIN)/patchpilot --db $(DEMO_DB) db import examples/advisories
	$(BIN)/patchpilot --db $(DEMO_DB) db status
	$(BIN)/patchpilot --db $(DEMO_DB) scan examples/webapp --format table; \
	  status=$$?; if [ $$status -eq 1 ]; then echo "demo: findings reported (exit 1, as expected)"; exit 0; fi; exit $$status

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

bench: venv
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
