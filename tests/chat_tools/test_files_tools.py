"""File tools stay inside the sandbox folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from llmapps.chat.tools import build_tools, sandbox_root
from llmapps.config import Settings


@pytest.fixture
def tools(settings: Settings) -> dict:  # type: ignore[type-arg]
    return {
        t.name: t for t in build_tools(settings, names=["read_file", "write_file", "list_files"])
    }


def test_write_read_list_inside_the_sandbox(tools: dict, settings: Settings) -> None:  # type: ignore[type-arg]
    assert tools["write_file"].invoke({"path": "notes/todo.txt", "content": "买滤网\n"}) == (
        "wrote 10 bytes to notes/todo.txt"
    )
    tools["write_file"].invoke({"path": "notes/todo.txt", "content": "call shop\n", "append": True})
    assert tools["read_file"].invoke({"path": "notes/todo.txt"}) == "买滤网\ncall shop\n"
    assert tools["list_files"].invoke({"path": "notes"}) == "notes/todo.txt (20 bytes)"
    assert (sandbox_root(settings) / "notes" / "todo.txt").is_file()
    assert sandbox_root(settings) == (settings.home / "sandbox").resolve()


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../outside.txt", "'..' is not allowed"),
        ("notes/../../outside.txt", "'..' is not allowed"),
        ("/etc/passwd", "absolute paths are not allowed"),
        ("~/.bashrc", "absolute paths are not allowed"),
        ("C:/Windows/win.ini", "absolute paths are not allowed"),
    ],
)
def test_traversal_and_absolute_paths_are_refused(tools: dict, path: str, message: str) -> None:  # type: ignore[type-arg]
    assert message in tools["read_file"].invoke({"path": path})
    assert message in tools["write_file"].invoke({"path": path, "content": "x"})


def test_symlinks_out_of_the_sandbox_are_refused(
    tools: dict,  # type: ignore[type-arg]
    settings: Settings,
    tmp_path: Path,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text("top secret", "utf-8")
    root = sandbox_root(settings)
    os.symlink(secret, root / "link.txt")
    os.symlink(outside, root / "door")
    assert "leads outside the sandbox" in tools["read_file"].invoke({"path": "link.txt"})
    assert "leads outside the sandbox" in tools["read_file"].invoke({"path": "door/secret.txt"})
    result = tools["write_file"].invoke({"path": "door/new.txt", "content": "x"})
    assert "leads outside the sandbox" in result
    assert "leads outside the sandbox" in tools["list_files"].invoke({"path": "door"})
    assert not (outside / "new.txt").exists()
    assert secret.read_text("utf-8") == "top secret"


def test_sizes_are_limited(tools: dict) -> None:  # type: ignore[type-arg]
    big = "x" * 1_000_001
    assert "the limit is" in tools["write_file"].invoke({"path": "big.txt", "content": big})
    tools["write_file"].invoke({"path": "long.txt", "content": "y" * 30_000})
    text = tools["read_file"].invoke({"path": "long.txt"})
    assert text.endswith("[truncated at 20000 characters]")
