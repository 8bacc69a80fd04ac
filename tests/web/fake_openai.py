"""A loopback OpenAI-compatible server for UI flow tests (real HTTP, exact JSON/SSE shapes).

``answer(prompt)`` decides the text; ``gate`` (a threading.Event) holds every request until set,
so a test can keep a job running as long as it needs, without timing luck.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


def chunk(text: str | None) -> str:
    """One OpenAI chat.completion.chunk SSE event (``None``: the closing chunk)."""
    delta = {"content": text} if text is not None else {}
    body = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "fake",
        "choices": [
            {"index": 0, "delta": delta, "finish_reason": None if text is not None else "stop"}
        ],
    }
    return f"data: {json.dumps(body)}\n\n"


def make_app(answer: Callable[[str], str], gate: threading.Event | None = None) -> Starlette:
    async def completions(request: Request) -> Response:
        body: dict[str, Any] = await request.json()
        while gate is not None and not gate.is_set():
            await asyncio.sleep(0.05)
        prompt = str(body["messages"][-1]["content"])
        text = answer(prompt)
        if body.get("stream"):

            async def pieces() -> AsyncIterator[str]:
                for word in text.split(" "):
                    yield chunk(word + " ")
                yield chunk(None) + "data: [DONE]\n\n"

            return StreamingResponse(pieces(), media_type="text/event-stream")
        return JSONResponse(
            {
                "id": "c1",
                "object": "chat.completion",
                "created": 0,
                "model": "fake",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13},
            }
        )

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])
