"""HTTP endpoints of the translator: create a job, follow it, download its results.

``POST /translate/jobs`` (multipart) stores the upload under the data directory (size-limited
by ``server.max_upload_mb``) and starts the job in the background; ``GET`` endpoints read the
job row from SQLite, so they work across restarts (unfinished jobs are resumed on first use).
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse

from llmapps.access import REMOTE
from llmapps.config import Settings, get_settings
from llmapps.store.db import get_db
from llmapps.translate.errors import (
    JobNotFoundError,
    JobNotReadyError,
)
from llmapps.translate.jobs import JobRecord, JobStore
from llmapps.translate.runner import resume_unfinished, start_job
from llmapps.uploads import save_upload

router = APIRouter(prefix="/translate", tags=["translate"])
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _settings(request: Request) -> Settings:
    settings: Settings = getattr(request.app.state, "settings", None) or get_settings()
    resume_unfinished(settings)
    return settings


def _safe_name(name: str | None, default: str) -> str:
    base = Path(name or default).name
    cleaned = _SAFE.sub("_", base).strip("._") or default
    return cleaned[:120]


def _record(settings: Settings, job_id: str) -> JobRecord:
    """The job's row, or :class:`JobNotFoundError` (404)."""
    record = JobStore(get_db(settings)).get(job_id)
    if record is None:
        raise JobNotFoundError(
            f"no translation job {job_id}: check the id from POST /translate/jobs"
        )
    return record


def _job_view(record: JobRecord, request: Request) -> dict[str, Any]:
    data: dict[str, Any] = record.as_dict()
    base = str(request.url_for("translate_result", job_id=record.id, fmt="FMT"))
    data["results"] = {fmt: base.replace("FMT", fmt) for fmt in sorted(record.outputs)}
    return data


@router.post("/jobs", status_code=202)
async def create_job(
    request: Request,
    file: UploadFile = File(...),
    to: str = Form(...),
    source: str | None = Form(None, alias="from"),
    model: str | None = Form(None),
    formats: str | None = Form(None),
    pages: str | None = Form(None),
    style: str = Form(""),
    keep: str | None = Form(None),
    workers: int | None = Form(None),
    password: str | None = Form(None),
    ocr: str | None = Form(None),
    glossary: UploadFile | None = File(None),
) -> JSONResponse:
    """Upload a document and start translating it; answers the job id at once."""
    from llmapps.translate.service import TranslateOptions, check_ocr, check_request, fingerprint

    settings = _settings(request)
    fmts = [f.strip() for f in formats.split(",") if f.strip()] if formats else None
    check_request(model, fmts, settings, REMOTE)  # before the upload is kept
    check_ocr(ocr)
    job_id = uuid.uuid4().hex[:16]
    folder = settings.data_path("translate", "jobs", job_id)
    folder.mkdir(exist_ok=True)
    limit = settings.server.max_upload_mb
    dest = folder / _safe_name(file.filename, "document.pdf")
    await save_upload(file, dest, limit)
    glossary_path = None
    if glossary is not None and glossary.filename:
        glossary_path = folder / "glossary.csv"
        await save_upload(glossary, glossary_path, limit)
    options = TranslateOptions(
        target=to,
        source=source or None,
        model=model or None,
        formats=fmts,
        pages=pages or None,
        glossary=str(glossary_path) if glossary_path else None,
        keep_terms=[k.strip() for k in keep.split(",") if k.strip()] if keep else [],
        style=style,
        workers=workers,
        output_dir=str(folder / "out"),
        ocr=ocr or None,
    )
    jobs = JobStore(get_db(settings))
    jobs.create(str(dest), options.public(), fingerprint(dest, options), job_id=job_id)
    start_job(job_id, settings, password)
    return JSONResponse({"id": job_id, "status": "queued"}, status_code=202)


@router.get("/jobs/{job_id}")
def get_job(job_id: str, request: Request) -> dict[str, Any]:
    """Status and progress of a job (pages, blocks, cache hits, model calls, tokens)."""
    settings = _settings(request)
    record = _record(settings, job_id)
    return _job_view(record, request)


@router.get("/jobs/{job_id}/result/{fmt}", name="translate_result")
def get_result(job_id: str, fmt: str, request: Request) -> FileResponse:
    """Download one output format of a finished job."""
    settings = _settings(request)
    record = _record(settings, job_id)
    if record.status != "done":
        raise JobNotReadyError(
            f"job {job_id} is {record.status}: wait until GET /translate/jobs/{job_id} says done"
        )
    path = record.outputs.get(fmt)
    if path is None or not Path(path).is_file():
        raise JobNotFoundError(
            f"job {job_id} has no '{fmt}' output: choose one of {', '.join(sorted(record.outputs))}"
        )
    media = "application/pdf" if path.endswith(".pdf") else "text/plain; charset=utf-8"
    if path.endswith(".md"):
        media = "text/markdown; charset=utf-8"
    return FileResponse(path, media_type=media, filename=Path(path).name)


@router.post("/jobs/{job_id}/resume", status_code=202)
def resume_job(job_id: str, request: Request, password: str | None = Form(None)) -> JSONResponse:
    """Restart an interrupted job; finished batches come from the cache."""
    settings = _settings(request)
    record = _record(settings, job_id)
    if record.status == "done":
        return JSONResponse({"id": job_id, "status": "done"}, status_code=200)
    started = start_job(job_id, settings, password)
    return JSONResponse(
        {"id": job_id, "status": "queued" if started else "running"}, status_code=202
    )
