"""Sentinel fixtures: loopback GitHub / Hacker News emulators, fake and real chat models."""

from __future__ import annotations

import os
import re
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from llmapps.config import Settings, get_settings
from tests.sentinel.sentinel_emulator import GitHubEmulator, HackerNewsEmulator


def cli(*args: str) -> tuple[int, str]:
    """Run ``llmapps sentinel ARGS``: (exit code, output)."""
    from typer.testing import CliRunner

    from llmapps.cli import app as cli_app

    result = CliRunner().invoke(cli_app, ["sentinel", *args])
    return result.exit_code, result.output


@pytest.fixture
def wide_console() -> Iterator[None]:
    """Rich tables wrap at 80 columns under CliRunner; widen so cells stay on one line."""
    from llmapps.cli.common import console

    old = console.width
    console.width = 250
    yield
    console.width = old


@pytest.fixture
def github(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> GitHubEmulator:
    """A GitHub emulator on the loopback server; ``sentinel.github_api_url`` points at it."""
    emu = GitHubEmulator()
    base = httpserver.url_for("").rstrip("/")

    def handler(request: Request) -> Response:
        url = request.path + (f"?{request.query_string.decode()}" if request.query_string else "")
        status, headers, body = emu.handle(request.method, url, dict(request.headers), base)
        return Response(body, status=status, headers=headers)

    httpserver.expect_request(re.compile(r"^/repos/.*")).respond_with_handler(handler)
    monkeypatch.setenv("LLMAPPS_SENTINEL__GITHUB_API_URL", base)
    monkeypatch.setenv("LLMAPPS_SENTINEL__RATE_LIMIT_MAX_WAIT", "5")
    return emu


@pytest.fixture
def hn(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> HackerNewsEmulator:
    emu = HackerNewsEmulator()

    def handler(request: Request) -> Response:
        import json

        status, data = emu.handle(request.path)
        return Response(json.dumps(data), status=status, content_type="application/json")

    httpserver.expect_request(re.compile(r"^/v0/.*")).respond_with_handler(handler)
    monkeypatch.setenv("LLMAPPS_SENTINEL__HACKERNEWS_API_URL", httpserver.url_for("/v0"))
    return emu


@pytest.fixture
def settings() -> Settings:
    """Settings read after the emulator fixtures set their URLs (request them first)."""
    return get_settings()


class CountingFakeModel(FakeListChatModel):
    """FakeListChatModel that remembers every prompt it was given."""

    prompts: list[str] = []  # noqa: RUF012 - a pydantic field, copied per instance

    def _call(self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any) -> str:
        self.prompts.append("\n".join(str(m.content) for m in messages))
        return super()._call(messages, stop, run_manager, **kw)


@pytest.fixture
def fake_model() -> CountingFakeModel:
    return CountingFakeModel(
        responses=[
            "- Summary bullet one about the export command [C1].\n- Summary bullet two [C2]."
        ],
        prompts=[],
    )


WINDOW_START = datetime(2026, 11, 1, tzinfo=UTC)
WINDOW_END = datetime(2026, 11, 2, tzinfo=UTC)


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A real git repository with dated commits: 3 inside the test window, 2 outside."""
    repo = tmp_path / "localrepo"
    repo.mkdir()
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_SYSTEM": "/dev/null"}

    def git(*args: str, when: datetime | None = None) -> None:
        extra = {}
        if when is not None:
            stamp = when.strftime("%Y-%m-%dT%H:%M:%S+0000")
            extra = {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
        subprocess.run(
            ["git", *args], cwd=repo, env={**env, **extra}, check=True, capture_output=True
        )

    git("init", "-q", "-b", "main")
    git("config", "user.name", "Dana Dev")
    git("config", "user.email", "dana@example.com")
    git("remote", "add", "origin", "git@github.com:acme/localrepo.git")
    commits = [
        ("chore: initial import", WINDOW_START - timedelta(days=3)),
        ("feat: add export command", WINDOW_START + timedelta(hours=2)),
        ("fix: crash on empty input", WINDOW_START + timedelta(hours=5)),
        ("docs: explain the config file", WINDOW_START + timedelta(hours=9)),
        ("feat: later work", WINDOW_END + timedelta(hours=1)),
    ]
    for i, (message, when) in enumerate(commits):
        (repo / f"file{i}.txt").write_text(message)
        git("add", ".")
        git("commit", "-q", "-m", message, when=when)
    return repo


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[Any]:
    """A real SMTP server (aiosmtpd) on a free loopback port, collecting messages."""
    import email
    import email.policy

    from aiosmtpd.controller import Controller

    class Collector:
        """Keeps every envelope's recipients and the parsed message (modern email policy)."""

        def __init__(self) -> None:
            self.messages: list[Any] = []
            self.envelopes: list[list[str]] = []

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            self.envelopes.append(list(envelope.rcpt_tos))
            self.messages.append(
                email.message_from_bytes(envelope.content, policy=email.policy.default)
            )
            return "250 Message accepted for delivery"

    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    controller.collector = handler  # type: ignore[attr-defined]
    yield controller
    controller.stop()


@dataclass
class LoopbackModel:
    """An OpenAI-compatible chat server on the loopback httpserver (JSON and SSE answers)."""

    spec: str
    answer: str
    prompts: list[str]


@pytest.fixture
def openai_model(httpserver: HTTPServer) -> LoopbackModel:
    """``-m openai-compatible:digest@http://127.0.0.1:…/v1`` answering with a fixed summary:
    lets CLI and HTTP runs go through the real model layer without loading a model."""
    import json
    import time as _time

    model = LoopbackModel(
        spec=f"openai-compatible:digest@{httpserver.url_for('/v1')}",
        answer="- Loopback summary: the databases story leads the day [S9001].",
        prompts=[],
    )

    def handler(request: Request) -> Response:
        body = json.loads(request.data)
        model.prompts.append("\n".join(str(m.get("content")) for m in body["messages"]))
        base = {"id": "chatcmpl-1", "created": int(_time.time()), "model": "digest"}
        if body.get("stream"):
            chunks = [
                {
                    **base,
                    "object": "chat.completion.chunk",
                    "choices": [
                        {
                            "index": 0,
                            "delta": {"role": "assistant", "content": model.answer},
                            "finish_reason": None,
                        }
                    ],
                },
                {
                    **base,
                    "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                },
            ]
            sse = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
            return Response(sse, content_type="text/event-stream")
        answer = {
            **base,
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": model.answer},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 50, "completion_tokens": 12, "total_tokens": 62},
        }
        return Response(json.dumps(answer), content_type="application/json")

    httpserver.expect_request("/v1/chat/completions", method="POST").respond_with_handler(handler)
    return model
