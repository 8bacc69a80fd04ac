"""Request options: keep-alive durations and sampling options merged from three layers.

Why one place: both APIs (OpenAI names such as ``max_tokens``, Ollama names such as
``num_predict``) and the ``llmapps run`` REPL end up with the same :class:`GenOptions`, built
from built-in defaults <- the Modelfile's PARAMETERs <- the request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from llmapps.serve.errors import BadRequestError
from llmapps.serve.modelfile import PARAMETER_TYPES, convert_parameter

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"(-?\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")

# Ollama options we accept and ignore (they tune hardware, not results).
IGNORED_OPTIONS = {
    "numa",
    "num_batch",
    "low_vram",
    "f16_kv",
    "logits_all",
    "vocab_only",
    "use_mmap",
    "use_mlock",
    "embedding_only",
    "num_thread",
    "num_keep",
    "tfs_z",
    "typical_p",
    "mirostat",
    "mirostat_tau",
    "mirostat_eta",
    "penalize_newline",
}
EXTRA_OPTIONS = {"presence_penalty": float, "frequency_penalty": float}


def parse_keep_alive(value: Any, default: float = 300.0) -> float:
    """``"5m"``, ``"30s"``, ``"1h30m"``, a number of seconds; 0 unloads now; < 0 keeps forever."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise BadRequestError("keep_alive must be a duration such as '5m' or a number of seconds")
    if isinstance(value, int | float):
        return -1.0 if value < 0 else float(value)
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        return -1.0 if number < 0 else number
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text.replace(" ", ""):
        raise BadRequestError(
            f"invalid keep_alive {value!r}: use a duration like '5m', '30s', '1h', or seconds",
            param="keep_alive",
        )
    seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    return -1.0 if seconds < 0 else seconds


@dataclass
class GenOptions:
    """Sampling and length options for one generation (Ollama's defaults)."""

    temperature: float = 0.8
    top_k: int = 40
    top_p: float = 0.9
    min_p: float = 0.0
    repeat_penalty: float = 1.1
    repeat_last_n: int = 64
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    seed: int | None = None
    num_predict: int = -1  # -1: until the model stops or the context is full
    num_ctx: int = 4096
    stop: list[str] = field(default_factory=list)
    num_gpu: int | None = None  # layers on the GPU (-1: all); None: models.n_gpu_layers
    main_gpu: int | None = None  # None: models.main_gpu

    @property
    def deterministic(self) -> bool:
        """Greedy or seeded: the same request must give the same answer every time."""
        return self.temperature <= 0 or self.seed is not None

    def apply(self, values: dict[str, Any] | None, where: str = "options") -> GenOptions:
        """Override with ``values`` (Ollama option names); unknown names are a 400."""
        for key, raw in (values or {}).items():
            if raw is None or key in IGNORED_OPTIONS:
                continue
            if key in EXTRA_OPTIONS:
                setattr(self, key, float(raw))
                continue
            if key not in PARAMETER_TYPES:
                raise BadRequestError(
                    f"{where}: unknown option '{key}' (known: {', '.join(PARAMETER_TYPES)})",
                    param=key,
                )
            value = convert_parameter(key, raw, f"{where}: ")
            setattr(self, key, list(value) if key == "stop" else value)
        return self


def base_options(parameters: dict[str, Any], n_ctx: int) -> GenOptions:
    """Defaults, with the server's context size, overridden by a model's PARAMETERs."""
    return GenOptions(num_ctx=n_ctx).apply(parameters, "PARAMETER")
