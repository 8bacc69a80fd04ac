"""``ollama:`` specs via ``langchain-ollama``.

TODO(foundation): retries, clear errors for an unreachable host or unknown model.
"""

from __future__ import annotations

from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_ollama import ChatOllama, OllamaEmbeddings

from llmapps.config import Settings
from llmapps.models.spec import ModelSpec


def chat_model(spec: ModelSpec, settings: Settings, params: dict[str, Any]) -> BaseChatModel:
    mapped = dict(params)
    if "max_tokens" in mapped:
        mapped["num_predict"] = mapped.pop("max_tokens")
    return ChatOllama(
        model=spec.model,
        base_url=spec.base_url or settings.models.ollama_base_url,
        client_kwargs={"timeout": settings.models.timeout},
        **mapped,
    )


def embeddings(spec: ModelSpec, settings: Settings) -> Embeddings:
    return OllamaEmbeddings(
        model=spec.model, base_url=spec.base_url or settings.models.ollama_base_url
    )
