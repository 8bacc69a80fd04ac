"""``llmapps chat`` one-shot and REPL through Typer's CliRunner (fake model injected)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from typer.testing import CliRunner

from llmapps.chat.service import get_service
from llmapps.cli import app
from llmapps.config import get_settings

runner = CliRunner()


def _fake(*responses: str) -> None:
    model = FakeListChatModel(responses=list(responses))
    get_service(get_settings()).model_factory = lambda spec, params: model


def test_one_shot_prints_the_answer_and_stores_it() -> None:
    _fake("Bonjour!")
    result = runner.invoke(app, ["chat", "-p", "translator", "Hello!"])
    assert result.exit_code == 0, result.output
    assert "Bonjour!" in result.output
    store = get_service(get_settings()).store
    conv = store.all()[0]
    assert conv.persona == "translator"
    assert [m.content for m in store.messages(conv.id)] == ["Hello!", "Bonjour!"]
    again = runner.invoke(app, ["chat", "-c", str(conv.id), "And goodbye"])
    assert again.exit_code == 0
    assert len(store.messages(conv.id)) == 4


def test_one_shot_errors_are_one_line_and_non_zero() -> None:
    _fake("x")
    result = runner.invoke(app, ["chat", "-p", "nobody", "hi"])
    assert result.exit_code == 1
    assert "persona 'nobody' not found" in result.output
    result = runner.invoke(app, ["chat", "--memory", "forever", "hi"])
    assert result.exit_code == 2 and "unknown memory strategy" in result.output
    result = runner.invoke(app, ["chat", "-c", "42", "hi"])
    assert result.exit_code == 1 and "conversation 42 not found" in result.output


def test_repl_commands(tmp_path: Path) -> None:
    _fake("first answer", "second answer", "third answer")
    out = tmp_path / "conv.json"
    md = tmp_path / "conv.md"
    script = "\n".join(
        [
            "/help",
            "/persona coder",
            "hello there",
            "/regen",
            f"/export {out}",
            f"/export {md}",
            f"/export {md}",
            "/new",
            "another topic",
            "/list",
            "/switch 1",
            "/kb nosuchkb",
            "/tools teleport",
            "/frobnicate",
            "/exit",
        ]
    )
    result = runner.invoke(app, ["chat"], input=script + "\n")
    assert result.exit_code == 0, result.output
    output = result.output
    assert "/switch ID" in output  # help
    assert "first answer" in output and "second answer" in output
    assert "third answer" in output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["conversation"]["persona"] == "coder"
    assert [m["content"] for m in data["messages"]] == ["hello there", "second answer"]
    assert md.read_text(encoding="utf-8").startswith("# hello there")
    assert "already exists" in output  # exports never overwrite
    assert "another topic" in output  # /list shows both titles
    assert "conversation 1: hello there" in output
    assert "knowledge base 'nosuchkb' not found" in output
    assert "unknown command /frobnicate" in output
    assert "unknown tool 'teleport'" in output
    convs = get_service(get_settings()).store.all()
    assert len(convs) == 2 and convs[0].persona == "coder"  # persona kept for /new


def test_personas_and_conversations_commands(tmp_path: Path) -> None:
    _fake("ok")
    made = runner.invoke(
        app, ["personas", "create", "brief", "-s", "Answer in one line.", "--max-tokens", "32"]
    )
    assert made.exit_code == 0, made.output
    listed = runner.invoke(app, ["personas", "list"])
    assert "brief" in listed.output and "翻译官" in listed.output
    shown = runner.invoke(app, ["personas", "show", "brief"])
    assert json.loads(shown.output)["max_tokens"] == 32
    assert runner.invoke(app, ["personas", "edit", "brief", "-t", "0.5"]).exit_code == 0
    bad = runner.invoke(app, ["personas", "edit", "brief", "-t", "9"])
    assert bad.exit_code == 1 and "out of range" in bad.output
    assert runner.invoke(app, ["chat", "-p", "brief", "ping"]).exit_code == 0
    found = runner.invoke(app, ["conversations", "search", "PING"])
    assert "ping" in found.output
    assert runner.invoke(app, ["conversations", "rename", "1", "Ping test"]).exit_code == 0
    assert "Ping test" in runner.invoke(app, ["conversations", "list"]).output
    target = tmp_path / "out.md"
    assert runner.invoke(app, ["conversations", "export", "1", str(target)]).exit_code == 0
    assert "# Ping test" in target.read_text(encoding="utf-8")
    assert runner.invoke(app, ["conversations", "delete", "1"]).exit_code == 0
    gone = runner.invoke(app, ["conversations", "delete", "1"])
    assert gone.exit_code == 1 and "not found" in gone.output
    assert runner.invoke(app, ["personas", "delete", "brief"]).exit_code == 0


def test_one_shot_with_kb_prints_sources_and_tools(tmp_path: Path, monkeypatch: Any) -> None:
    from llmapps.chat.kb import add_paths, create_kb

    monkeypatch.setenv("LLMAPPS_CHAT__KB_VECTORS", "false")
    doc = tmp_path / "policy.md"
    doc.write_text("# Returns\n\nOpened boxes can be returned within 30 days.\n", encoding="utf-8")
    create_kb("shop", settings=get_settings())
    add_paths("shop", [doc], settings=get_settings())
    _fake(
        "Within 30 days [1].",
        'Action: calculator\nAction Input: {"expression": "2**10"}',
        "Final Answer: 1024",
    )
    result = runner.invoke(app, ["chat", "--kb", "shop", "Can opened boxes be returned?"])
    assert result.exit_code == 0, result.output
    assert "Within 30 days [1]." in result.output
    assert "[1] policy.md, Returns" in result.output
    refused = runner.invoke(app, ["chat", "--kb", "shop", "Who won the 1998 World Cup?"])
    assert refused.exit_code == 0 and "I don't know" in refused.output
    agent = runner.invoke(app, ["chat", "--tools", "calculator", "2 to the 10th?"])
    assert agent.exit_code == 0, agent.output
    assert "→ calculator" in agent.output and "← calculator: 1024" in agent.output
    assert "1024" in agent.output.splitlines()[-1]
