"""Background execution of translation jobs for the HTTP API, with resume after restart.

Why a thread per job and a requeue on first use: the server must answer ``POST`` at once and
keep working; when it restarts, the job rows still say ``queued``/``running``, so the first
request to the translator (or ``resume_unfinished``) starts them again and ``translate_file``
finishes them from the cache.
"""

from __future__ import annotations

import logging
import shutil
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmapps.access import LOCAL, Access
from llmapps.config import Settings
from llmapps.errors import LlmappsError
from llmapps.store.db import get_db
from llmapps.translate.jobs import JobRecord, JobStore

if TYPE_CHECKING:
    from llmapps.translate.service import TranslateOptions

log = logging.getLogger(__name__)

_running: set[str] = set()
_resumed: set[str] = set()
_lock = threading.Lock()
_passwords: dict[str, str] = {}  # kept in memory only, never in the database
_cancels: dict[str, threading.Event] = {}


class JobCancelled(Exception):
    """Raised inside a running job (through its progress callback) when a user cancels it."""


class JobStateError(LlmappsError):
    """A job action that its state does not allow (cancel a finished job…)."""

    status_code = 409


def submit_job(
    settings: Settings,
    source: Path,
    options: TranslateOptions,
    password: str | None = None,
    access: Access = LOCAL,
) -> str:
    """Check what the caller asks for, copy ``source`` under the data directory, record a job
    and start it; returns its id.

    Why a copy: the job must outlive the upload's temporary file (resume after a restart).
    """
    from llmapps.translate.service import check_ocr, check_request, fingerprint

    check_request(options.model, options.formats, settings, access)
    check_ocr(options.ocr)

    job_id = uuid.uuid4().hex[:16]
    folder = settings.data_path("translate", "jobs", job_id)
    folder.mkdir(exist_ok=True)
    dest = folder / (source.name or "document")
    shutil.copyfile(source, dest)
    if options.glossary:
        glossary = folder / "glossary.csv"
        shutil.copyfile(options.glossary, glossary)
        options.glossary = str(glossary)
    options.output_dir = str(folder / "out")
    JobStore(get_db(settings)).create(
        str(dest), options.public(), fingerprint(dest, options), job_id=job_id
    )
    start_job(job_id, settings, password)
    return job_id


def list_jobs(settings: Settings, limit: int = 50) -> list[JobRecord]:
    """The newest jobs first (the web tab's job list; it survives reloads and restarts)."""
    resume_unfinished(settings)
    return JobStore(get_db(settings)).recent(limit)


def cancel_job(job_id: str, settings: Settings) -> str:
    """Stop a job: a running one stops at its next step (finished batches stay cached, so
    resume continues from there); a waiting one is marked cancelled. Returns the new status."""
    jobs = JobStore(get_db(settings))
    record = jobs.get(job_id)
    if record is None:
        raise JobStateError(f"job {job_id} not found: pick one from the job list")
    if record.status in ("done", "cancelled"):
        raise JobStateError(f"job {job_id} is already {record.status}: nothing to cancel")
    with _lock:
        event = _cancels.get(job_id) if job_id in _running else None
    if event is not None:
        event.set()  # the worker stops at its next step (a model call may finish first)
    jobs.update(job_id, status="cancelled", error="cancelled by the user")
    return "cancelled"


def resume_job(job_id: str, settings: Settings) -> str:
    """Start a cancelled or interrupted job again; finished batches come from the cache.

    A job cancelled a moment ago whose worker has not stopped yet simply keeps going.
    """
    jobs = JobStore(get_db(settings))
    record = jobs.get(job_id)
    if record is None:
        raise JobStateError(f"job {job_id} not found: pick one from the job list")
    if record.status == "done":
        return "done"
    with _lock:
        event = _cancels.get(job_id) if job_id in _running else None
        if event is not None:
            event.clear()
    if event is not None:
        jobs.update(job_id, status="running", error="")
        return "running"
    start_job(job_id, settings)
    return "queued"


def start_job(job_id: str, settings: Settings, password: str | None = None) -> bool:
    """Run job ``job_id`` in a background thread unless it is already running here."""
    with _lock:
        if job_id in _running:
            return False
        _running.add(job_id)
        _cancels[job_id] = threading.Event()
        if password:
            _passwords[job_id] = password
    # Visible at once: a GET right after a (re)start must not see the old "interrupted".
    JobStore(get_db(settings)).update(job_id, status="queued")
    thread = threading.Thread(
        target=_run, args=(job_id, settings), name=f"translate-job-{job_id}", daemon=True
    )
    thread.start()
    return True


def is_running(job_id: str) -> bool:
    with _lock:
        return job_id in _running


def _run(job_id: str, settings: Settings) -> None:
    from llmapps.translate.service import TranslateOptions, translate_file

    jobs = JobStore(get_db(settings))
    try:
        record = jobs.get(job_id)
        if record is None:
            return
        fields = dict(record.options)
        options = TranslateOptions(**fields)
        options.password = _passwords.get(job_id)
        with _lock:
            cancel = _cancels.get(job_id) or threading.Event()

        def check(_progress: Any) -> None:
            if cancel.is_set():
                raise JobCancelled(f"job {job_id} cancelled")

        translate_file(record.input_path, options, settings=settings, job_id=job_id, progress=check)
    except Exception as exc:  # the job row already holds the one-line error
        log.warning("translate job %s stopped: %s", job_id, exc)
    finally:
        with _lock:
            _running.discard(job_id)
            cancelled = _cancels.pop(job_id, threading.Event()).is_set()
        latest = jobs.get(job_id)
        if cancelled and latest is not None and latest.status != "done":
            jobs.update(job_id, status="cancelled", error="cancelled by the user")


def resume_unfinished(settings: Settings) -> list[str]:
    """Once per data directory and process: restart the jobs a previous process left."""
    key = str(settings.db_path.resolve())
    with _lock:
        if key in _resumed:
            return []
        _resumed.add(key)
    started = []
    for record in JobStore(get_db(settings)).unfinished():
        if record.status == "interrupted" and record.error and "password" in record.error:
            continue
        if start_job(record.id, settings):
            started.append(record.id)
    return started
