"""HTTP uploads saved to disk: streamed under ``server.max_upload_mb``, never half-written.

Why one place: the translator and the knowledge bases both take uploads over HTTP; the size
limit, the one-line message naming the setting, and the clean-up of a rejected or broken upload
must be the same everywhere. The upload goes to ``NAME.part`` and is renamed when complete, so
a failed upload never replaces (or leaves behind) a file.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import UploadFile

from llmapps.errors import LlmappsError

_CHUNK = 1 << 20


class UploadTooLargeError(LlmappsError):
    """An upload above ``server.max_upload_mb``."""

    status_code = 413


def too_large(name: str, limit_mb: int) -> UploadTooLargeError:
    return UploadTooLargeError(
        f"{name} is larger than {limit_mb} MB: send a smaller file or raise server.max_upload_mb"
    )


async def save_upload(upload: UploadFile, dest: Path, limit_mb: int) -> None:
    """Stream ``upload`` to ``dest``; raise :class:`UploadTooLargeError` past ``limit_mb``."""
    limit = limit_mb * 1024 * 1024
    partial = dest.with_name(dest.name + ".part")
    size = 0
    try:
        with partial.open("wb") as out:
            while chunk := await upload.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise too_large(dest.name, limit_mb)
                out.write(chunk)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(dest)
