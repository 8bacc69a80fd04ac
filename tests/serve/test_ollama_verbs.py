"""Ollama's verbs at top level (``llmapps list | ps | show | create | cp | rm | pull | run |
serve | stop``), Ollama's columns, and ``OLLAMA_HOST`` read as Ollama reads it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from llmapps.cli import app
from llmapps.cli.serve import human_bytes, ollama_host, processor
from tests.serve.fake_registries import FakeHub, HubServer
from tests.serve.test_pull import make_gguf, publish

runner = CliRunner()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ("127.0.0.1", 11434)),
        ("0.0.0.0", ("0.0.0.0", 11434)),
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        (":8080", ("0.0.0.0", 8080)),
        ("http://example.com", ("example.com", 80)),
        ("https://example.com:1234/path", ("example.com", 1234)),
        ("[::1]:9000", ("::1", 9000)),
        ('"10.0.0.5:70000"', ("10.0.0.5", 11434)),  # a bad port falls back, as Ollama does
    ],
)
def test_ollama_host_is_read_as_ollama_reads_it(value: str, expected: tuple[str, int]) -> None:
    assert ollama_host(value) == expected


def test_columns_helpers() -> None:
    assert human_bytes(986_000_000) == "986 MB" and human_bytes(4_700_000_000) == "4.7 GB"
    assert processor(100, 0) == "100% CPU" and processor(100, 100) == "100% GPU"
    assert processor(100, 52) == "48%/52% CPU/GPU"


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    with HubServer(FakeHub()) as running:
        monkeypatch.setenv("LLMAPPS_MODELS__REGISTRY_URL", running.url)
        yield running


def test_pull_list_show_cp_rm_at_top_level(hub: FakeHub, tmp_path: Path) -> None:
    publish(hub, make_gguf(tmp_path / "tiny.gguf"))
    pulled = runner.invoke(app, ["pull", "tiny:0.5b"])
    assert pulled.exit_code == 0, pulled.output
    assert "success: tiny:0.5b" in pulled.output

    listed = runner.invoke(app, ["list"])
    lines = listed.output.splitlines()
    assert lines[0].split() == ["NAME", "ID", "SIZE", "MODIFIED"]
    row = next(line for line in lines if line.startswith("tiny:0.5b "))
    assert row.split()[2:4] == ["3.0", "MB"] and "ago" in row
    assert any(line.startswith("smollm2:latest ") for line in lines)

    shown = runner.invoke(app, ["show", "tiny:0.5b", "--system"])
    assert shown.output.strip() == "Be brief."
    assert runner.invoke(app, ["cp", "tiny:0.5b", "mine"]).exit_code == 0
    assert runner.invoke(app, ["rm", "tiny:0.5b"]).exit_code == 0
    names = [line.split()[0] for line in runner.invoke(app, ["list"]).output.splitlines()[1:]]
    assert "mine:latest" in names and "tiny:0.5b" not in names
    # `models …` stays as an alias
    assert "mine:latest" in runner.invoke(app, ["models", "show", "mine", "--modelfile"]).output


def test_pull_errors_are_one_line_with_non_zero_exit(hub: FakeHub) -> None:
    result = runner.invoke(app, ["pull", "nosuch:7b"])
    assert result.exit_code != 0
    error = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "no such model in the registry" in error[0]


def test_serve_listens_on_ollama_host() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo), "OLLAMA_HOST": f"127.0.0.1:{port}"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from llmapps.cli import main; main()", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).text == "Ollama is running":
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.3)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert f"listening on http://127.0.0.1:{port}" in out


@pytest.mark.model
def test_ps_and_stop_against_the_running_server(server: Any) -> None:
    httpx.post(
        server.url + "/api/generate",
        json={"model": "smollm2", "prompt": "Hi", "options": {"num_predict": 1}, "stream": False},
        timeout=120,
    )
    out = runner.invoke(app, ["ps", "--url", server.url]).output.splitlines()
    assert out[0].split() == ["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"]
    assert out[1].startswith("smollm2:latest ") and "100% CPU" in out[1]
    assert runner.invoke(app, ["stop", "smollm2", "--url", server.url]).exit_code == 0
    assert len(runner.invoke(app, ["ps", "--url", server.url]).output.splitlines()) == 1


def test_run_pulls_a_missing_model_first(hub: FakeHub) -> None:
    result = runner.invoke(app, ["run", "nosuch:7b", "hi"])
    assert result.exit_code != 0
    assert "nosuch:7b is not here yet: pulling it" in result.output
    assert "no such model in the registry" in result.output


@pytest.mark.model
def test_run_pulls_then_answers(hub: FakeHub) -> None:
    from llmapps.models.local.discovery import bundled_model_path
    from tests.serve.test_pull import TEMPLATE

    hub.add_model(
        "smol",
        "135m",
        hub.add_blob(path=bundled_model_path()),
        {"template": TEMPLATE.encode(), "params": b'{"num_predict": 4, "temperature": 0}'},
    )
    result = runner.invoke(app, ["run", "smol:135m", "Say hi"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert "success: smol:135m" in result.output and lines[-1].strip()
