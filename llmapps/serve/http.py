"""HTTP plumbing both APIs share: bounded JSON bodies, the runtime, errors, disconnects.

Why we read bodies ourselves: FastAPI would answer malformed JSON with its own 422 shape;
OpenAI and Ollama clients expect a 400 in their own error shape, and a body over the limit
must be refused (413) before it is read whole.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from llmapps.config import Settings, get_settings
from llmapps.errors import LlmappsError
from llmapps.serve.engine import GenRequest, GenResult, Runner
from llmapps.serve.errors import (
    BadRequestError,
    BusyError,
    ClientGoneError,
    PayloadTooLargeError,
    ServeError,
)
from llmapps.serve.jsonbody import JsonBodyError, parse_json
from llmapps.serve.options import parse_keep_alive
from llmapps.serve.registry import ModelRecord, Registry
from llmapps.serve.scheduler import Scheduler, Ticket

M = TypeVar("M", bound=BaseModel)
log = logging.getLogger(__name__)
T = TypeVar("T")
_current_request: ContextVar[Request | None] = ContextVar("llmapps_serve_request", default=None)
DISCONNECT_POLL = 0.2  # seconds between checks that a waiting client is still there


@dataclass
class Runtime:
    """Everything a request handler needs; one per app (created on first request)."""

    settings: Settings
    registry: Registry
    runner: Runner
    scheduler: Scheduler

    def queue_key(self, record: ModelRecord, n_ctx: int, embedding: bool = False) -> str:
        """The queue of ``record``: one per model, whatever ``num_ctx`` a request asks for
        (so varying it cannot walk around ``queue_size``); a ``num_ctx`` over the model's,
        the server's or the memory's limit is a 400 here, before anything is queued."""
        self.runner.check_ctx(record, n_ctx)
        adapter = str(record.adapters[0]) if record.adapters else ""
        return f"{record.name}|{record.path}|{adapter}|{int(embedding)}"

    def keep_alive(self, value: Any) -> float:
        """A request's keep_alive in seconds; ``server.default_keep_alive`` when it sends none."""
        return parse_keep_alive(value, parse_keep_alive(self.settings.server.default_keep_alive))


_runtime_lock = threading.Lock()


def runtime(request: Request) -> Runtime:
    state = request.app.state
    with _runtime_lock:
        rt = getattr(state, "serve_runtime", None)
        if rt is None:
            settings = getattr(state, "settings", None) or get_settings()
            runner = Runner(settings)
            rt = Runtime(
                settings=settings,
                registry=Registry(settings),
                runner=runner,
                scheduler=Scheduler(runner.slots, settings.server.queue_size),
            )
            state.serve_runtime = rt
    return rt


async def read_json(request: Request, limit_mb: float) -> dict[str, Any]:
    """The request's JSON object; 413 over ``limit_mb``, 400 when malformed or not an object.

    Also remembers ``request`` for this handler, so a generation it queues can watch for the
    client going away (:func:`start_stream`, :func:`collect`)."""
    _current_request.set(request)
    limit = int(limit_mb * 1024 * 1024)
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise PayloadTooLargeError(
            f"request body is {int(length)} bytes, over the {limit_mb:g} MB limit "
            "(send less or raise server.max_body_mb)"
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLargeError(
                f"request body is over the {limit_mb:g} MB limit (send less or raise "
                "server.max_body_mb)"
            )
    if not body.strip():
        raise BadRequestError("the request body is empty: send a JSON object")
    try:
        data = parse_json(bytes(body))  # the edge's strict parser (depth, surrogates, ranges)
    except JsonBodyError as exc:
        raise BadRequestError(str(exc)) from None
    if not isinstance(data, dict):
        raise BadRequestError("the request body must be a JSON object")
    return data


async def read_body(request: Request, model: type[M]) -> tuple[Runtime, M]:
    """The runtime and the request's JSON body validated as ``model`` (within
    ``server.max_body_mb``)."""
    rt = runtime(request)
    return rt, validate(model, await read_json(request, rt.settings.server.max_body_mb))


def validate(model: type[M], data: dict[str, Any]) -> M:
    """Pydantic validation with a one-line 400 naming the field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "body"
        raise BadRequestError(f"'{where}': {err['msg']}", param=where) from None


def openai_error(exc: Exception) -> JSONResponse:
    """OpenAI's error JSON ``{"error": {"message", "type", "param", "code"}}``."""
    status, body, headers = _error_parts(exc)
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def ollama_error(exc: Exception) -> JSONResponse:
    """Ollama's error JSON ``{"error": "message"}``."""
    status, body, headers = _error_parts(exc)
    return JSONResponse({"error": body["message"]}, status_code=status, headers=headers)


def _error_parts(exc: Exception) -> tuple[int, dict[str, Any], dict[str, str]]:
    headers: dict[str, str] = {}
    if isinstance(exc, ServeError):
        status, kind, code, param = exc.status_code, exc.kind, exc.code, exc.param
        if isinstance(exc, BusyError):
            headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, LlmappsError):
        status, param = exc.status_code, None
        kind = "invalid_request_error" if status < 500 else "server_error"
        code = {404: "model_not_found", 401: "invalid_api_key"}.get(status)
    else:  # a bug, not the user's fault: the details (paths, values) go to the log only
        log.error("unexpected error answering a request", exc_info=exc)
        status, kind, code, param = 500, "server_error", None, None
        return (
            status,
            {
                "message": f"internal error ({exc.__class__.__name__}): see the server log",
                "type": kind,
                "param": param,
                "code": code,
            },
            headers,
        )
    message = str(exc) or exc.__class__.__name__
    return status, {"message": message, "type": kind, "param": param, "code": code}, headers


def api_error(path: str, exc: Exception) -> JSONResponse:
    """The one error mapping of every route: OpenAI's shape under ``/v1``, Ollama's under
    ``/api`` and llmapps' ``{"error": {"message"}}`` elsewhere."""
    if path.startswith("/v1/"):
        return openai_error(exc)
    if path.startswith("/api/"):
        return ollama_error(exc)
    status, body, headers = _error_parts(exc)
    return JSONResponse(
        {"error": {"message": body["message"]}}, status_code=status, headers=headers
    )


def error_payload(exc: Exception) -> dict[str, Any]:
    return _error_parts(exc)[1]


def _generation(rt: Runtime, ticket: Ticket, req: GenRequest) -> AsyncGenerator[Any, None]:
    """``req`` run by the runner in the scheduler's worker thread, once ``ticket`` is admitted."""

    def work(cancel: threading.Event, slot: int) -> Iterator[str | GenResult]:
        return rt.runner.generate(req, cancel, slot)

    return rt.scheduler.run_stream(ticket, work)


async def _until_disconnect(request: Request | None, awaitable: Awaitable[T]) -> T:
    """Await ``awaitable`` unless the client disconnects first: then it is cancelled (a
    queued request leaves the queue at once, a running one stops) and ClientGoneError.

    The awaitable runs in this task (a watcher task polls the client): it is often a step of
    the generation's async generator, whose later steps run in the response's task."""
    if request is None:
        return await awaitable
    current = asyncio.current_task()
    assert current is not None
    gone = False

    async def watch() -> None:
        nonlocal gone
        while True:
            await asyncio.sleep(DISCONNECT_POLL)
            if await request.is_disconnected():
                gone = True
                current.cancel()
                return

    watcher = asyncio.ensure_future(watch())
    try:
        return await awaitable
    except asyncio.CancelledError:
        if gone:
            current.uncancel()
            raise ClientGoneError("the client disconnected before the answer was ready") from None
        raise
    finally:
        watcher.cancel()


async def start_stream(
    rt: Runtime, ticket: Ticket, req: GenRequest, request: Request | None = None
) -> tuple[Any, AsyncGenerator[str | GenResult, None]]:
    """Start a generation and wait for its first event (errors surface before any header).

    While it waits in the queue or for its first token, a client that goes away takes the
    request with it (``request`` defaults to the one whose body this handler read)."""

    request = request or _current_request.get()
    events = _generation(rt, ticket, req)
    try:
        first = await _until_disconnect(request, events.__anext__())
    except StopAsyncIteration:  # pragma: no cover - generate always yields a result
        raise BadRequestError("the model produced nothing") from None
    except BaseException:
        await events.aclose()
        raise
    return first, events


async def collect(rt: Runtime, ticket: Ticket, req: GenRequest, request: Request) -> GenResult:
    """Run a non-streamed generation; stop it if the client disconnects meanwhile."""

    events = _generation(rt, ticket, req)
    result: GenResult | None = None

    async def consume() -> None:
        nonlocal result
        async for item in events:
            if isinstance(item, GenResult):
                result = item

    try:
        await _until_disconnect(request, consume())
    finally:
        await events.aclose()
    if result is None:  # pragma: no cover - generate always ends with a result
        raise BadRequestError("the model produced no result")
    return result


async def chain(first: Any, events: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """``first`` (the event :func:`start_stream` waited for), then the rest of ``events``."""
    yield first
    async for item in events:
        yield item


async def aclose(events: AsyncIterator[Any]) -> None:
    """Close a stream's events (stopping the generation) when the response ends early."""
    close = getattr(events, "aclose", None)
    if close is not None:
        await close()


async def embed_texts(
    rt: Runtime, record: ModelRecord, texts: list[str], n_ctx: int, keep: float, truncate: bool
) -> tuple[list[list[float]], int, GenResult]:
    """Embed ``texts`` in the model's embedding queue (vectors, token count, timings)."""
    ticket = rt.scheduler.reserve(rt.queue_key(record, n_ctx, embedding=True))
    await ticket.acquire()
    try:
        return await run_in_threadpool(
            lambda: rt.runner.embed(record, texts, n_ctx=n_ctx, keep_alive=keep, truncate=truncate)
        )
    finally:
        ticket.release()
