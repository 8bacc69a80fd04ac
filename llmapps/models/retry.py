"""Retries with exponential backoff for remote providers, and the mapping to our errors.

Why here and not in the SDKs: the OpenAI and Ollama clients each retry (or not) in their own
way and raise their own exception types. We switch the SDK retries off and wrap every call in
one tenacity policy so behaviour is the same on every provider: retry 429, 5xx and connection
errors with exponential backoff (a server's ``Retry-After`` wins), never retry a stream once
its first chunk has been delivered (the caller has already shown it), and turn whatever is left
into one of the one-line errors of :mod:`llmapps.models.errors`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

T = TypeVar("T")

_END = object()


@dataclass(frozen=True)
class RetryPolicy:
    """How one provider retries and how its exceptions become ours.

    ``map_error`` returns the user-facing error for a provider exception (or ``None`` to let
    the exception through unchanged, e.g. our own :class:`ModelError`).
    """

    retries: int
    wait: float
    max_wait: float
    is_retryable: Callable[[BaseException], bool]
    map_error: Callable[[BaseException], BaseException | None]
    retry_after: Callable[[BaseException], float | None] = lambda _exc: None

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if exc is not None:
            after = self.retry_after(exc)
            if after is not None:
                return max(0.0, min(after, self.max_wait))
        exponential = wait_exponential(multiplier=self.wait, min=0, max=self.max_wait)
        return float(exponential(state))

    def _kwargs(self) -> dict[str, Any]:
        return {
            "stop": stop_after_attempt(max(0, self.retries) + 1),
            "wait": self._wait,
            "retry": retry_if_exception(self.is_retryable),
            "reraise": True,
        }

    def mapped(self, exc: BaseException) -> BaseException:
        """The error to raise for ``exc`` (ours when the provider's is recognised)."""
        try:
            ours = self.map_error(exc)
        except Exception:  # a mapper bug must never hide the real error
            return exc
        return ours if ours is not None else exc

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` with retries; raise our error when it finally fails."""
        try:
            for attempt in Retrying(**self._kwargs()):
                with attempt:
                    return fn()
        except Exception as exc:
            raise self.mapped(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def acall(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Async :meth:`call`."""
        try:
            async for attempt in AsyncRetrying(**self._kwargs()):
                with attempt:
                    return await fn()
        except Exception as exc:
            raise self.mapped(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def stream(self, start: Callable[[], Iterator[T]]) -> Iterator[T]:
        """Stream from ``start()``, retrying only until the first item has arrived."""

        def first() -> tuple[Iterator[T], Any]:
            iterator = iter(start())
            return iterator, next(iterator, _END)

        iterator, item = self.call(first)
        if item is _END:
            return
        yield item
        try:
            yield from iterator
        except Exception as exc:
            raise self.mapped(exc) from exc

    async def astream(self, start: Callable[[], AsyncIterator[T]]) -> AsyncIterator[T]:
        """Async :meth:`stream`."""

        async def first() -> tuple[AsyncIterator[T], Any]:
            iterator = start().__aiter__()
            try:
                return iterator, await iterator.__anext__()
            except StopAsyncIteration:
                return iterator, _END

        iterator, item = await self.acall(first)
        if item is _END:
            return
        yield item
        try:
            async for rest in iterator:
                yield rest
        except Exception as exc:
            raise self.mapped(exc) from exc


def parse_retry_after(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` / ``retry-after`` headers (HTTP dates are ignored)."""
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            return float(raw) * scale
        except (TypeError, ValueError):
            continue
    return None
