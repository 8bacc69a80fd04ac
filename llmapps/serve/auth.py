"""Optional API keys (``Authorization: Bearer``) and CORS for the server's APIs.

Why pure ASGI middleware: Starlette's ``BaseHTTPMiddleware`` wraps streaming bodies and hides
client disconnects, which the server needs to stop generating. Keys come only from the secret
``LLMAPPS_API_KEYS`` (a comma list, environment or ``.env``), never from the TOML file, and are
compared in constant time. Only the model APIs (``/v1``, ``/api``) are guarded; the web UI and
``/healthz`` are not.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from llmapps.config import Settings, secret

PROTECTED_PREFIXES = ("/v1/", "/api/")


def api_keys() -> list[str]:
    raw = secret("LLMAPPS_API_KEYS") or ""
    return [k.strip() for k in raw.split(",") if k.strip()]


class ApiKeyMiddleware:
    """Answer 401 (OpenAI or Ollama error shape) unless a configured key is presented."""

    def __init__(self, app: Any, keys: list[str], required: bool) -> None:
        self.app = app
        self.keys = [k.encode() for k in keys]
        self.required = required or bool(keys)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or not self.required
            or scope.get("method") == "OPTIONS"
            or not path.startswith(PROTECTED_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"")
        token = auth[7:].strip() if auth[:7].lower() == b"bearer " else b""
        if token and any(hmac.compare_digest(token, key) for key in self.keys):
            await self.app(scope, receive, send)
            return
        if not self.keys:
            message = (
                "server.require_api_key is on but LLMAPPS_API_KEYS is empty: set it in the "
                "environment or .env"
            )
        elif token:
            message = "invalid API key: send one of the keys in LLMAPPS_API_KEYS"
        else:
            message = "missing API key: send 'Authorization: Bearer <key>'"
        if path.startswith("/v1/"):
            body: Any = {
                "error": {
                    "message": message,
                    "type": "authentication_error",
                    "param": None,
                    "code": "invalid_api_key",
                }
            }
        else:
            body = {"error": message}
        data = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(data)).encode()),
                    (b"www-authenticate", b"Bearer"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})


def install(app: FastAPI, settings: Settings) -> None:
    """Add API-key checking and (when ``server.cors_origins`` is set) CORS to ``app``."""
    app.add_middleware(
        ApiKeyMiddleware,  # type: ignore[arg-type]
        keys=api_keys(),
        required=settings.server.require_api_key,
    )
    if settings.server.cors_origins:
        app.add_middleware(
            CORSMiddleware,  # type: ignore[arg-type]
            allow_origins=settings.server.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            allow_credentials=False,
        )
