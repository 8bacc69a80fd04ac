"""``openai:`` and ``openai-compatible:`` specs via ``langchain-openai``.

TODO(foundation): retries with tenacity on 429/5xx/connection errors, clear errors, and
``max_tokens`` (not ``max_completion_tokens``) for OpenAI-compatible servers.
"""

from __future__ import annotations

from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI, OpenAIEmbeddings
from pydantic import SecretStr

from llmapps.config import Settings, secret
from llmapps.models.errors import MissingKeyError
from llmapps.models.spec import ModelSpec


def _api_key(spec: ModelSpec) -> str:
    key = secret("OPENAI_API_KEY")
    if spec.provider == "openai" and not key:
        raise MissingKeyError("OPENAI_API_KEY is not set: export it or add it to .env")
    return key or "not-needed"


def chat_model(spec: ModelSpec, settings: Settings, params: dict[str, Any]) -> BaseChatModel:
    return ChatOpenAI(
        model=spec.model,
        base_url=spec.base_url or settings.models.openai_base_url,
        api_key=SecretStr(_api_key(spec)),
        timeout=settings.models.timeout,
        max_retries=settings.models.max_retries,
        streaming=False,
        **params,
    )


def embeddings(spec: ModelSpec, settings: Settings) -> Embeddings:
    return OpenAIEmbeddings(
        model=spec.model,
        base_url=spec.base_url or settings.models.openai_base_url,
        api_key=SecretStr(_api_key(spec)),
        timeout=settings.models.timeout,
        max_retries=settings.models.max_retries,
        check_embedding_ctx_length=False,
    )
