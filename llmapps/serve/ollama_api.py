"""The Ollama-compatible API: ``/api/generate``, ``/api/chat``, model management, embeddings.

Why the same engine: ``/api/chat`` and ``/v1/chat/completions`` share prompt building, limits
and tool calling; this module only speaks Ollama's wire format (NDJSON streams that end with
``done: true`` and the timing counters, ``{"error": "..."}`` errors).
"""

from __future__ import annotations

import hashlib
import json
import queue
import re
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from llmapps import __version__
from llmapps.serve.api_types import (
    OllamaChatRequest,
    OllamaCopyRequest,
    OllamaCreateRequest,
    OllamaEmbeddingsRequest,
    OllamaEmbedRequest,
    OllamaGenerateRequest,
    OllamaModelRef,
)
from llmapps.serve.create_guard import (
    blobs_dir,
    check_create_allowed,
    check_file_allowed,
    http_base_dir,
    read_modelfile,
)
from llmapps.serve.engine import GenRequest, GenResult, gguf_metadata, model_options
from llmapps.serve.errors import BadRequestError, PayloadTooLargeError
from llmapps.serve.http import (
    Runtime,
    aclose,
    chain,
    collect,
    embed_texts,
    error_payload,
    read_body,
    runtime,
    start_stream,
)
from llmapps.serve.info import model_details as _details
from llmapps.serve.info import modified_at as _modified
from llmapps.serve.info import show_info
from llmapps.serve.modelfile import Modelfile, convert_parameter, parse_modelfile
from llmapps.serve.pull import pull as pull_model
from llmapps.serve.registry import ModelRecord, full_name

router = APIRouter(prefix="/api", tags=["ollama"])

# The Ollama API version we follow; clients that check a minimum version accept it.
OLLAMA_COMPAT_VERSION = "0.12.0"
NDJSON = "application/x-ndjson"


def _zulu(moment: datetime) -> str:
    """A UTC time as Ollama writes it (``...Z``)."""
    return moment.isoformat().replace("+00:00", "Z")


def _now() -> str:
    return _zulu(datetime.now(UTC))


def _format(value: Any) -> Any:
    if value in (None, ""):
        return None
    if value == "json" or isinstance(value, dict):
        return value
    raise BadRequestError("format must be 'json' or a JSON schema object", param="format")


def _stats(result: GenResult) -> dict[str, Any]:
    return {
        "done_reason": "stop"
        if result.finish_reason in ("tool_calls", "cancelled")
        else (result.finish_reason),
        "total_duration": result.total_ns,
        "load_duration": result.load_ns,
        "prompt_eval_count": result.prompt_tokens,
        "prompt_eval_duration": result.prompt_eval_ns,
        "eval_count": result.completion_tokens,
        "eval_duration": result.eval_ns,
    }


def _message(content: str, result: GenResult) -> dict[str, Any]:
    """The assistant message of a finished chat, with its tool calls when there are any."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if result.tool_calls:
        message["tool_calls"] = [
            {"function": {"name": c.name, "arguments": c.arguments}} for c in result.tool_calls
        ]
    return message


def _reply(model: str, key: str, value: Any, result: GenResult | None = None) -> dict[str, Any]:
    """One reply object (or stream line): ``done`` with the counters once ``result`` is in."""
    done = {"done": True, **_stats(result)} if result is not None else {"done": False}
    return {"model": model, "created_at": _now(), key: value, **done}


def _stream(first: Any, events: AsyncIterator[Any], render: Any) -> StreamingResponse:
    return StreamingResponse(_ndjson(chain(first, events), render), media_type=NDJSON)


def _line(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False) + "\n"


async def _ndjson(events: AsyncIterator[Any], render: Any) -> AsyncIterator[str]:
    try:
        async for item in events:
            yield _line(render(item))
    except Exception as exc:
        yield _line({"error": error_payload(exc)["message"]})
    finally:
        await aclose(events)


def _options(rt: Runtime, record: ModelRecord, options: dict[str, Any] | None) -> Any:
    opts = model_options(record, rt.settings)
    opts.apply({k: v for k, v in (options or {}).items() if k != "truncate"}, "options")
    return opts


def _truncate(flag: bool, options: dict[str, Any] | None) -> bool:
    return bool(flag or (options or {}).get("truncate"))


async def _load_only(
    rt: Runtime, record: ModelRecord, model: str, n_ctx: int, keep: float, key: str, empty: Any
) -> Response:
    """Ollama loads (or with keep_alive 0 unloads) a model on an empty prompt and answers
    ``done`` at once, with ``key`` (``message`` or ``response``) set to ``empty``."""
    if keep == 0:
        await run_in_threadpool(lambda: rt.runner.expire(name=record.name))
    else:
        await run_in_threadpool(rt.runner.load, record, n_ctx, keep)
    done_reason = "unload" if keep == 0 else "load"
    return JSONResponse(
        {"model": model, "created_at": _now(), key: empty, "done": True, "done_reason": done_reason}
    )


@router.post("/chat")
async def chat(request: Request) -> Response:
    rt, body = await read_body(request, OllamaChatRequest)
    record = await run_in_threadpool(rt.registry.get, body.model)
    opts = _options(rt, record, body.options)
    keep = rt.keep_alive(body.keep_alive)
    if not body.messages:
        empty = {"role": "assistant", "content": ""}
        return await _load_only(rt, record, body.model, opts.num_ctx, keep, "message", empty)
    req = GenRequest(
        model=record,
        options=opts,
        messages=body.messages,
        format=_format(body.format),
        think=body.think,
        tools=body.tools,
        tool_choice="auto" if body.tools else None,
        keep_alive=keep,
        truncate=_truncate(body.truncate, body.options),
    )
    ticket = rt.scheduler.reserve(rt.queue_key(record, opts.num_ctx))

    def render(item: Any) -> dict[str, Any]:
        if isinstance(item, GenResult):
            return _reply(body.model, "message", _message("", item), item)
        return _reply(body.model, "message", {"role": "assistant", "content": item})

    if body.stream:
        return _stream(*await start_stream(rt, ticket, req), render)
    result = await collect(rt, ticket, req, request)
    return JSONResponse(_reply(body.model, "message", _message(result.text, result), result))


@router.post("/generate")
async def generate(request: Request) -> Response:
    rt, body = await read_body(request, OllamaGenerateRequest)
    if body.images:
        raise BadRequestError("images are not supported by this model", param="images")
    if body.suffix:
        raise BadRequestError("suffix (fill-in-the-middle) is not supported", param="suffix")
    record = await run_in_threadpool(rt.registry.get, body.model)
    opts = _options(rt, record, body.options)
    keep = rt.keep_alive(body.keep_alive)
    if not body.prompt:
        return await _load_only(rt, record, body.model, opts.num_ctx, keep, "response", "")
    req = GenRequest(
        model=record,
        options=opts,
        prompt=body.prompt,
        system=body.system,
        template=body.template or None,
        raw=body.raw,
        think=body.think,
        format=_format(body.format),
        keep_alive=keep,
        truncate=_truncate(body.truncate, body.options),
    )
    ticket = rt.scheduler.reserve(rt.queue_key(record, opts.num_ctx))

    def render(item: Any) -> dict[str, Any]:
        if isinstance(item, GenResult):
            return _reply(body.model, "response", "", item)
        return _reply(body.model, "response", item)

    if body.stream:
        return _stream(*await start_stream(rt, ticket, req), render)
    result = await collect(rt, ticket, req, request)
    return JSONResponse(_reply(body.model, "response", result.text, result))


@router.get("/tags")
async def tags(request: Request) -> Response:
    rt = runtime(request)

    def build() -> list[dict[str, Any]]:
        return [
            {
                "name": r.name,
                "model": r.name,
                "modified_at": _modified(r),
                "size": r.size,
                "digest": r.digest,
                "details": _details(r),
            }
            for r in rt.registry.list()
        ]

    return JSONResponse({"models": await run_in_threadpool(build)})


@router.post("/show")
async def show(request: Request) -> Response:
    rt, body = await read_body(request, OllamaModelRef)
    record = await run_in_threadpool(rt.registry.get, body.ref())
    return JSONResponse(await run_in_threadpool(show_info, record))


def _loaded_details(path: Path) -> dict[str, Any]:
    meta = gguf_metadata(path)
    return {
        "format": "gguf",
        "family": meta.get("general.architecture", ""),
        "parameter_size": meta.get("general.size_label", ""),
    }


def ps_entries(rt: Runtime) -> list[dict[str, Any]]:
    """Loaded models for ``/api/ps`` and ``llmapps models ps``."""
    out = []
    for loaded in rt.runner.loaded():
        name = loaded.name or f"{loaded.path.stem}:latest"
        try:
            digest = rt.registry.get(name).digest
        except Exception:  # a file loaded by path, or removed meanwhile: no digest to show
            digest = ""
        expires = loaded.expires_at
        out.append(
            {
                "name": name,
                "model": name,
                "size": loaded.size_bytes,
                "size_vram": getattr(loaded, "size_vram", 0),
                "digest": digest,
                "details": _loaded_details(loaded.path),
                "expires_at": (
                    _zulu(datetime.fromtimestamp(expires, UTC))
                    if expires is not None
                    else "2318-01-01T00:00:00Z"  # "forever", as Ollama shows it
                ),
                "context_length": loaded.n_ctx,
                "embedding": loaded.embedding,
            }
        )
    return out


@router.get("/ps")
async def ps(request: Request) -> Response:
    entries = await run_in_threadpool(ps_entries, runtime(request))
    return JSONResponse({"models": entries})


_DIGEST = re.compile(r"^sha256[:-]([0-9a-f]{64})$")


def blob_path(rt: Runtime, digest: str) -> Path:
    """Where an uploaded blob lives: ``<home>/models/blobs/sha256-<hex>``."""
    match = _DIGEST.match(digest)
    if not match:
        raise BadRequestError(f"invalid digest '{digest}': use sha256:<64 hex digits>")
    return blobs_dir(rt.settings) / f"sha256-{match.group(1)}"


def _blob_ref(rt: Runtime, digest: str, what: str) -> str:
    path = blob_path(rt, digest)
    if not path.is_file():
        raise BadRequestError(
            f"{what}: blob {digest} was not uploaded: POST it to /api/blobs/{digest} first",
            param="files",
        )
    return str(path)


def modelfile_from_create(
    body: OllamaCreateRequest, rt: Runtime | None = None
) -> tuple[Modelfile, Path | None]:
    """The JSON fields of ``/api/create`` (or the legacy ``modelfile`` text) as a Modelfile, and
    the folder its relative paths start from (the legacy ``path`` Modelfile's, else None)."""
    from_blob: str | None = None
    base_dir: Path | None = None
    if body.files:
        weights = [d for name, d in body.files.items() if name.endswith(".gguf")]
        if len(weights) != 1 or rt is None:
            raise BadRequestError(
                "'files' must name exactly one .gguf blob (other formats: convert to GGUF)",
                param="files",
            )
        from_blob = _blob_ref(rt, weights[0], "files")
    if body.quantize:
        raise BadRequestError("quantize is not supported (quantize the GGUF beforehand)")
    if body.modelfile:
        mf = parse_modelfile(body.modelfile)
    elif body.path and rt is not None:
        text, base_dir = read_modelfile(body.path, rt.settings)  # confined, like FROM below
        mf = parse_modelfile(text)
    else:
        mf = Modelfile()
    if body.from_:
        mf.from_ = body.from_
    if from_blob:
        mf.from_ = from_blob
    if not mf.from_:
        raise BadRequestError("'from' is required (a model name, 'smollm2' or a GGUF path)")
    if body.system is not None:
        mf.system = body.system
    if body.template is not None:
        mf.template = body.template
    if body.license is not None:
        mf.license = [body.license] if isinstance(body.license, str) else list(body.license)
    if body.parameters:
        for key, value in body.parameters.items():
            mf.parameters[key.lower()] = convert_parameter(key, value, "parameters: ")
    if body.messages is not None:
        mf.messages = [
            {"role": str(m.get("role", "user")), "content": str(m.get("content", ""))}
            for m in body.messages
        ]
    if body.adapters:
        mf.adapters = [
            _blob_ref(rt, ref, "adapters") if rt is not None and _DIGEST.match(ref) else ref
            for ref in body.adapters.values()
        ]
    return mf, base_dir


@router.post("/create")
async def create(request: Request) -> Response:
    rt, body = await read_body(request, OllamaCreateRequest)
    name = body.model or body.name
    if not name:
        raise BadRequestError("'model' (the new model's name) is required", param="model")
    mf, base_dir = modelfile_from_create(body, rt)
    base_dir = base_dir or http_base_dir(rt.settings)
    check_create_allowed(mf, rt.registry, base_dir)
    await run_in_threadpool(rt.registry.create, name, mf, base_dir)
    steps = ["parsing modelfile", "using existing layers", "writing manifest", "success"]
    if body.stream:

        def lines() -> Iterator[str]:
            for step in steps:
                yield _line({"status": step})

        return StreamingResponse(lines(), media_type=NDJSON)
    return JSONResponse({"status": "success"})


@router.head("/blobs/{digest}")
async def blob_exists(digest: str, request: Request) -> Response:
    found = blob_path(runtime(request), digest).is_file()
    return Response(status_code=200 if found else 404)


@router.post("/blobs/{digest}")
async def blob_upload(digest: str, request: Request) -> Response:
    """Store an uploaded GGUF (what ``ollama create`` sends); the digest is verified."""
    rt = runtime(request)
    target = blob_path(rt, digest)
    limit = rt.settings.server.max_blob_mb * 1024 * 1024
    too_large = (
        f"blob is over the {rt.settings.server.max_blob_mb} MB limit (raise server.max_blob_mb)"
    )
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise PayloadTooLargeError(too_large)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + f".{uuid.uuid4().hex}.partial")
    sha = hashlib.sha256()
    size = 0
    head = b""
    try:
        with partial.open("wb") as fh:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLargeError(too_large)
                if len(head) < 4:
                    head += chunk[: 4 - len(head)]
                sha.update(chunk)
                await run_in_threadpool(fh.write, chunk)
        if f"sha256-{sha.hexdigest()}" != target.name:
            raise BadRequestError(
                f"digest mismatch: the upload is sha256:{sha.hexdigest()}, not {digest}"
            )
        if head != b"GGUF":
            raise BadRequestError(
                "the blob is not a GGUF file (it does not start with 'GGUF'): upload a "
                "GGUF model or LoRA adapter (convert safetensors with llama.cpp first)"
            )
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return Response(status_code=201)


@router.post("/copy")
async def copy(request: Request) -> Response:
    rt, body = await read_body(request, OllamaCopyRequest)
    await run_in_threadpool(rt.registry.copy, body.source, body.destination)
    return Response(status_code=200)


@router.delete("/delete")
async def delete(request: Request) -> Response:
    rt, body = await read_body(request, OllamaModelRef)
    name = full_name(body.ref())
    await run_in_threadpool(rt.registry.delete, name)
    await run_in_threadpool(lambda: rt.runner.expire(name=name))
    return Response(status_code=200)


def _pull_limit(rt: Runtime) -> int:
    """A pull asked for over HTTP may fetch at most ``server.max_blob_mb`` (the CLI has no
    limit: the local user chooses)."""
    return rt.settings.server.max_blob_mb * 1024 * 1024


def pull_lines(rt: Runtime, name: str, insecure: bool) -> Iterator[str]:
    """Ollama's NDJSON progress of a pull, from a worker thread (an error ends the stream as
    ``{"error": ...}``, as Ollama does)."""
    events: queue.Queue[Any] = queue.Queue()
    done = object()

    def work() -> None:
        try:
            pull_model(rt.settings, name, events.put, insecure=insecure, max_bytes=_pull_limit(rt))
        except Exception as exc:
            events.put(exc)
        finally:
            events.put(done)

    threading.Thread(target=work, name=f"pull {name}", daemon=True).start()
    while (item := events.get()) is not done:
        if isinstance(item, Exception):
            yield _line({"error": error_payload(item)["message"]})
        else:
            yield _line(item)


@router.post("/pull")
async def pull(request: Request) -> Response:
    """Pull a model by name from the Ollama registry or Hugging Face (``hf.co/user/repo``);
    a path to a GGUF file (ours, not Ollama's) imports that file."""
    rt, body = await read_body(request, OllamaModelRef)
    ref = body.ref()
    if not ref:
        raise BadRequestError("'model' (the name to pull) is required", param="model")
    if ref.endswith(".gguf") or ref.startswith(("/", "~", ".")):
        path = check_file_allowed(ref, rt.settings, http_base_dir(rt.settings))
        if not path.is_file():
            raise BadRequestError(f"GGUF file not found: {ref}", param="model")
        name = path.stem.lower().replace(" ", "-")
        await run_in_threadpool(rt.registry.create, name, Modelfile(from_=str(path)))
        if body.stream:
            lines = [_line({"status": s}) for s in ("pulling manifest", "success")]
            return StreamingResponse(iter(lines), media_type=NDJSON)
        return JSONResponse({"status": "success"})
    if body.stream:
        return StreamingResponse(pull_lines(rt, ref, body.insecure), media_type=NDJSON)
    await run_in_threadpool(
        lambda: pull_model(
            rt.settings, ref, lambda _p: None, insecure=body.insecure, max_bytes=_pull_limit(rt)
        )
    )
    return JSONResponse({"status": "success"})


async def _embed(
    rt: Runtime,
    model: str,
    texts: list[str],
    truncate: bool,
    keep_raw: Any,
    options: dict[str, Any] | None,
) -> tuple[list[list[float]], int, GenResult]:
    record = await run_in_threadpool(rt.registry.get, model)
    opts = _options(rt, record, options)
    return await embed_texts(rt, record, texts, opts.num_ctx, rt.keep_alive(keep_raw), truncate)


@router.post("/embed")
async def embed(request: Request) -> Response:
    rt, body = await read_body(request, OllamaEmbedRequest)
    texts = [body.input] if isinstance(body.input, str) else list(body.input)
    vectors, count, stats = await _embed(
        rt,
        body.model,
        texts,
        _truncate(body.truncate, body.options),
        body.keep_alive,
        body.options,
    )
    if body.dimensions:
        vectors = [v[: body.dimensions] for v in vectors]
    return JSONResponse(
        {
            "model": body.model,
            "embeddings": vectors,
            "total_duration": stats.total_ns,
            "load_duration": stats.load_ns,
            "prompt_eval_count": count,
        }
    )


@router.post("/embeddings")
async def embeddings(request: Request) -> Response:
    """The legacy single-prompt endpoint (``{"embedding": [...]}``)."""
    rt, body = await read_body(request, OllamaEmbeddingsRequest)
    vectors, _count, _stats = await _embed(
        rt, body.model, [body.prompt], False, body.keep_alive, body.options
    )
    return JSONResponse({"embedding": vectors[0]})


@router.get("/version")
async def version() -> dict[str, str]:
    return {"version": OLLAMA_COMPAT_VERSION, "llmapps": __version__}
