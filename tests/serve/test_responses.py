"""OpenAI's Responses API (/v1/responses) through the official SDK, on the real embedded model.

Generation is greedy (temperature 0). Where the bundled 135M model's words are weak, the tests
assert what the server guarantees: item shapes, grammar-forced JSON, event order, and that a
stored conversation rebuilds exactly the prompt a client would send itself (same token count).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

pytestmark = pytest.mark.model

MODEL = "smollm2"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather of a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}
TEXT_EVENTS = [
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
]


def client(server: Any) -> OpenAI:
    return OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)


def create(server: Any, **kwargs: Any) -> Any:
    """A greedy ``responses.create`` with a small output budget."""
    kwargs.setdefault("max_output_tokens", 24)
    return client(server).responses.create(model=MODEL, temperature=0, **kwargs)


def assert_terminal(response: Any) -> None:
    """``completed``, or ``incomplete`` because the output budget ran out, as OpenAI reports."""
    assert response.status in ("completed", "incomplete")
    if response.status == "incomplete":
        assert response.incomplete_details is not None
        assert response.incomplete_details.reason == "max_output_tokens"
    else:
        assert response.incomplete_details is None


def collapse(types: list[str]) -> list[str]:
    """Event types with runs of the same delta event folded into one."""
    out: list[str] = []
    for kind in types:
        if not (out and kind == out[-1] and kind.endswith(".delta")):
            out.append(kind)
    return out


def test_plain_string_input(server: Any) -> None:
    first = create(server, input="Say hello.", metadata={"case": "plain"})
    second = create(server, input="Say hello.")
    assert first.object == "response" and first.id.startswith("resp_")
    assert first.model == MODEL
    assert_terminal(first)
    [message] = first.output
    assert message.type == "message" and message.role == "assistant"
    assert message.id.startswith("msg_")
    [part] = message.content
    assert part.type == "output_text" and part.annotations == []
    assert first.output_text and first.output_text == part.text
    assert first.output_text == second.output_text  # greedy: the same answer twice
    usage = first.usage
    assert usage is not None
    assert usage.input_tokens > 0 and 0 < usage.output_tokens <= 24
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert usage.input_tokens_details.cached_tokens == 0
    assert usage.output_tokens_details.reasoning_tokens == 0
    assert first.metadata == {"case": "plain"}
    assert first.temperature == 0 and first.max_output_tokens == 24
    assert first.store is True and first.previous_response_id is None
    assert first.tool_choice == "auto" and first.tools == []
    assert first.text is not None and first.text.format is not None
    assert first.text.format.type == "text"


def test_instructions_and_message_items(server: Any) -> None:
    terse = create(server, input="Name a colour.", instructions="Answer in one word.")
    instructed = create(
        server,
        input="Name a colour.",
        instructions="You are a painter who loves bright colours. Answer in one word.",
    )
    assert instructed.instructions.startswith("You are a painter")
    assert terse.usage is not None and instructed.usage is not None
    assert instructed.usage.input_tokens > terse.usage.input_tokens  # they are in the prompt
    assert_terminal(instructed)
    assert instructed.output_text
    # The same turn as a message item with input_text parts is the same prompt.
    as_items = create(
        server,
        input=[{"role": "user", "content": [{"type": "input_text", "text": "Name a colour."}]}],
        instructions="You are a painter who loves bright colours. Answer in one word.",
    )
    assert as_items.usage is not None
    assert as_items.usage.input_tokens == instructed.usage.input_tokens
    assert as_items.output_text == instructed.output_text


def test_json_schema_format_gives_parsable_output(server: Any) -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string", "maxLength": 24},
            "capital": {"type": "boolean"},
        },
        "required": ["city", "capital"],
        "additionalProperties": False,
    }
    response = create(
        server,
        input="Which city is the capital of France?",
        text={
            "format": {"type": "json_schema", "name": "answer", "schema": schema, "strict": True}
        },
        max_output_tokens=64,
    )
    assert response.status == "completed"
    data = json.loads(response.output_text)
    assert set(data) == {"city", "capital"}
    assert isinstance(data["city"], str) and len(data["city"]) <= 24
    assert isinstance(data["capital"], bool)
    assert response.text is not None and response.text.format is not None
    assert response.text.format.type == "json_schema"
    assert response.text.format.name == "answer"


def test_json_object_format(server: Any) -> None:
    response = create(
        server,
        input="Describe a cat as JSON.",
        text={"format": {"type": "json_object"}},
        max_output_tokens=48,
    )
    if response.status == "completed":
        assert isinstance(json.loads(response.output_text), dict)
    else:  # cut by the budget: still JSON so far, starting with an object
        assert response.output_text.lstrip().startswith("{")


@pytest.mark.parametrize("choice", [{"type": "function", "name": "get_weather"}, "required"])
def test_forced_function_call(server: Any, choice: Any) -> None:
    response = create(
        server,
        input="What is the weather in Paris?",
        tools=[WEATHER],
        tool_choice=choice,
        max_output_tokens=48,
    )
    assert response.status == "completed"
    [call] = response.output
    assert call.type == "function_call" and call.status == "completed"
    assert call.name == "get_weather"
    assert call.id.startswith("fc_") and call.call_id.startswith("call_")
    args = json.loads(call.arguments)
    assert set(args) == {"city"} and isinstance(args["city"], str)
    assert response.output_text == ""
    assert response.tools[0].name == "get_weather"


def test_tool_choice_none_answers_in_text(server: Any) -> None:
    response = create(
        server, input="What is the weather in Paris?", tools=[WEATHER], tool_choice="none"
    )
    assert [item.type for item in response.output] == ["message"]
    assert response.tool_choice == "none"


def test_tool_round_trip_with_function_call_output(server: Any) -> None:
    oa = client(server)
    question = "What is the weather in Paris?"
    asked = create(
        server,
        input=question,
        tools=[WEATHER],
        tool_choice={"type": "function", "name": "get_weather"},
        max_output_tokens=48,
    )
    [call] = asked.output
    assert call.type == "function_call"
    result = json.dumps({"city": "Paris", "temperature_c": 21, "sky": "sunny"})
    output_item = {"type": "function_call_output", "call_id": call.call_id, "output": result}
    # Continue the stored conversation with only the tool's result...
    continued = oa.responses.create(
        model=MODEL,
        previous_response_id=asked.id,
        input=[output_item],
        tools=[WEATHER],
        tool_choice="none",
        temperature=0,
        max_output_tokens=32,
    )
    # ...or send the whole exchange statelessly, as a client without store would.
    stateless = oa.responses.create(
        model=MODEL,
        input=[
            {"role": "user", "content": question},
            {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": call.arguments,
            },
            output_item,
        ],
        tools=[WEATHER],
        tool_choice="none",
        temperature=0,
        max_output_tokens=32,
        store=False,
    )
    for response in (continued, stateless):
        assert_terminal(response)
        assert [item.type for item in response.output] == ["message"]
        assert response.output_text
    assert continued.previous_response_id == asked.id
    assert continued.usage is not None and stateless.usage is not None
    # The stored call and its result are in the prompt, exactly as the client would send them.
    assert continued.usage.input_tokens == stateless.usage.input_tokens
    bare = create(server, input=question, tools=[WEATHER], tool_choice="none", max_output_tokens=1)
    assert bare.usage is not None
    assert continued.usage.input_tokens > bare.usage.input_tokens


def test_function_call_output_without_its_call_is_400(server: Any) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        create(
            server,
            input=[{"type": "function_call_output", "call_id": "call_unknown", "output": "1"}],
        )
    assert "call_unknown" in str(info.value)


def test_stream_text_event_sequence(server: Any) -> None:
    oa = client(server)
    stream = oa.responses.create(
        model=MODEL, input="Say hello.", temperature=0, max_output_tokens=24, stream=True
    )
    events = list(stream)
    types = [e.type for e in events]
    terminal = events[-1].response.status
    final_type = "response.completed" if terminal == "completed" else "response.incomplete"
    assert collapse(types) == [
        "response.created",
        "response.in_progress",
        *TEXT_EVENTS,
        final_type,
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    created = events[0].response
    final = events[-1].response
    assert created.status == "in_progress" and created.output == [] and created.usage is None
    assert final.id == created.id
    assert_terminal(final)
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    [done] = [e for e in events if e.type == "response.output_text.done"]
    assert deltas and done.text == deltas == final.output_text
    item_ids = {e.item_id for e in events if hasattr(e, "item_id")}
    assert item_ids == {final.output[0].id}
    # The same request without streaming gives the same answer, and the stream was stored.
    plain = create(server, input="Say hello.")
    assert plain.output_text == final.output_text
    stored = oa.responses.retrieve(final.id)
    assert stored.output_text == final.output_text and stored.status == final.status


def test_stream_wire_format(server: Any) -> None:
    """Each SSE frame is ``event: <type>`` plus ``data: {"type": <type>, ...}``; no [DONE]."""
    body = {"model": MODEL, "input": "Hi", "temperature": 0, "max_output_tokens": 4, "stream": True}
    with httpx.stream("POST", f"{server.url}/v1/responses", json=body, timeout=120) as raw:
        assert raw.status_code == 200
        assert raw.headers["content-type"].startswith("text/event-stream")
        text = raw.read().decode()
    frames = [f for f in text.split("\n\n") if f.strip()]
    assert "[DONE]" not in text
    for number, frame in enumerate(frames):
        event_line, data_line = frame.split("\n")
        data = json.loads(data_line.removeprefix("data: "))
        assert event_line == f"event: {data['type']}"
        assert data["sequence_number"] == number
    delta = json.loads(frames[4].split("\n")[1].removeprefix("data: "))
    assert set(delta) == {
        "type",
        "sequence_number",
        "item_id",
        "output_index",
        "content_index",
        "delta",
        "logprobs",
    }


def test_stream_function_call_event_sequence(server: Any) -> None:
    stream = client(server).responses.create(
        model=MODEL,
        input="What is the weather in Paris?",
        tools=[WEATHER],
        tool_choice="required",
        temperature=0,
        max_output_tokens=48,
        stream=True,
    )
    events = list(stream)
    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    added, delta, done, item_done = events[2:6]
    assert added.item.type == "function_call" and added.item.arguments == ""
    assert added.item.status == "in_progress"
    assert delta.delta == done.arguments
    assert json.loads(done.arguments)["city"]
    assert item_done.item.status == "completed"
    assert delta.item_id == done.item_id == item_done.item.id
    final = events[-1].response
    assert final.output[0].call_id == item_done.item.call_id


def test_store_previous_response_retrieve_and_delete(server: Any) -> None:
    oa = client(server)
    first = create(server, input="My name is Ada.")
    follow = oa.responses.create(
        model=MODEL,
        previous_response_id=first.id,
        input="What is my name?",
        temperature=0,
        max_output_tokens=24,
    )
    assert_terminal(follow)
    # The conversation the server rebuilt is the one a client would send itself.
    by_hand = oa.responses.create(
        model=MODEL,
        input=[
            {"role": "user", "content": "My name is Ada."},
            {"role": "assistant", "content": first.output_text},
            {"role": "user", "content": "What is my name?"},
        ],
        temperature=0,
        max_output_tokens=24,
        store=False,
    )
    assert follow.usage is not None and by_hand.usage is not None
    assert follow.usage.input_tokens == by_hand.usage.input_tokens
    assert follow.output_text == by_hand.output_text

    assert oa.responses.retrieve(first.id).model_dump() == first.model_dump()
    items = oa.responses.input_items.list(follow.id, order="asc")
    assert [(i.type, getattr(i, "role", None)) for i in items.data] == [
        ("message", "user"),
        ("message", "assistant"),
        ("message", "user"),
    ]

    oa.responses.delete(first.id)
    with pytest.raises(openai.NotFoundError):
        oa.responses.retrieve(first.id)
    with pytest.raises(openai.NotFoundError):
        oa.responses.delete(first.id)
    with pytest.raises(openai.NotFoundError) as info:
        oa.responses.create(model=MODEL, previous_response_id=first.id, input="Hi")
    assert info.value.body["param"] == "previous_response_id"
    # A response that continued from the deleted one keeps its whole conversation.
    assert oa.responses.retrieve(follow.id).output_text == follow.output_text
    again = oa.responses.create(
        model=MODEL, previous_response_id=follow.id, input="Thanks.", max_output_tokens=4
    )
    assert again.usage is not None and again.usage.input_tokens > follow.usage.input_tokens


def test_store_false_is_not_kept(server: Any) -> None:
    oa = client(server)
    response = create(server, input="Say hello.", store=False, max_output_tokens=4)
    assert response.store is False
    with pytest.raises(openai.NotFoundError):
        oa.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError):
        oa.responses.create(model=MODEL, previous_response_id=response.id, input="Hi")


def test_unknown_model_and_response_are_404(server: Any) -> None:
    oa = client(server)
    with pytest.raises(openai.NotFoundError) as info:
        oa.responses.create(model="no-such-model", input="Hi")
    assert info.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        oa.responses.retrieve("resp_missing")
    raw = httpx.get(f"{server.url}/v1/responses/resp_missing")
    assert raw.status_code == 404
    assert raw.json()["error"]["type"] == "invalid_request_error"
    assert "resp_missing" in raw.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (
            {"input": [{"role": "user", "content": [{"type": "input_image"}]}]},
            "input[0].content[0]",
        ),
        ({"input": [{"type": "web_search_call"}]}, "input[0]"),
        ({"input": [{"role": "robot", "content": "Hi"}]}, "input[0].role"),
        ({"input": ""}, "input"),
        ({"input": "Hi", "tools": [{"type": "web_search"}]}, "tools[0]"),
        (
            {"input": "Hi", "tools": [WEATHER], "tool_choice": {"type": "function", "name": "x"}},
            "tool_choice",
        ),
        ({"input": "Hi", "tool_choice": "required"}, "tool_choice"),
        (
            {"input": "Hi", "text": {"format": {"type": "json_schema", "name": "x"}}},
            "text.format.schema",
        ),
        ({"input": "Hi", "temperature": 3}, "temperature"),
        ({"input": "Hi", "max_output_tokens": 0}, "max_output_tokens"),
        ({"input": "Hi", "metadata": {str(i): "v" for i in range(17)}}, "metadata"),
        ({"input": "Hi", "background": True}, "background"),
        ({}, "model"),
    ],
)
def test_bad_input_is_400_in_openai_shape(server: Any, body: dict[str, Any], param: str) -> None:
    payload = {"model": MODEL, **body} if body else {}
    raw = httpx.post(f"{server.url}/v1/responses", json=payload)
    assert raw.status_code == 400, raw.text
    error = raw.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["message"] and "\n" not in error["message"]


def test_responses_need_a_key_when_keys_are_set(
    monkeypatch: pytest.MonkeyPatch, start_server: Any
) -> None:
    monkeypatch.setenv("LLMAPPS_API_KEYS", "key-responses-123456")
    server = start_server()
    for method, path in (("POST", "/v1/responses"), ("GET", "/v1/responses/resp_x")):
        raw = httpx.request(method, f"{server.url}{path}", json={"model": MODEL, "input": "Hi"})
        assert raw.status_code == 401
        assert raw.json()["error"]["code"] == "invalid_api_key"
    keyed = OpenAI(base_url=f"{server.url}/v1", api_key="key-responses-123456", max_retries=0)
    with pytest.raises(openai.NotFoundError):
        keyed.responses.retrieve("resp_x")


def test_malformed_json_is_400(server: Any) -> None:
    raw = httpx.post(
        f"{server.url}/v1/responses",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert raw.status_code == 400
    assert raw.json()["error"]["message"].startswith("malformed JSON")


def test_input_over_the_context_is_400_unless_truncation_auto(server: Any) -> None:
    oa = client(server)
    long_input = "word " * 3000  # over the tests' num_ctx of 2048
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as info:
            oa.responses.create(model=MODEL, input=long_input, stream=stream)
        assert info.value.code == "context_length_exceeded"
    response = create(server, input=long_input, truncation="auto", max_output_tokens=4)
    assert response.truncation == "auto"
    assert response.usage is not None and response.usage.input_tokens < 2048
