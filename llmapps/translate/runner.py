"""Background execution of translation jobs for the HTTP API, with resume after restart.

Why a thread per job and a requeue on first use: the server must answer ``POST`` at once and
keep working; when it restarts, the job rows still say ``queued``/``running``, so the first
request to the translator (or ``resume_unfinished``) starts them again and ``translate_file``
finishes them from the cache.
"""

from __future__ import annotations

import logging
import threading

from llmapps.config import Settings
from llmapps.store.db import get_db
from llmapps.translate.jobs import JobStore

log = logging.getLogger(__name__)

_running: set[str] = set()
_resumed: set[str] = set()
_lock = threading.Lock()
_passwords: dict[str, str] = {}  # kept in memory only, never in the database


def start_job(job_id: str, settings: Settings, password: str | None = None) -> bool:
    """Run job ``job_id`` in a background thread unless it is already running here."""
    with _lock:
        if job_id in _running:
            return False
        _running.add(job_id)
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
        translate_file(record.input_path, options, settings=settings, job_id=job_id)
    except Exception as exc:  # the job row already holds the one-line error
        log.warning("translate job %s stopped: %s", job_id, exc)
    finally:
        with _lock:
            _running.discard(job_id)


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
