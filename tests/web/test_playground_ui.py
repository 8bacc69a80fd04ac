"""The Playground in headless Chromium at desktop and phone sizes, against a loopback
OpenAI-compatible server that streams a fixed markdown answer (real HTTP, exact SSE format)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from llmapps.app import create_app
from llmapps.config import get_settings
from tests.web.conftest import goto, open_tab, shot
from tests.web.fake_openai import chunk

pytestmark = pytest.mark.browser

CODE_ANSWER = "Here is code:\n\n```python\ndef add(a, b):\n    return a + b\n```\n"


async def completions(request: Request) -> StreamingResponse:
    body = await request.json()
    prompt = str(body["messages"][-1]["content"])

    async def code() -> AsyncIterator[str]:
        for line in CODE_ANSWER.splitlines(keepends=True):
            yield chunk(line)
        yield chunk(None) + "data: [DONE]\n\n"

    async def endless() -> AsyncIterator[str]:  # until the client stops reading
        for i in range(100_000):
            yield chunk(f"{i} ")
            await asyncio.sleep(0.05)

    return StreamingResponse(
        code() if "code" in prompt else endless(), media_type="text/event-stream"
    )


def test_enter_runs_markdown_code_stop_keeps_partial(
    ui_page: Any, live_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream = live_server(
        Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])
    )
    monkeypatch.setenv("LLMAPPS_MODELS__DEFAULT", f"openai-compatible:fake@{upstream.url}/v1")
    server = live_server(create_app(get_settings()))
    page = ui_page
    goto(page, server.url)
    open_tab(page, "Playground 试验场")
    prompt = page.locator("#playground-prompt textarea")
    prompt.fill("show me code")
    prompt.press("Shift+Enter")  # a new line, not a run
    assert prompt.input_value() == "show me code\n"
    prompt.press("Enter")
    status = page.locator("#playground-status")
    status.get_by_text("done 完成").wait_for()
    output = page.locator("#playground-output")
    output.locator("pre code").first.wait_for()  # rendered markdown: a code block
    assert "def add(a, b):" in output.inner_text()
    assert output.locator("pre code span").count() > 0  # highlighted tokens
    shot(page, "playground-code")
    # an endless answer: Run is disabled while it streams, Stop returns to ready, text kept
    prompt.fill("count for me")
    prompt.press("Enter")
    output.get_by_text("3 4 5").wait_for()
    assert page.locator("#playground-submit").is_disabled()
    page.locator("#playground-stop").click()
    status.get_by_text("stopped 已停止").wait_for()
    page.wait_for_function("() => !document.querySelector('#playground-submit').disabled")
    assert "0 1 2 3 4 5" in output.inner_text()
    shot(page, "playground-stopped")
