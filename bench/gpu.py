"""GPU check: on a machine with an NVIDIA GPU, build the CUDA runner, load a GGUF fully
offloaded through ``llmapps serve`` and print tokens/s at 1 and 8 clients.

Why a script and not a test: no CI machine here has a GPU; this is run whenever one is at
hand, and says plainly that it measured nothing when there is none (exit code 0, so
``make bench`` goes on).

Usage: ``.venv/bin/python bench/gpu.py [--model PATH.gguf] [--max-tokens 128]``. The CUDA
``llama-server`` is built once into ``.cache/bench/cuda/`` (``LLMAPPS_CUDA=1``); the model is
the bundled SmolLM2 unless ``--model`` names another GGUF.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))


def main() -> int:
    from serve import chat_body, free_port, load, wait_up  # bench/serve.py

    from llmapps.models.local.discovery import bundled_model_path
    from llmapps.models.local.hardware import nvidia_gpus
    from llmapps.serve.vocab import vocab_model

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()

    gpus = nvidia_gpus()
    if not gpus:
        print("bench/gpu.py: no NVIDIA GPU visible (nvidia-smi -L lists none): nothing measured")
        return 0
    if shutil.which("nvcc") is None:
        print("bench/gpu.py: a GPU is visible but nvcc is missing: install the CUDA toolkit")
        return 0
    print("GPUs:", "; ".join(gpus))
    binary = REPO / ".cache" / "bench" / "cuda" / "llama-server"
    if not binary.is_file():
        print("building the CUDA llama-server (once; many minutes)...")
        env = {
            **os.environ,
            "LLMAPPS_CUDA": "1",
            "LLAMA_SERVER_BUILD_DIR": str(REPO / ".cache" / "bench" / "cuda-build"),
        }
        subprocess.run(
            ["bash", str(REPO / "scripts" / "build-llama-server.sh"), str(binary), sys.executable],
            check=True,
            cwd=REPO,
            env=env,
        )
    path = (args.model or bundled_model_path()).resolve()
    vocab = vocab_model(path)
    banned = {vocab.token_eos(), *vocab.tokenize(b"<|im_end|>", add_bos=False, special=True)}
    bias = {str(t): -100.0 for t in banned}
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "LLMAPPS_HOME": tempfile.mkdtemp(prefix="llmapps-bench-gpu-"),
        "LLMAPPS_SERVER__RUNNER": str(binary),
        "LLMAPPS_SERVER__PARALLEL": "8",
        "LLMAPPS_MODELS__N_GPU_LAYERS": "-1",
        "LLMAPPS_MODELS__N_CTX": "2048",
    }
    env.pop("LLMAPPS_API_KEYS", None)
    server = subprocess.Popen(
        [sys.executable, "-c", "from llmapps.cli import main; main()", "serve", "--port",
         str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        wait_up(url + "/", server)
        model = "smollm2"
        if args.model is not None:
            made = httpx.post(
                url + "/api/create",
                json={"model": "gpu-check", "from": str(path), "stream": False},
                timeout=600,
            )
            made.raise_for_status()
            model = "gpu-check"
        body = chat_body(model, bias, args.max_tokens)
        load(url, 1, 1, body)  # load fully offloaded
        vram = httpx.get(url + "/api/ps", timeout=30).json()["models"][0]["size_vram"]
        print(f"{path.name}: all layers on the GPU, size_vram {vram / 2**20:.0f} MiB")
        for clients in (1, 8):
            rate, ttft = load(url, clients, 2, body)
            print(
                f"{clients} client(s): {rate * args.max_tokens:.1f} tokens/s, "
                f"median TTFT {ttft * 1000:.1f} ms"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
