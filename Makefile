# ddb-backupd — everyday commands. Everything runs in a local Python 3.12 venv (.venv).
# The first Python 3.12 that really runs (a pyenv shim may exist and still fail).
PYTHON ?= $(shell for p in python3.12 $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12*/bin/python3.12 2>/dev/null); do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && { command -v "$$p"; break; }; done)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench venv clean

$(BIN)/ddb-backupd: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.12 not found: set PYTHON=/path/to/python3.12"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	@touch $@

venv: $(BIN)/ddb-backupd

demo: venv  ## Run the daemon against the embedded local AWS stand-in for 60 s
	$(BIN)/ddb-backupd demo --seconds $${SECONDS_TO_RUN:-60}

test: venv  ## The whole test suite
	$(BIN)/pytest -q

lint: venv  ## ruff, mypy --strict, import-linter contracts
	$(BIN)/ruff check daemon tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: venv  ## The benchmark suite; writes benchmarks/results.json
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
