"""Models of the server's registry (created or pulled), as the model layer sees them.

Why here: a pulled model (``llmapps pull qwen2.5:1.5b``) must be usable by name everywhere
(``-m qwen2.5:1.5b``, ``local:qwen2.5:1.5b``, ``models.default``), and only the model layer turns
names into chat models. The registry (``llmapps.serve.registry``) writes one JSON manifest per
model under ``<home>/models/manifests/<name>/<tag>.json``; this module only reads them (the
model layer never imports ``serve``). ``auto`` picks the default model: the largest registry
model that fits in the memory available (a bigger pulled model answers better), else the
bundled SmolLM2.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmapps.config import Settings

_NAME = re.compile(
    r"^(?:[A-Za-z0-9][A-Za-z0-9._-]*(?::\d{1,5})?/)?"
    r"[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)?(?::[A-Za-z0-9][A-Za-z0-9._-]*)?$"
)
_EMBEDDING_HINTS = ("embed", "bge-", "minilm", "rerank")
# A loaded GGUF needs its file size plus the KV cache and buffers; this margin keeps auto
# from choosing a model that would push the machine into swap.
MEMORY_FACTOR = 1.3


@dataclass
class RegistryModel:
    """What the model layer needs of a registry model."""

    name: str  # name:tag
    path: Path
    system: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)

    def generation_defaults(self) -> dict[str, Any]:
        """The model's PARAMETERs in the model layer's names (temperature, top_p, stop …)."""
        out: dict[str, Any] = {}
        for key in ("temperature", "top_p", "stop", "seed"):
            if key in self.parameters:
                out[key] = self.parameters[key]
        if "num_predict" in self.parameters:
            out["max_tokens"] = self.parameters["num_predict"]
        return out


def _split(name: str) -> tuple[str, str] | None:
    raw = name.strip()
    if not _NAME.match(raw):
        return None
    base, sep, tag = raw.rpartition(":")
    if not sep or "/" in tag:
        base, tag = raw, "latest"
    return base.lower(), tag.lower()


def manifests_dir(settings: Settings) -> Path:
    return settings.home / "models" / "manifests"


def find_registry_model(name: str, settings: Settings) -> RegistryModel | None:
    """The registry model called ``name`` (``name[:tag]``), or None."""
    parts = _split(name)
    if parts is None:
        return None
    file = manifests_dir(settings) / parts[0] / f"{parts[1]}.json"
    return _read(file)


def _read(file: Path) -> RegistryModel | None:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        path = Path(data["path"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not path.is_file():
        return None
    return RegistryModel(
        name=str(data.get("name", "")),
        path=path,
        system=data.get("system"),
        parameters=dict(data.get("parameters") or {}),
    )


def registry_models(settings: Settings) -> list[RegistryModel]:
    root = manifests_dir(settings)
    if not root.is_dir():
        return []
    found = [_read(f) for f in sorted(root.glob("**/*.json"))]
    return [m for m in found if m is not None]


def available_memory() -> int:
    """Bytes of memory available to a new model (``MemAvailable``, else free pages)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 0


def auto_model(settings: Settings, memory: int | None = None) -> str:
    """The spec ``models.default = "auto"`` stands for: the largest chat model of the registry
    that fits ``memory`` (default: what is available now), else ``local:smollm2``."""
    budget = available_memory() if memory is None else memory
    best: tuple[int, str] | None = None
    for model in registry_models(settings):
        if any(hint in model.name.lower() for hint in _EMBEDDING_HINTS):
            continue
        size = model.path.stat().st_size
        if size * MEMORY_FACTOR > budget:
            continue
        if best is None or (size, model.name) > best:
            best = (size, model.name)
    return f"local:{best[1]}" if best else "local:smollm2"


def default_model_line(settings: Settings) -> str:
    """One line saying which model the default resolves to, with the upgrade hint when it is
    the bundled SmolLM2 (printed by ``llmapps up``)."""
    spec = settings.models.default
    chosen = auto_model(settings) if spec.strip() == "auto" else spec
    line = f"default model: {chosen}" + (" (auto)" if chosen != spec else "")
    if chosen == "local:smollm2":
        line += (
            " - the bundled 135M model only proves the plumbing; for real answers run "
            "'llmapps pull qwen2.5:1.5b' or set OPENAI_API_KEY and use -m openai:gpt-4o-mini"
        )
    return line
