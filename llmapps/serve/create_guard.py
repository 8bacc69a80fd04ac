"""Which files a remote user may make the server open through ``/api/create`` and ``/api/pull``.

Why: over HTTP, ``path`` (a Modelfile on the server), ``from``, ``adapters``, ``FROM`` and
``ADAPTER`` would otherwise open any file on the machine, and differing errors ("not found" vs
"not a GGUF file" vs a quoted Modelfile line) tell a caller which files exist. Remote callers get
what the model-spec guard allows (its folder rule, :func:`path_in_gguf_dirs`): the bundled model,
registry model names, uploaded blobs, and files inside ``<home>/models/gguf`` or
``models.gguf_dirs``. Everything else is refused with ONE message, whether the file exists or
not. The CLI (``llmapps models create -f``) does not come through here: a local user may already
read their own files.
"""

from __future__ import annotations

from pathlib import Path

from llmapps.config import Settings
from llmapps.errors import LlmappsError
from llmapps.models.errors import UnknownModelError
from llmapps.models.guard import SpecNotAllowedError, path_in_gguf_dirs
from llmapps.models.local.discovery import (
    BUNDLED_NAME,
    bundled_model_path,
    resolve_local_model,
)
from llmapps.serve.errors import BadRequestError
from llmapps.serve.modelfile import Modelfile
from llmapps.serve.registry import Registry

NOT_ALLOWED = (
    "file not allowed over HTTP: use 'smollm2', an existing model name, an uploaded blob "
    "(/api/blobs), or a GGUF or Modelfile inside the data directory's models/gguf or a folder "
    "listed in models.gguf_dirs"
)


def http_base_dir(settings: Settings) -> Path:
    """Where relative paths sent over HTTP start: the data directory's GGUF folder, never the
    server's working directory."""
    return settings.home / "models" / "gguf"


def blobs_dir(settings: Settings) -> Path:
    """Uploaded blobs (``POST /api/blobs/<digest>``) live here."""
    return settings.home / "models" / "blobs"


def _absolute(ref: str, base_dir: Path) -> Path:
    candidate = Path(ref).expanduser()
    return candidate if candidate.is_absolute() else base_dir / candidate


def _is_bundled_file(path: Path) -> bool:
    """The bundled GGUF by its path: public, shipped with the package, reveals nothing."""
    try:
        return path.resolve() == bundled_model_path().resolve()
    except (OSError, RuntimeError, LlmappsError):  # a missing bundled model: not our error
        return False


def check_file_allowed(ref: str, settings: Settings, base_dir: Path) -> Path:
    """The absolute path of ``ref`` if a remote user may open it, else :class:`SpecNotAllowedError`
    (403) with :data:`NOT_ALLOWED`, checked before the file is touched."""
    path = _absolute(ref, base_dir)
    if _is_bundled_file(path) or path_in_gguf_dirs(path, settings, [blobs_dir(settings)]):
        return path
    raise SpecNotAllowedError(NOT_ALLOWED)


def _is_bare_name(ref: str) -> bool:
    return not (ref.endswith(".gguf") or "/" in ref or "\\" in ref or ref.startswith(("~", ".")))


def _is_model_name(ref: str, registry: Registry) -> bool:
    try:
        return registry.exists(ref)
    except BadRequestError:  # not a valid model name, so a path
        return False


def _bare_name_file(ref: str, settings: Settings, base_dir: Path) -> Path | None:
    """The file the registry would open for a bare ``FROM name``: ``base_dir/name``, else the
    GGUF folders' ``name.gguf``; None when there is none (the registry then says so)."""
    direct = base_dir / ref
    if direct.exists():
        return direct
    try:
        return resolve_local_model(ref, settings)
    except UnknownModelError:
        return None


def check_create_allowed(mf: Modelfile, registry: Registry, base_dir: Path) -> None:
    """Refuse a Modelfile whose FROM or ADAPTER opens a file outside the allowed folders.

    A bare name found in a GGUF folder is checked too: a symlink there pointing elsewhere is
    refused like the same path would be (list its target folder in ``models.gguf_dirs``).
    """
    settings = registry.settings
    ref = mf.from_
    if ref != BUNDLED_NAME and not _is_model_name(ref, registry):
        target = _bare_name_file(ref, settings, base_dir) if _is_bare_name(ref) else ref
        if target is not None:
            check_file_allowed(str(target), settings, base_dir)
    for adapter in mf.adapters:
        check_file_allowed(adapter, settings, base_dir)


def read_modelfile(ref: str, settings: Settings) -> tuple[str, Path]:
    """The text of the legacy ``path`` Modelfile and its folder (where its relative FROM and
    ADAPTER start), once the path is allowed."""
    path = check_file_allowed(ref, settings, http_base_dir(settings))
    if not path.is_file():
        raise BadRequestError(f"Modelfile not found: {ref}", param="path")
    try:
        return path.read_text(encoding="utf-8"), path.parent
    except (OSError, UnicodeDecodeError):
        raise BadRequestError(
            f"Modelfile {ref} cannot be read as UTF-8 text: save it as UTF-8", param="path"
        ) from None
