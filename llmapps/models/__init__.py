"""The model layer: a spec string in, a LangChain chat model or embeddings out.

Only this package knows which provider is behind a spec. Applications call
:func:`get_chat_model` / :func:`get_embeddings` and compose the result with LCEL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmapps.config import Settings, get_settings
from llmapps.models.errors import (
    AuthError,
    MissingKeyError,
    ModelError,
    RateLimitedError,
    RequestRejectedError,
    SpecError,
    UnknownModelError,
    UnreachableError,
)
from llmapps.models.guard import SpecNotAllowedError, check_spec_allowed
from llmapps.models.spec import ModelSpec, parse_spec

if TYPE_CHECKING:  # LangChain costs ~30 MB and 0.3 s: the model server imports errors only
    from langchain_core.embeddings import Embeddings
    from langchain_core.language_models import BaseChatModel

__all__ = [
    "AuthError",
    "MissingKeyError",
    "ModelError",
    "ModelSpec",
    "RateLimitedError",
    "RequestRejectedError",
    "SpecError",
    "SpecNotAllowedError",
    "UnknownModelError",
    "UnreachableError",
    "check_spec_allowed",
    "get_chat_model",
    "get_embeddings",
    "parse_spec",
    "resolve_spec",
]

# Generation parameters every provider accepts (mapped to each backend's own names).
GENERATION_PARAMS = ("temperature", "top_p", "max_tokens", "stop", "seed")


def resolve_spec(spec: str | None = None, settings: Settings | None = None) -> ModelSpec:
    """Parse ``spec`` (default: ``models.default``), resolving aliases from the config.

    ``auto`` picks the best model present (see :func:`~llmapps.models.local.manifests.auto_model`);
    a bare registry name such as ``qwen2.5:1.5b`` (pulled or created) means ``local:`` it.
    """
    from llmapps.models.local.manifests import auto_model, find_registry_model

    settings = settings or get_settings()
    text = spec or settings.models.default
    if text.strip() == "auto" and "auto" not in settings.models.aliases:
        text = auto_model(settings)
    try:
        return parse_spec(text, settings.models.aliases)
    except SpecError:
        if find_registry_model(text, settings) is not None:
            return ModelSpec(provider="local", model=text.strip())
        raise


def get_chat_model(
    spec: str | None = None,
    *,
    app: str = "default",
    settings: Settings | None = None,
    **params: Any,
) -> BaseChatModel:
    """A streaming LangChain chat model for ``spec``; every call is logged under ``app``.

    ``params`` may hold ``temperature``, ``top_p``, ``max_tokens``, ``stop``, ``seed``.
    """
    from llmapps.models.calllog import attach_call_logger
    from llmapps.models.providers import local, ollama, openai

    settings = settings or get_settings()
    parsed = resolve_spec(spec, settings)
    clean = {k: v for k, v in params.items() if v is not None}
    unknown = set(clean) - set(GENERATION_PARAMS)
    if unknown:
        raise ModelError(f"unsupported model parameter(s): {', '.join(sorted(unknown))}")
    model: BaseChatModel
    if parsed.provider == "local":
        model = local.chat_model(parsed, settings, clean)
    elif parsed.provider in ("openai", "openai-compatible"):
        model = openai.chat_model(parsed, settings, clean)
    elif parsed.provider == "ollama":
        model = ollama.chat_model(parsed, settings, clean)
    else:  # pragma: no cover - parse_spec rejects other providers
        raise SpecError(f"unknown provider {parsed.provider}")
    return attach_call_logger(model, app=app, spec=str(parsed), settings=settings)


def get_embeddings(spec: str | None = None, *, settings: Settings | None = None) -> Embeddings:
    """Embeddings for ``spec`` (default: ``models.embeddings``, else ``models.default``)."""
    from llmapps.models.providers import local, ollama, openai

    settings = settings or get_settings()
    text = spec or settings.models.embeddings or settings.models.default
    if text.strip() == "auto":  # embeddings stay stable: a pulled chat model must not re-key KBs
        text = "local:smollm2"
    parsed = resolve_spec(text, settings)
    if parsed.provider == "local":
        return local.embeddings(parsed, settings)
    if parsed.provider in ("openai", "openai-compatible"):
        return openai.embeddings(parsed, settings)
    return ollama.embeddings(parsed, settings)
