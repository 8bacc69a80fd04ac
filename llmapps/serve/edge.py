"""The server's front door: Host, Origin/CORS, content type and JSON bodies, for every path.

Why one ASGI middleware in front of everything (the model APIs, the application endpoints and
the mounted Gradio UI):

- **DNS rebinding.** A page on ``evil.example`` whose name later resolves to 127.0.0.1 talks to
  this server as "same origin". Only loopback names, the configured bind address and
  ``server.allowed_hosts`` are accepted in ``Host`` (421 otherwise).
- **Cross-site requests.** A browser sends ``Origin`` with every cross-origin request and with
  every POST. Requests from an origin that is neither this server nor in
  ``server.cors_origins`` are refused (403) unless they are plain reads; their preflights are
  refused too, and every ``Access-Control-*`` header a mounted app adds is removed (Gradio
  answers any localhost origin with credentials allowed, which let a page on another local
  port ride the login cookie). Listed origins get CORS without credentials.
- **Simple requests.** ``text/plain`` and form bodies need no preflight, so JSON endpoints
  require ``application/json`` (415 otherwise). Exceptions, each for a documented client:
  multipart upload routes, ``/api/blobs`` (raw bytes from the ``ollama`` client) and, on
  ``/api`` only, curl's ``-d`` (form type or none) from a client that sends no ``Origin``.
- **Edge validation.** Every JSON body goes through :func:`jsonbody.parse_json` (depth,
  surrogates, 64-bit integers, finite floats) and every integer in the URL must fit SQLite,
  so a route never sees a value that would turn into a 500.

Errors use each API's own shape (OpenAI for ``/v1``, Ollama for ``/api``, llmapps elsewhere).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from llmapps.serve.jsonbody import JsonBodyError, int_in_range, parse_json

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]

JSON_PREFIXES = ("/v1/", "/api/", "/translate/", "/sentinel/", "/chat/")
# Routes whose documented body is multipart (file uploads, the resume form).
MULTIPART_ROUTES = (
    re.compile(r"^/translate/jobs/?$"),
    re.compile(r"^/translate/jobs/[^/]+/resume/?$"),
    re.compile(r"^/chat/kbs/[^/]+/files/?$"),
)
RAW_BODY_PREFIXES = ("/api/blobs/",)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
_DIGITS = re.compile(r"^[+-]?\d+$")


def error_body(
    path: str, message: str, *, kind: str = "invalid_request_error", code: Any = None
) -> dict[str, Any]:
    """The error JSON of the API ``path`` belongs to."""
    if path.startswith("/v1/"):
        return {"error": {"message": message, "type": kind, "param": None, "code": code}}
    if path.startswith("/api/"):
        return {"error": message}  # Ollama's shape
    return {"error": {"message": message}}  # every llmapps endpoint


def _hostname(netloc: str) -> str:
    """``host[:port]`` or ``[v6]:port`` -> the lowercased host name without brackets."""
    netloc = netloc.strip().lower()
    if netloc.startswith("["):
        return netloc[1 : netloc.find("]")] if "]" in netloc else netloc
    return netloc.rsplit(":", 1)[0] if netloc.count(":") == 1 else netloc


def is_loopback(name: str) -> bool:
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class EdgeGuard:
    """ASGI middleware; see the module docstring for what it refuses and why."""

    def __init__(
        self,
        app: Any,
        *,
        allowed_hosts: Iterable[str] = (),
        cors_origins: Iterable[str] = (),
        bind_host: str = "127.0.0.1",
        max_body_mb: float = 10.0,
    ) -> None:
        self.app = app
        hosts = {h.strip().lower() for h in allowed_hosts if h.strip()}
        if bind_host and bind_host not in ("0.0.0.0", "::", ""):
            hosts.add(bind_host.strip("[]").lower())
        self.any_host = "*" in hosts
        self.hosts = hosts
        self.origins = {o.strip().rstrip("/").lower() for o in cors_origins if o.strip()}
        self.any_origin = "*" in self.origins
        self.max_body = int(max_body_mb * 1024 * 1024)

    # -- checks ------------------------------------------------------------------------------
    def host_allowed(self, host: str) -> bool:
        name = _hostname(host)
        return self.any_host or is_loopback(name) or name in self.hosts

    def origin_listed(self, origin: str) -> bool:
        return self.any_origin or origin.rstrip("/").lower() in self.origins

    @staticmethod
    def same_origin(origin: str, host: str) -> bool:
        """Whether ``Origin`` names this server as the client reached it (``Host``)."""
        try:
            parts = urlsplit(origin)
            origin_port = parts.port
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return False
        default = 443 if parts.scheme == "https" else 80
        name = _hostname(host)
        tail = host.rsplit("]", 1)[-1] if host.startswith("[") else host
        port_text = tail.rsplit(":", 1)[1] if tail.count(":") == 1 else ""
        host_port = int(port_text) if port_text.isdigit() else default
        return parts.hostname.lower() == name and (origin_port or default) == host_port

    # -- ASGI ----------------------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path: str = scope.get("path", "")
        method: str = scope.get("method", "GET")
        host = headers.get("host", "")
        if not self.host_allowed(host):
            shown = host[:60] or "(none)"
            message = (
                f"Host '{shown}' is not served here (DNS rebinding protection): use 127.0.0.1 "
                "or add the name to server.allowed_hosts"
            )
            await self._refuse(scope, send, 421, path, message)
            return
        origin = headers.get("origin")
        listed = origin is not None and self.origin_listed(origin)
        foreign = origin is not None and not listed and not self.same_origin(origin, host)
        if foreign and (method not in ("GET", "HEAD") or scope["type"] == "websocket"):
            message = (
                f"cross-origin request from {(origin or '')[:80]} refused: add the origin to "
                "server.cors_origins to allow it"
            )
            await self._refuse(scope, send, 403, path, message, kind="permission_error")
            return
        if listed and method == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(send, origin or "", headers)
            return
        if scope["type"] == "http":
            problem = self._url_problem(scope)
            if problem:
                await self._refuse(scope, send, 400, path, problem)
                return
            if path.startswith(JSON_PREFIXES) and method not in SAFE_METHODS:
                try:
                    receive = await self._checked_body(scope, receive, headers, origin)
                except JsonBodyError as exc:
                    code = getattr(exc, "code", None)
                    await self._refuse(scope, send, exc.status_code, path, str(exc), code=code)
                    return
        await self.app(scope, receive, self._cors_send(send, origin if listed else None))

    def _url_problem(self, scope: dict[str, Any]) -> str | None:
        """An integer in the path or query that no database id or limit can be."""
        values = [p for p in scope.get("path", "").split("/") if p]
        query = scope.get("query_string", b"").decode("latin-1")
        values += [v for _k, v in parse_qsl(query, keep_blank_values=True)]
        for value in values:
            if _DIGITS.match(value) and not int_in_range(value):
                return f"the number {value[:24]} in the URL is outside the 64-bit integer range"
        return None

    async def _checked_body(
        self, scope: dict[str, Any], receive: Receive, headers: dict[str, str], origin: str | None
    ) -> Receive:
        """Check the body's type (and, for JSON, its content); a ``receive`` that replays it."""
        path: str = scope["path"]
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        length = headers.get("content-length")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if not chunked and (length is None or length.strip() == "0"):
            return receive  # no body: nothing to check
        if path.startswith(RAW_BODY_PREFIXES):
            return receive
        is_json = ctype == "application/json" or (
            ctype.startswith("application/") and ctype.endswith("+json")
        )
        if not is_json:
            if ctype == "multipart/form-data" and any(r.match(path) for r in MULTIPART_ROUTES):
                return receive
            curl_style = ctype in ("", "application/x-www-form-urlencoded")
            if not (path.startswith("/api/") and curl_style and origin is None):
                raise _UnsupportedType(ctype or "(none)")
        if length and length.strip().isdigit() and int(length) > self.max_body:
            raise _TooLarge(self.max_body)
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return _replay(bytes(body), receive, disconnected=True)
            body += message.get("body", b"")
            more = bool(message.get("more_body"))
            if len(body) > self.max_body:
                raise _TooLarge(self.max_body)
        if body.strip():
            parse_json(bytes(body))
        return _replay(bytes(body), receive)

    async def _preflight(self, send: Send, origin: str, headers: dict[str, str]) -> None:
        allow = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-methods", b"GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"),
            (b"access-control-max-age", b"600"),
            (b"vary", b"Origin"),
        ]
        requested = headers.get("access-control-request-headers")
        if requested:
            allow.append((b"access-control-allow-headers", requested.encode("latin-1")))
        await _send_bytes(send, 204, b"", allow)

    @staticmethod
    def _cors_send(send: Send, origin: str | None) -> Send:
        """Drop every ``Access-Control-*`` header a mounted app set; add ours for a listed
        origin (never ``Allow-Credentials``: browsers send API keys as a Bearer header)."""

        async def wrapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                kept = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if not k.lower().startswith(b"access-control-")
                ]
                if origin is not None:
                    kept.append((b"access-control-allow-origin", origin.encode("latin-1")))
                    kept.append((b"vary", b"Origin"))
                message = {**message, "headers": kept}
            await send(message)

        return wrapped

    async def _refuse(
        self,
        scope: dict[str, Any],
        send: Send,
        status: int,
        path: str,
        message: str,
        kind: str = "invalid_request_error",
        code: str | None = None,
    ) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = json.dumps(error_body(path, message, kind=kind, code=code)).encode()
        await _send_bytes(send, status, body, [(b"content-type", b"application/json")])


class _UnsupportedType(JsonBodyError):
    status_code = 415
    code = "unsupported_media_type"

    def __init__(self, ctype: str) -> None:
        super().__init__(
            f"Content-Type {ctype[:60]} is not accepted here: send the body as JSON with "
            "'Content-Type: application/json'"
        )


class _TooLarge(JsonBodyError):
    status_code = 413
    code = "request_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"request body is over the {limit / 1024 / 1024:g} MB limit (send less or raise "
            "server.max_body_mb)"
        )


def _replay(body: bytes, receive: Receive, disconnected: bool = False) -> Receive:
    """A ``receive`` that yields ``body`` once, then defers to the client's (for disconnects)."""
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if disconnected:
            return {"type": "http.disconnect"}
        return await receive()

    return replay


async def _send_bytes(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
