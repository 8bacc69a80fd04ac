"""``openai:`` and ``openai-compatible:`` specs via ``langchain-openai``.

Why subclasses of ``ChatOpenAI`` / ``OpenAIEmbeddings``: they keep streaming, tool calling
(``bind_tools``) and structured output exactly as LangChain does them, while we add the parts
the issue asks for: our own retry policy (the SDK's retries are switched off so ours are the
only ones), one-line errors naming the model and base URL, and ``max_tokens`` sent under that
name to OpenAI-compatible servers (langchain-openai sends ``max_completion_tokens``, which
ChatGLM3's api_server, older vLLM and others silently ignore).
"""

from __future__ import annotations

from typing import Any

import httpx
import openai
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_openai import ChatOpenAI, OpenAIEmbeddings
from pydantic import PrivateAttr, SecretStr

from llmapps.config import Settings, secret
from llmapps.models.errors import (
    AuthError,
    MissingKeyError,
    ModelError,
    RateLimitedError,
    RequestRejectedError,
    UnknownModelError,
    UnreachableError,
    is_rejection,
)
from llmapps.models.guard import OPENAI_URL
from llmapps.models.providers import guarded
from llmapps.models.providers.guarded import GuardedChatModel
from llmapps.models.retry import RetryPolicy, parse_retry_after
from llmapps.models.spec import ModelSpec
from llmapps.scrub import scrub

# OpenAI-compatible hosts whose keys have a well-known variable of their own.
HOST_KEYS = {
    "deepseek.com": "DEEPSEEK_API_KEY",
    "dashscope.aliyuncs.com": "DASHSCOPE_API_KEY",
    "bigmodel.cn": "ZHIPUAI_API_KEY",
}
COMPATIBLE_KEY = "OPENAI_COMPATIBLE_API_KEY"


def key_name(spec: ModelSpec) -> str:
    """Which secret authenticates ``spec``.

    Never ``OPENAI_API_KEY`` for an ``openai-compatible:`` server: the user's OpenAI key must
    not be sent to a third-party host just because it speaks the same protocol.
    """
    if spec.provider == "openai":
        return "OPENAI_API_KEY"
    host = httpx.URL(spec.base_url or "").host
    for domain, name in HOST_KEYS.items():
        if (host == domain or host.endswith("." + domain)) and secret(name):
            return name
    return COMPATIBLE_KEY


def _api_key(spec: ModelSpec) -> str:
    name = key_name(spec)
    key = secret(name)
    if spec.provider == "openai" and not key:
        raise MissingKeyError(
            f"{spec}: OPENAI_API_KEY is not set: export it or add it to .env "
            "(or use another model with -m / models.default)"
        )
    return key or "not-needed"  # local OpenAI-compatible servers usually need no key


def _base_url(spec: ModelSpec, settings: Settings) -> str:
    return spec.base_url or settings.models.openai_base_url or OPENAI_URL


def is_retryable(exc: BaseException) -> bool:
    """429, 5xx and connection errors are retried; a read timeout is not (it already waited)."""
    if isinstance(exc, openai.APITimeoutError):
        return False
    if isinstance(exc, openai.APIConnectionError):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    return False


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    return parse_retry_after(getattr(response, "headers", None))


def map_error(
    exc: BaseException,
    *,
    spec: str,
    model: str,
    base_url: str,
    timeout: float,
    retries: int,
    key: str = "OPENAI_API_KEY",
) -> BaseException | None:
    """An OpenAI SDK exception -> our one-line error naming the model, the URL and the fix."""
    if isinstance(exc, ModelError):
        return None
    if isinstance(exc, openai.APITimeoutError):
        return UnreachableError(
            f"{spec}: {base_url} did not answer within {timeout:g}s: check the server, "
            "or raise models.timeout"
        )
    if isinstance(exc, openai.APIConnectionError):
        return UnreachableError(
            f"{spec}: cannot reach {base_url}: check that the server is running and the URL "
            "in the spec or models.openai_base_url"
        )
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return AuthError(
            f"{spec}: {base_url} rejected the API key (HTTP {exc.status_code}): "
            f"check {key} in the environment or .env"
        )
    if isinstance(exc, openai.NotFoundError):
        return UnknownModelError(
            f"unknown model '{model}' at {base_url} (HTTP 404): check the model name "
            "(see the server's /models) or the base URL"
        )
    if isinstance(exc, openai.RateLimitError):
        return RateLimitedError(
            f"{spec}: {base_url} is still rate limiting (HTTP 429) after {retries} retries: "
            "wait and try again, or raise models.max_retries"
        )
    if isinstance(exc, openai.APIStatusError):
        detail = " ".join(scrub(str(exc.message or "")).split())[:200]
        extra = f" after {retries} retries" if exc.status_code >= 500 else ""
        error = RequestRejectedError if is_rejection(exc.status_code) else ModelError
        return error(f"{spec}: {base_url} answered HTTP {exc.status_code}{extra}: {detail}")
    return None


def make_policy(
    *, spec: str, model: str, base_url: str, settings: Settings, key: str = "OPENAI_API_KEY"
) -> RetryPolicy:
    """The retry policy (and error mapping) for one OpenAI-style endpoint."""
    return guarded.make_policy(
        settings,
        is_retryable=is_retryable,
        map_error=map_error,
        retry_after=_retry_after,
        spec=spec,
        model=model,
        base_url=base_url,
        key=key,
    )


class GuardedChatOpenAI(GuardedChatModel, ChatOpenAI):
    """``ChatOpenAI`` with our retries, our errors and a choice of the max-tokens field."""

    legacy_max_tokens: bool = False  # send ``max_tokens`` instead of ``max_completion_tokens``

    def _get_request_payload(
        self,
        input_: LanguageModelInput,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = super()._get_request_payload(input_, stop=stop, **kwargs)
        if self.legacy_max_tokens and "max_completion_tokens" in payload:
            payload["max_tokens"] = payload.pop("max_completion_tokens")
        return payload


class GuardedOpenAIEmbeddings(OpenAIEmbeddings):
    """``OpenAIEmbeddings`` with our retries and errors."""

    _policy: RetryPolicy | None = PrivateAttr(default=None)

    def embed_documents(
        self, texts: list[str], chunk_size: int | None = None, **kwargs: Any
    ) -> list[list[float]]:
        assert self._policy is not None
        return self._policy.call(
            lambda: super(GuardedOpenAIEmbeddings, self).embed_documents(
                texts, chunk_size, **kwargs
            )
        )

    def embed_query(self, text: str, **kwargs: Any) -> list[float]:
        return self.embed_documents([text], **kwargs)[0]

    async def aembed_documents(
        self, texts: list[str], chunk_size: int | None = None, **kwargs: Any
    ) -> list[list[float]]:
        assert self._policy is not None
        return await self._policy.acall(
            lambda: super(GuardedOpenAIEmbeddings, self).aembed_documents(
                texts, chunk_size, **kwargs
            )
        )

    async def aembed_query(self, text: str, **kwargs: Any) -> list[float]:
        return (await self.aembed_documents([text], **kwargs))[0]


def chat_model(spec: ModelSpec, settings: Settings, params: dict[str, Any]) -> BaseChatModel:
    base_url = _base_url(spec, settings)
    model = GuardedChatOpenAI(
        model=spec.model,
        base_url=base_url,
        api_key=SecretStr(_api_key(spec)),
        timeout=settings.models.timeout,
        max_retries=0,  # ours are the only retries
        stream_usage=True,
        legacy_max_tokens=spec.provider == "openai-compatible",
        **params,
    )
    model._policy = make_policy(
        spec=str(spec), model=spec.model, base_url=base_url, settings=settings, key=key_name(spec)
    )
    return model


def embeddings(spec: ModelSpec, settings: Settings) -> Embeddings:
    base_url = _base_url(spec, settings)
    emb = GuardedOpenAIEmbeddings(
        model=spec.model,
        base_url=base_url,
        api_key=SecretStr(_api_key(spec)),
        timeout=settings.models.timeout,
        max_retries=0,
        check_embedding_ctx_length=False,
    )
    emb._policy = make_policy(
        spec=str(spec), model=spec.model, base_url=base_url, settings=settings, key=key_name(spec)
    )
    return emb
