"""A model's metadata and chat template read from its GGUF header, and its tokenizer.

Why: the server renders and tokenizes prompts itself (templates, tools, exact ``num_ctx``
checks, truncation) and checks limits (trained context, memory, logit_bias token ids) before a
model is loaded. The header gives metadata, vocabulary size and the special tokens without
llama.cpp; the tokenizer is the runner's own (``/tokenize``, see ``runner_process``), or, for
the in-process engine, a vocab-only llama.cpp load. Keeping llama.cpp out of the server
process when runners serve saves about 45 MB of its resident memory.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from llmapps.serve.gguf_header import GGUFHeaderError, read_gguf_metadata

_lock = threading.Lock()
_TOKENS = "tokenizer.ggml.tokens"


@dataclass(frozen=True)
class GGUFInfo:
    """What the server needs from a GGUF header (scalar metadata as typed values)."""

    metadata: dict[str, Any] = field(default_factory=dict)
    n_vocab: int = 0
    eos_text: str = ""
    bos_text: str = ""

    @property
    def chat_template(self) -> str | None:
        template = self.metadata.get("tokenizer.chat_template")
        return template if isinstance(template, str) and template else None


def gguf_info(path: Path) -> GGUFInfo:
    """The header facts of ``path`` (cached; refreshed when the file changes); empty when it is
    not a readable GGUF."""
    mtime = path.stat().st_mtime_ns if path.is_file() else 0
    with _lock:
        return _info(str(path), mtime)


@lru_cache(maxsize=16)
def _info(path: str, _mtime: int) -> GGUFInfo:
    try:
        meta = read_gguf_metadata(Path(path), frozenset({_TOKENS}))
    except (GGUFHeaderError, OSError):
        return GGUFInfo()
    tokens = meta.pop(_TOKENS, None)
    tokens = tokens if isinstance(tokens, list) else []

    def text(key: str) -> str:
        index = meta.get(key)
        if isinstance(index, int) and 0 <= index < len(tokens):
            return str(tokens[index])
        return ""

    return GGUFInfo(
        metadata=meta,
        n_vocab=len(tokens),
        eos_text=text("tokenizer.ggml.eos_token_id"),
        bos_text=text("tokenizer.ggml.bos_token_id"),
    )


def gguf_metadata(path: Path) -> dict[str, Any]:
    """GGUF metadata (architecture, sizes, chat template); {} when it is not a readable GGUF."""
    return dict(gguf_info(path).metadata)


def vocab_model(path: Path) -> Any:
    """A vocab-only ``llama_cpp.Llama`` for ``path`` (cached; refreshed when the file changes):
    the tokenizer of the in-process engine."""
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
