"""The model server against its real peer, llama.cpp's ``llama-server``, side by side in one run.

Main lines: ``llmapps serve`` (its runner is llama-server too, behind our API, templates, limits
and queue) vs a standalone ``llama-server -np 4`` at equal threads and equal context per slot,
at 1, 4 and 8 concurrent clients: total tokens/s and median time to first token, and resident
memory (our server plus its runner vs the standalone one) with 4 slots in use. Ratios are
ours / theirs, with the targets of issue 11 (tokens/s >= 0.95 at 1 and 4 clients, >= 0.9 at 8;
TTFT at 4 clients <= 1.2; RSS <= 1.3).
Secondary lines: llama-cpp-python in-process and its Python server at 1 client.

Why this shape: both sides run the same binary and GGUF (the bundled SmolLM2), the same chat
prompts through ``/v1/chat/completions`` (streamed), with the end-of-turn tokens banned so
every request generates exactly ``--max-tokens`` tokens (temperature 0.7 without a seed, so
both sides keep their prompt-prefix cache: llmapps evaluates greedy or seeded prompts whole,
to be deterministic); sides alternate within each round so machine noise hits them alike; each
figure keeps its best of ``--rounds`` tries (other load on a shared machine only slows a try
down).

The peer runs with llama.cpp's own OpenMP wait policy (it spins at barriers), ours with
``PASSIVE`` (sleeping waits, see ``hardware.OMP_WAIT_POLICY``): spinning is faster on an idle
machine and collapses beside a busy process (``--compete``). ``OMP_WAIT_POLICY=PASSIVE`` (or
``ACTIVE``) in the bench's environment gives both sides the same policy.

Usage: ``.venv/bin/python bench/serve.py [--max-tokens 64] [--rounds 2] [--threads N]
[--compete]``. ``--compete`` adds the table again with a CPU-bound process running beside
the servers (the default thread count must not collapse under contention). The peer binary is
the venv's ``llama-server`` (``make install`` builds it), else one built once into
``.cache/bench/`` from the vendored llama.cpp.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PROMPTS = [
    "Write a short story about a robot who learns to paint.",
    "Explain how a bicycle works to a ten year old.",
    "List some tips for staying focused while studying.",
    "用中文介绍一下长城。",
    "Describe the water cycle in simple words.",
    "What makes a good friend?",
    "Give advice for a first job interview.",
    "Why is the sky blue?",
]
CLIENTS = (1, 4, 8)
SLOTS = 4


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early ({url}, code {proc.returncode})")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server at {url} did not start in {timeout:.0f}s")


def peer_binary() -> Path:
    """The venv's llama-server, else one built once under .cache/bench (no download)."""
    venv = Path(sys.prefix) / "bin" / "llama-server"
    if venv.is_file():
        return venv
    cached = REPO / ".cache" / "bench" / "llama-server"
    if not cached.is_file():
        print("building llama-server from the vendored llama.cpp (once; many minutes)...")
        subprocess.run(
            ["bash", str(REPO / "scripts" / "build-llama-server.sh"), str(cached), sys.executable],
            check=True,
            cwd=REPO,
        )
    return cached


def rss(pid: int, children: bool = True) -> int:
    """Resident bytes of ``pid`` and (unless told otherwise) all its descendants."""
    total = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
        for task in Path(f"/proc/{pid}/task").iterdir() if children else []:
            children = (task / "children").read_text().split()
            total += sum(rss(int(child)) for child in children)
    except OSError:
        pass
    return total


def stream_chat(url: str, body: dict[str, Any]) -> float:
    """Time to the first streamed content of one chat completion (seconds)."""
    start = time.perf_counter()
    first = 0.0
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=600) as resp:
        if resp.status_code != 200:
            raise SystemExit(f"{url} answered {resp.status_code}: {resp.read()[:300]!r}")
        for line in resp.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            data = json.loads(line[6:])
            choices = data.get("choices") or [{}]
            if not first and (choices[0].get("delta") or {}).get("content"):
                first = time.perf_counter() - start
    return first


def load(
    url: str, clients: int, per_client: int, body: Callable[[str], dict[str, Any]]
) -> tuple[float, float]:
    """(requests completed per second of wall time, median TTFT) with ``clients`` at once."""
    ttfts: list[float] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        for j in range(per_client):
            try:
                ttft = stream_chat(url, body(PROMPTS[(i * per_client + j) % len(PROMPTS)]))
            except (SystemExit, httpx.HTTPError) as exc:
                print(f"  request to {url} failed: {exc}")
                continue
            with lock:
                ttfts.append(ttft)

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    return len(ttfts) / wall, statistics.median(ttfts)


def table(
    args: argparse.Namespace, sides: dict[str, str], bodies: dict[str, Callable[[str], dict]]
) -> dict[tuple[str, int], tuple[float, float]]:
    best: dict[tuple[str, int], tuple[float, float]] = {}
    for _ in range(args.rounds):
        for clients in CLIENTS:
            for name, url in sides.items():
                rate, ttft = load(url, clients, args.per_client, bodies[name])
                tps = rate * args.max_tokens
                old = best.get((name, clients))
                best[(name, clients)] = (
                    (max(tps, old[0]), min(ttft, old[1])) if old else (tps, ttft)
                )
    print(f"{'server':<22}{'clients':>8}{'tokens/s':>10}{'TTFT ms':>10}")
    for (name, clients), (tps, ttft) in sorted(best.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        print(f"{name:<22}{clients:>8}{tps:>10.1f}{ttft * 1000:>10.1f}")
    return best


def ratios(best: dict[tuple[str, int], tuple[float, float]], label: str) -> None:
    targets = {1: 0.95, 4: 0.95, 8: 0.9}
    for clients in CLIENTS:
        ours, theirs = best[("llmapps serve", clients)], best[("llama-server", clients)]
        line = (
            f"{label}{clients} client(s): tokens/s ratio {ours[0] / theirs[0]:.3f} "
            f"(target >= {targets[clients]}); TTFT ratio {ours[1] / theirs[1]:.3f}"
        )
        if clients == 4:
            line += " (target <= 1.2)"
        print(line)


def secondary(args: argparse.Namespace, path: Path, bias: dict[str, float], env: dict) -> None:
    """llama-cpp-python in-process and its Python server, 1 client (another process each, so
    a crash of one does not end the bench)."""
    code = f"""
import json, time, llama_cpp
llama = llama_cpp.Llama(model_path={str(path)!r}, n_ctx=2048, verbose=False,
                        n_threads={args.threads}, n_threads_batch={args.threads})
bias = {{int(k): v for k, v in {bias!r}.items()}}
rates, ttfts = [], []
for prompt in {PROMPTS[:4]!r} * {args.rounds}:
    start = time.perf_counter(); first = 0.0; n = 0
    for part in llama.create_chat_completion(messages=[{{"role": "user", "content": prompt}}],
            stream=True, temperature=0.0, max_tokens={args.max_tokens}, logit_bias=bias):
        if part["choices"] and part["choices"][0]["delta"].get("content"):
            n += 1
            first = first or time.perf_counter() - start
    rates.append({args.max_tokens} / (time.perf_counter() - start)); ttfts.append(first)
print(json.dumps([max(rates), sorted(ttfts)[len(ttfts) // 2]]))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    if out.returncode == 0:
        tps, ttft = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{'in-process llama_cpp':<22}{1:>8}{tps:>10.1f}{ttft * 1000:>10.1f}")
    else:
        print(f"in-process llama_cpp: failed (exit code {out.returncode})")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--n_ctx", "2048",
         "--n_threads", str(args.threads), "--host", "127.0.0.1", "--port", str(port),
         "--interrupt_requests", "False"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        wait_up(url + "/v1/models", proc)
        body = chat_body("smollm2", bias, args.max_tokens)
        tps, ttft = load(url, 1, args.per_client * args.rounds, body)
        print(f"{'llama_cpp.server':<22}{1:>8}{tps * args.max_tokens:>10.1f}{ttft * 1000:>10.1f}")
    except (SystemExit, httpx.HTTPError) as exc:
        print(f"llama_cpp.server: failed ({exc})")
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def same_sampling() -> dict[str, Any]:
    """The sampler settings our server applies when a request names none (Ollama's defaults,
    which Ollama applies on ``/v1`` too), sent to llama-server explicitly: its own defaults
    differ (no repeat penalty, whose pass over the whole vocabulary costs every token), and the
    comparison is at equal settings."""
    from llmapps.serve.options import GenOptions

    opts = GenOptions()
    keys = ("top_k", "top_p", "min_p", "repeat_penalty", "repeat_last_n")
    return {key: getattr(opts, key) for key in keys}


def chat_body(
    model: str, bias: dict[str, float], max_tokens: int, extra: dict[str, Any] | None = None
) -> Callable[[str], dict]:
    def body(prompt: str) -> dict[str, Any]:
        return {
            **(extra or {}),
            "model": model,
            "messages": [{"role": "user", "content": prompt}],
            "stream": True,
            # Sampling without a seed: both sides reuse each slot's cached prompt prefix (a
            # greedy or seeded request to llmapps evaluates its whole prompt, for determinism).
            "temperature": 0.7,
            "max_tokens": max_tokens,
            "logit_bias": bias,
        }

    return body


def main() -> None:
    from llmapps.models.local.discovery import bundled_model_path
    from llmapps.models.local.hardware import USER_OMP_WAIT_POLICY, physical_cores
    from llmapps.serve.vocab import vocab_model

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--per-client", type=int, default=2, help="requests per client")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--n-ctx", type=int, default=2048, help="context per slot, both sides")
    parser.add_argument("--threads", type=int, default=physical_cores())
    parser.add_argument("--compete", action="store_true", help="again beside a busy process")
    parser.add_argument("--no-secondary", action="store_true")
    args = parser.parse_args()

    path = bundled_model_path()
    vocab = vocab_model(path)
    banned = {vocab.token_eos(), *vocab.tokenize(b"<|im_end|>", add_bos=False, special=True)}
    bias = {str(t): -100.0 for t in banned}
    binary = peer_binary()
    home = tempfile.mkdtemp(prefix="llmapps-bench-serve-")
    ours_port, theirs_port = free_port(), free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "LLMAPPS_HOME": home,
        "LLMAPPS_MODELS__N_CTX": str(args.n_ctx),
        "LLMAPPS_MODELS__N_THREADS": str(args.threads),
        "LLMAPPS_SERVER__PARALLEL": str(SLOTS),
        "LLMAPPS_SERVER__RUNNER": str(binary),
        "LLMAPPS_SERVER__QUEUE_SIZE": "64",
    }
    env.pop("LLMAPPS_API_KEYS", None)
    log = open(Path(home) / "serve.log", "wb")  # noqa: SIM115 - open while the server runs
    ours = subprocess.Popen(
        [sys.executable, "-c", "from llmapps.cli import main; main()", "serve", "--port",
         str(ours_port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    print(f"(our server's log: {log.name})")
    # llama-server as a user starts it: llama.cpp's own OpenMP wait policy unless the user set
    # one (importing llmapps above set OMP_WAIT_POLICY=PASSIVE in this process's environment).
    peer_env = dict(os.environ)
    if USER_OMP_WAIT_POLICY is None:
        peer_env.pop("OMP_WAIT_POLICY", None)
    theirs = subprocess.Popen(
        [str(binary), "-m", str(path), "--host", "127.0.0.1", "--port", str(theirs_port),
         "-np", str(SLOTS), "-c", str(args.n_ctx * SLOTS), "-t", str(args.threads)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=peer_env,
    )  # fmt: skip
    busy: subprocess.Popen[bytes] | None = None
    try:
        sides = {
            "llmapps serve": f"http://127.0.0.1:{ours_port}",
            "llama-server": f"http://127.0.0.1:{theirs_port}",
        }
        wait_up(sides["llmapps serve"] + "/", ours)
        wait_up(sides["llama-server"] + "/health", theirs)
        bodies = {
            "llmapps serve": chat_body("smollm2", bias, args.max_tokens),
            "llama-server": chat_body("smollm2", bias, args.max_tokens, same_sampling()),
        }
        for name, url in sides.items():  # warm-up: load the model, start the runner
            load(url, SLOTS, 1, bodies[name])
        print(
            f"SmolLM2 GGUF, {args.max_tokens} tokens per request, {args.threads} "
            f"threads, {SLOTS} slots x {args.n_ctx} context, {args.per_client} requests per "
            f"client, best of {args.rounds} rounds"
        )
        best = table(args, sides, bodies)
        ratios(best, "")
        ours_rss, theirs_rss = rss(ours.pid), rss(theirs.pid)
        server_rss = rss(ours.pid, children=False)
        print(
            f"RSS after 4-slot load: llmapps serve {server_rss / 2**20:.0f} MiB + runner "
            f"{(ours_rss - server_rss) / 2**20:.0f} MiB = {ours_rss / 2**20:.0f} MiB, "
            f"llama-server {theirs_rss / 2**20:.0f} MiB, ratio {ours_rss / theirs_rss:.3f} "
            "(target <= 1.3)"
        )
        if args.compete:
            busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            print("\nwith one CPU-bound process beside the servers:")
            ratios(table(args, sides, bodies), "competing, ")
            busy.terminate()
            busy = None
        if not args.no_secondary:
            print("\nsecondary (1 client):")
            secondary(args, path, bias, env)
    finally:
        for proc in (ours, theirs, busy):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=20)


if __name__ == "__main__":
    main()
