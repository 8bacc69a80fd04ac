"""What every remote provider's chat model shares: calls wrapped in its :class:`RetryPolicy`.

Why one place: the OpenAI and Ollama subclasses differ in how they talk to their server and how
their exceptions read, not in how a call, an async call or a stream is retried and mapped. The
policy is built from the same ``models.*`` settings for both, and the provider only supplies
what is its own (which exceptions are retried, how they become our errors, Retry-After).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from llmapps.config import Settings
from llmapps.models.errors import ModelError
from llmapps.models.retry import RetryPolicy


def make_policy(
    settings: Settings,
    *,
    is_retryable: Callable[[BaseException], bool],
    map_error: Callable[..., BaseException | None],
    retry_after: Callable[[BaseException], float | None] | None = None,
    **context: Any,
) -> RetryPolicy:
    """The retry policy for one endpoint, from ``models.*`` settings.

    ``map_error`` is called as ``map_error(exc, timeout=..., retries=..., **context)`` so its
    message can name the spec, model and URL in ``context`` and the limits that were used.
    """
    models = settings.models

    def mapper(exc: BaseException) -> BaseException | None:
        return map_error(exc, timeout=models.timeout, retries=models.max_retries, **context)

    extra: dict[str, Any] = {} if retry_after is None else {"retry_after": retry_after}
    return RetryPolicy(
        retries=models.max_retries,
        wait=models.retry_wait,
        max_wait=models.retry_max_wait,
        is_retryable=is_retryable,
        map_error=mapper,
        **extra,
    )


class GuardedChatModel(BaseChatModel):
    """Mixin (put first in the bases) running every call of a LangChain chat model through
    ``_policy``: retries and our one-line errors; a stream is retried only before its first
    chunk."""

    _policy: RetryPolicy | None = PrivateAttr(default=None)

    @property
    def policy(self) -> RetryPolicy:
        if self._policy is None:
            raise ModelError("internal: model built without a retry policy (use get_chat_model)")
        return self._policy

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self.policy.call(
            # super() is the provider's class (the mixin comes first), never the abstract base.
            lambda: super(GuardedChatModel, self)._generate(  # type: ignore[safe-super]
                messages, stop=stop, run_manager=run_manager, **kwargs
            )
        )

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return await self.policy.acall(
            lambda: super(GuardedChatModel, self)._agenerate(
                messages, stop=stop, run_manager=run_manager, **kwargs
            )
        )

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        return self.policy.stream(lambda: super(GuardedChatModel, self)._stream(*args, **kwargs))

    async def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        async for chunk in self.policy.astream(
            lambda: super(GuardedChatModel, self)._astream(*args, **kwargs)
        ):
            yield chunk
