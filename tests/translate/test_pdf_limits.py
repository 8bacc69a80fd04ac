"""PDF parsing under limits (issue 10, point 3): a small file that inflates to hundreds of MB,
page-count and per-page time caps, cancellation, failed (not resumed) jobs, and a server that
stops within 5 s on SIGTERM while a parse is running."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmapps.app import create_app
from llmapps.config import get_settings
from llmapps.store.db import get_db
from llmapps.translate.errors import PdfLimitError
from llmapps.translate.jobs import JobStore
from llmapps.translate.parsers.limits import check_decompressed_size
from llmapps.translate.parsers.worker import ParseCancelledError, ParseLimits, parse_pdf_isolated
from llmapps.translate.runner import resume_unfinished
from llmapps.translate.service import TranslateOptions, translate_file
from tests.conftest import free_port
from tests.translate import layout_pdfs as L


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return L.inflation_bomb(tmp_path_factory.mktemp("bomb") / "bomb.pdf", megabytes=300)


def test_bomb_fails_the_job_in_one_line_with_memory_bounded(bomb: Path, tmp_path: Path) -> None:
    assert bomb.stat().st_size < 2 << 20  # small on disk
    settings = get_settings()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    options = TranslateOptions(target="zh", formats=["md"], output_dir=str(tmp_path / "out"))
    with pytest.raises(PdfLimitError) as caught:
        translate_file(bomb, options, settings=settings, job_id="bomb1")
    message = str(caught.value)
    assert "\n" not in message and "inflates to more than 256 MB" in message
    assert "inflates to more than" in message and "translate.max_decompressed_mb" in message
    assert str(bomb.parent) not in message  # names the file, never its folder
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100  # the stream was never inflated in this process
    record = JobStore(get_db(settings)).get("bomb1")
    assert record is not None and record.status == "failed" and record.error == message
    assert "bomb1" not in resume_unfinished(settings)  # failed jobs are not resumed


def test_decompressed_size_scan_counts_without_inflating_all(bomb: Path) -> None:
    with pytest.raises(PdfLimitError):
        check_decompressed_size(bomb, 100 << 20)
    assert check_decompressed_size(bomb, 400 << 20) > 300 << 20


def test_page_count_cap(tmp_path: Path) -> None:
    path = L.rotated_page(tmp_path / "two.pdf")
    with pytest.raises(PdfLimitError, match=r"2 pages exceed the limit of 1: .*--pages"):
        parse_pdf_isolated(path, limits=ParseLimits(max_pages=1))
    doc = parse_pdf_isolated(path, pages="2", limits=ParseLimits(max_pages=1))
    assert [p.number for p in doc.pages] == [2] and doc.page_count == 2


def test_per_page_time_budget(tmp_path: Path) -> None:
    path = L.tally_form(tmp_path / "tally.pdf")
    # No page renders, runs the layout model and groups its units in 1 ms.
    with pytest.raises(PdfLimitError, match=r"page 1 took more than 0.001 s to parse"):
        parse_pdf_isolated(path, limits=ParseLimits(page_time_s=0.001))
    doc = parse_pdf_isolated(path, limits=ParseLimits(page_time_s=120))
    assert "1,204" in [b.text for b in doc.blocks]  # the same file within its budget


def test_cancel_kills_the_parse(tmp_path: Path) -> None:
    path = L.tally_form(tmp_path / "tally.pdf")
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ParseCancelledError):
        parse_pdf_isolated(path, cancel=cancel)


def test_http_job_on_bomb_is_failed(bomb: Path, live_server: Any) -> None:
    server = live_server(create_app(get_settings(), ui=False))
    with httpx.Client(base_url=server.url, timeout=60) as client:
        response = client.post(
            "/translate/jobs",
            data={"to": "zh", "formats": "md", "ocr": "never"},
            files={"file": ("bomb.pdf", bomb.read_bytes(), "application/pdf")},
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        deadline = time.monotonic() + 120
        data: dict[str, Any] = {}
        while time.monotonic() < deadline:
            data = client.get(f"/translate/jobs/{job_id}").json()
            if data["status"] not in ("queued", "running"):
                break
            time.sleep(0.3)
        assert data["status"] == "failed", data
        assert "inflates to more than" in data["error"] and "\n" not in data["error"]
        bad = client.post(
            "/translate/jobs",
            data={"to": "zh", "ocr": "sometimes"},
            files={"file": ("a.md", b"hi", "text/markdown")},
        )
        assert bad.status_code == 400 and "OCR mode" in bad.json()["error"]["message"]


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as gone)."""
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text() if (task / "children").exists() else ""
        found.extend(int(p) for p in text.split())
    return sorted(found)


SERVER = """
import sys, uvicorn
from llmapps.app import create_app
from llmapps.config import get_settings
uvicorn.run(create_app(get_settings(), ui=False), host="127.0.0.1", port=int(sys.argv[1]),
            log_level="warning")
"""


def test_sigterm_stops_the_server_within_5s_while_parsing(bomb: Path, tmp_path: Path) -> None:
    port = free_port()
    env = dict(os.environ)
    # Let the bomb through the size scan so the parse itself runs for minutes.
    env["LLMAPPS_TRANSLATE__MAX_DECOMPRESSED_MB"] = "4000"
    env["LLMAPPS_TRANSLATE__PAGE_TIME_S"] = "600"
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        response = httpx.post(
            f"{url}/translate/jobs",
            data={"to": "zh", "formats": "md", "ocr": "never"},
            files={"file": ("bomb.pdf", bomb.read_bytes(), "application/pdf")},
            timeout=30,
        )
        job_id = response.json()["id"]
        children: list[int] = []
        while time.monotonic() < deadline and not children:
            status = httpx.get(f"{url}/translate/jobs/{job_id}", timeout=5).json()["status"]
            children = _children(proc.pid) if status == "running" else []
            time.sleep(0.2)
        assert children, "the parse did not start in a child process"
        time.sleep(2)  # well inside the parse of the 300 MB stream (it takes minutes)
        assert _children(proc.pid) == children
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        assert time.monotonic() - start < 5
        time.sleep(1.0)  # the kernel kills the parse child with its parent
        assert not [pid for pid in children if _alive(pid)]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
