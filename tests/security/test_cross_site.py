"""Browsers on other origins cannot drive the APIs; DNS-rebound names are refused.

Real HTTP on loopback (httpx) for the wire rules, and headless Chromium on a second loopback
origin for what a hostile page can actually do: requests without a preflight (``text/plain``,
``no-cors``), reads with the login cookie, and JSON writes that need a preflight.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from llmapps.serve.auth import COOKIE_NAME

KEY = "key-cross-site-123456"
EVIL = "https://evil.example"


def _client(url: str, **kw: Any) -> httpx.Client:
    return httpx.Client(base_url=url, follow_redirects=False, trust_env=False, timeout=60, **kw)


def _app(ui: bool = False) -> Any:
    from llmapps.app import create_app
    from llmapps.config import get_settings

    return create_app(get_settings(), ui=ui)


def _names(http: httpx.Client, headers: dict[str, str] | None = None) -> list[str]:
    tags = http.get("/api/tags", headers=headers or {})
    assert tags.status_code == 200
    return [m["name"] for m in tags.json()["models"]]


def test_json_endpoints_refuse_simple_request_bodies(live_server: Callable[..., Any]) -> None:
    server = live_server(_app())
    copy = '{"source": "smollm2", "destination": "stolen"}'
    with _client(server.url) as http:
        # text/plain needs no preflight, so a page could send it: 415 in each API's shape
        plain = {"Content-Type": "text/plain"}
        resp = http.post("/api/copy", content=copy, headers=plain)
        assert resp.status_code == 415 and "application/json" in resp.json()["error"]
        resp = http.post("/v1/chat/completions", content="{}", headers=plain)
        assert resp.status_code == 415
        assert "application/json" in resp.json()["error"]["message"]
        assert resp.json()["error"]["type"] == "invalid_request_error"
        resp = http.post("/chat/conversations", content='{"title": "x"}', headers=plain)
        assert resp.status_code == 415 and "application/json" in resp.json()["error"]["message"]
        resp = http.post("/sentinel/hn", content="{}", headers=plain)
        assert resp.status_code == 415
        # a form body from a browser (it sends Origin) is refused even on /api
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        resp = http.post("/api/copy", content=copy, headers={**form, "Origin": server.url})
        assert resp.status_code == 415
        assert "stolen:latest" not in _names(http)
        # the documented clients still work: curl -d (form type, no Origin) on /api ...
        resp = http.post("/api/show", content='{"model": "smollm2"}', headers=form)
        assert resp.status_code == 200 and "parameters" in resp.json()
        # ... and the ollama client's JSON, and multipart uploads on upload routes
        assert http.post("/api/copy", json={"source": "smollm2", "destination": "mine"}).is_success
        assert "mine:latest" in _names(http)
        # (an unknown format: the route itself answers, so no translation starts in the background)
        files = {"file": ("a.md", b"# hi")}
        up = http.post("/translate/jobs", files=files, data={"to": "zh", "formats": "nope"})
        assert up.status_code == 400 and "nope" in up.json()["error"]["message"]


def test_foreign_origins_are_refused_and_get_no_cors(live_server: Callable[..., Any]) -> None:
    server = live_server(_app())
    with _client(server.url) as http:
        body = {"source": "smollm2", "destination": "evil"}
        resp = http.post("/api/copy", json=body, headers={"Origin": EVIL})
        assert resp.status_code == 403 and "server.cors_origins" in resp.json()["error"]
        resp = http.request(
            "DELETE", "/api/delete", json={"model": "smollm2"}, headers={"Origin": EVIL}
        )
        assert resp.status_code == 403
        assert "evil:latest" not in _names(http) and "smollm2:latest" in _names(http)
        pre = http.options(
            "/v1/chat/completions",
            headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"},
        )
        assert pre.status_code == 403 and "access-control-allow-origin" not in pre.headers
        # a plain read from a foreign origin is answered, but never with CORS headers
        read = http.get("/v1/models", headers={"Origin": EVIL})
        assert read.status_code == 200 and "access-control-allow-origin" not in read.headers
        # the server's own origin (the web UI) is fine
        same = http.post(
            "/api/copy",
            json={"source": "smollm2", "destination": "own"},
            headers={"Origin": server.url},
        )
        assert same.status_code == 200


def test_listed_origins_get_cors_without_credentials(
    live_server: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMAPPS_SERVER__CORS_ORIGINS", '["http://app.example:5173"]')
    server = live_server(_app())
    origin = "http://app.example:5173"
    with _client(server.url) as http:
        pre = http.options(
            "/v1/chat/completions",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert pre.status_code == 204
        assert pre.headers["access-control-allow-origin"] == origin
        assert "authorization" in pre.headers["access-control-allow-headers"]
        assert "access-control-allow-credentials" not in pre.headers
        read = http.get("/v1/models", headers={"Origin": origin})
        assert read.headers["access-control-allow-origin"] == origin
        assert "access-control-allow-credentials" not in read.headers
        ok = http.post(
            "/api/copy", json={"source": "smollm2", "destination": "x"}, headers={"Origin": origin}
        )
        assert ok.status_code == 200


def test_dns_rebinding_hosts_are_refused(
    live_server: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMAPPS_SERVER__ALLOWED_HOSTS", '["llm.lan"]')
    server = live_server(_app())
    with _client(server.url) as http:
        for path in ("/v1/models", "/api/tags", "/chat/conversations", "/healthz"):
            resp = http.get(path, headers={"Host": "evil.example"})
            assert resp.status_code == 421, path
            assert "server.allowed_hosts" in resp.text
        assert http.get("/api/tags", headers={"Host": "evil.example:8000"}).status_code == 421
        v1 = http.get("/v1/models", headers={"Host": "rebind.evil.example"}).json()
        assert "allowed_hosts" in v1["error"]["message"]
        for host in ("localhost", "127.0.0.1:9", "[::1]:8000", "llm.lan:8000", "LLM.LAN"):
            assert http.get("/healthz", headers={"Host": host}).status_code == 200, host


def _other_origin(live_server: Callable[..., Any]) -> Any:
    """A second loopback origin serving an empty page (the hostile site)."""

    async def page(_request: Any) -> HTMLResponse:
        return HTMLResponse("<!doctype html><title>other</title><p>other origin</p>")

    return live_server(Starlette(routes=[Route("/", page)]))


@pytest.mark.browser
def test_page_on_another_loopback_origin_cannot_use_the_session(
    live_server: Callable[..., Any], browser_page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMAPPS_API_KEYS", KEY)
    server = live_server(_app(ui=True))
    other = _other_origin(live_server)
    page = browser_page
    page.goto(server.url + "/login")
    page.fill("#login-key", KEY)
    page.click("#login-submit")
    page.wait_for_url(server.url + "/")
    assert any(c["name"] == COOKIE_NAME for c in page.context.cookies())

    page.goto(other.url + "/")
    results = page.evaluate(
        """async (base) => {
          const out = {};
          const attempt = async (name, run) => {
            try { out[name] = await run(); } catch (e) { out[name] = 'blocked'; }
          };
          // reads with the cookie: Gradio used to answer localhost origins with credentials
          await attempt('gradio_info', async () =>
            (await fetch(base + '/gradio_api/info', {credentials: 'include'})).status);
          await attempt('config', async () =>
            (await fetch(base + '/config', {credentials: 'include'})).status);
          await attempt('conversations', async () =>
            (await fetch(base + '/chat/conversations', {credentials: 'include'})).status);
          // a JSON write needs a preflight, which is refused
          await attempt('json_write', async () => (await fetch(base + '/chat/conversations', {
            method: 'POST', credentials: 'include',
            headers: {'Content-Type': 'application/json'}, body: '{"title": "forged"}'})).status);
          // writes without a preflight: sent, but refused by the server
          await attempt('plain_copy', async () => (await fetch(base + '/api/copy', {
            method: 'POST', mode: 'no-cors', credentials: 'include',
            body: '{"source": "smollm2", "destination": "stolen"}'})).type);
          await attempt('form_chat', async () => (await fetch(base + '/chat/conversations', {
            method: 'POST', mode: 'no-cors', credentials: 'include',
            headers: {'Content-Type': 'text/plain'}, body: '{"title": "forged"}'})).type);
          return out;
        }""",
        server.url,
    )
    assert results["gradio_info"] == "blocked", results
    assert results["config"] == "blocked", results
    assert results["conversations"] == "blocked", results
    assert results["json_write"] == "blocked", results
    headers = {"Authorization": f"Bearer {KEY}"}
    with _client(server.url) as http:
        assert "stolen:latest" not in _names(http, headers)
        titles = [c["title"] for c in http.get("/chat/conversations", headers=headers).json()]
        assert "forged" not in titles
        # the server's own page still works with its cookie (same origin)
    page.goto(server.url + "/")
    own = page.evaluate(
        """async () => (await fetch('/chat/conversations', {method: 'POST',
             headers: {'Content-Type': 'application/json'}, body: '{"title": "mine"}'})).status"""
    )
    assert own == 201
