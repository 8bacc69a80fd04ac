"""``local:`` specs: GGUF files run in-process by llama.cpp."""

from __future__ import annotations

from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel

from llmapps.config import Settings
from llmapps.models.local.chat_model import ChatLlamaCpp, LlamaCppEmbeddings
from llmapps.models.local.discovery import resolve_local_model
from llmapps.models.local.manifests import find_registry_model
from llmapps.models.spec import ModelSpec


def chat_model(spec: ModelSpec, settings: Settings, params: dict[str, Any]) -> BaseChatModel:
    registered = find_registry_model(spec.model, settings)
    if registered is not None and spec.model != "smollm2":
        # A pulled/created model brings its PARAMETERs and SYSTEM (the caller's values win);
        # the prompt is rendered with the GGUF's own chat template.
        return ChatLlamaCpp(
            model_path=registered.path,
            model_name=registered.name,
            n_ctx=settings.models.n_ctx,
            n_threads=settings.models.n_threads,
            keep_alive=settings.models.keep_alive,
            default_system=registered.system,
            **{**registered.generation_defaults(), **params},
        )
    path = resolve_local_model(spec.model, settings)
    return ChatLlamaCpp(
        model_path=path,
        model_name=spec.model if spec.model == "smollm2" else path.stem,
        n_ctx=settings.models.n_ctx,
        n_threads=settings.models.n_threads,
        keep_alive=settings.models.keep_alive,
        **params,
    )


def embeddings(spec: ModelSpec, settings: Settings) -> Embeddings:
    path = resolve_local_model(spec.model, settings)
    return LlamaCppEmbeddings(path, keep_alive=settings.models.keep_alive)
