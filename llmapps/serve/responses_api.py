"""OpenAI's Responses API: ``POST /v1/responses``, ``GET``/``DELETE /v1/responses/{id}``,
``GET /v1/responses/{id}/input_items``.

Why it is built like chat completions: the handler validates the body, turns items, tools and
``text.format`` into the engine's chat request (:mod:`llmapps.serve.responses_items`), asks the
scheduler for a place and renders the engine's events, here as a Response object or as the
Responses SSE event sequence (``response.created`` … ``response.completed``, each with a
``sequence_number``, no ``[DONE]``). ``store`` (default true, as at OpenAI) keeps the finished
response in SQLite so ``previous_response_id`` can continue the conversation and ``GET`` /
``DELETE`` can find it. Errors use OpenAI's ``{"error": {...}}`` shape; an error after the
stream started is sent in-band as an ``error`` event followed by ``response.failed``.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from llmapps.serve.engine import GenRequest, GenResult, ToolCall, model_options
from llmapps.serve.errors import BadRequestError, ServeError
from llmapps.serve.http import (
    Runtime,
    aclose,
    chain,
    collect,
    error_payload,
    read_body,
    runtime,
    start_stream,
)
from llmapps.serve.options import GenOptions
from llmapps.serve.registry import ModelRecord
from llmapps.serve.responses_items import (
    chat_tools,
    function_tools,
    new_id,
    normalize_input,
    text_format,
    to_messages,
    tool_choice,
)
from llmapps.serve.responses_store import ResponseStore
from llmapps.serve.responses_types import ResponsesRequest
from llmapps.store import get_db

router = APIRouter(prefix="/v1", tags=["openai"])

MAX_INPUT_ITEMS_PAGE = 100


class ResponseNotFoundError(ServeError):
    """No stored response of that id (never stored, ``store: false``, deleted or pruned)."""

    status_code = 404


def _store(rt: Runtime) -> ResponseStore:
    return ResponseStore(get_db(rt.settings), rt.settings.server.max_stored_responses)


def _not_found(response_id: str, param: str | None = None) -> ResponseNotFoundError:
    what = "Previous response" if param else "Response"
    return ResponseNotFoundError(
        f"{what} with id '{response_id}' not found: it was never stored (store: false), "
        "was deleted, or is from another server",
        param=param,
    )


@dataclass
class _Plan:
    """One request, resolved: what the engine runs and what the Response object echoes."""

    rid: str
    created: int
    body: ResponsesRequest
    record: ModelRecord
    options: GenOptions
    items: list[dict[str, Any]]  # the whole conversation so far (inherited + this input)
    tools: list[dict[str, Any]]
    choice: Any
    format: dict[str, Any]
    request: GenRequest
    message_id: str = field(default_factory=lambda: new_id("msg"))

    @property
    def store(self) -> bool:
        return self.body.store is not False


def _plan(rt: Runtime, record: ModelRecord, body: ResponsesRequest) -> _Plan:
    """Resolve a request (blocking: reads the previous response from SQLite)."""
    if body.background:
        raise BadRequestError(
            "background responses are not supported: leave background unset and wait for the "
            "answer, or set stream: true",
            param="background",
        )
    items = normalize_input(body.input)
    if body.previous_response_id:
        earlier = _store(rt).conversation(body.previous_response_id)
        if earlier is None:
            raise _not_found(body.previous_response_id, "previous_response_id")
        items = earlier + items
    echoed_tools = function_tools(body.tools)
    engine_choice, echoed_choice, offered = tool_choice(body.tool_choice, echoed_tools)
    engine_format, echoed_format = text_format(body.text.format if body.text else None)
    opts = model_options(record, rt.settings)
    opts.apply(
        {
            "temperature": body.temperature,
            "top_p": body.top_p,
            "seed": body.seed,
            "num_predict": body.max_output_tokens,
        },
        "request",
    )
    request = GenRequest(
        model=record,
        options=opts,
        messages=to_messages(items, body.instructions),
        format=engine_format,
        tools=chat_tools(offered) if offered and engine_choice != "none" else None,
        tool_choice=engine_choice,
        keep_alive=rt.keep_alive(body.keep_alive),
        truncate=body.truncation == "auto",
    )
    return _Plan(
        rid=new_id("resp"),
        created=int(time.time()),
        body=body,
        record=record,
        options=opts,
        items=items,
        tools=echoed_tools,
        choice=echoed_choice,
        format=echoed_format,
        request=request,
    )


# -- the Response object -------------------------------------------------------------------------
def _usage(result: GenResult) -> dict[str, Any]:
    return {
        "input_tokens": result.prompt_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": result.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": result.prompt_tokens + result.completion_tokens,
    }


def _envelope(
    plan: _Plan,
    status: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None = None,
    *,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The Response object, field for field as OpenAI sends it."""
    body = plan.body
    done = status in ("completed", "incomplete")
    verbosity = (body.text.verbosity if body.text else None) or "medium"
    return {
        "id": plan.rid,
        "object": "response",
        "created_at": plan.created,
        "status": status,
        "background": False,
        "completed_at": int(time.time()) if status == "completed" else None,
        "error": error,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": body.instructions,
        "max_output_tokens": body.max_output_tokens,
        "max_tool_calls": None,
        "model": body.model,
        "output": output,
        "parallel_tool_calls": body.parallel_tool_calls is not False,
        "previous_response_id": body.previous_response_id,
        "prompt_cache_key": None,
        "reasoning": {"effort": None, "summary": None},
        "safety_identifier": None,
        "service_tier": "default",
        "store": plan.store,
        "temperature": plan.options.temperature,
        "text": {"format": plan.format, "verbosity": verbosity},
        "tool_choice": plan.choice,
        "tools": plan.tools,
        "top_logprobs": 0,
        "top_p": plan.options.top_p,
        "truncation": body.truncation or "disabled",
        "usage": usage if done else None,
        "user": body.user,
        "metadata": body.metadata or {},
    }


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


def _message_item(item_id: str, text: str | None, status: str) -> dict[str, Any]:
    content = [] if text is None else [_text_part(text)]
    return {
        "id": item_id,
        "type": "message",
        "status": status,
        "content": content,
        "role": "assistant",
    }


def _call_item(call: ToolCall, item_id: str, arguments: str, status: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "arguments": arguments,
        "call_id": call.id,
        "name": call.name,
    }


def _status(result: GenResult) -> str:
    return (
        "incomplete" if result.finish_reason == "length" and not result.tool_calls else "completed"
    )


def _output(plan: _Plan, result: GenResult, with_message: bool) -> list[dict[str, Any]]:
    """Output items: the assistant message (when there is text, or nothing else), then calls."""
    output = []
    if with_message or result.text or not result.tool_calls:
        output.append(_message_item(plan.message_id, result.text, _status(result)))
    for call in result.tool_calls:
        args = json.dumps(call.arguments, ensure_ascii=False)
        output.append(_call_item(call, new_id("fc"), args, "completed"))
    return output


def _finished(plan: _Plan, result: GenResult, with_message: bool = False) -> dict[str, Any]:
    output = _output(plan, result, with_message)
    return _envelope(plan, _status(result), output, _usage(result))


# -- routes --------------------------------------------------------------------------------------
@router.post("/responses")
async def create_response(request: Request) -> Response:
    rt, body = await read_body(request, ResponsesRequest)
    record = await run_in_threadpool(rt.registry.get, body.model)
    plan = await run_in_threadpool(_plan, rt, record, body)
    ticket = rt.scheduler.reserve(rt.queue_key(record, plan.options.num_ctx))
    if body.stream:
        first, events = await start_stream(rt, ticket, plan.request)
        return StreamingResponse(
            _stream(rt, plan, chain(first, events), events),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    result = await collect(rt, ticket, plan.request, request)
    response = _finished(plan, result)
    if plan.store:
        await run_in_threadpool(_store(rt).save, response, plan.items)
    return JSONResponse(response)


@router.get("/responses/{response_id}")
async def retrieve_response(response_id: str, request: Request) -> Response:
    if request.query_params.get("stream", "").lower() == "true":
        raise BadRequestError(
            "streaming a stored response is not supported (there are no background "
            "responses): retrieve it without stream",
            param="stream",
        )
    rt = runtime(request)
    found = await run_in_threadpool(_store(rt).get, response_id)
    if found is None:
        raise _not_found(response_id)
    return JSONResponse(found)


@router.delete("/responses/{response_id}")
async def delete_response(response_id: str, request: Request) -> Response:
    rt = runtime(request)
    if not await run_in_threadpool(_store(rt).delete, response_id):
        raise _not_found(response_id)
    return JSONResponse({"id": response_id, "object": "response", "deleted": True})


@router.get("/responses/{response_id}/input_items")
async def list_input_items(response_id: str, request: Request) -> Response:
    """The response's input items (inherited ones included), newest first unless ``order=asc``."""
    params = request.query_params
    order = params.get("order", "desc")
    if order not in ("asc", "desc"):
        raise BadRequestError("order must be asc or desc", param="order")
    try:
        limit = int(params.get("limit", "20"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_INPUT_ITEMS_PAGE:
        raise BadRequestError(
            f"limit must be a whole number from 1 to {MAX_INPUT_ITEMS_PAGE}", param="limit"
        )
    rt = runtime(request)
    items = await run_in_threadpool(_store(rt).context, response_id)
    if items is None:
        raise _not_found(response_id)
    if order == "desc":
        items = items[::-1]
    after = params.get("after")
    if after:
        ids = [i.get("id") for i in items]
        if after not in ids:
            raise BadRequestError(f"after: no input item '{after}' in this response", param="after")
        items = items[ids.index(after) + 1 :]
    page = items[:limit]
    return JSONResponse(
        {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": len(items) > limit,
        }
    )


# -- streaming -----------------------------------------------------------------------------------
def _stream(
    rt: Runtime, plan: _Plan, items: AsyncIterator[Any], events: AsyncIterator[Any]
) -> AsyncIterator[str]:
    """The Responses SSE event sequence for one generation."""
    counter = itertools.count()

    def sse(kind: str, **fields: Any) -> str:
        data = {"type": kind, "sequence_number": next(counter), **fields}
        return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"

    msg = plan.message_id

    def text_event(kind: str, **fields: Any) -> str:
        return sse(kind, item_id=msg, output_index=0, content_index=0, **fields)

    async def produce() -> AsyncIterator[str]:
        yield sse("response.created", response=_envelope(plan, "in_progress", []))
        yield sse("response.in_progress", response=_envelope(plan, "in_progress", []))
        opened = False
        pieces: list[str] = []
        result: GenResult | None = None
        async for item in items:
            if isinstance(item, GenResult):
                result = item
                continue
            if not opened:
                opened = True
                added = _message_item(msg, None, "in_progress")
                yield sse("response.output_item.added", output_index=0, item=added)
                yield text_event("response.content_part.added", part=_text_part(""))
            pieces.append(item)
            yield text_event("response.output_text.delta", delta=item, logprobs=[])
        if result is None:  # pragma: no cover - the engine always ends with a result
            raise BadRequestError("the model produced no result")
        response = _finished(plan, result, with_message=opened)
        output = response["output"]
        index = 0
        if output and output[0]["type"] == "message":
            text = "".join(pieces)
            if not opened:  # an empty answer still gets its (empty) message item
                added = _message_item(msg, None, "in_progress")
                yield sse("response.output_item.added", output_index=0, item=added)
                yield text_event("response.content_part.added", part=_text_part(""))
            yield text_event("response.output_text.done", text=text, logprobs=[])
            yield text_event("response.content_part.done", part=_text_part(text))
            yield sse("response.output_item.done", output_index=0, item=output[0])
            index = 1
        for position, item in enumerate(output[index:], start=index):
            added = {**item, "arguments": "", "status": "in_progress"}
            yield sse("response.output_item.added", output_index=position, item=added)
            where = {"item_id": item["id"], "output_index": position}
            yield sse("response.function_call_arguments.delta", **where, delta=item["arguments"])
            yield sse("response.function_call_arguments.done", **where, arguments=item["arguments"])
            yield sse("response.output_item.done", output_index=position, item=item)
        if plan.store:
            await run_in_threadpool(_store(rt).save, response, plan.items)
        final = (
            "response.incomplete" if response["status"] == "incomplete" else "response.completed"
        )
        yield sse(final, response=response)

    async def guarded() -> AsyncIterator[str]:
        chunks = produce()
        try:
            async for chunk in chunks:
                yield chunk
        except Exception as exc:
            err = error_payload(exc)
            yield sse("error", code=err["code"], message=err["message"], param=err["param"])
            failure = {"code": "server_error", "message": err["message"]}
            yield sse("response.failed", response=_envelope(plan, "failed", [], error=failure))
        finally:
            await aclose(chunks)
            await aclose(events)

    return guarded()
