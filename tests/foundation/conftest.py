"""Fixtures for the foundation tests: fast-retry settings and wire-format helpers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from llmapps.config import Settings, load_settings

T = TypeVar("T")


@pytest.fixture
def fast_settings(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Settings]:
    """Settings with tiny backoff and timeout so retry/timeout tests take well under a second."""

    def make(timeout: float = 5.0, retries: int = 2, **env: str) -> Settings:
        monkeypatch.setenv("LLMAPPS_MODELS__RETRY_WAIT", "0.01")
        monkeypatch.setenv("LLMAPPS_MODELS__TIMEOUT", str(timeout))
        monkeypatch.setenv("LLMAPPS_MODELS__MAX_RETRIES", str(retries))
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return load_settings()

    return make


def openai_sse(pieces: list[str], model: str = "m", usage: tuple[int, int] = (7, 3)) -> str:
    """An OpenAI chat-completions stream: ``data: {...}`` chunks, usage, ``data: [DONE]``."""
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model}
    events: list[dict[str, Any]] = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
    ]
    for piece in pieces:
        events.append({**base, "choices": [{"index": 0, "delta": {"content": piece}}]})
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    events.append(
        {
            **base,
            "choices": [],
            "usage": {
                "prompt_tokens": usage[0],
                "completion_tokens": usage[1],
                "total_tokens": sum(usage),
            },
        }
    )
    return "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"


def openai_completion(text: str, model: str = "m", usage: tuple[int, int] = (7, 3)) -> dict:
    """A non-streamed OpenAI chat completion body."""
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": sum(usage),
        },
    }


def ollama_ndjson(pieces: list[str], model: str = "m", usage: tuple[int, int] = (6, 2)) -> str:
    """An Ollama ``/api/chat`` stream: one JSON object a line, the last with ``done: true``."""
    lines = [
        {
            "model": model,
            "created_at": "2026-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": piece},
            "done": False,
        }
        for piece in pieces
    ]
    lines.append(
        {
            "model": model,
            "created_at": "2026-01-01T00:00:01Z",
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "total_duration": 1000,
            "load_duration": 10,
            "prompt_eval_count": usage[0],
            "prompt_eval_duration": 100,
            "eval_count": usage[1],
            "eval_duration": 100,
        }
    )
    return "".join(json.dumps(line) + "\n" for line in lines)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` in a fresh thread: Playwright's sync API keeps a loop running in ours."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
