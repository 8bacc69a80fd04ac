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
    aclose,
    chain,
    collect,
    embed_texts,
    error_payload,
    read_body,
    runtime,
    start_stream,
)
from llmapps.serve.options import GenOptions
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
    rt = runtime(request)
    records = await run_in_threadpool(rt.registry.list)
    return JSONResponse({"object": "list", "data": [_model_json(r) for r in records]})


@router.get("/models/{model_id:path}")
async def get_model(model_id: str, request: Request) -> Response:
    record = await run_in_threadpool(runtime(request).registry.get, model_id)
    return JSONResponse(_model_json(record))


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


def _sse(data: Any) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def _object(
    cid: str, kind: str, created: int, model: str, choices: list[Any], **extra: Any
) -> dict[str, Any]:
    """The envelope every completion answer and stream chunk shares."""
    return {
        "id": cid,
        "object": kind,
        "created": created,
        "model": model,
        "choices": choices,
        **extra,
    }


def _sampling(
    opts: GenOptions, body: ChatCompletionRequest | CompletionRequest, num_predict: int | None
) -> None:
    """Apply the OpenAI sampling fields both completion endpoints take."""
    opts.apply(
        {
            "temperature": body.temperature,
            "top_p": body.top_p,
            "seed": body.seed,
            "num_predict": num_predict,
            "stop": _stop(body.stop),
            "presence_penalty": body.presence_penalty,
            "frequency_penalty": body.frequency_penalty,
        },
        "request",
    )


async def _sse_stream(chunks: AsyncIterator[str], events: AsyncIterator[Any]) -> AsyncIterator[str]:
    """``chunks`` then ``[DONE]``; an error after the headers is reported in-band, as OpenAI
    does, and the generation is stopped when the client goes."""
    try:
        async for chunk in chunks:
            yield chunk
        yield "data: [DONE]\n\n"
    except Exception as exc:
        yield _sse({"error": error_payload(exc)})
    finally:
        await aclose(chunks)
        await aclose(events)


@router.post("/chat/completions")
async def chat_completions(request: Request) -> Response:
    rt, body = await read_body(request, ChatCompletionRequest)
    record = await run_in_threadpool(rt.registry.get, body.model)
    opts = model_options(record, rt.settings)
    _sampling(opts, body, body.max_completion_tokens or body.max_tokens)
    req = GenRequest(
        model=record,
        options=opts,
        messages=body.messages,
        format=_format(body.response_format),
        tools=body.tools,
        tool_choice=body.tool_choice,
        keep_alive=rt.keep_alive(body.keep_alive),
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
            _chat_sse(chain(first, events), cid, created, body.model, usage),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    result = await collect(rt, ticket, req, request)
    message: dict[str, Any] = {"role": "assistant", "content": result.text or None}
    if result.tool_calls:
        message["tool_calls"] = _tool_calls_json(result)
    elif message["content"] is None:
        message["content"] = ""
    choice = {
        "index": 0,
        "message": message,
        "logprobs": None,
        "finish_reason": _finish(result),
    }
    return JSONResponse(
        _object(cid, "chat.completion", created, body.model, [choice], usage=_usage(result))
    )


def _chat_sse(
    events: AsyncIterator[Any], cid: str, created: int, model: str, include_usage: bool
) -> AsyncIterator[str]:
    kind = "chat.completion.chunk"

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        extra = {"usage": None} if include_usage else {}
        return _sse(_object(cid, kind, created, model, [choice], **extra))

    async def chunks() -> AsyncIterator[str]:
        yield chunk({"role": "assistant", "content": ""})
        async for item in events:
            if isinstance(item, GenResult):
                if item.tool_calls:
                    yield chunk({"tool_calls": _tool_calls_json(item, with_index=True)})
                yield chunk({}, _finish(item))
                if include_usage:
                    yield _sse(_object(cid, kind, created, model, [], usage=_usage(item)))
            else:
                yield chunk({"content": item})

    return _sse_stream(chunks(), events)


@router.post("/completions")
async def completions(request: Request) -> Response:
    rt, body = await read_body(request, CompletionRequest)
    prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
    if len(prompts) != 1:
        raise BadRequestError("send exactly one prompt per request", param="prompt")
    if body.suffix:
        raise BadRequestError("suffix (fill-in-the-middle) is not supported", param="suffix")
    record = await run_in_threadpool(rt.registry.get, body.model)
    opts = model_options(record, rt.settings)
    _sampling(opts, body, body.max_tokens)
    req = GenRequest(
        model=record,
        options=opts,
        prompt=prompts[0],
        raw=True,
        keep_alive=rt.keep_alive(body.keep_alive),
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
            _completion_sse(chain(first, events), cid, created, body.model, usage, echo),
            media_type="text/event-stream",
        )
    result = await collect(rt, ticket, req, request)
    choice = {
        "index": 0,
        "text": echo + result.text,
        "logprobs": None,
        "finish_reason": _finish(result),
    }
    return JSONResponse(
        _object(cid, "text_completion", created, body.model, [choice], usage=_usage(result))
    )


def _completion_sse(
    events: AsyncIterator[Any], cid: str, created: int, model: str, include_usage: bool, echo: str
) -> AsyncIterator[str]:
    kind = "text_completion"

    def chunk(text: str, finish: str | None = None) -> str:
        choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": finish}
        return _sse(_object(cid, kind, created, model, [choice]))

    async def chunks() -> AsyncIterator[str]:
        if echo:
            yield chunk(echo)
        async for item in events:
            if isinstance(item, GenResult):
                yield chunk("", _finish(item))
                if include_usage:
                    yield _sse(_object(cid, kind, created, model, [], usage=_usage(item)))
            else:
                yield chunk(item)

    return _sse_stream(chunks(), events)


@router.post("/embeddings")
async def embeddings(request: Request) -> Response:
    rt, body = await read_body(request, EmbeddingRequest)
    texts = [body.input] if isinstance(body.input, str) else list(body.input)
    if not texts:
        raise BadRequestError("input is empty: send a string or a list of strings", param="input")
    record = await run_in_threadpool(rt.registry.get, body.model)
    opts = model_options(record, rt.settings)
    vectors, count, _stats = await embed_texts(
        rt, record, texts, opts.num_ctx, rt.keep_alive(None), body.truncate
    )
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
