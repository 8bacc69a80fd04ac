"""Files uploaded (web tab, HTTP) into a knowledge base: size-limited and confined.

Why a copy under the data directory: a knowledge base re-reads its files on rebuild, and
browser uploads live in temporary folders that disappear. Only the base name of an upload is
kept (no folders, no leading dots), so an upload can never write outside ``kb_uploads/KB/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from llmapps.config import Settings
from llmapps.errors import LlmappsError
from llmapps.uploads import too_large


class UploadError(LlmappsError):
    """A bad upload (no usable name)."""


def safe_name(name: str) -> str:
    """A bare file name: no folders, no leading dots."""
    base = Path(name.replace("\\", "/")).name.strip().lstrip(".")
    if not base:
        raise UploadError(f"bad file name {name!r}: give the upload a plain file name")
    return base


def upload_folder(settings: Settings, kb: str) -> Path:
    folder = settings.home / "kb_uploads" / safe_name(kb)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def add_uploaded_files(
    kb: str, files: list[Path], *, settings: Settings, create: bool = True
) -> dict[str, Any]:
    """Copy local upload files into the KB's folder and index them (creating the KB if asked)."""
    from llmapps.chat.kb import add_paths, create_kb, list_kbs

    if not files:
        raise UploadError("no files given: choose at least one file to add")
    for path in files:
        if path.stat().st_size > settings.server.max_upload_mb * 1024 * 1024:
            raise too_large(path.name, settings.server.max_upload_mb)
    if kb not in list_kbs(settings):
        if not create:
            raise UploadError(f"knowledge base '{kb}' not found: create it first")
        create_kb(kb, settings=settings)
    folder = upload_folder(settings, kb)
    saved = []
    for path in files:
        target = folder / safe_name(path.name)
        shutil.copyfile(path, target)
        saved.append(target)
    report = add_paths(kb, saved, settings=settings)
    return report.as_dict()
