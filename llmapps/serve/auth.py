"""API keys (``Authorization: Bearer`` or a login cookie) and CORS for the whole server.

Why pure ASGI middleware: Starlette's ``BaseHTTPMiddleware`` wraps streaming bodies and hides
client disconnects, which the server needs to stop generating. Keys come only from the secret
``LLMAPPS_API_KEYS`` (a comma list, environment or ``.env``), never from the TOML file, and are
compared in constant time.

When keys are configured (or ``server.require_api_key`` is on) EVERY path needs a key except
``/healthz`` and the login form: the model APIs (``/v1``, ``/api``), the application endpoints
(``/translate``, ``/sentinel``, ``/chat``), the OpenAPI docs, the web UI and Gradio's own
routes (``/gradio_api/...``). Why one gate in front of everything rather than Gradio's ``auth``:
Gradio guards only the routes it knows about; one check at the door also covers files, docs
and any route added later. Browsers cannot send a Bearer header, so ``/login`` trades a valid
key for a signed, expiring, HttpOnly cookie (an HMAC of the expiry under that key: no server
state, and it dies with the key when the key is removed from ``LLMAPPS_API_KEYS``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import json
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from llmapps.config import Settings, secret
from llmapps.serve.edge import EdgeGuard, error_body

COOKIE_NAME = "llmapps_session"
SESSION_SECONDS = 7 * 24 * 3600
LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
ALWAYS_OPEN = frozenset({"/healthz", LOGIN_PATH, LOGOUT_PATH})
# Machine APIs answer 401 JSON; other paths (the UI) send a browser to the login form.
API_PREFIXES = ("/v1/", "/api/", "/translate/", "/sentinel/", "/chat/", "/gradio_api/")


def api_keys() -> list[str]:
    raw = secret("LLMAPPS_API_KEYS") or ""
    return [k.strip() for k in raw.split(",") if k.strip()]


def _signature(key: bytes, expires: int) -> str:
    return hmac.new(key, f"llmapps-ui-session:{expires}".encode(), hashlib.sha256).hexdigest()


def session_token(key: str, now: float | None = None) -> str:
    """A cookie value proving the holder knew ``key``: ``<expiry>.<hmac>``."""
    expires = int((now or time.time()) + SESSION_SECONDS)
    return f"{expires}.{_signature(key.encode(), expires)}"


def _cookie(headers: dict[bytes, bytes], name: str) -> str:
    for part in headers.get(b"cookie", b"").decode("latin-1").split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value.strip().strip('"')
    return ""


class ApiKeyMiddleware:
    """Answer 401 (OpenAI, Ollama or llmapps error shape), or send a browser to ``/login``,
    unless a configured key is presented as a Bearer token or a valid session cookie."""

    def __init__(
        self, app: Any, keys: list[str], required: bool, open_paths: frozenset[str] = ALWAYS_OPEN
    ) -> None:
        self.app = app
        self.keys = [k.encode() for k in keys]
        self.required = required or bool(keys)
        self.open_paths = open_paths

    def authorized(self, headers: dict[bytes, bytes]) -> bool:
        auth = headers.get(b"authorization", b"")
        token = auth[7:].strip() if auth[:7].lower() == b"bearer " else b""
        if token and any(hmac.compare_digest(token, key) for key in self.keys):
            return True
        return self.valid_session(_cookie(headers, COOKIE_NAME))

    def valid_session(self, value: str) -> bool:
        expires_text, sep, sig = value.partition(".")
        if not sep or not expires_text.isdigit() or int(expires_text) < time.time():
            return False
        expires = int(expires_text)
        return any(hmac.compare_digest(sig, _signature(key, expires)) for key in self.keys)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] not in ("http", "websocket")
            or not self.required
            or scope.get("method") == "OPTIONS"
            or path in self.open_paths
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if self.authorized(headers):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        if self._browser_page(scope, path, headers):
            await _send(send, 303, b"", [(b"location", LOGIN_PATH.encode())])
            return
        await _send(
            send,
            401,
            json.dumps(
                error_body(
                    path,
                    self._message(headers),
                    kind="authentication_error",
                    code="invalid_api_key",
                )
            ).encode(),
            [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
        )

    @staticmethod
    def _browser_page(scope: dict[str, Any], path: str, headers: dict[bytes, bytes]) -> bool:
        """A page a browser navigates to (sent to the login form rather than given JSON)."""
        if scope.get("method") not in ("GET", "HEAD") or path.startswith(API_PREFIXES):
            return False
        return path == "/" or b"text/html" in headers.get(b"accept", b"")

    def _message(self, headers: dict[bytes, bytes]) -> str:
        if not self.keys:
            return (
                "server.require_api_key is on but LLMAPPS_API_KEYS is empty: set it in the "
                "environment or .env"
            )
        if headers.get(b"authorization"):
            return "invalid API key: send one of the keys in LLMAPPS_API_KEYS"
        return "missing API key: send 'Authorization: Bearer <key>' (browsers: log in at /login)"


async def _send(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


_LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>llmapps · log in 登录</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:26rem;margin:12vh auto;padding:0 1rem}}
input,button{{font-size:1rem;padding:.5rem;width:100%;box-sizing:border-box;margin:.3rem 0}}
.error{{color:#b00020}}</style></head>
<body><h1>llmapps</h1>
<p>This server needs an API key (one of <code>LLMAPPS_API_KEYS</code>).<br>
此服务器需要 API 密钥。</p>
<p class="error" id="login-error">{error}</p>
<form method="post" action="/login">
<input type="text" name="username" value="llmapps" autocomplete="username" hidden>
<label for="login-key">API key 密钥</label>
<input type="password" id="login-key" name="key" autocomplete="current-password" autofocus>
<button type="submit" id="login-submit">Log in 登录</button>
</form></body></html>
"""


def login_page(error: str = "", status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(
        _LOGIN_PAGE.format(error=html.escape(error)),
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


def add_login_routes(app: FastAPI, keys: list[str]) -> None:
    """``/login`` (form: key -> session cookie, then to ``/``) and ``/logout``."""
    encoded = [k.encode() for k in keys]

    @app.get(LOGIN_PATH, include_in_schema=False)
    def login_form() -> HTMLResponse:
        return login_page()

    @app.post(LOGIN_PATH, include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await request.form()
        given = str(form.get("key") or "").strip().encode()
        match = next((k for k in encoded if given and hmac.compare_digest(given, k)), None)
        if match is None:
            await asyncio.sleep(0.5)  # slows guessing; keys are compared in constant time
            message = (
                "LLMAPPS_API_KEYS is empty: set it in the environment or .env, then restart"
                if not encoded
                else "wrong API key: use one of the keys in LLMAPPS_API_KEYS / 密钥错误"
            )
            return login_page(message, status_code=401)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE_NAME,
            session_token(match.decode()),
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="strict",  # never sent on a request another site starts
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    @app.get(LOGOUT_PATH, include_in_schema=False)
    def logout() -> Response:
        response = RedirectResponse(LOGIN_PATH, status_code=303)
        response.delete_cookie(COOKIE_NAME, path="/")
        return response


def install(app: FastAPI, settings: Settings, *, ui: bool = True) -> None:
    """Add key checking (and ``/login``) behind the :class:`EdgeGuard` (Host, CORS, bodies).

    Without the UI, ``/`` is ``llmapps serve``'s "Ollama is running" probe and stays open
    like ``/healthz``; with the UI, ``/`` is the web page and needs a key.
    """
    keys = api_keys()
    required = settings.server.require_api_key or bool(keys)
    open_paths = ALWAYS_OPEN if ui else ALWAYS_OPEN | {"/"}
    if required:
        add_login_routes(app, keys)
    app.add_middleware(
        ApiKeyMiddleware,  # type: ignore[arg-type]
        keys=keys,
        required=settings.server.require_api_key,
        open_paths=open_paths,
    )
    # Outermost: Host, Origin/CORS, content types and JSON bodies are checked before the key.
    app.add_middleware(
        EdgeGuard,  # type: ignore[arg-type]
        allowed_hosts=settings.server.allowed_hosts,
        cors_origins=settings.server.cors_origins,
        bind_host=settings.server.host,
        max_body_mb=settings.server.max_body_mb,
    )
