"""API keys cover every path but /healthz: app endpoints, docs, the web UI and Gradio's API.

Real HTTP against ``live_server``; the browser test logs in through the form like a user.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from llmapps.serve.auth import COOKIE_NAME, SESSION_SECONDS, session_token

KEYS = "key-alpha-123456, key-beta-654321"
GOOD = {"Authorization": "Bearer key-beta-654321"}


def _client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, follow_redirects=False, trust_env=False, timeout=60)


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMAPPS_API_KEYS", KEYS)


def _api_app() -> Any:
    from llmapps.app import create_app
    from llmapps.config import get_settings

    return create_app(get_settings(), ui=False)


def _ui_app() -> Any:
    from llmapps.app import create_app
    from llmapps.config import get_settings

    return create_app(get_settings(), ui=True)


APP_GETS = ("/sentinel/subscriptions", "/sentinel/reports", "/chat/conversations", "/chat/personas")


def test_app_endpoints_need_a_key(keyed: None, live_server: Callable[..., Any]) -> None:
    server = live_server(_api_app())
    with _client(server.url) as http:
        for path in (*APP_GETS, "/translate/jobs/nope", "/openapi.json", "/docs", "/v1/models"):
            resp = http.get(path)
            assert resp.status_code == 401, path
            assert resp.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer" in http.get("/chat/conversations").json()["error"]["message"]
        # the OpenAI and Ollama shapes of the model APIs are kept
        assert http.get("/v1/models").json()["error"]["code"] == "invalid_api_key"
        assert isinstance(http.get("/api/tags").json()["error"], str)
        # writes are refused before they reach the app
        resp = http.post("/chat/conversations", json={"title": "x"})
        assert resp.status_code == 401
        resp = http.post("/translate/jobs", files={"file": ("a.md", b"# hi")}, data={"to": "zh"})
        assert resp.status_code == 401
        wrong = http.get("/chat/conversations", headers={"Authorization": "Bearer key-alpha"})
        assert wrong.status_code == 401 and "invalid API key" in wrong.json()["error"]["message"]

        for path in APP_GETS:
            assert http.get(path, headers=GOOD).status_code == 200, path
        assert http.get("/chat/conversations").status_code == 401  # nothing was remembered
        lower = {"Authorization": "bearer key-alpha-123456"}
        created = http.post("/chat/conversations", json={"title": "x"}, headers=lower)
        assert created.status_code == 201
        assert http.get("/chat/conversations", headers=GOOD).json()[0]["title"] == "x"
        missing = http.get("/translate/jobs/nope", headers=GOOD)
        assert missing.status_code == 404  # past the gate, answered by the route
        assert http.get("/openapi.json", headers=GOOD).status_code == 200
        health = http.get("/healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok"


def test_without_keys_everything_stays_open(live_server: Callable[..., Any]) -> None:
    server = live_server(_ui_app())
    with _client(server.url) as http:
        page = http.get("/")
        assert page.status_code == 200 and "<html" in page.text.lower()
        assert http.get("/config").status_code == 200
        for path in APP_GETS:
            assert http.get(path).status_code == 200, path


def test_require_api_key_without_keys_locks_everything(
    monkeypatch: pytest.MonkeyPatch, live_server: Callable[..., Any]
) -> None:
    monkeypatch.setenv("LLMAPPS_SERVER__REQUIRE_API_KEY", "true")
    server = live_server(_api_app())
    with _client(server.url) as http:
        resp = http.get("/chat/personas", headers={"Authorization": "Bearer anything"})
        assert resp.status_code == 401 and "LLMAPPS_API_KEYS" in resp.json()["error"]["message"]
        login = http.post("/login", data={"key": "anything"})
        assert login.status_code == 401 and "LLMAPPS_API_KEYS is empty" in login.text
        assert COOKIE_NAME not in login.headers.get("set-cookie", "")
        assert http.get("/healthz").status_code == 200


def test_ui_and_gradio_api_need_login(keyed: None, live_server: Callable[..., Any]) -> None:
    server = live_server(_ui_app())
    with _client(server.url) as http:
        first = http.get("/", headers={"Accept": "text/html"})
        assert first.status_code == 303 and first.headers["location"] == "/login"
        for path in ("/config", "/gradio_api/info", "/theme.css"):
            assert http.get(path).status_code == 401, path
        join = http.post("/gradio_api/queue/join", json={"fn_index": 0, "data": []})
        assert join.status_code == 401
        form = http.get("/login")
        assert form.status_code == 200 and 'id="login-key"' in form.text

        bad = http.post("/login", data={"key": "key-alpha"})
        assert bad.status_code == 401 and "wrong API key" in bad.text
        assert COOKIE_NAME not in bad.headers.get("set-cookie", "")

        ok = http.post("/login", data={"username": "llmapps", "key": "key-alpha-123456"})
        assert ok.status_code == 303 and ok.headers["location"] == "/"
        cookie = ok.headers["set-cookie"]
        assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
        assert "key-alpha-123456" not in cookie  # the cookie proves the key, it is not the key
        assert http.cookies.get(COOKIE_NAME)
        page = http.get("/")
        assert page.status_code == 200 and "<html" in page.text.lower()
        assert http.get("/config").status_code == 200
        info = http.get("/gradio_api/info")
        assert info.status_code == 200 and "named_endpoints" in info.json()
        assert http.get("/sentinel/subscriptions").status_code == 200  # the session works for
        # the app endpoints too (the UI's own links)
        out = http.get("/logout")
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert http.get("/config").status_code == 401

    # forged, expired or foreign-key cookies are refused
    past = session_token("key-alpha-123456", now=time.time() - SESSION_SECONDS - 10)
    expires, _, sig = session_token("key-alpha-123456").partition(".")
    forged = f"{int(expires) + 10**6}.{sig}"
    other = session_token("not-a-configured-key")
    for value in (past, forged, other, "garbage", ""):
        with _client(server.url) as http:
            http.cookies.set(COOKIE_NAME, value)
            assert http.get("/config").status_code == 401, value
    with _client(server.url) as http:
        http.cookies.set(COOKIE_NAME, session_token("key-beta-654321"))
        assert http.get("/config").status_code == 200


@pytest.mark.model
def test_streaming_passes_through_the_gate(keyed: None, live_server: Callable[..., Any]) -> None:
    """The gate is plain ASGI: a streamed answer still arrives chunk by chunk with a key."""
    server = live_server(_api_app())
    body = {
        "model": "smollm2",
        "messages": [{"role": "user", "content": "Say hi"}],
        "max_tokens": 8,
        "stream": True,
    }
    with _client(server.url) as http:
        assert http.post("/v1/chat/completions", json=body).status_code == 401
        chunks = []
        with http.stream("POST", "/v1/chat/completions", json=body, headers=GOOD) as resp:
            assert resp.status_code == 200
            assert resp.headers["content-type"].startswith("text/event-stream")
            for line in resp.iter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    chunks.append(json.loads(line[6:]))
    assert len(chunks) >= 2 and chunks[0]["object"] == "chat.completion.chunk"


@pytest.mark.browser
def test_browser_logs_in_and_sees_the_playground(
    keyed: None, live_server: Callable[..., Any], browser_page: Any
) -> None:
    server = live_server(_ui_app())
    page = browser_page
    page.goto(server.url + "/")
    assert page.url.endswith("/login")
    page.fill("#login-key", "wrong-key")
    page.click("#login-submit")
    assert "wrong API key" in page.inner_text("#login-error")
    page.fill("#login-key", "key-beta-654321")
    page.click("#login-submit")
    page.wait_for_url(server.url + "/")
    page.get_by_role("tab", name="Playground 试验场").click()
    assert page.locator("#playground-prompt").is_visible()
    # Gradio's queue (its own API routes) works with the session cookie: a forbidden spec
    # comes back as the guard's one-line error.
    page.locator("#playground-model input").fill("local:/etc/passwd")
    page.locator("#playground-prompt textarea").fill("hello")
    page.click("#playground-submit")
    status = page.locator("#playground-status")
    status.get_by_text("outside the GGUF folders").wait_for()
    assert "models.gguf_dirs" in status.inner_text()
