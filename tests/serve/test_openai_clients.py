"""The official OpenAI SDK and LangChain's ChatOpenAI against our /v1, on the real model."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from openai import OpenAI

pytestmark = pytest.mark.model


def client(server: Any) -> OpenAI:
    return OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)


def langchain_chat(server: Any, **kwargs: Any) -> Any:
    """LangChain's ChatOpenAI pointed at our /v1 (no key, no SDK retries)."""
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        base_url=f"{server.url}/v1", api_key="unused", model="smollm2", max_retries=0, **kwargs
    )


def ask_weather(
    server: Any, weather_tool: dict[str, Any], question: str, tool_choice: Any, **kwargs: Any
) -> Any:
    """A greedy chat completion that offers the weather tool."""
    return client(server).chat.completions.create(
        model="smollm2",
        messages=[{"role": "user", "content": question}],
        tools=[weather_tool],
        tool_choice=tool_choice,
        max_tokens=48,
        temperature=0,
        **kwargs,
    )


def test_models_list_and_get(server: Any) -> None:
    oa = client(server)
    ids = [m.id for m in oa.models.list()]
    assert "smollm2:latest" in ids
    assert oa.models.retrieve("smollm2").id == "smollm2:latest"


def test_chat_completion_with_usage_and_seed(server: Any) -> None:
    oa = client(server)
    kwargs: dict[str, Any] = {
        "model": "smollm2",
        "messages": [{"role": "user", "content": "Say hello."}],
        "max_tokens": 12,
        "seed": 7,
        "temperature": 0.7,
    }
    first = oa.chat.completions.create(**kwargs)
    second = oa.chat.completions.create(**kwargs)
    assert first.choices[0].message.role == "assistant"
    assert first.choices[0].message.content
    assert first.choices[0].message.content == second.choices[0].message.content  # same seed
    assert first.usage is not None
    assert first.usage.prompt_tokens > 0
    assert 0 < first.usage.completion_tokens <= 12
    assert first.choices[0].finish_reason in ("stop", "length")


def test_max_completion_tokens_and_stop(server: Any) -> None:
    oa = client(server)
    out = oa.chat.completions.create(
        model="smollm2",
        messages=[{"role": "user", "content": "Count: 1, 2, 3, 4, 5, 6, 7"}],
        max_completion_tokens=5,
        temperature=0,
    )
    assert out.usage is not None and out.usage.completion_tokens <= 5
    assert out.choices[0].finish_reason == "length"


def test_stream_with_include_usage_ends_with_done(server: Any) -> None:
    oa = client(server)
    stream = oa.chat.completions.create(
        model="smollm2",
        messages=[{"role": "user", "content": "Tell me a short story."}],
        max_tokens=16,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] in ("stop", "length")
    # The raw wire format ends with the [DONE] sentinel.
    with httpx.stream(
        "POST",
        f"{server.url}/v1/chat/completions",
        json={
            "model": "smollm2",
            "messages": [{"role": "user", "content": "Hi"}],
            "max_tokens": 4,
            "stream": True,
        },
        timeout=60,
    ) as resp:
        lines = [line for line in resp.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    assert json.loads(lines[0][6:])["object"] == "chat.completion.chunk"


def test_json_response_format_is_valid_json(server: Any) -> None:
    oa = client(server)
    out = oa.chat.completions.create(
        model="smollm2",
        messages=[{"role": "user", "content": "Give a JSON object with a key name."}],
        max_tokens=60,
        temperature=0,
        response_format={
            "type": "json_schema",
            "json_schema": {
                "name": "person",
                "schema": {
                    "type": "object",
                    "properties": {"name": {"type": "string", "maxLength": 12}},
                    "required": ["name"],
                },
            },
        },
    )
    data = json.loads(out.choices[0].message.content or "")
    assert isinstance(data["name"], str)


def test_forced_tool_call(server: Any, weather_tool: dict[str, Any]) -> None:
    out = ask_weather(
        server,
        weather_tool,
        "What is the weather in Paris?",
        {"type": "function", "function": {"name": "get_weather"}},
    )
    choice = out.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert len(calls) == 1 and calls[0].function.name == "get_weather"  # type: ignore[union-attr]
    args = json.loads(calls[0].function.arguments)  # type: ignore[union-attr]
    assert isinstance(args["city"], str)


def test_streamed_tool_call(server: Any, weather_tool: dict[str, Any]) -> None:
    stream = ask_weather(server, weather_tool, "Weather in Rome?", "required", stream=True)
    calls = [tc for c in stream if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert calls and calls[0].function is not None
    assert calls[0].function.name == "get_weather"


def test_completions_and_embeddings(server: Any) -> None:
    oa = client(server)
    out = oa.completions.create(model="smollm2", prompt="The capital of France is", max_tokens=6)
    assert out.choices[0].text
    assert out.usage is not None and out.usage.completion_tokens <= 6
    emb = oa.embeddings.create(model="smollm2", input=["hello world", "bonjour"])
    assert len(emb.data) == 2
    vec = emb.data[0].embedding
    assert len(vec) > 100
    assert abs(sum(x * x for x in vec) - 1.0) < 1e-3  # L2-normalised
    plain = httpx.post(
        f"{server.url}/v1/embeddings",
        json={"model": "smollm2", "input": "hello world", "encoding_format": "float"},
        timeout=60,
    ).json()
    assert plain["data"][0]["embedding"][:5] == pytest.approx(vec[:5], abs=1e-5)


def test_langchain_chat_openai(server: Any) -> None:
    chat = langchain_chat(server, max_tokens=10)
    answer = chat.invoke("Say hi")
    assert isinstance(answer.content, str) and answer.content
    pieces = [c.content for c in chat.stream("Say hi")]
    assert "".join(str(p) for p in pieces).strip()


def test_langchain_bind_tools_and_tool_result_turn(server: Any) -> None:
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
    from langchain_core.tools import tool

    @tool
    def get_weather(city: str) -> str:
        """Current weather of a city."""
        return f"sunny in {city}"

    chat = langchain_chat(server, max_tokens=48, temperature=0)
    forced = chat.bind_tools([get_weather], tool_choice="get_weather")
    answer = forced.invoke("What is the weather in Paris?")
    assert isinstance(answer, AIMessage) and answer.tool_calls
    call = answer.tool_calls[0]
    assert call["name"] == "get_weather" and isinstance(call["args"].get("city"), str)
    # The tool's result goes back as a tool message; the model then answers in text.
    follow = chat.bind_tools([get_weather], tool_choice="none").invoke(
        [
            HumanMessage("What is the weather in Paris?"),
            answer,
            ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"]),
        ]
    )
    assert isinstance(follow.content, str) and follow.content
