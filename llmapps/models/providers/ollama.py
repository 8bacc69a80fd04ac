"""``ollama:`` specs via ``langchain-ollama``.

Why subclasses of ``ChatOllama`` / ``OllamaEmbeddings``: LangChain keeps streaming, tool
calling and structured output; we add our retry policy (429 / 5xx / connection errors, with
backoff; a stream is retried only before its first chunk), one-line errors naming the model and
server (an unknown model says ``ollama pull``), and ``max_tokens`` mapped to ``num_predict``.
"""

from __future__ import annotations

from typing import Any

import httpx
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_ollama import ChatOllama, OllamaEmbeddings
from ollama import ResponseError
from pydantic import PrivateAttr

from llmapps.config import Settings, secret
from llmapps.models.errors import (
    ModelError,
    RateLimitedError,
    RequestRejectedError,
    UnknownModelError,
    UnreachableError,
    is_rejection,
)
from llmapps.models.providers import guarded
from llmapps.models.providers.guarded import GuardedChatModel
from llmapps.models.retry import RetryPolicy
from llmapps.models.spec import ModelSpec
from llmapps.scrub import scrub


def is_retryable(exc: BaseException) -> bool:
    """429, 5xx and connection failures are retried; a read timeout is not."""
    if isinstance(exc, ResponseError):
        return exc.status_code == 429 or exc.status_code >= 500
    if isinstance(exc, httpx.ConnectTimeout | httpx.ConnectError):
        return True
    # ollama's client turns httpx.ConnectError into the builtin ConnectionError.
    return isinstance(exc, ConnectionError)


def map_error(
    exc: BaseException, *, spec: str, model: str, base_url: str, timeout: float, retries: int
) -> BaseException | None:
    """An Ollama client exception -> our one-line error naming the model, server and fix."""
    if isinstance(exc, ModelError):
        return None
    if isinstance(exc, httpx.TimeoutException):
        return UnreachableError(
            f"{spec}: {base_url} did not answer within {timeout:g}s: check the Ollama server, "
            "or raise models.timeout"
        )
    if isinstance(exc, httpx.TransportError | ConnectionError):
        return UnreachableError(
            f"{spec}: cannot reach Ollama at {base_url}: start it ('ollama serve') or fix "
            "models.ollama_base_url / the @url in the spec"
        )
    if isinstance(exc, ResponseError):
        detail = " ".join(scrub(str(exc.error)).split())[:200]
        if exc.status_code == 404:
            return UnknownModelError(
                f"unknown model '{model}' at {base_url} ({detail}): run 'ollama pull {model}' "
                "or check the name with 'llmapps models list'"
            )
        if exc.status_code == 429:
            return RateLimitedError(
                f"{spec}: {base_url} is still rate limiting (HTTP 429) after {retries} retries: "
                "wait and try again"
            )
        status = f"HTTP {exc.status_code}" if exc.status_code > 0 else "an error"
        error = RequestRejectedError if is_rejection(exc.status_code) else ModelError
        return error(f"{spec}: {base_url} answered {status}: {detail}")
    return None


def make_policy(*, spec: str, model: str, base_url: str, settings: Settings) -> RetryPolicy:
    """The retry policy (and error mapping) for one Ollama server."""
    return guarded.make_policy(
        settings,
        is_retryable=is_retryable,
        map_error=map_error,
        spec=spec,
        model=model,
        base_url=base_url,
    )


class GuardedChatOllama(GuardedChatModel, ChatOllama):
    """``ChatOllama`` with our retries and errors."""


class GuardedOllamaEmbeddings(OllamaEmbeddings):
    """``OllamaEmbeddings`` with our retries and errors."""

    _policy: RetryPolicy | None = PrivateAttr(default=None)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        assert self._policy is not None
        return self._policy.call(
            lambda: super(GuardedOllamaEmbeddings, self).embed_documents(texts)
        )

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        assert self._policy is not None
        return await self._policy.acall(
            lambda: super(GuardedOllamaEmbeddings, self).aembed_documents(texts)
        )

    async def aembed_query(self, text: str) -> list[float]:
        return (await self.aembed_documents([text]))[0]


def _client_kwargs(settings: Settings) -> dict[str, Any]:
    """httpx options: our timeout, and ``OLLAMA_API_KEY`` as a bearer token when it is set."""
    kwargs: dict[str, Any] = {"timeout": settings.models.timeout}
    key = secret("OLLAMA_API_KEY")
    if key:
        kwargs["headers"] = {"Authorization": f"Bearer {key}"}
    return kwargs


def _base_url(spec: ModelSpec, settings: Settings) -> str:
    return spec.base_url or settings.models.ollama_base_url


def chat_model(spec: ModelSpec, settings: Settings, params: dict[str, Any]) -> BaseChatModel:
    mapped = dict(params)
    if "max_tokens" in mapped:
        mapped["num_predict"] = mapped.pop("max_tokens")
    base_url = _base_url(spec, settings)
    model = GuardedChatOllama(
        model=spec.model,
        base_url=base_url,
        client_kwargs=_client_kwargs(settings),
        **mapped,
    )
    model._policy = make_policy(
        spec=str(spec), model=spec.model, base_url=base_url, settings=settings
    )
    return model


def embeddings(spec: ModelSpec, settings: Settings) -> Embeddings:
    base_url = _base_url(spec, settings)
    emb = GuardedOllamaEmbeddings(
        model=spec.model,
        base_url=base_url,
        client_kwargs=_client_kwargs(settings),
    )
    emb._policy = make_policy(
        spec=str(spec), model=spec.model, base_url=base_url, settings=settings
    )
    return emb
