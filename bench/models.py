"""Tokens per second of the embedded model: through ``llmapps.models`` vs ``llama_cpp`` directly.

Why: the model layer (LangChain chat model, pool, call logging to SQLite, exact token counts)
must cost next to nothing on top of llama.cpp. Both sides run the same GGUF, the same prompts
and the same sampling (greedy, so both generate the same tokens), streamed, interleaved A/B/A/B
in one process so machine noise hits both alike. Prints the ratio (target >= 0.95).

Usage: ``.venv/bin/python bench/models.py [--max-tokens 64] [--rounds 3]`` (about a minute).
On a busy machine every figure swings with other processes' load (on the shared 2-core
development box single runs ranged from 0.7 to 1.8): compare several lines, run it twice,
or run it on an idle machine. The best-of-rounds line filters the worst interference.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from typing import Any

PROMPTS = [
    "Write a short story about a robot who learns to paint.",
    "Explain how a bicycle works to a ten year old.",
    "List some tips for staying focused while studying.",
    "用中文介绍一下长城。",
]
SYSTEM = "You are a helpful assistant."
SAMPLING: dict[str, Any] = {
    "temperature": 0.0,
    "top_p": 0.95,
    "top_k": 40,
    "min_p": 0.05,
    "repeat_penalty": 1.1,
    "seed": 7,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n-ctx", type=int, default=2048)
    args = parser.parse_args()

    # A throwaway data dir: the bench's call-log rows must not land in the user's database.
    os.environ["LLMAPPS_HOME"] = tempfile.mkdtemp(prefix="llmapps-bench-")
    os.environ["LLMAPPS_MODELS__N_CTX"] = str(args.n_ctx)

    import llama_cpp
    from langchain_core.messages import HumanMessage, SystemMessage

    from llmapps.config import load_settings
    from llmapps.models import get_chat_model
    from llmapps.models.local.discovery import bundled_model_path

    settings = load_settings()
    path = bundled_model_path()
    direct = llama_cpp.Llama(model_path=str(path), n_ctx=args.n_ctx, verbose=False)
    ours = get_chat_model(
        "local:smollm2",
        app="bench",
        settings=settings,
        max_tokens=args.max_tokens,
        temperature=SAMPLING["temperature"],
        top_p=SAMPLING["top_p"],
        seed=SAMPLING["seed"],
    )

    def count(text: str) -> int:
        return len(direct.tokenize(text.encode("utf-8"), add_bos=False)) if text else 0

    def run_direct(prompt: str) -> tuple[int, float, float]:
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]
        started, cpu = time.perf_counter(), time.process_time()
        text = ""
        for part in direct.create_chat_completion(
            messages=messages,  # type: ignore[arg-type]
            max_tokens=args.max_tokens,
            stream=True,
            **SAMPLING,
        ):
            text += part["choices"][0]["delta"].get("content") or ""  # type: ignore[index]
        return count(text), time.perf_counter() - started, time.process_time() - cpu

    def run_ours(prompt: str) -> tuple[int, float, float]:
        messages = [SystemMessage(SYSTEM), HumanMessage(prompt)]
        started, cpu = time.perf_counter(), time.process_time()
        text = "".join(chunk.text for chunk in ours.stream(messages))
        return count(text), time.perf_counter() - started, time.process_time() - cpu

    # Warm up both (loads, first-call allocations).
    run_direct("Hi")
    run_ours("Hi")

    totals = {"direct": [0.0, 0.0, 0.0], "llmapps": [0.0, 0.0, 0.0]}
    ratios: list[float] = []
    best: dict[tuple[str, int], float] = {}  # fastest wall time per (side, prompt)
    for round_no in range(args.rounds):
        for i, prompt in enumerate(PROMPTS):
            order = (("direct", run_direct), ("llmapps", run_ours))
            if (round_no + i) % 2:
                order = order[::-1]
            rates = {}
            for name, fn in order:
                tokens, seconds, cpu_seconds = fn(prompt)
                totals[name][0] += tokens
                totals[name][1] += seconds
                totals[name][2] += cpu_seconds
                best[(name, i)] = min(best.get((name, i), seconds), seconds)
                rates[name] = tokens / seconds if seconds else 0.0
            if rates["direct"]:
                ratios.append(rates["llmapps"] / rates["direct"])

    d_tok, d_s, d_cpu = totals["direct"]
    o_tok, o_s, o_cpu = totals["llmapps"]
    d_rate, o_rate = d_tok / d_s, o_tok / o_s
    print(
        f"model: {path.name}  prompts: {len(PROMPTS)} x {args.rounds} rounds, "
        f"max_tokens={args.max_tokens}, greedy"
    )
    print(
        f"llama_cpp.Llama direct : {d_tok:5.0f} tokens in {d_s:6.2f}s = {d_rate:6.1f} tokens/s"
        f"  ({d_tok / d_cpu:6.1f} per CPU-second)"
    )
    print(
        f"llmapps.models (stream): {o_tok:5.0f} tokens in {o_s:6.2f}s = {o_rate:6.1f} tokens/s"
        f"  ({o_tok / o_cpu:6.1f} per CPU-second)"
    )
    print(f"ratio llmapps/direct (wall tokens/s): {o_rate / d_rate:.3f}  (target >= 0.95)")
    print(f"ratio llmapps/direct (median per prompt pair, wall): {statistics.median(ratios):.3f}")
    best_ratio = sum(best[("direct", i)] for i in range(len(PROMPTS))) / sum(
        best[("llmapps", i)] for i in range(len(PROMPTS))
    )
    print(f"ratio llmapps/direct (best of rounds per prompt, wall): {best_ratio:.3f}")
    print(
        f"ratio llmapps/direct (tokens per CPU-second of this process): "
        f"{(o_tok / o_cpu) / (d_tok / d_cpu):.3f}"
    )


if __name__ == "__main__":
    main()
