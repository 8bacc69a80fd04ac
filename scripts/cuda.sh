# Sourced by the llama.cpp build scripts: whether to build with CUDA, and what to do when the
# CUDA build fails.
#
# LLMAPPS_CUDA=1 forces CUDA (a failed CUDA build is an error), LLMAPPS_CUDA=0 forbids it.
# Unset: CUDA only when `nvcc` exists AND `nvidia-smi -L` lists a GPU (CI machines often have
# nvcc but no GPU, and a CUDA build there costs most of the CI time for nothing); if that
# build fails (a toolkit without cuBLAS, say), the scripts warn and build for the CPU, so an
# incomplete toolkit never stops `make run`.

cuda_forced() {
  [ "${LLMAPPS_CUDA:-}" = 1 ]
}

cuda_wanted() {
  case "${LLMAPPS_CUDA:-}" in
    1) return 0 ;;
    0) return 1 ;;
  esac
  command -v nvcc >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1
}

# cuda_failed WHAT: after WHAT's CUDA build failed, exit when CUDA was forced; else warn.
cuda_failed() {
  if cuda_forced; then
    echo "error: $1: the CUDA build failed (LLMAPPS_CUDA=1; log above): install the full CUDA toolkit (with cuBLAS) or unset LLMAPPS_CUDA" >&2
    exit 1
  fi
  echo "warning: $1: the CUDA build failed (log above): building for the CPU instead; install the full CUDA toolkit (with cuBLAS) for GPU offload, or set LLMAPPS_CUDA=0 to skip the attempt" >&2
}
