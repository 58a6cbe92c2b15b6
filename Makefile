# Two entry points that set everything up on a fresh machine:
#   make demo   scan the bundled example against its bundled OSV records (offline), then fix
#               it on a throwaway git copy (uses PyPI through uv when reachable)
#   make test   ruff, ruff format --check, mypy --strict and the pytest suite
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: venv demo test lint bench clean

$(BIN)/patchpilot: pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; run make PYTHON=python3.X" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev,poetry]'
	@touch $@

venv: $(BIN)/patchpilot

demo: venv
	bash examples/demo.sh

lint: venv
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

bench: venv
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
