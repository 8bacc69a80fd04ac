"""One prompt in, a stream of text out: what ``llmapps ask`` and the Playground tab share.

Why a function: the CLI and the web tab must behave the same (same parameters, same logging
under their app name, same errors), so neither builds messages or picks models itself.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from llmapps.access import LOCAL, Access
from llmapps.config import Settings
from llmapps.models.errors import ModelError


@dataclass
class AnswerStats:
    """Filled in while an answer streams: chunks, timing, the usage the model reported."""

    chunks: int = 0
    seconds: float = 0.0
    first_chunk_seconds: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def tokens_per_second(self) -> float | None:
        if not self.completion_tokens or self.seconds <= 0:
            return None
        return self.completion_tokens / self.seconds


def stream_answer(
    prompt: str,
    *,
    spec: str | None = None,
    system: str | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    max_tokens: int | None = None,
    app: str = "ask",
    settings: Settings,
    stats: AnswerStats | None = None,
    access: Access = LOCAL,
) -> Iterator[str]:
    """Yield the answer to ``prompt`` piece by piece from the model ``spec`` (default model);
    a remote caller (``access``) may only name the models the guard allows."""
    from llmapps.models import get_chat_model
    from llmapps.models.guard import check_spec

    check_spec(spec, settings, access)
    if not prompt.strip():
        raise ModelError("the prompt is empty: type a question (or pipe one in with '-')")
    if max_tokens is not None and max_tokens < 1:
        raise ModelError(f"max tokens must be at least 1 (got {max_tokens})")
    model = get_chat_model(
        spec or None,
        app=app,
        settings=settings,
        temperature=temperature,
        top_p=top_p,
        max_tokens=max_tokens,
    )
    messages: list[BaseMessage] = [SystemMessage(system)] if system and system.strip() else []
    messages.append(HumanMessage(prompt))
    started = time.perf_counter()
    for chunk in model.stream(messages):
        usage = chunk.usage_metadata
        if stats is not None:
            if usage:
                stats.prompt_tokens = (stats.prompt_tokens or 0) + usage.get("input_tokens", 0)
                stats.completion_tokens = (stats.completion_tokens or 0) + usage.get(
                    "output_tokens", 0
                )
            stats.seconds = time.perf_counter() - started
        if chunk.text:
            if stats is not None:
                stats.chunks += 1
                if stats.first_chunk_seconds is None:
                    stats.first_chunk_seconds = stats.seconds
            yield chunk.text
