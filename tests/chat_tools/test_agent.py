"""The agent loop with LangChain's fake chat models, and once on the embedded model."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import BaseTool

from llmapps.chat.agent import AgentEvent, coerce_args, parse_react, run_agent
from llmapps.chat.tools import build_tools
from llmapps.config import Settings


class ToolCallingFake(GenericFakeChatModel):
    """LangChain's fake model plus ``bind_tools``: replies come from ``messages`` in order."""

    disable_streaming: bool = True
    seen: list[list[BaseMessage]] = []  # noqa: RUF012 - per-instance via model_copy below

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ToolCallingFake:
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.seen.append(list(messages))
        return super()._generate(messages, *args, **kwargs)


def _tools(settings: Settings) -> list[BaseTool]:
    return build_tools(settings, names=["calculator", "current_time", "read_file"])


def _check_well_formed(events: list[AgentEvent], max_steps: int) -> None:
    assert events, "no events"
    assert events[-1].kind in {"final", "error"}
    assert sum(e.kind in {"final", "error"} for e in events) == 1
    calls = [e for e in events if e.kind == "tool_call"]
    results = [e for e in events if e.kind == "tool_result"]
    assert [c.data["id"] for c in calls] == [r.data["id"] for r in results]
    assert all(set(c.data) == {"id", "name", "args", "step"} for c in calls)
    assert all(c.data["step"] <= max_steps for c in calls)
    if events[-1].kind == "final":
        assert set(events[-1].data) == {"text", "steps", "reason"}
        assert events[-1].data["steps"] <= max_steps


def test_native_tool_calls(settings: Settings) -> None:
    model = ToolCallingFake(
        messages=iter(
            [
                AIMessage(
                    content="",
                    tool_calls=[
                        {"name": "calculator", "args": {"expression": "6 * 7"}, "id": "c1"},
                        {"name": "read_file", "args": {"path": "../etc/passwd"}, "id": "c2"},
                    ],
                ),
                AIMessage(content="6 × 7 = 42."),
            ]
        ),
        seen=[],
    )
    events = list(run_agent(model, [HumanMessage("6*7?")], _tools(settings)))
    _check_well_formed(events, 6)
    kinds = [e.kind for e in events]
    assert kinds == ["tool_call", "tool_call", "tool_result", "tool_result", "token", "final"] or (
        kinds == ["tool_call", "tool_result", "tool_call", "tool_result", "token", "final"]
    )
    results = {e.data["id"]: e.data for e in events if e.kind == "tool_result"}
    assert results["c1"]["content"] == "42" and results["c1"]["error"] is False
    assert "'..' is not allowed" in results["c2"]["content"] and results["c2"]["error"] is True
    assert events[-1].data == {"text": "6 × 7 = 42.", "steps": 2, "reason": "answer"}
    second_call = model.seen[1]
    tool_messages = [m for m in second_call if isinstance(m, ToolMessage)]
    assert [m.tool_call_id for m in tool_messages] == ["c1", "c2"]
    assert tool_messages[0].content == "42"


def test_native_step_limit(settings: Settings) -> None:
    looping = AIMessage(
        content="", tool_calls=[{"name": "calculator", "args": {"expression": "1+1"}, "id": "x"}]
    )
    model = ToolCallingFake(messages=iter([looping] * 10), seen=[])
    events = list(run_agent(model, [HumanMessage("loop")], _tools(settings), max_steps=3))
    _check_well_formed(events, 3)
    assert sum(e.kind == "tool_call" for e in events) == 3
    assert events[-1].data["reason"] == "max_steps"
    assert len(model.seen) == 3


def test_react_loop_for_models_without_tool_calling(settings: Settings) -> None:
    model = FakeListChatModel(
        responses=[
            'Thought: I should compute.\nAction: calculator\nAction Input: {"expression": "2**10"}',
            "Thought: I know the answer\nFinal Answer: 2 的 10 次方是 1024。",
        ]
    )
    messages: list[BaseMessage] = [SystemMessage("You are helpful."), HumanMessage("2^10?")]
    events = list(run_agent(model, messages, _tools(settings)))
    _check_well_formed(events, 6)
    call = next(e for e in events if e.kind == "tool_call")
    assert call.data["name"] == "calculator" and call.data["args"] == {"expression": "2**10"}
    result = next(e for e in events if e.kind == "tool_result")
    assert result.data["content"] == "1024"
    tokens = "".join(e.data["text"] for e in events if e.kind == "token")
    assert tokens == "2 的 10 次方是 1024。"  # only the final answer streams, not the thoughts
    assert events[-1].data == {"text": "2 的 10 次方是 1024。", "steps": 2, "reason": "answer"}


def test_react_step_limit_unknown_tool_and_plain_answers(settings: Settings) -> None:
    stubborn = FakeListChatModel(responses=["Thought: again\nAction: calculator[1+1]"] * 9)
    events = list(run_agent(stubborn, [HumanMessage("x")], _tools(settings), max_steps=4))
    _check_well_formed(events, 4)
    assert sum(e.kind == "tool_call" for e in events) == 4
    assert all(e.data["args"] == {"expression": "1+1"} for e in events if e.kind == "tool_call")
    assert events[-1].data["reason"] == "max_steps"

    unknown = FakeListChatModel(
        responses=["Action: shell\nAction Input: rm -rf /", "Final Answer: sorry"]
    )
    events = list(run_agent(unknown, [HumanMessage("x")], _tools(settings)))
    result = next(e for e in events if e.kind == "tool_result")
    assert result.data["error"] is True and "unknown tool 'shell'" in result.data["content"]
    assert events[-1].data["text"] == "sorry"

    no_tools = FakeListChatModel(responses=["Action: calculator\nAction Input: 1"])
    events = list(run_agent(no_tools, [HumanMessage("x")], []))
    assert [e.kind for e in events if e.kind != "token"] == ["final"]
    assert events[-1].data["text"] == "Action: calculator\nAction Input: 1"

    plain = FakeListChatModel(responses=["Paris is the capital of France."])
    events = list(run_agent(plain, [HumanMessage("capital?")], _tools(settings)))
    assert [e.kind for e in events if e.kind != "token"] == ["final"]
    assert "".join(e.data["text"] for e in events if e.kind == "token") == (
        "Paris is the capital of France."
    )
    assert events[-1].data["text"] == "Paris is the capital of France."


def test_cancellation_and_errors(settings: Settings) -> None:
    stop = threading.Event()
    stop.set()
    model = FakeListChatModel(responses=["Final Answer: a long answer"])
    events = list(run_agent(model, [HumanMessage("x")], _tools(settings), stop_event=stop))
    assert events[-1].kind == "final" and events[-1].data["reason"] == "cancelled"

    class Broken(FakeListChatModel):
        def _stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
            raise RuntimeError("model server unreachable")

    events = list(run_agent(Broken(responses=["x"]), [HumanMessage("x")], _tools(settings)))
    assert [e.kind for e in events] == ["error"]
    assert "model server unreachable" in events[0].data["message"]


def test_react_parsing_is_lenient(settings: Settings) -> None:
    step = parse_react("Thought: hmm\nAction: `calculator`\nAction Input: 3*3\nObservation: 9")
    assert (step.action, step.action_input) == ("calculator", "3*3")
    step = parse_react("Action：calculator(2+2)")
    assert (step.action, step.action_input) == ("calculator", "2+2")
    assert parse_react("Thought: done\n最终答案：四").final == "四"
    calc = build_tools(settings, names=["calculator"])[0]
    assert coerce_args(calc, '```json\n{"expression": "1+2"}\n```') == {"expression": "1+2"}
    assert coerce_args(calc, "{'expr': '1+2'}") == {"expression": "1+2"}
    assert coerce_args(calc, '"5*5"') == {"expression": "5*5"}


@pytest.mark.model
def test_agent_end_to_end_on_the_embedded_model(settings: Settings) -> None:
    from llmapps.models import get_chat_model

    model = get_chat_model(app="chat", settings=settings, max_tokens=48, temperature=0, seed=1)
    tools = build_tools(settings, names=["calculator"])
    messages: list[BaseMessage] = [HumanMessage("What is 12 * 7? Use the calculator.")]
    events = list(run_agent(model, messages, tools, max_steps=2))
    _check_well_formed(events, 2)
    assert events[-1].kind == "final", events[-1]
    assert events[-1].data["reason"] in {"answer", "max_steps"}
    for event in events:
        if event.kind == "tool_result":
            assert isinstance(event.data["content"], str) and event.data["content"]
