"""HTTP endpoints of the private model server: OpenAI ``/v1`` and Ollama ``/api``.

``llmapps up`` includes this ``router``; ``llmapps serve`` adds ``GET /`` ("Ollama is
running") on top, because there the UI does not own ``/``.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from llmapps.serve import ollama_api, openai_api, responses_api

router = APIRouter()
router.include_router(openai_api.router)
router.include_router(responses_api.router)
router.include_router(ollama_api.router)

# Served at "/" by ``llmapps serve`` (standalone), as Ollama does.
root_router = APIRouter()


@root_router.get("/", include_in_schema=False)
@root_router.head("/", include_in_schema=False)
async def root() -> PlainTextResponse:
    return PlainTextResponse("Ollama is running")
