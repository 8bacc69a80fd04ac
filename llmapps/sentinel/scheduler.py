"""The daemon: APScheduler with a persistent job store in our SQLite database.

Why our own job store: APScheduler's SQLAlchemy store would add SQLAlchemy for one table;
:class:`SqliteJobStore` keeps the same contract (pickled job state + next run time) in
``sentinel_jobs``, so a job's next run time survives restarts and a run missed while the
daemon was down is handled on start (``coalesce`` runs it once if it is within
``sentinel.misfire_grace_s``). Subscriptions stay the source of truth: :meth:`Daemon.sync`
adds, replaces (schedule changed) and removes jobs to match them, also while running.

Why an asyncio scheduler on a thread of its own (rather than ``BackgroundScheduler``): the
wait until the next run is an event-loop timer (``epoll`` with a relative timeout) instead of
a timed ``threading.Event.wait``. The two behave the same on a normal clock, but a timed lock
wait never expires in a process whose clock is shifted with libfaketime (it fakes
``CLOCK_MONOTONIC``, which Python's ``sem_clockwait`` hands to the kernel unfaked), and the
test suite is run that way to prove it holds at any hour (``make test-at``). Jobs still run
in a thread pool.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import pickle
import signal
import threading
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.jobstores.base import BaseJobStore, ConflictingIdError, JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from apscheduler.util import datetime_to_utc_timestamp, utc_timestamp_to_datetime
from langchain_core.language_models import BaseChatModel

from llmapps.config import Settings, get_settings
from llmapps.sentinel import subscriptions as subs
from llmapps.sentinel.store import sentinel_db

log = logging.getLogger("llmapps.sentinel.daemon")


class SqliteJobStore(BaseJobStore):  # type: ignore[misc]
    """APScheduler job store over ``sentinel_jobs`` (portable SQL, state as base64 text)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings

    @property
    def db(self) -> Any:
        return sentinel_db(self.settings)

    def _encode(self, job: Job) -> str:
        return base64.b64encode(pickle.dumps(job.__getstate__(), 4)).decode("ascii")

    def _restore(self, text: str) -> Job:
        state = pickle.loads(base64.b64decode(text))
        state["jobstore"] = self
        job = Job.__new__(Job)
        job.__setstate__(state)
        job._scheduler = self._scheduler
        job._jobstore_alias = self._alias
        return job

    def _jobs(self, where: str = "", params: tuple[Any, ...] = ()) -> list[Job]:
        rows = self.db.query(
            f"SELECT id, job_state FROM sentinel_jobs {where} ORDER BY next_run_time", params
        )
        jobs, broken = [], []
        for row in rows:
            try:
                jobs.append(self._restore(row["job_state"]))
            except Exception:
                self._logger.exception("cannot restore job %s: removing it", row["id"])
                broken.append(row["id"])
        for job_id in broken:
            self.db.execute("DELETE FROM sentinel_jobs WHERE id = ?", (job_id,))
        return jobs

    def lookup_job(self, job_id: str) -> Job | None:
        row = self.db.query_one("SELECT job_state FROM sentinel_jobs WHERE id = ?", (job_id,))
        return self._restore(row["job_state"]) if row else None

    def get_due_jobs(self, now: datetime) -> list[Job]:
        stamp = datetime_to_utc_timestamp(now)
        return self._jobs("WHERE next_run_time <= ?", (stamp,))

    def get_next_run_time(self) -> datetime | None:
        row = self.db.query_one(
            "SELECT MIN(next_run_time) AS t FROM sentinel_jobs WHERE next_run_time IS NOT NULL"
        )
        return utc_timestamp_to_datetime(row["t"]) if row and row["t"] is not None else None

    def get_all_jobs(self) -> list[Job]:
        jobs = self._jobs()
        self._fix_paused_jobs_sorting(jobs)
        return jobs

    def add_job(self, job: Job) -> None:
        if self.db.query_one("SELECT id FROM sentinel_jobs WHERE id = ?", (job.id,)):
            raise ConflictingIdError(job.id)
        self.db.execute(
            "INSERT INTO sentinel_jobs(id, next_run_time, job_state) VALUES (?,?,?)",
            (job.id, datetime_to_utc_timestamp(job.next_run_time), self._encode(job)),
        )

    def update_job(self, job: Job) -> None:
        cur = self.db.execute(
            "UPDATE sentinel_jobs SET next_run_time = ?, job_state = ? WHERE id = ?",
            (datetime_to_utc_timestamp(job.next_run_time), self._encode(job), job.id),
        )
        if cur.rowcount == 0:
            raise JobLookupError(job.id)

    def remove_job(self, job_id: str) -> None:
        cur = self.db.execute("DELETE FROM sentinel_jobs WHERE id = ?", (job_id,))
        if cur.rowcount == 0:
            raise JobLookupError(job_id)

    def remove_all_jobs(self) -> None:
        self.db.execute("DELETE FROM sentinel_jobs")

    def shutdown(self) -> None:
        """Nothing to close: connections belong to the shared Database."""


# The running daemon's settings and (for tests) injected chat model; jobs are pickled by
# reference to :func:`run_scheduled`, so they find their context here, not in their state.
_context: dict[str, Any] = {}


def run_scheduled(sub_id: int, signature: str = "") -> None:
    """The job function: one subscription run; errors are logged, never propagated."""
    from llmapps.sentinel.service import run_subscription

    settings: Settings = _context.get("settings") or get_settings()
    try:
        outcome = run_subscription(settings, sub_id, chat_model=_context.get("chat_model"))
    except Exception:
        log.exception("subscription %s: run failed", sub_id)
        raise
    if outcome.error:
        # Raised so APScheduler reports the job as failed, which it isolates from the others.
        raise RuntimeError(f"subscription {sub_id}: {outcome.error}")


def _snapshot_job() -> None:
    from llmapps.sentinel.service import hn_snapshot

    settings: Settings = _context.get("settings") or get_settings()
    try:
        log.info("hacker news snapshot: %s stories", hn_snapshot(settings))
    except Exception as exc:
        log.error("hacker news snapshot failed: %s", exc)


def _retry_job() -> None:
    from llmapps.sentinel.notifiers import retry_failed

    settings: Settings = _context.get("settings") or get_settings()
    for delivery in retry_failed(settings):
        log.info("delivery %s retried: %s", delivery.id, delivery.status)


def setup_logging(settings: Settings) -> Path:
    """Log to ``<data dir>/logs/sentinel.log`` (rotated) as well as stderr."""
    path = settings.data_path("logs", "sentinel.log")
    handler = RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("llmapps.sentinel", "apscheduler"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        if not any(getattr(h, "baseFilename", None) == str(path) for h in logger.handlers):
            logger.addHandler(handler)
    return path


class Daemon:
    """A background scheduler whose jobs mirror the enabled subscriptions."""

    def __init__(
        self,
        settings: Settings,
        *,
        chat_model: BaseChatModel | None = None,
        sync_interval: float = 10.0,
        retry_interval: float = 600.0,
    ) -> None:
        self.settings = settings
        self.sync_interval = sync_interval
        self.retry_interval = retry_interval
        self._stop = threading.Event()
        _context.update(settings=settings, chat_model=chat_model)
        self._loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(
            target=self._loop.run_forever, name="sentinel-scheduler", daemon=True
        )
        self.scheduler = AsyncIOScheduler(
            event_loop=self._loop,
            jobstores={"default": SqliteJobStore(settings), "memory": MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(4)},
            job_defaults={
                "coalesce": True,
                "misfire_grace_time": settings.sentinel.misfire_grace_s,
                "max_instances": 1,
            },
            timezone=UTC,
        )
        self.scheduler.add_listener(self._on_error, EVENT_JOB_ERROR)

    def _on_error(self, event: JobExecutionEvent) -> None:
        log.error("job %s failed: %s", event.job_id, event.exception)

    def sync(self) -> None:
        """Make the persistent jobs match the subscriptions (add, replace, remove)."""
        wanted = {f"sub-{s.id}": s for s in subs.list_all(self.settings, enabled_only=True)}
        existing = {job.id: job for job in self.scheduler.get_jobs(jobstore="default")}
        for job in existing.values():
            if job.id not in wanted:
                job.remove()
                log.info("job %s removed (subscription gone or disabled)", job.id)
        for job_id, sub in wanted.items():
            job = existing.get(job_id)
            if job is not None and job.kwargs.get("signature") == sub.signature():
                continue
            self.scheduler.add_job(
                run_scheduled,
                trigger=sub.trigger(),
                id=job_id,
                name=sub.target,
                kwargs={"sub_id": sub.id, "signature": sub.signature()},
                jobstore="default",
                replace_existing=True,
            )
            log.info(
                "job %s scheduled: %s (%s, %s)", job_id, sub.target, sub.schedule, sub.timezone
            )
        has_hn = any(s.kind == "hn" for s in wanted.values())
        snapshot = self.scheduler.get_job("hn-snapshot", jobstore="memory")
        if has_hn and snapshot is None:
            self.scheduler.add_job(
                _snapshot_job,
                CronTrigger(minute=0, timezone=UTC),
                id="hn-snapshot",
                jobstore="memory",
            )
        elif not has_hn and snapshot is not None:
            snapshot.remove()

    def start(self) -> None:
        self._loop_thread.start()
        self.scheduler.start(paused=True)
        self.sync()
        self.scheduler.add_job(
            self.sync, IntervalTrigger(seconds=self.sync_interval), id="sync", jobstore="memory"
        )
        self.scheduler.add_job(
            _retry_job,
            IntervalTrigger(seconds=self.retry_interval),
            id="retry-deliveries",
            jobstore="memory",
        )
        self.scheduler.resume()
        log.info(
            "sentinel daemon started with %s subscription job(s)",
            len(self.scheduler.get_jobs(jobstore="default")),
        )

    def stop(self) -> None:
        """Stop taking new runs and wait for the running ones to finish."""
        if self.scheduler.running:
            # Queued on the scheduler's loop; the loop's stop is queued after it, so the join
            # returns once the shutdown (which waits for running jobs) is done.
            self.scheduler.shutdown(wait=True)
        if self._loop_thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._loop_thread.join()
        if not self._loop.is_closed():
            self._loop.close()
        log.info("sentinel daemon stopped cleanly")

    def request_stop(self, *_args: Any) -> None:
        self._stop.set()

    def run_forever(self) -> None:
        """Start, then block until SIGTERM/SIGINT; shut down cleanly."""
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        self.start()
        try:
            self._stop.wait()  # a signal interrupts the wait and its handler sets the event
        finally:
            self.stop()
