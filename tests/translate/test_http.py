"""HTTP jobs on a live server with the real embedded model: create, follow, download,
upload limit, and a job left unfinished by a previous server resumed by a new one."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmapps.app import create_app
from llmapps.config import get_settings
from llmapps.store.db import get_db
from llmapps.translate.jobs import JobStore
from llmapps.translate.service import TranslateOptions, fingerprint

DOC = "# Weather\n\nIt is sunny today.\n"


def _wait_done(client: httpx.Client, job_id: str, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data: dict[str, Any] = client.get(f"/translate/jobs/{job_id}").json()
        if data["status"] in ("done", "interrupted"):
            return data
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish")


@pytest.mark.model
def test_job_lifecycle(live_server: Any, tmp_path: Path) -> None:
    server = live_server(create_app(get_settings(), ui=False))
    with httpx.Client(base_url=server.url, timeout=60) as client:
        glossary = "sunny,晴朗\n"
        response = client.post(
            "/translate/jobs",
            data={"to": "zh", "formats": "md,txt"},
            files={
                "file": ("weather.md", DOC.encode(), "text/markdown"),
                "glossary": ("g.csv", glossary.encode(), "text/csv"),
            },
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        early = client.get(f"/translate/jobs/{job_id}/result/md")
        data = _wait_done(client, job_id)
        assert data["status"] == "done", data
        assert early.status_code in (200, 409)
        assert data["progress"]["blocks_total"] == 2 and data["formats"] == ["md", "txt"]
        md = client.get(f"/translate/jobs/{job_id}/result/md")
        assert md.status_code == 200 and "晴朗" in md.text  # glossary enforced
        assert data["results"]["md"].endswith(f"/translate/jobs/{job_id}/result/md")
        assert client.get(f"/translate/jobs/{job_id}/result/pdf").status_code == 404
        missing = client.get("/translate/jobs/nope")
        assert (
            missing.status_code == 404
            and "no translation job" in missing.json()["error"]["message"]
        )
        bad = client.post(
            "/translate/jobs",
            data={"to": "zh", "formats": "docx"},
            files={"file": ("a.md", b"hi", "text/markdown")},
        )
        assert bad.status_code == 400


def test_upload_limit(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMAPPS_SERVER__MAX_UPLOAD_MB", "1")
    server = live_server(create_app(get_settings(), ui=False))
    big = b"word " * (1024 * 1024 // 5 + 10)
    response = httpx.post(
        f"{server.url}/translate/jobs",
        data={"to": "zh"},
        files={"file": ("big.txt", big, "text/plain")},
        timeout=60,
    )
    assert response.status_code == 413
    assert "max_upload_mb" in response.json()["error"]["message"]


@pytest.mark.model
def test_unfinished_job_resumes_after_restart(live_server: Any, tmp_path: Path) -> None:
    settings = get_settings()
    # A job a previous server process accepted and was running when it stopped.
    folder = tmp_path / "jobdir"
    folder.mkdir()
    doc = folder / "weather.md"
    doc.write_text(DOC, encoding="utf-8")
    options = TranslateOptions(target="zh", formats=["txt"], output_dir=str(folder / "out"))
    jobs = JobStore(get_db(settings))
    record = jobs.create(str(doc), options.public(), fingerprint(doc, options), job_id="left1")
    jobs.update(record.id, status="running", progress={"stage": "translating"})
    server = live_server(create_app(settings, ui=False))
    with httpx.Client(base_url=server.url, timeout=60) as client:
        data = _wait_done(client, "left1")
        assert data["status"] == "done", data
        text = client.get("/translate/jobs/left1/result/txt")
        assert text.status_code == 200 and text.text.strip()


@pytest.mark.model
def test_resume_endpoint(live_server: Any, tmp_path: Path) -> None:
    settings = get_settings()
    server = live_server(create_app(settings, ui=False))
    with httpx.Client(base_url=server.url, timeout=60) as client:
        assert client.get("/translate/jobs/none").status_code == 404  # first use: no resumes
        doc = tmp_path / "w.md"
        doc.write_text(DOC, encoding="utf-8")
        options = TranslateOptions(target="zh", formats=["md"], output_dir=str(tmp_path / "o"))
        jobs = JobStore(get_db(settings))
        jobs.create(str(doc), options.public(), fingerprint(doc, options), job_id="stopped1")
        jobs.update("stopped1", status="interrupted", error="model unreachable")
        assert client.get("/translate/jobs/stopped1").json()["status"] == "interrupted"
        assert client.get("/translate/jobs/stopped1/result/md").status_code == 409
        response = client.post("/translate/jobs/stopped1/resume")
        assert response.status_code == 202
        data = _wait_done(client, "stopped1")
        assert data["status"] == "done" and data["error"] is None
        assert client.get("/translate/jobs/stopped1/result/md").status_code == 200
