"""Limits that hold per server: context size caps, context-size classes, memory estimates.

Why before loading: llama.cpp allocates the whole KV cache when a model is loaded, so one
request asking for ``num_ctx`` 1000000 used to grow the server until the kernel killed it,
and each distinct ``num_ctx`` loaded its own copy. Here a request's ``num_ctx`` is checked
against ``server.max_ctx``, the model's trained context and ``server.max_memory`` (a 400
naming the limit), rounded up to a *class* (powers of two) so near values share one runner,
and a load that would not fit next to the models already loaded is refused (503).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from llmapps.config import Settings
from llmapps.models.local.hardware import total_memory
from llmapps.serve.errors import BadRequestError
from llmapps.serve.vocab import gguf_info

MIN_CTX_CLASS = 2048
# Compute buffers, logits and the runner's own code, besides weights and KV cache.
RUNNER_OVERHEAD = 96 * 1024 * 1024
MIB = 1024 * 1024
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)


def parse_memory(value: str | int | None, total: int) -> int:
    """``"12GB"``, ``"512MiB"``, ``"75%"`` (of ``total``) or bytes; None means 75%."""
    if value is None or value == "":
        return int(total * 0.75)
    if isinstance(value, int):
        return value
    text = value.strip()
    if text.endswith("%"):
        return int(total * float(text[:-1]) / 100)
    match = _SIZE.match(text)
    if not match:
        raise BadRequestError(
            f"server.max_memory {value!r} is not a size: use bytes, '12GB', '512MiB' or '75%'"
        )
    unit = (match.group(2) or "b").lower()
    power = "bkmgt".index(unit[0])
    scale = 1024**power if "i" in unit else 1000**power
    return int(float(match.group(1)) * scale)


def max_memory(settings: Settings) -> int:
    return parse_memory(settings.server.max_memory, total_memory())


@dataclass(frozen=True)
class ModelFacts:
    """What limits and memory depend on, read from the GGUF header."""

    trained_ctx: int
    kv_bytes_per_token: int  # K and V, f16, all layers
    n_vocab: int
    weights: int  # bytes of the GGUF (and adapter)


def model_facts(path: Path, adapter: str | None = None) -> ModelFacts:
    info = gguf_info(path)
    meta = info.metadata
    arch = meta.get("general.architecture", "llama")

    def num(key: str, default: int) -> int:
        try:
            return int(float(meta.get(f"{arch}.{key}", default)))
        except (TypeError, ValueError):
            return default

    layers = num("block_count", 32)
    heads = max(1, num("attention.head_count", 32))
    kv_heads = num("attention.head_count_kv", heads)
    head_dim = num("embedding_length", 4096) // heads
    k_len = num("attention.key_length", head_dim)
    v_len = num("attention.value_length", head_dim)
    n_vocab = info.n_vocab or 32000
    weights = path.stat().st_size if path.is_file() else 0
    if adapter and Path(adapter).is_file():
        weights += Path(adapter).stat().st_size
    return ModelFacts(
        trained_ctx=num("context_length", 4096),
        kv_bytes_per_token=layers * kv_heads * (k_len + v_len) * 2,
        n_vocab=n_vocab,
        weights=weights,
    )


def estimate(facts: ModelFacts, ctx_total: int) -> int:
    """Bytes a runner with ``ctx_total`` KV cells (all slots) is expected to take."""
    logits = facts.n_vocab * 4 * 512  # one ubatch of float logits
    return facts.weights + facts.kv_bytes_per_token * ctx_total + logits + RUNNER_OVERHEAD


def prompt_cache_mib(settings: Settings, facts: ModelFacts, ctx_total: int) -> int:
    """MiB of host-RAM prompt cache a runner gets (llama-server's ``--cache-ram``; 0 = off).

    Why: with ``parallel`` slots, a prompt seen before (a system prompt, a chat's earlier turns,
    a retried request) often lands in a slot that last held another one; llama-server then
    restores the prefix from this cache instead of evaluating it again, which is most of the
    time to first token. Capped at the runner's own KV cache size, so a small model gets a small
    cache, and at ``server.prompt_cache_mb``."""
    cap = settings.server.prompt_cache_mb
    if cap <= 0:
        return 0
    kv_mib = -(-facts.kv_bytes_per_token * ctx_total // MIB)
    return max(1, min(cap, kv_mib))


def runner_estimate(settings: Settings, facts: ModelFacts, ctx_total: int) -> int:
    """Bytes a runner process with ``ctx_total`` KV cells takes, its prompt cache included."""
    return estimate(facts, ctx_total) + prompt_cache_mib(settings, facts, ctx_total) * MIB


def ctx_class(n_ctx: int, cap: int) -> int:
    """The runner context size (per slot) that serves a request for ``n_ctx``."""
    size = MIN_CTX_CLASS
    while size < n_ctx:
        size *= 2
    return max(n_ctx, min(size, cap))


def check_ctx(
    settings: Settings, name: str, path: Path, adapter: str | None, n_ctx: int, slots: int
) -> int:
    """The context class for ``n_ctx``, or a 400 naming the limit it is over."""
    if n_ctx < 1:
        raise BadRequestError(f"num_ctx {n_ctx} must be at least 1", param="num_ctx")
    facts = model_facts(path, adapter)
    cap = min(settings.server.max_ctx, facts.trained_ctx)
    if n_ctx > cap:
        which = (
            f"{name}'s trained context"
            if facts.trained_ctx <= settings.server.max_ctx
            else "server.max_ctx"
        )
        raise BadRequestError(
            f"num_ctx {n_ctx} is over the limit of {cap} ({which}): ask for at most {cap}",
            param="num_ctx",
        )
    size = ctx_class(n_ctx, cap)
    budget = max_memory(settings)
    if estimate(facts, size * slots) > budget:
        fits = (budget - estimate(facts, 0)) // max(1, facts.kv_bytes_per_token * slots)
        best, step = 0, MIN_CTX_CLASS
        while step <= fits:
            best, step = step, step * 2
        hint = (
            f"ask for at most {min(best, cap)}"
            if best
            else "raise server.max_memory or lower server.parallel"
        )
        raise BadRequestError(
            f"num_ctx {n_ctx} needs about {_gb(estimate(facts, size * slots))} with "
            f"{slots} slots, over server.max_memory ({_gb(budget)}): {hint}",
            param="num_ctx",
        )
    return size


def _gb(size: int) -> str:
    return f"{size / 1e9:.2f} GB"
