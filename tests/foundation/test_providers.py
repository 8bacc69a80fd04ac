"""Remote providers against loopback servers speaking the real OpenAI / Ollama wire formats."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from langchain_core.messages import AIMessageChunk
from langchain_core.tools import tool
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from llmapps.config import Settings
from llmapps.models import (
    AuthError,
    MissingKeyError,
    RateLimitedError,
    RequestRejectedError,
    UnknownModelError,
    UnreachableError,
    get_chat_model,
    get_embeddings,
)
from llmapps.models.calllog import recent_calls
from tests.foundation.conftest import ollama_ndjson, openai_completion, openai_sse, run_async

SSE = "text/event-stream"


def _compat(httpserver: HTTPServer, model: str = "glm") -> str:
    return f"openai-compatible:{model}@{httpserver.url_for('/v1')}"


def _settle(httpserver: HTTPServer, requests: int) -> None:
    """Wait for a slow handler to finish so its log entry does not leak into the next test."""
    deadline = time.monotonic() + 5
    while len(httpserver.log) < requests and time.monotonic() < deadline:
        time.sleep(0.05)


def _bodies(httpserver: HTTPServer) -> list[dict]:
    return [json.loads(req.get_data()) for req, _ in httpserver.log]


# --- OpenAI-compatible -----------------------------------------------------------------------


def test_compatible_stream_and_max_tokens_field(
    httpserver: HTTPServer, fast_settings: Callable[..., Settings]
) -> None:
    settings = fast_settings()
    httpserver.expect_request("/v1/chat/completions", method="POST").respond_with_data(
        openai_sse(["你好", ", ", "world"]), content_type=SSE
    )
    model = get_chat_model(_compat(httpserver), settings=settings, max_tokens=17, temperature=0)
    chunks = list(model.stream("hi"))
    assert "".join(c.text for c in chunks) == "你好, world"
    body = _bodies(httpserver)[0]
    assert body["max_tokens"] == 17  # the field OpenAI-compatible servers honour
    assert "max_completion_tokens" not in body
    assert body["stream"] is True
    assert body["model"] == "glm"
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    # usage reached the call log from the SSE usage chunk
    row = recent_calls(settings)[0]
    assert (row["prompt_tokens"], row["completion_tokens"], row["error"]) == (7, 3, None)


def test_openai_sends_max_completion_tokens_and_key(
    httpserver: HTTPServer, fast_settings: Callable[..., Settings]
) -> None:
    settings = fast_settings(OPENAI_API_KEY="sk-test-1234567890")
    httpserver.expect_request(
        "/v1/chat/completions", headers={"Authorization": "Bearer sk-test-1234567890"}
    ).respond_with_json(openai_completion("fine"))
    model = get_chat_model(f"openai:gpt-4o-mini@{httpserver.url_for('/v1')}", settings=settings)
    assert model.invoke("hi", max_tokens=9).content == "fine"
    body = _bodies(httpserver)[0]
    assert body["max_completion_tokens"] == 9


def test_compatible_server_never_gets_the_openai_key(
    httpserver: HTTPServer, fast_settings: Callable[..., Settings]
) -> None:
    settings = fast_settings(OPENAI_API_KEY="sk-openai-private-123")
    httpserver.expect_request("/v1/chat/completions").respond_with_json(openai_completion("x"))
    get_chat_model(_compat(httpserver), settings=settings).invoke("hi")
    sent = httpserver.log[0][0].headers.get("Authorization")
    assert "sk-openai-private" not in sent

    settings = fast_settings(OPENAI_COMPATIBLE_API_KEY="glm-key-456789")
    get_chat_model(_compat(httpserver), settings=settings).invoke("hi")
    assert httpserver.log[1][0].headers.get("Authorization") == "Bearer glm-key-456789"


def test_429_then_success_honours_retry_after(
    httpserver: HTTPServer, fast_settings: Callable[..., Settings]
) -> None:
    settings = fast_settings(retries=3)
    rate_limited = {"error": {"message": "slow down", "type": "rate_limit"}}
    httpserver.expect_ordered_request("/v1/chat/completions").respond_with_json(
        rate_limited, status=429, headers={"Retry-After": "0.3"}
    )
    httpserver.expect_ordered_request("/v1/chat/completions").respond_with_data(
        openai_sse(["ok"]), content_type=SSE
    )
    model = get_chat_model(_compat(httpserver), settings=settings)
    started = time.monotonic()
    assert "".join(c.text for c in model.stream("hi")) == "ok"
    assert time.monotonic() - started >= 0.3  # waited as Retry-After asked, not 0.01s
    assert len(httpserver.log) == 2


def test_5xx_then_success_on_invoke(
    httpserver: HTTPServer, fast_settings: Callable[..., Settings]
) -> None:
    settings = fast_settings()
    httpserver.expect_ordered_request("/v1/chat/completions").respond_with_json(
        {"error": {"message": "overloaded"}}, status=503
    )
    httpserver.expect_ordered_request("/v1/chat/completions").respond_with_json(
        openai_completion("after retry")
    )
    model = get_chat_model(_compat(httpserver), settings=settings)
    assert model.invoke("hi").content == "after retry"
    assert len(httpserver.log) == 2


def test_429_forever_is_rate_limited_error_after_our_retries_only(
    httpserver: HTTPServer, fast_settings: Callable[..., Settings]
) -> None:
    settings = fast_settings(retries=2)
    httpserver.expect_request("/v1/chat/completions").respond_with_json(
        {"error": {"message": "slow down"}}, status=429
    )
    model = get_chat_model(_compat(httpserver), settings=settings)
    with pytest.raises(RateLimitedError, match="429"):
        model.invoke("hi")
    assert len(httpserver.log) == 3  # 1 try + 2 retries: the SDK adds none of its own
    row = recent_calls(settings)[0]
    assert "429" in row["error"]


def test_401_is_auth_error_naming_the_key(
    httpserver: HTTPServer, fast_settings: Callable[..., Settings]
) -> None:
    settings = fast_settings(OPENAI_API_KEY="sk-wrong-000000000")
    httpserver.expect_request("/v1/chat/completions").respond_with_json(
        {"error": {"message": "Incorrect API key", "code": "invalid_api_key"}}, status=401
    )
    model = get_chat_model(f"openai:gpt-4o-mini@{httpserver.url_for('/v1')}", settings=settings)
    with pytest.raises(AuthError, match="OPENAI_API_KEY") as info:
        model.invoke("hi")
    assert "\n" not in str(info.value)
    assert "sk-wrong" not in str(info.value)
    assert len(httpserver.log) == 1  # 401 is not retried


def test_unknown_model_404_names_model_and_url(
    httpserver: HTTPServer, fast_settings: Callable[..., Settings]
) -> None:
    settings = fast_settings()
    httpserver.expect_request("/v1/chat/completions").respond_with_json(
        {"error": {"message": "The model `nope` does not exist", "code": "model_not_found"}},
        status=404,
    )
    model = get_chat_model(_compat(httpserver, "nope"), settings=settings)
    with pytest.raises(UnknownModelError) as info:
        list(model.stream("hi"))
    message = str(info.value)
    assert "'nope'" in message and httpserver.url_for("/v1") in message
    assert len(httpserver.log) == 1


def test_rejected_request_400_is_final_and_names_the_server(
    httpserver: HTTPServer, fast_settings: Callable[..., Settings]
) -> None:
    settings = fast_settings()
    httpserver.expect_request("/v1/chat/completions").respond_with_json(
        {"error": {"message": "response_format is not supported", "type": "invalid_request"}},
        status=400,
    )
    with pytest.raises(RequestRejectedError, match=r"HTTP 400: .*response_format is not supported"):
        get_chat_model(_compat(httpserver), settings=settings).invoke("hi")
    assert len(httpserver.log) == 1  # a rejected request is not retried


def test_timeout_is_unreachable_error(
    httpserver: HTTPServer, fast_settings: Callable[..., Settings]
) -> None:
    settings = fast_settings(timeout=0.5)

    def slow(_request: Request) -> Response:
        time.sleep(1.5)
        return Response(json.dumps(openai_completion("late")), content_type="application/json")

    httpserver.expect_request("/v1/chat/completions").respond_with_handler(slow)
    model = get_chat_model(_compat(httpserver), settings=settings)
    started = time.monotonic()
    with pytest.raises(UnreachableError, match=r"did not answer within 0\.5s"):
        model.invoke("hi")
    assert time.monotonic() - started < 1.4
    _settle(httpserver, 1)
    assert len(httpserver.log) == 1  # a read timeout is not retried


def test_unreachable_host_is_one_line_error(fast_settings: Callable[..., Settings]) -> None:
    from tests.conftest import free_port

    settings = fast_settings(retries=1)
    url = f"http://127.0.0.1:{free_port()}/v1"
    model = get_chat_model(f"openai-compatible:m@{url}", settings=settings)
    with pytest.raises(UnreachableError, match="cannot reach") as info:
        model.invoke("hi")
    assert url in str(info.value)


def test_missing_openai_key(fast_settings: Callable[..., Settings]) -> None:
    with pytest.raises(MissingKeyError, match="OPENAI_API_KEY is not set"):
        get_chat_model("openai:gpt-4o-mini", settings=fast_settings())


def test_stream_not_retried_after_first_chunk(
    httpserver: HTTPServer, fast_settings: Callable[..., Settings]
) -> None:
    """A stream that dies mid-way raises instead of replaying (the user already saw text)."""
    settings = fast_settings(retries=3)
    broken = openai_sse(["partial"]).split("data: [DONE]")[0]
    broken = broken.split("\n\n")[1] + "\n\ndata: {not json\n\n"
    httpserver.expect_request("/v1/chat/completions").respond_with_data(broken, content_type=SSE)
    model = get_chat_model(_compat(httpserver), settings=settings)
    seen: list[str] = []
    with pytest.raises(Exception):  # noqa: B017 - any error, as long as it is not retried
        for chunk in model.stream("hi"):
            seen.append(chunk.text)
    assert seen == ["partial"]
    assert len(httpserver.log) == 1


def test_async_stream_and_tool_calls(
    httpserver: HTTPServer, fast_settings: Callable[..., Settings]
) -> None:
    settings = fast_settings()
    call = {
        "id": "chatcmpl-2",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'},
                        }
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25},
    }
    httpserver.expect_ordered_request("/v1/chat/completions").respond_with_json(call)
    httpserver.expect_ordered_request("/v1/chat/completions").respond_with_data(
        openai_sse(["a", "sync"]), content_type=SSE
    )

    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    model = get_chat_model(_compat(httpserver), settings=settings)
    message = model.bind_tools([add]).invoke("2+3?")
    assert message.tool_calls[0]["name"] == "add"
    assert message.tool_calls[0]["args"] == {"a": 2, "b": 3}
    assert _bodies(httpserver)[0]["tools"][0]["function"]["name"] == "add"

    async def collect() -> str:
        parts = [c async for c in model.astream("hi")]
        assert all(isinstance(p, AIMessageChunk) for p in parts)
        return "".join(p.text for p in parts)

    assert run_async(collect()) == "async"


def test_openai_embeddings(httpserver: HTTPServer, fast_settings: Callable[..., Settings]) -> None:
    settings = fast_settings()
    httpserver.expect_ordered_request("/v1/embeddings").respond_with_json(
        {"error": {"message": "busy"}}, status=500
    )
    httpserver.expect_ordered_request("/v1/embeddings").respond_with_json(
        {
            "object": "list",
            "model": "emb",
            "data": [
                {"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]},
                {"object": "embedding", "index": 1, "embedding": [0.3, 0.2, 0.1]},
            ],
            "usage": {"prompt_tokens": 4, "total_tokens": 4},
        }
    )
    emb = get_embeddings(f"openai-compatible:emb@{httpserver.url_for('/v1')}", settings=settings)
    vectors = emb.embed_documents(["a", "b"])
    assert vectors == [[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]]
    assert _bodies(httpserver)[1]["input"] == ["a", "b"]


# --- Ollama ----------------------------------------------------------------------------------


def _ollama(httpserver: HTTPServer, model: str = "qwen2.5:7b") -> str:
    return f"ollama:{model}@{httpserver.url_for('').rstrip('/')}"


def test_ollama_stream_num_predict_and_usage(
    httpserver: HTTPServer, fast_settings: Callable[..., Settings]
) -> None:
    settings = fast_settings()
    httpserver.expect_request("/api/chat", method="POST").respond_with_data(
        ollama_ndjson(["你", "好"]), content_type="application/x-ndjson"
    )
    model = get_chat_model(_ollama(httpserver), settings=settings, max_tokens=11, top_p=0.5)
    assert "".join(c.text for c in model.stream("hi")) == "你好"
    body = _bodies(httpserver)[0]
    assert body["model"] == "qwen2.5:7b"
    assert body["options"]["num_predict"] == 11
    assert body["options"]["top_p"] == 0.5
    row = recent_calls(settings)[0]
    assert (row["prompt_tokens"], row["completion_tokens"]) == (6, 2)


def test_ollama_503_then_success(
    httpserver: HTTPServer, fast_settings: Callable[..., Settings]
) -> None:
    settings = fast_settings()
    httpserver.expect_ordered_request("/api/chat").respond_with_json(
        {"error": "server busy"}, status=503
    )
    httpserver.expect_ordered_request("/api/chat").respond_with_data(
        ollama_ndjson(["ok"]), content_type="application/x-ndjson"
    )
    model = get_chat_model(_ollama(httpserver), settings=settings)
    assert model.invoke("hi").content == "ok"
    assert len(httpserver.log) == 2


def test_ollama_429_forever(httpserver: HTTPServer, fast_settings: Callable[..., Settings]) -> None:
    settings = fast_settings(retries=1)
    httpserver.expect_request("/api/chat").respond_with_json({"error": "too many"}, status=429)
    with pytest.raises(RateLimitedError):
        get_chat_model(_ollama(httpserver), settings=settings).invoke("hi")
    assert len(httpserver.log) == 2


def test_ollama_rejected_request_400_is_final(
    httpserver: HTTPServer, fast_settings: Callable[..., Settings]
) -> None:
    settings = fast_settings()
    httpserver.expect_request("/api/chat").respond_with_json(
        {"error": 'invalid format: expected "json" or a JSON schema'}, status=400
    )
    with pytest.raises(RequestRejectedError, match="HTTP 400: invalid format"):
        get_chat_model(_ollama(httpserver), settings=settings).invoke("hi")
    assert len(httpserver.log) == 1


def test_ollama_unknown_model_says_pull(
    httpserver: HTTPServer, fast_settings: Callable[..., Settings]
) -> None:
    settings = fast_settings()
    httpserver.expect_request("/api/chat").respond_with_json(
        {"error": "model 'nope' not found"}, status=404
    )
    with pytest.raises(UnknownModelError, match="ollama pull nope"):
        list(get_chat_model(_ollama(httpserver, "nope"), settings=settings).stream("hi"))
    assert len(httpserver.log) == 1


def test_ollama_timeout_and_unreachable(
    httpserver: HTTPServer, fast_settings: Callable[..., Settings]
) -> None:
    from tests.conftest import free_port

    settings = fast_settings(timeout=0.5, retries=1)

    def slow(_request: Request) -> Response:
        time.sleep(1.5)
        return Response(ollama_ndjson(["late"]), content_type="application/x-ndjson")

    httpserver.expect_request("/api/chat").respond_with_handler(slow)
    with pytest.raises(UnreachableError, match="did not answer"):
        get_chat_model(_ollama(httpserver), settings=settings).invoke("hi")
    _settle(httpserver, 1)
    with pytest.raises(UnreachableError, match="cannot reach Ollama"):
        get_chat_model(f"ollama:m@http://127.0.0.1:{free_port()}", settings=settings).invoke("hi")


def test_ollama_embeddings(httpserver: HTTPServer, fast_settings: Callable[..., Settings]) -> None:
    settings = fast_settings()
    httpserver.expect_request("/api/embed", method="POST").respond_with_json(
        {"model": "nomic-embed-text", "embeddings": [[0.5, 0.5], [1.0, 0.0]]}
    )
    emb = get_embeddings(_ollama(httpserver, "nomic-embed-text"), settings=settings)
    assert emb.embed_documents(["a", "b"]) == [[0.5, 0.5], [1.0, 0.0]]
    assert emb.embed_query("a") == [0.5, 0.5]
    assert run_async(emb.aembed_query("a")) == [0.5, 0.5]
    assert _bodies(httpserver)[0]["input"] == ["a", "b"]
    assert len(httpserver.log) == 3


def test_ollama_tool_calls(httpserver: HTTPServer, fast_settings: Callable[..., Settings]) -> None:
    settings = fast_settings()
    reply = {
        "model": "qwen2.5:7b",
        "created_at": "2026-01-01T00:00:00Z",
        "message": {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "add", "arguments": {"a": 2, "b": 3}}}],
        },
        "done": True,
        "done_reason": "stop",
        "prompt_eval_count": 30,
        "eval_count": 9,
    }
    httpserver.expect_request("/api/chat").respond_with_data(
        json.dumps(reply) + "\n", content_type="application/x-ndjson"
    )

    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    model = get_chat_model(_ollama(httpserver), settings=settings)
    message = model.bind_tools([add]).invoke("2+3?")
    assert message.tool_calls[0]["name"] == "add"
    assert message.tool_calls[0]["args"] == {"a": 2, "b": 3}
    assert _bodies(httpserver)[0]["tools"][0]["function"]["name"] == "add"
