"""Admission and thread bridging: parallel limit per model, bounded queue, cancellation.

Why here and not in the runner: a runner decodes ``server.parallel`` slots together, and the
server also needs to say *no* quickly when too many requests wait (503 + ``Retry-After``),
to keep the event loop free while a generation streams (it runs in a worker thread), to drop
a waiting request whose client went away, and to stop generating when the client goes away.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio

from llmapps.serve.errors import BusyError

_END = object()


@dataclass
class _ModelQueue:
    parallel: int
    semaphore: asyncio.Semaphore
    waiting: int = 0
    active: int = 0
    free_slots: list[int] = field(default_factory=list)


@dataclass
class SchedulerStats:
    """Counters tests and ``/api/ps`` can read."""

    started: int = 0  # requests that got a slot (and were processed)
    finished: int = 0
    cancelled: int = 0  # stopped while running (the client went away)
    rejected: int = 0  # refused with 503 (queue full)
    abandoned: int = 0  # left the queue before a slot was free (the client went away)


class Ticket:
    """A place in a model's queue, taken before the response starts (so 503 is possible)."""

    def __init__(self, scheduler: Scheduler, key: str) -> None:
        self.scheduler = scheduler
        self.key = key
        self.slot = 0
        self._state = "waiting"

    async def acquire(self) -> int:
        queue = self.scheduler._queues[self.key]
        try:
            await queue.semaphore.acquire()
        except BaseException:
            self.scheduler.stats.abandoned += 1
            self.release()
            raise
        queue.waiting -= 1
        queue.active += 1
        self._state = "active"
        self.slot = queue.free_slots.pop() if queue.free_slots else 0
        return self.slot

    def release(self) -> None:
        """Give the place back (idempotent); safe from any thread via the loop."""
        queue = self.scheduler._queues[self.key]
        if self._state == "waiting":
            queue.waiting -= 1
        elif self._state == "active":
            queue.active -= 1
            queue.free_slots.append(self.slot)
            queue.semaphore.release()
        self._state = "released"


class Scheduler:
    """Per-model queues: ``parallel`` running (the runner's slots, decoded together), up to
    ``queue_size`` waiting, else busy."""

    def __init__(self, parallel: int, queue_size: int, retry_after: int = 2) -> None:
        self.parallel = max(1, parallel)
        self.queue_size = max(0, queue_size)
        self.retry_after = retry_after
        self._queues: dict[str, _ModelQueue] = {}
        self.stats = SchedulerStats()

    def reserve(self, key: str) -> Ticket:
        """Join ``key``'s queue or raise :class:`BusyError` (503) when it is full."""
        queue = self._queues.get(key)
        if queue is None:
            queue = _ModelQueue(
                parallel=self.parallel,
                semaphore=asyncio.Semaphore(self.parallel),
                free_slots=list(range(self.parallel - 1, -1, -1)),
            )
            self._queues[key] = queue
        if queue.active + queue.waiting >= self.parallel + self.queue_size:
            self.stats.rejected += 1
            raise BusyError(
                f"the model is busy ({queue.active} running, {queue.waiting} waiting): retry "
                f"in {self.retry_after}s or raise server.queue_size / server.parallel",
                retry_after=self.retry_after,
            )
        queue.waiting += 1
        return Ticket(self, key)

    def snapshot(self) -> dict[str, dict[str, int]]:
        return {k: {"active": q.active, "waiting": q.waiting} for k, q in self._queues.items()}

    async def run_stream(
        self, ticket: Ticket, work: Callable[[threading.Event, int], Iterator[Any]]
    ) -> AsyncGenerator[Any, None]:
        """Run ``work(cancel, slot)`` in a thread and yield its items as they come.

        Closing this iterator (the client went away, or the caller stopped) sets ``cancel``;
        the worker stops at its next token and the queue place is freed when it has stopped.
        """
        loop = asyncio.get_running_loop()
        items: asyncio.Queue[Any] = asyncio.Queue()
        cancel = threading.Event()
        slot = await ticket.acquire()
        self.stats.started += 1

        def push(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(items.put_nowait, item)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                cancel.set()

        def produce() -> None:
            try:
                for item in work(cancel, slot):
                    push(item)
                    if cancel.is_set():
                        break
            except BaseException as exc:
                push(_Failure(exc))
            finally:
                push(_END)

        task = asyncio.ensure_future(anyio.to_thread.run_sync(produce))
        task.add_done_callback(lambda _t: ticket.release())
        completed = False
        try:
            while True:
                item = await items.get()
                if item is _END:
                    completed = True
                    return
                if isinstance(item, _Failure):
                    completed = True
                    raise item.exc
                yield item
        finally:
            if not completed:
                cancel.set()
                self.stats.cancelled += 1
            self.stats.finished += 1
            with anyio.CancelScope(shield=True):
                await task


@dataclass
class _Failure:
    exc: BaseException
