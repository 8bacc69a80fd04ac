"""A model's tokenizer and metadata, loaded without its weights.

Why: the server renders and tokenizes prompts itself (templates, tools, exact ``num_ctx``
checks, truncation) before any runner sees them, and checks limits (trained context, memory,
logit_bias token ids) before a model is loaded. A vocab-only llama.cpp load gives the same
tokenizer the runner uses, in milliseconds and a few megabytes.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

_lock = threading.Lock()


def vocab_model(path: Path) -> Any:
    """A vocab-only ``llama_cpp.Llama`` for ``path`` (cached; refreshed when the file changes)."""
    mtime = path.stat().st_mtime_ns if path.is_file() else 0
    with _lock:
        return _vocab(str(path), mtime)


@lru_cache(maxsize=8)
def _vocab(path: str, _mtime: int) -> Any:
    import llama_cpp
    from llama_cpp._utils import suppress_stdout_stderr

    # llama.cpp logs a context warning even for a vocab-only load; keep the console clean.
    with suppress_stdout_stderr(disable=False):
        return llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)


def gguf_metadata(path: Path) -> dict[str, Any]:
    """GGUF metadata (architecture, sizes, chat template); {} when it is not a loadable GGUF."""
    try:
        llama = vocab_model(path)
    except (ValueError, RuntimeError, OSError):
        return {}
    return dict(llama.metadata or {})
