"""The OpenAI-compatible API: ``/v1/models``, ``/v1/chat/completions``, ``/v1/completions``,
``/v1/embeddings``.

Why thin: each handler validates the body, maps OpenAI names onto :class:`GenOptions`, asks the
scheduler for a place, and renders the engine's events as OpenAI JSON or SSE. Errors use
OpenAI's ``{"error": {...}}`` shape with the right status, including malformed JSON (400).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from llmapps.serve.api_types import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
    ResponseFormat,
)
from llmapps.serve.engine import GenRequest, GenResult, model_options
from llmapps.serve.errors import BadRequestError
from llmapps.serve.http import (
    collect,
    error_payload,
    openai_error,
    read_json,
    runtime,
    start_stream,
    validate,
)
from llmapps.serve.options import parse_keep_alive
from llmapps.serve.registry import ModelRecord

router = APIRouter(prefix="/v1", tags=["openai"])


def _created(record: ModelRecord) -> int:
    try:
        return int(datetime.fromisoformat(record.created_at).timestamp())
    except ValueError:
        return 0


def _model_json(record: ModelRecord) -> dict[str, Any]:
    return {
        "id": record.name,
        "object": "model",
        "created": _created(record),
        "owned_by": "llmapps",
    }


@router.get("/models")
async def list_models(request: Request) -> Response:
    try:
        rt = runtime(request)
        records = await run_in_threadpool(rt.registry.list)
        return JSONResponse({"object": "list", "data": [_model_json(r) for r in records]})
    except Exception as exc:
        return openai_error(exc)


@router.get("/models/{model_id:path}")
async def get_model(model_id: str, request: Request) -> Response:
    try:
        record = await run_in_threadpool(runtime(request).registry.get, model_id)
        return JSONResponse(_model_json(record))
    except Exception as exc:
        return openai_error(exc)


def _stop(value: str | list[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def _logit_bias(value: dict[str, float] | None) -> dict[int, float] | None:
    if not value:
        return None
    try:
        return {int(k): float(v) for k, v in value.items()}
    except ValueError:
        raise BadRequestError(
            "logit_bias keys must be token ids (integers as strings)", param="logit_bias"
        ) from None


def _format(fmt: ResponseFormat | None) -> Any:
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return fmt.schema_ or "json"
    schema = (fmt.json_schema or {}).get("schema")
    if not isinstance(schema, dict):
        raise BadRequestError(
            "response_format json_schema needs json_schema.schema (a JSON schema object)",
            param="response_format",
        )
    return schema


def _usage(result: GenResult) -> dict[str, int]:
    return {
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "total_tokens": result.prompt_tokens + result.completion_tokens,
    }


def _finish(result: GenResult) -> str:
    return "stop" if result.finish_reason == "cancelled" else result.finish_reason


def _tool_calls_json(result: GenResult, with_index: bool = False) -> list[dict[str, Any]]:
    calls = []
    for i, call in enumerate(result.tool_calls):
        item: dict[str, Any] = {
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
        }
        if with_index:
            item["index"] = i
        calls.append(item)
    return calls


async def _chain(first: Any, events: AsyncIterator[Any]) -> AsyncIterator[Any]:
    yield first
    async for item in events:
        yield item


def _sse(data: Any) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.post("/chat/completions")
async def chat_completions(request: Request) -> Response:
    try:
        rt = runtime(request)
        body = validate(
            ChatCompletionRequest, await read_json(request, rt.settings.server.max_body_mb)
        )
        record = await run_in_threadpool(rt.registry.get, body.model)
        opts = model_options(record, rt.settings)
        opts.apply(
            {
                "temperature": body.temperature,
                "top_p": body.top_p,
                "seed": body.seed,
                "num_predict": body.max_completion_tokens or body.max_tokens,
                "stop": _stop(body.stop),
                "presence_penalty": body.presence_penalty,
                "frequency_penalty": body.frequency_penalty,
            },
            "request",
        )
        req = GenRequest(
            model=record,
            options=opts,
            messages=body.messages,
            format=_format(body.response_format),
            tools=body.tools,
            tool_choice=body.tool_choice,
            keep_alive=parse_keep_alive(
                body.keep_alive, parse_keep_alive(rt.settings.server.default_keep_alive)
            ),
            truncate=body.truncate,
            logit_bias=_logit_bias(body.logit_bias),
        )
        ticket = rt.scheduler.reserve(rt.queue_key(record, opts.num_ctx))
        cid = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        if body.stream:
            first, events = await start_stream(rt, ticket, req)
            usage = bool(body.stream_options and body.stream_options.include_usage)
            return StreamingResponse(
                _chat_sse(_chain(first, events), cid, created, body.model, usage),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        result = await collect(rt, ticket, req, request)
        message: dict[str, Any] = {"role": "assistant", "content": result.text or None}
        if result.tool_calls:
            message["tool_calls"] = _tool_calls_json(result)
        elif message["content"] is None:
            message["content"] = ""
        return JSONResponse(
            {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": body.model,
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "logprobs": None,
                        "finish_reason": _finish(result),
                    }
                ],
                "usage": _usage(result),
            }
        )
    except Exception as exc:
        return openai_error(exc)


async def _chat_sse(
    events: AsyncIterator[Any], cid: str, created: int, model: str, include_usage: bool
) -> AsyncIterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        data = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if include_usage:
            data["usage"] = None
        data.update(extra)
        return _sse(data)

    try:
        yield chunk({"role": "assistant", "content": ""})
        async for item in events:
            if isinstance(item, GenResult):
                if item.tool_calls:
                    yield chunk({"tool_calls": _tool_calls_json(item, with_index=True)})
                yield chunk({}, _finish(item))
                if include_usage:
                    yield _sse(
                        {
                            "id": cid,
                            "object": "chat.completion.chunk",
                            "created": created,
                            "model": model,
                            "choices": [],
                            "usage": _usage(item),
                        }
                    )
            else:
                yield chunk({"content": item})
        yield "data: [DONE]\n\n"
    except Exception as exc:  # after the headers: report in-band, as OpenAI does
        yield _sse({"error": error_payload(exc)})
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


@router.post("/completions")
async def completions(request: Request) -> Response:
    try:
        rt = runtime(request)
        body = validate(CompletionRequest, await read_json(request, rt.settings.server.max_body_mb))
        prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
        if len(prompts) != 1:
            raise BadRequestError("send exactly one prompt per request", param="prompt")
        if body.suffix:
            raise BadRequestError("suffix (fill-in-the-middle) is not supported", param="suffix")
        record = await run_in_threadpool(rt.registry.get, body.model)
        opts = model_options(record, rt.settings)
        opts.apply(
            {
                "temperature": body.temperature,
                "top_p": body.top_p,
                "seed": body.seed,
                "num_predict": body.max_tokens,
                "stop": _stop(body.stop),
                "presence_penalty": body.presence_penalty,
                "frequency_penalty": body.frequency_penalty,
            },
            "request",
        )
        req = GenRequest(
            model=record,
            options=opts,
            prompt=prompts[0],
            raw=True,
            keep_alive=parse_keep_alive(
                body.keep_alive, parse_keep_alive(rt.settings.server.default_keep_alive)
            ),
            truncate=body.truncate,
            logit_bias=_logit_bias(body.logit_bias),
        )
        ticket = rt.scheduler.reserve(rt.queue_key(record, opts.num_ctx))
        cid = f"cmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        echo = prompts[0] if body.echo else ""
        if body.stream:
            first, events = await start_stream(rt, ticket, req)
            usage = bool(body.stream_options and body.stream_options.include_usage)
            return StreamingResponse(
                _completion_sse(_chain(first, events), cid, created, body.model, usage, echo),
                media_type="text/event-stream",
            )
        result = await collect(rt, ticket, req, request)
        return JSONResponse(
            {
                "id": cid,
                "object": "text_completion",
                "created": created,
                "model": body.model,
                "choices": [
                    {
                        "index": 0,
                        "text": echo + result.text,
                        "logprobs": None,
                        "finish_reason": _finish(result),
                    }
                ],
                "usage": _usage(result),
            }
        )
    except Exception as exc:
        return openai_error(exc)


async def _completion_sse(
    events: AsyncIterator[Any], cid: str, created: int, model: str, include_usage: bool, echo: str
) -> AsyncIterator[str]:
    def chunk(text: str, finish: str | None = None) -> str:
        return _sse(
            {
                "id": cid,
                "object": "text_completion",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish}],
            }
        )

    try:
        if echo:
            yield chunk(echo)
        async for item in events:
            if isinstance(item, GenResult):
                yield chunk("", _finish(item))
                if include_usage:
                    yield _sse(
                        {
                            "id": cid,
                            "object": "text_completion",
                            "created": created,
                            "model": model,
                            "choices": [],
                            "usage": _usage(item),
                        }
                    )
            else:
                yield chunk(item)
        yield "data: [DONE]\n\n"
    except Exception as exc:
        yield _sse({"error": error_payload(exc)})
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


@router.post("/embeddings")
async def embeddings(request: Request) -> Response:
    try:
        rt = runtime(request)
        body = validate(EmbeddingRequest, await read_json(request, rt.settings.server.max_body_mb))
        texts = [body.input] if isinstance(body.input, str) else list(body.input)
        if not texts:
            raise BadRequestError(
                "input is empty: send a string or a list of strings", param="input"
            )
        record = await run_in_threadpool(rt.registry.get, body.model)
        opts = model_options(record, rt.settings)
        keep = parse_keep_alive(None, parse_keep_alive(rt.settings.server.default_keep_alive))
        ticket = rt.scheduler.reserve(rt.queue_key(record, opts.num_ctx, embedding=True))
        await ticket.acquire()
        try:
            vectors, count, _stats = await run_in_threadpool(
                lambda: rt.runner.embed(
                    record, texts, n_ctx=opts.num_ctx, keep_alive=keep, truncate=body.truncate
                )
            )
        finally:
            ticket.release()
        data = []
        for i, vec in enumerate(vectors):
            if body.dimensions:
                vec = vec[: body.dimensions]
            value: Any = vec
            if body.encoding_format == "base64":
                import numpy as np

                value = base64.b64encode(np.asarray(vec, dtype="float32").tobytes()).decode()
            data.append({"object": "embedding", "index": i, "embedding": value})
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "model": body.model,
                "usage": {"prompt_tokens": count, "total_tokens": count},
            }
        )
    except Exception as exc:
        return openai_error(exc)
