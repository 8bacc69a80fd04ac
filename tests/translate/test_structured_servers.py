"""Structured batches against real OpenAI-compatible servers on loopback.

Our own server implements ``response_format: json_schema`` (a llama.cpp grammar), so a batch
is one call there. A server without it (many vLLM/ChatGLM builds) answers 400: the translator
asks once, is not retried, and switches to the numbered-text path for the rest of the run.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from llmapps.app import create_app
from llmapps.config import get_settings
from llmapps.models import get_chat_model
from llmapps.translate.chain import format_items
from tests.translate.test_structured import TEXTS, _translator


@pytest.mark.model
def test_batch_is_one_call_through_our_openai_compatible_server(live_server: Any) -> None:
    server = live_server(create_app(get_settings(), ui=False))
    model = get_chat_model(
        f"openai-compatible:smollm2@{server.url}/v1", max_tokens=160, temperature=0.0, seed=0
    )
    translator, tracker = _translator(model)
    out = translator.translate(TEXTS)
    assert len(out) == len(TEXTS) and all(t.strip() for t in out)
    assert tracker.progress.model_calls == 1 and tracker.progress.fallback_calls == 0


def _completion(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "glm",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52},
    }


def test_server_without_json_schema_falls_back_to_numbered_text(httpserver: HTTPServer) -> None:
    structured_requests: list[dict[str, Any]] = []

    def handler(request: Request) -> Response:
        body = json.loads(request.data)
        if "response_format" in body:
            structured_requests.append(body)
            error = {
                "error": {
                    "message": "response_format is not supported",
                    "type": "invalid_request_error",
                    "param": "response_format",
                    "code": None,
                }
            }
            return Response(json.dumps(error), status=400, content_type="application/json")
        user = body["messages"][-1]["content"]
        items = re.findall(r"^\[\d+\]\n(.*)$", user, re.MULTILINE)
        answer = format_items([f"译:{item}" for item in items])
        return Response(json.dumps(_completion(answer)), content_type="application/json")

    httpserver.expect_request("/v1/chat/completions", method="POST").respond_with_handler(handler)
    model = get_chat_model(f"openai-compatible:glm@{httpserver.url_for('/v1')}", max_tokens=200)
    translator, tracker = _translator(model)

    assert translator.translate(TEXTS) == [f"译:{t}" for t in TEXTS]
    assert len(structured_requests) == 1  # a 400 is not retried
    assert structured_requests[0]["response_format"]["type"] == "json_schema"
    assert tracker.progress.model_calls == 1 and tracker.progress.fallback_calls == 0

    # Later batches go straight to the text path.
    assert translator.translate(TEXTS[:2]) == [f"译:{t}" for t in TEXTS[:2]]
    assert len(structured_requests) == 1
