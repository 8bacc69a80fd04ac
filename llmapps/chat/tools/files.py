"""File tools confined to one sandbox folder (``chat.sandbox_dir``, default ``<home>/sandbox``).

Guarantees: paths are relative to the sandbox; absolute paths, ``~``, drive letters and any
``..`` component are refused before touching the disk; the resolved path (symlinks followed)
must still lie inside the sandbox, so a symlink pointing out is refused too; writes open the
final component with ``O_NOFOLLOW`` so a symlink swapped in after the check is not followed.
Reads and writes are size-limited.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from langchain_core.tools import BaseTool, ToolException
from pydantic import BaseModel, Field

from llmapps.chat.tools.base import make_tool
from llmapps.config import Settings

MAX_READ_CHARS = 20_000
MAX_WRITE_BYTES = 1_000_000
MAX_LIST = 200


def sandbox_root(settings: Settings) -> Path:
    """The sandbox folder, created on first use."""
    root = Path(settings.chat.sandbox_dir).expanduser() if settings.chat.sandbox_dir else None
    root = root or settings.home / "sandbox"
    root.mkdir(parents=True, exist_ok=True)
    return root.resolve()


def confine(root: Path, raw: str) -> Path:
    """``raw`` as a path inside ``root``, or :class:`ToolException` saying why not."""
    text = (raw or ".").strip().replace("\\", "/")
    pure = PurePosixPath(text)
    if pure.is_absolute() or text.startswith("~") or re.match(r"^[A-Za-z]:", text):
        raise ToolException(
            f"{raw!r}: absolute paths are not allowed; use a path inside the sandbox"
        )
    if ".." in pure.parts:
        raise ToolException(f"{raw!r}: '..' is not allowed; use a path inside the sandbox")
    target = root.joinpath(*pure.parts)
    resolved = target.resolve()
    if not resolved.is_relative_to(root):
        raise ToolException(f"{raw!r}: leads outside the sandbox (symlink); refused")
    return target


class ReadArgs(BaseModel):
    path: str = Field(description="file path relative to the sandbox folder")


class WriteArgs(BaseModel):
    path: str = Field(description="file path relative to the sandbox folder")
    content: str = Field(description="text to write")
    append: bool = Field(default=False, description="append instead of replacing the file")


class ListArgs(BaseModel):
    path: str = Field(default=".", description="folder relative to the sandbox folder")


def file_tools(settings: Settings) -> list[BaseTool]:
    """``read_file``, ``write_file`` and ``list_files`` bound to the settings' sandbox."""

    def read_file(path: str) -> str:
        target = confine(sandbox_root(settings), path)
        if not target.is_file():
            raise ToolException(f"{path!r}: no such file in the sandbox; use list_files to look")
        with target.open("r", encoding="utf-8", errors="replace") as fh:
            text = fh.read(MAX_READ_CHARS + 1)
        if len(text) > MAX_READ_CHARS:
            return text[:MAX_READ_CHARS] + f"\n[truncated at {MAX_READ_CHARS} characters]"
        return text

    def write_file(path: str, content: str, append: bool = False) -> str:
        root = sandbox_root(settings)
        target = confine(root, path)
        data = content.encode("utf-8")
        if len(data) > MAX_WRITE_BYTES:
            raise ToolException(f"content is {len(data)} bytes; the limit is {MAX_WRITE_BYTES}")
        target.parent.mkdir(parents=True, exist_ok=True)
        confine(root, path)  # the folders just made must not have changed where it leads
        flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_APPEND if append else os.O_TRUNC)
        try:
            fd = os.open(target, flags, 0o644)
        except OSError as exc:
            raise ToolException(f"{path!r}: cannot write ({exc.strerror})") from None
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return f"wrote {len(data)} bytes to {target.relative_to(root).as_posix()}"

    def list_files(path: str = ".") -> str:
        root = sandbox_root(settings)
        target = confine(root, path)
        if not target.is_dir():
            raise ToolException(f"{path!r}: no such folder in the sandbox")
        entries = sorted(target.iterdir(), key=lambda p: p.name)
        lines = []
        for entry in entries[:MAX_LIST]:
            rel = entry.relative_to(root).as_posix()
            if entry.is_symlink():
                lines.append(f"{rel} -> (link)")
            elif entry.is_dir():
                lines.append(f"{rel}/")
            else:
                lines.append(f"{rel} ({entry.stat().st_size} bytes)")
        if len(entries) > MAX_LIST:
            lines.append(f"… {len(entries) - MAX_LIST} more")
        return "\n".join(lines) or "(empty)"

    return [
        make_tool(
            read_file,
            "read_file",
            "Read a text file from the sandbox folder.",
            ReadArgs,
        ),
        make_tool(
            write_file,
            "write_file",
            "Write (or append) text to a file in the sandbox folder.",
            WriteArgs,
        ),
        make_tool(
            list_files,
            "list_files",
            "List files and folders in the sandbox folder.",
            ListArgs,
        ),
    ]
