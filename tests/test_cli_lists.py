"""List commands piped to another program: whole identifiers, one row per line, and --json.

``sentinel list`` piped to ``grep`` used to print ``/home/me/src/de…``: the rich table shortened
the cell to 80 columns. The real command runs in a subprocess with stdout on a pipe, as a
script would run it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from llmapps.chat.kb import create_kb
from llmapps.chat.service import get_service
from llmapps.config import get_settings


def _llmapps(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "llmapps", *args],
        env={**os.environ, "COLUMNS": "60"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _long_repo(tmp_path: Path) -> Path:
    repo = tmp_path / ("deeply-nested-source-folder-" * 3) / "the-repository-we-watch"
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True, capture_output=True)
    return repo


def test_sentinel_list_keeps_whole_paths_and_has_json(tmp_path: Path) -> None:
    repo = _long_repo(tmp_path)
    _llmapps("sentinel", "add", str(repo), "--webhook", "https://hooks.example/T0/B0/secret-path")
    out = _llmapps("sentinel", "list")
    lines = out.splitlines()
    assert lines[0].split() == [
        "id",
        "kind",
        "target",
        "schedule",
        "tz",
        "lang",
        "to",
        "webhooks",
        "last",
        "run",
        "watch",
    ]
    assert len(lines) == 2 and str(repo) in lines[1]  # one row, one line, nothing cut
    assert "…" not in out and "│" not in out
    data = json.loads(_llmapps("sentinel", "list", "--json"))
    assert data[0]["target"] == str(repo)
    assert "secret-path" not in json.dumps(data)  # webhook URLs stay redacted
    assert json.loads(_llmapps("sentinel", "history", "--json")) == []


def test_chat_kb_and_models_lists(tmp_path: Path) -> None:
    settings = get_settings()
    title = "A conversation with a rather long title that a table would have shortened"
    conv = get_service(settings).new_conversation(title=title)
    create_kb("handbook-of-very-long-knowledge-base-names", settings=settings)

    out = _llmapps("conversations", "list")
    assert title in out and "…" not in out
    assert json.loads(_llmapps("conversations", "list", "--json"))[0]["id"] == conv.id
    personas = json.loads(_llmapps("personas", "list", "--json"))
    assert "assistant" in [p["name"] for p in personas]
    out = _llmapps("kb", "list")
    assert "handbook-of-very-long-knowledge-base-names" in out.splitlines()[1]
    kbs = json.loads(_llmapps("kb", "list", "--json"))
    assert kbs[0]["name"] == "handbook-of-very-long-knowledge-base-names"
    models = json.loads(_llmapps("models", "list", "--json", "--no-ollama"))
    assert any(m["spec"] == "local:smollm2" for m in models["models"])
    out = _llmapps("models", "list", "--no-ollama")
    assert "local:smollm2" in out and "…" not in out
    calls = json.loads(_llmapps("logs", "--json"))
    assert calls["calls"] == []
