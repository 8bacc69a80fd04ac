"""``llmapps run`` (one-shot and REPL) and ``llmapps models create/show/rm/cp/ps``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from llmapps.cli import app

runner = CliRunner()

MODELFILE = '''FROM smollm2
PARAMETER num_predict 6
PARAMETER temperature 0.1
SYSTEM """You are a pirate.
Speak like one."""
TEMPLATE """{{ if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}{{ range .Messages }}{{ if ne .Role "system" }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}{{ end }}<|im_start|>assistant
"""
'''


def _create(tmp_path: Path, name: str = "pirate") -> None:
    path = tmp_path / "Modelfile"
    path.write_text(MODELFILE)
    result = runner.invoke(app, ["models", "create", name, "-f", str(path)])
    assert result.exit_code == 0, result.output
    assert f"created {name}:latest" in result.output


def test_models_create_show_cp_rm(tmp_path: Path) -> None:
    _create(tmp_path)
    out = runner.invoke(app, ["models", "show", "pirate", "--modelfile"]).output
    assert "PARAMETER num_predict 6" in out and "You are a pirate." in out
    assert "num_predict" in runner.invoke(app, ["models", "show", "pirate", "--parameters"]).output
    assert "Speak like one." in runner.invoke(app, ["models", "show", "pirate", "--system"]).output
    tpl = runner.invoke(app, ["models", "show", "pirate", "--template"]).output
    assert "{{ range .Messages }}" in tpl
    gguf_tpl = runner.invoke(app, ["models", "show", "smollm2", "--template"]).output
    assert "im_start" in gguf_tpl  # no TEMPLATE: the GGUF's own chat template
    summary = runner.invoke(app, ["models", "show", "pirate"]).output
    assert "llama" in summary and "Modelfile TEMPLATE" in summary
    assert runner.invoke(app, ["models", "cp", "pirate", "parrot:v2"]).exit_code == 0
    assert "parrot:v2" in runner.invoke(app, ["models", "show", "parrot:v2", "--modelfile"]).output
    assert runner.invoke(app, ["models", "rm", "parrot:v2"]).exit_code == 0
    missing = runner.invoke(app, ["models", "show", "parrot:v2"])
    assert missing.exit_code != 0 and "not found" in missing.output


def test_models_create_reports_parse_errors_with_line(tmp_path: Path) -> None:
    path = tmp_path / "Modelfile"
    path.write_text("FROM smollm2\nPARAMETER temprature 0.2\n")
    result = runner.invoke(app, ["models", "create", "x", "-f", str(path)])
    assert result.exit_code == 1
    assert "line 2: unknown PARAMETER 'temprature'" in result.output
    assert runner.invoke(app, ["models", "create", "x", "-f", "nope"]).exit_code != 0


@pytest.mark.model
def test_run_one_shot_with_template_model(tmp_path: Path) -> None:
    _create(tmp_path)
    result = runner.invoke(app, ["run", "pirate", "Say hello", "--verbose"])
    assert result.exit_code == 0, result.output
    assert "eval tokens:" in result.output
    tokens = int(result.output.split("eval tokens:")[1].split()[0])
    assert 0 < tokens <= 6  # the Modelfile's num_predict applies


@pytest.mark.model
def test_run_repl_commands_and_multiline(tmp_path: Path) -> None:
    script = "\n".join(
        [
            "/set parameter num_predict 3",
            "/set parameter temprature 1",
            "/show parameters",
            "Hello there",
            '"""First line',
            "second line",
            'third"""',
            "/clear",
            "/bogus",
            "/bye",
            "never sent",
        ]
    )
    result = runner.invoke(app, ["run", "smollm2", "--verbose"], input=script + "\n")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Set parameter 'num_predict' to '3'" in out
    assert "unknown parameter 'temprature'" in out
    assert "num_predict 3" in out
    assert out.count("eval tokens:") == 2  # two messages: one line, one multi-line block
    counts = [int(p.split()[0]) for p in out.split("eval tokens:")[1:]]
    assert all(0 < c <= 3 for c in counts)
    prompts = [int(p.split()[0]) for p in out.split("prompt tokens:")[1:]]
    assert prompts[1] > prompts[0]  # the second turn carries the first as history
    assert "Cleared session context" in out
    assert "unknown command '/bogus'" in out


@pytest.mark.model
def test_models_ps_against_running_server(server: Any) -> None:
    import httpx

    httpx.post(
        server.url + "/api/generate",
        json={
            "model": "smollm2",
            "prompt": "Hi",
            "options": {"num_predict": 1},
            "stream": False,
            "keep_alive": "10m",
        },
        timeout=60,
    )
    result = runner.invoke(app, ["models", "ps", "--url", server.url])
    assert result.exit_code == 0, result.output
    assert "smollm2:latest" in result.output and "minutes from now" in result.output
    down = runner.invoke(app, ["models", "ps", "--url", "http://127.0.0.1:9"])
    assert down.exit_code != 0 and "llmapps serve" in down.output


def test_serve_command_starts_standalone_server() -> None:
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from llmapps.cli import main; main()",
            "serve",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                resp = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "llmapps serve did not start"
                time.sleep(0.3)
        assert resp.text == "Ollama is running"
        tags = httpx.get(f"http://127.0.0.1:{port}/api/tags", timeout=30).json()
        assert "smollm2:latest" in [m["name"] for m in tags["models"]]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
