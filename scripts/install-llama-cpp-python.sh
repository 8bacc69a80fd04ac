#!/usr/bin/env bash
# Install the pinned llama-cpp-python (the applications' embedded engine) from source, with CUDA
# where scripts/cuda.sh says so, and AMX compiled out where it cannot run (scripts/cpu-flags.sh).
#
# Why from source, never from pip's wheel cache: a cached wheel may carry other CPU flags or
# another GPU setting than this machine needs.
#
# Usage: scripts/install-llama-cpp-python.sh PYTHON LOCKFILE
set -euo pipefail

PY=${1:?usage: install-llama-cpp-python.sh PYTHON LOCKFILE}
LOCK=${2:?usage: install-llama-cpp-python.sh PYTHON LOCKFILE}
HERE=$(dirname "$0")
# shellcheck source=scripts/cuda.sh
source "$HERE/cuda.sh"
EXTRA=$(bash "$HERE/cpu-flags.sh")

install() {
  CFLAGS="$EXTRA ${CFLAGS:-}" CXXFLAGS="$EXTRA ${CXXFLAGS:-}" CMAKE_ARGS="$1 ${CMAKE_ARGS:-}" \
    "$PY" -m pip install --quiet --no-cache-dir --no-deps -c "$LOCK" llama-cpp-python
}

if cuda_wanted; then
  echo "llama-cpp-python: building with CUDA"
  if install -DGGML_CUDA=on; then
    exit 0
  fi
  cuda_failed llama-cpp-python
fi
install ""
