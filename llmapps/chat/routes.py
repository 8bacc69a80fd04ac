"""HTTP endpoints of the chat area: conversations, streamed messages, personas.

Streaming answers are NDJSON (one event object per line, ``application/x-ndjson``) or, when
the client asks for ``text/event-stream`` (``Accept`` header or ``?format=sse``), Server-Sent
Events with the same objects as ``data:``. Validation errors (unknown conversation, empty
message, persona needing a knowledge base) are answered with a JSON error and a 4xx status
before any streaming starts; errors during the answer arrive as an ``error`` event.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict

from llmapps.access import REMOTE
from llmapps.chat.uploads import safe_name, upload_folder
from llmapps.config import Settings, get_settings
from llmapps.uploads import save_upload

if TYPE_CHECKING:  # the service loads LangChain: imported on the first chat request (see _service)
    from llmapps.chat.service import ChatService, Turn

router = APIRouter(prefix="/chat", tags=["chat"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConversationIn(_Body):
    title: str = ""
    persona: str | None = None
    model: str | None = None
    kb: str | None = None
    memory: Literal["full", "window", "summary"] | None = None
    tools: list[str] | None = None


class ConversationPatch(_Body):
    title: str | None = None
    persona: str | None = None
    model: str | None = None
    kb: str | None = None
    memory: Literal["full", "window", "summary", ""] | None = None
    tools: list[str] | None = None


class MessageIn(_Body):
    content: str
    stream: bool = True
    persona: str | None = None
    model: str | None = None
    kb: str | None = None


class EditIn(_Body):
    content: str
    stream: bool = True


class RegenerateIn(_Body):
    stream: bool = True


def _service(request: Request) -> ChatService:
    """The chat service, imported on first use: a model server that never serves chat keeps
    LangChain out of its memory (``bench/serve.py`` counts the server's resident size)."""
    from llmapps.chat.service import get_service

    settings: Settings = getattr(request.app.state, "settings", None) or get_settings()
    return get_service(settings)


def _respond(request: Request, turn: Turn, stream: bool) -> Response:
    if not stream:
        events = [e.to_dict() for e in turn]
        done: dict[str, Any] = next((e for e in reversed(events) if e["type"] == "done"), {})
        failures = [e for e in events if e["type"] == "error"]
        errors = [e["message"] for e in failures]
        citations: list[Any] = next(
            (e["citations"] for e in events if e["type"] == "citations"), []
        )
        tool_events = [e for e in events if e["type"] in ("tool_call", "tool_result")]
        body = {**done, "citations": citations, "tool_events": tool_events, "errors": errors}
        status = int(failures[0].get("status_code") or 502) if failures else 200
        return JSONResponse(body, status_code=status)
    sse = request.query_params.get("format") == "sse" or "text/event-stream" in request.headers.get(
        "accept", ""
    )

    def lines() -> Iterator[str]:
        for event in turn.threaded():
            payload = json.dumps(event.to_dict(), ensure_ascii=False)
            yield f"event: {event.kind}\ndata: {payload}\n\n" if sse else payload + "\n"

    media = "text/event-stream" if sse else "application/x-ndjson"
    return StreamingResponse(
        lines(), media_type=media, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


# conversations ---------------------------------------------------------------------------------
@router.get("/conversations")
def list_conversations(request: Request, q: str | None = None, limit: int = 200) -> Any:
    """All conversations, newest first; with ``q``, those whose title or messages match."""
    service = _service(request)
    if q:
        return service.store.search(q, limit=limit)
    return [c.to_dict() for c in service.store.all(limit=limit)]


@router.post("/conversations", status_code=201)
def create_conversation(request: Request, body: ConversationIn) -> dict[str, Any]:
    return _service(request).new_conversation(**body.model_dump(), access=REMOTE).to_dict()


@router.get("/conversations/{conversation_id}")
def get_conversation(request: Request, conversation_id: int) -> dict[str, Any]:
    return _service(request).store.export_json(conversation_id)


@router.patch("/conversations/{conversation_id}")
def update_conversation(
    request: Request, conversation_id: int, body: ConversationPatch
) -> dict[str, Any]:
    service = _service(request)
    data = body.model_dump()
    title = data.pop("title")
    conv = service.configure(conversation_id, **data, access=REMOTE)
    return (service.store.rename(conversation_id, title) if title is not None else conv).to_dict()


@router.delete("/conversations/{conversation_id}", status_code=204)
def delete_conversation(request: Request, conversation_id: int) -> Response:
    _service(request).store.delete(conversation_id)
    return Response(status_code=204)


@router.get("/conversations/{conversation_id}/export")
def export_conversation(
    request: Request,
    conversation_id: int,
    format: Literal["md", "json"] = Query("md"),
) -> Response:
    store = _service(request).store
    name = f"conversation-{conversation_id}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "json":
        return JSONResponse(store.export_json(conversation_id), headers=headers)
    return PlainTextResponse(
        store.export_markdown(conversation_id), media_type="text/markdown", headers=headers
    )


@router.post("/conversations/{conversation_id}/messages")
def post_message(request: Request, conversation_id: int, body: MessageIn) -> Response:
    """Send a message and stream the answer (NDJSON, or SSE when asked for)."""
    turn = _service(request).send(
        conversation_id,
        body.content,
        persona=body.persona,
        model=body.model,
        kb=body.kb,
        access=REMOTE,
    )
    return _respond(request, turn, body.stream)


@router.post("/conversations/{conversation_id}/regenerate")
def regenerate(
    request: Request, conversation_id: int, body: RegenerateIn | None = None
) -> Response:
    turn = _service(request).regenerate(conversation_id)
    return _respond(request, turn, body.stream if body else True)


@router.post("/conversations/{conversation_id}/edit")
def edit_last(request: Request, conversation_id: int, body: EditIn) -> Response:
    """Replace the last user message and answer it again."""
    turn = _service(request).edit_last(conversation_id, body.content)
    return _respond(request, turn, body.stream)


@router.post("/conversations/{conversation_id}/stop")
def stop(request: Request, conversation_id: int) -> dict[str, Any]:
    service = _service(request)
    service.store.get(conversation_id)
    return {"stopped": service.stop(conversation_id)}


# personas ------------------------------------------------------------------------------------
@router.get("/personas")
def list_personas(request: Request) -> list[dict[str, Any]]:
    return [p.to_dict() for p in _service(request).personas.all()]


@router.get("/personas/{name}")
def get_persona(request: Request, name: str) -> dict[str, Any]:
    return _service(request).personas.get(name).to_dict()


@router.post("/personas", status_code=201)
def create_persona(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    return _service(request).personas.create(body, REMOTE).to_dict()


@router.put("/personas/{name}")
def update_persona(request: Request, name: str, body: dict[str, Any]) -> dict[str, Any]:
    return _service(request).personas.update(name, body, REMOTE).to_dict()


@router.delete("/personas/{name}", status_code=204)
def delete_persona(request: Request, name: str) -> Response:
    _service(request).personas.delete(name)
    return Response(status_code=204)


# knowledge bases (thin HTTP over llmapps.chat.kb) --------------------------------------------
class KbIn(_Body):
    name: str


def _settings(request: Request) -> Settings:
    settings: Settings = getattr(request.app.state, "settings", None) or get_settings()
    return settings


@router.get("/kbs")
def list_knowledge_bases(request: Request) -> list[dict[str, Any]]:
    from llmapps.chat.kb import kb_info, list_kbs

    settings = _settings(request)
    return [asdict(kb_info(name, settings=settings)) for name in list_kbs(settings)]


@router.post("/kbs", status_code=201)
def create_knowledge_base(request: Request, body: KbIn) -> dict[str, Any]:
    from llmapps.chat.kb import create_kb

    return asdict(create_kb(body.name, settings=_settings(request)))


@router.get("/kbs/{name}")
def get_knowledge_base(request: Request, name: str) -> dict[str, Any]:
    from llmapps.chat.kb import kb_info

    return asdict(kb_info(name, settings=_settings(request)))


@router.get("/kbs/{name}/search")
def search_knowledge_base(request: Request, name: str, q: str, k: int = 4) -> list[dict[str, Any]]:
    """Ranked chunks with source file, page/section and score (threshold applied)."""
    from llmapps.chat.kb import search

    return [asdict(hit) for hit in search(name, q, k, settings=_settings(request))]


@router.post("/kbs/{name}/files")
async def upload_to_knowledge_base(
    request: Request, name: str, files: list[UploadFile]
) -> dict[str, Any]:
    """Upload files into a knowledge base (each at most ``server.max_upload_mb``).

    Files are kept under the data directory (``kb_uploads/NAME/``, base names only, so an
    upload can never write elsewhere) because a rebuild reads them again.
    """
    from llmapps.chat.kb import add_paths, kb_info

    settings = _settings(request)
    kb_info(name, settings=settings)  # 404 before reading any upload
    folder = upload_folder(settings, name)
    saved: list[Path] = []
    for upload in files:
        filename = safe_name(upload.filename or "")
        target = folder / filename
        await save_upload(upload, target, settings.server.max_upload_mb)
        saved.append(target)
    report = await run_in_threadpool(add_paths, name, saved, settings=settings)
    return report.as_dict()
