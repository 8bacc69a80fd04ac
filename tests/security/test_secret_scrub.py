"""A provider whose error body echoes our ``Authorization`` header: the key is never kept.

The upstream is a real loopback server speaking the OpenAI wire format; it answers every
call with an error that quotes the Bearer token it received, as some proxies do. Nothing the
suite stores (call log, conversations), prints (CLI), logs or answers over HTTP may contain it.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from llmapps.config import get_settings
from llmapps.models import get_chat_model
from llmapps.models.calllog import calls_db
from llmapps.scrub import REPLACEMENT, install_log_scrubber, scrub

KEY = "sk-test-EchoedSecret-0123456789abcdef"


@pytest.fixture
def echoing(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """The provider's spec; it answers 400 (or 500) quoting the request's Authorization."""
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", KEY)
    monkeypatch.setenv("LLMAPPS_MODELS__MAX_RETRIES", "1")
    monkeypatch.setenv("LLMAPPS_MODELS__RETRY_WAIT", "0.01")

    def handler(request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        status = 500 if b"explode" in request.get_data() else 400
        body = {"error": {"message": f"bad request; you sent Authorization: {auth}"}}
        return Response(json.dumps(body), status=status, content_type="application/json")

    httpserver.expect_request("/v1/chat/completions").respond_with_handler(handler)
    base = httpserver.url_for("/v1")
    monkeypatch.setenv("LLMAPPS_MODELS__ALLOWED_BASE_URLS", json.dumps([base]))
    return f"openai-compatible:glm@{base}"


def _stored_text() -> str:
    db = calls_db(get_settings())
    return json.dumps([dict(r) for r in db.query("SELECT * FROM model_calls")])


def test_scrub_replaces_every_known_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_abcdefghijklmnop")
    monkeypatch.setenv("LLMAPPS_API_KEYS", "server-key-one-111, server-key-two-222")
    monkeypatch.setenv("SMTP_PASSWORD", "hunter2-hunter2")
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-1234567890")
    monkeypatch.setenv("TOKENS_PER_MINUTE", "20480000")  # "token" in the name, not a secret
    text = "ghp_abcdefghijklmnop server-key-two-222 hunter2-hunter2 tok-1234567890 20480000"
    assert scrub(text) == " ".join([REPLACEMENT] * 4 + ["20480000"])


def test_provider_echo_is_scrubbed_in_errors_calllog_and_logs(
    echoing: str, caplog: pytest.LogCaptureFixture
) -> None:
    install_log_scrubber()
    model = get_chat_model(echoing, settings=get_settings())
    for prompt in ("hi", "explode"):
        with pytest.raises(Exception) as info:
            model.invoke(prompt)
        assert KEY not in str(info.value) and REPLACEMENT in str(info.value)
    stored = _stored_text()
    assert KEY not in stored and REPLACEMENT in stored
    with caplog.at_level(logging.INFO):
        logging.getLogger("llmapps.test").warning("upstream answered: Bearer %s", KEY)
        try:
            raise RuntimeError(f"token {KEY} in an exception")
        except RuntimeError:
            logging.getLogger("llmapps.test").exception("failed")
    assert KEY not in caplog.text and REPLACEMENT in caplog.text


def test_cli_prints_no_key(echoing: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "llmapps", "ask", "-m", echoing, "hi"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert KEY not in proc.stdout + proc.stderr
    assert "answered HTTP 400" in proc.stderr and REPLACEMENT in proc.stderr
    assert KEY not in _stored_text()


def test_http_answers_and_stored_conversations_hold_no_key(
    echoing: str, live_server: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    from llmapps.app import create_app

    server = live_server(create_app(get_settings(), ui=False))
    with httpx.Client(base_url=server.url, trust_env=False, timeout=60) as http:
        conv = http.post("/chat/conversations", json={"title": "t", "model": echoing})
        assert conv.status_code == 201, conv.text
        cid = conv.json()["id"]
        answer = http.post(
            f"/chat/conversations/{cid}/messages", json={"content": "hi", "stream": False}
        )
        assert answer.status_code >= 400
        streamed = http.post(f"/chat/conversations/{cid}/messages", json={"content": "again"})
        exported = http.get(f"/chat/conversations/{cid}/export", params={"format": "json"})
    for text in (answer.text, streamed.text, exported.text, _stored_text(), caplog.text):
        assert KEY not in text
    assert REPLACEMENT in answer.text
