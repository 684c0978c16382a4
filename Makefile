# ddb-backupd — everyday commands. Everything runs in a local Python 3.12 venv (.venv).
# The first Python 3.12 that really runs (a pyenv shim may exist and still fail).
PYTHON ?= $(shell for p in python3.12 $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12*/bin/python3.12 2>/dev/null); do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && { command -v "$$p"; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
# make sbom: the runtime environment it describes, and where the SBOM goes.
RUNTIME_VENV ?= build/runtime-venv
SBOM_WHEELS ?= build/sbom-wheel
SBOM ?= dist/sbom.cdx.json
# Extra pip options for the runtime packages of make sbom (e.g. --no-index --find-links DIR).
PIP_SOURCE ?=

.PHONY: demo test lint bench venv lock lock-upgrade lock-check sbom clean

# The venv holds exactly the hash-locked versions (requirements/*.txt, `make lock`): the ones
# CI tests and the image runs. The project itself is installed editable, without dependencies.
$(BIN)/ddb-backupd: pyproject.toml requirements/build.txt requirements/dev.txt
	@test -n "$(PYTHON)" || { echo "Python 3.12 not found: set PYTHON=/path/to/python3.12"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes -r requirements/build.txt
	$(BIN)/pip install -q --require-hashes -r requirements/dev.txt
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	@touch $@

venv: $(BIN)/ddb-backupd

demo: venv  ## Run the daemon against the embedded local AWS stand-in for 60 s (prints the status page's URL first)
	@$(BIN)/ddb-backupd demo --seconds $${SECONDS_TO_RUN:-60} --accounts $${ACCOUNTS:-1}

test: venv  ## The whole test suite
	$(BIN)/pytest -q

lint: venv  ## ruff, mypy --strict, import-linter contracts
	$(BIN)/ruff check daemon tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: venv  ## The benchmark suite; writes benchmarks/results.json
	$(BIN)/python -m benchmarks

lock: venv  ## Re-resolve requirements/*.txt after pyproject.toml changed (keeps allowed pins)
	scripts/lock.sh

lock-upgrade: venv  ## Re-resolve requirements/*.txt with the newest release of every package
	scripts/lock.sh --upgrade

lock-check: venv  ## Fail when requirements/*.txt are not what `make lock` would write
	scripts/lock.sh --check

# The runtime environment as the image has it (the runtime lock, then the project's wheel, in a
# venv without pip), described by cyclonedx-py and checked against the lock.
sbom: venv  ## CycloneDX JSON SBOM of the runtime environment -> dist/sbom.cdx.json
	rm -rf $(RUNTIME_VENV) $(SBOM_WHEELS)
	$(BIN)/python -m venv --without-pip $(RUNTIME_VENV)
	$(BIN)/pip --python $(RUNTIME_VENV)/bin/python install -q --no-compile --require-hashes \
		--only-binary :all: $(PIP_SOURCE) -r requirements/runtime.txt
	$(BIN)/pip wheel -q --no-deps --no-build-isolation -w $(SBOM_WHEELS) .
	$(BIN)/pip --python $(RUNTIME_VENV)/bin/python install -q --no-compile --no-deps \
		$(SBOM_WHEELS)/ddb_backupd-*.whl
	@mkdir -p $(dir $(SBOM))
	$(BIN)/cyclonedx-py environment --pyproject pyproject.toml --mc-type application \
		--output-reproducible --output-format JSON --output-file $(SBOM) $(RUNTIME_VENV)/bin/python
	$(BIN)/python -m tests.deploy.sbom $(SBOM)

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
