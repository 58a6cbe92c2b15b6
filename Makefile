# Two entry points that set everything up on a fresh machine:
#   make demo   scan the bundled example against its bundled OSV records (offline), then fix
#               it on a throwaway git copy (uses PyPI through uv when reachable)
#   make test   ruff, ruff format --check, mypy --strict and the pytest suite (installs the
#               Debian packages the tests drive for real, nginx and PostgreSQL, when it can)
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: venv demo test lint bench clean sysdeps

# nginx (`nginx -t` validates TLS mitigations) and PostgreSQL (the ledger's schema runs there
# too). Installed with apt-get as root or through passwordless sudo; otherwise the tests that
# need them are skipped, each saying why.
SYSDEPS := nginx openssl postgresql

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

sysdeps:
	@if { command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; } && command -v openssl >/dev/null 2>&1; then \
	  if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then exit 0; fi; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
	  echo "note: no apt-get; tests needing $(SYSDEPS) will be skipped" >&2; exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	else echo "note: cannot install $(SYSDEPS) without root; their tests will be skipped" >&2; \
	  exit 0; fi; \
	$$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	  $(SYSDEPS) >/dev/null || echo "note: apt-get could not install $(SYSDEPS)" >&2

test: lint sysdeps
	$(BIN)/pytest -q

bench: venv
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
