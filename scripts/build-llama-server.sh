#!/usr/bin/env bash
# Build llama.cpp's own `llama-server` (the model server's runner process) from the llama.cpp source
# vendored inside the pinned llama-cpp-python sdist, so the runner and the in-process engine share one
# llama.cpp version and nothing is downloaded at run time.
#
# Usage: scripts/build-llama-server.sh DEST_BINARY [PYTHON]
#   DEST_BINARY  where the binary goes (the Makefile passes .venv/bin/llama-server)
#   PYTHON       the interpreter whose pip downloads the sdist (default: python3)
# Environment:
#   LLAMA_SERVER_BUILD_DIR  work folder (default: .cache/llama-server-build)
#   LLMAPPS_AMX             1 keeps AMX in a VM (see scripts/cpu-flags.sh)
#   LLMAPPS_CUDA            1 forces a CUDA build, 0 forbids it; unset: CUDA when `nvcc` and a GPU
#                           are there, the CPU build if that fails (scripts/cuda.sh)
set -euo pipefail

DEST=${1:?usage: build-llama-server.sh DEST_BINARY [PYTHON]}
PY=${2:-python3}
VERSION=0.3.36
WORK=${LLAMA_SERVER_BUILD_DIR:-.cache/llama-server-build}
JOBS=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}

HERE=$(dirname "$0")
# shellcheck source=scripts/cuda.sh
source "$HERE/cuda.sh"

mkdir -p "$WORK"
SDIST="$WORK/llama_cpp_python-$VERSION.tar.gz"
if [ ! -f "$SDIST" ]; then
  "$PY" -m pip download --quiet --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$WORK"
fi
SRC="$WORK/llama_cpp_python-$VERSION/vendor/llama.cpp"
if [ ! -f "$SRC/CMakeLists.txt" ]; then
  tar -xzf "$SDIST" -C "$WORK"
fi

FLAGS=(-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF
  -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
  -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF)
EXTRA=$(bash "$HERE/cpu-flags.sh")
BUILD="$WORK/build-cpu"
if [ -n "$EXTRA" ]; then
  # CMake reads CFLAGS/CXXFLAGS only when a build folder is configured the first time.
  export CFLAGS="$EXTRA ${CFLAGS:-}" CXXFLAGS="$EXTRA ${CXXFLAGS:-}"
  BUILD="$WORK/build-cpu-noamx"
  echo "llama-server: AMX compiled out (a VM, or AMX unusable here: see scripts/cpu-flags.sh)"
fi
# build DIR [CMAKE_FLAG...]: configure and build llama-server in DIR; the logs stay in $WORK.
build() {
  local dir=$1
  shift
  cmake -S "$SRC" -B "$dir" "${FLAGS[@]}" "$@" >"$WORK/cmake-configure.log" 2>&1 \
    || { tail -30 "$WORK/cmake-configure.log"; return 1; }
  cmake --build "$dir" --target llama-server -j "$JOBS" >"$WORK/cmake-build.log" 2>&1 \
    || { tail -30 "$WORK/cmake-build.log"; return 1; }
  BUILT="$dir/bin/llama-server"
}

BUILT=
if cuda_wanted; then
  echo "llama-server: building with CUDA"
  build "$BUILD-cuda" -DGGML_CUDA=on || cuda_failed llama-server
fi
if [ -z "$BUILT" ]; then
  echo "llama-server: building for CPU"
  build "$BUILD" || exit 1
fi
mkdir -p "$(dirname "$DEST")"
install -m 0755 "$BUILT" "$DEST"
echo "llama-server: installed $DEST"
