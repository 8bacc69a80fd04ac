"""Model spec strings: ``provider:model[@base_url]``.

Why a string: one value in a config file, a CLI flag or an HTTP field selects any backend, so
applications never change code to move between OpenAI and a private model.

Examples::

    local:smollm2                      the embedded SmolLM2-135M-Instruct
    local:/models/qwen2.5-7b.gguf      any GGUF file
    openai:gpt-4o-mini
    openai-compatible:chatglm3-6b@http://host:8000/v1
    ollama:qwen2.5:7b                  (model names may contain ':')
    ollama:llama3@http://gpu-box:11434
    fast                               an alias from [models.aliases]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from llmapps.models.errors import SpecError

PROVIDERS = ("local", "openai", "openai-compatible", "ollama")
_PROVIDER_ALIASES = {"openai_compatible": "openai-compatible", "oai": "openai-compatible"}


@dataclass(frozen=True)
class ModelSpec:
    """A parsed spec. ``str(spec)`` gives back the canonical string."""

    provider: str
    model: str
    base_url: str | None = None

    def __str__(self) -> str:
        text = f"{self.provider}:{self.model}"
        return f"{text}@{self.base_url}" if self.base_url else text


def parse_spec(text: str, aliases: Mapping[str, str] | None = None, _depth: int = 0) -> ModelSpec:
    """Parse ``text`` (or resolve it as an alias) into a :class:`ModelSpec`."""
    raw = (text or "").strip()
    if not raw:
        raise SpecError("empty model spec: use e.g. 'local:smollm2' or 'openai:gpt-4o-mini'")
    aliases = aliases or {}
    if raw in aliases:
        if _depth > 8:
            raise SpecError(f"alias loop at '{raw}': check [models.aliases] in llmapps.toml")
        return parse_spec(aliases[raw], aliases, _depth + 1)
    provider, sep, rest = raw.partition(":")
    provider = _PROVIDER_ALIASES.get(provider.lower(), provider.lower())
    if not sep or provider not in PROVIDERS:
        known = ", ".join(PROVIDERS)
        alias_hint = f"; aliases: {', '.join(sorted(aliases))}" if aliases else ""
        raise SpecError(
            f"unknown model spec '{raw}': start with one of {known} "
            f"(e.g. 'local:smollm2'){alias_hint}"
        )
    base_url: str | None = None
    if "@" in rest:
        # The base URL follows the last '@' that starts a URL (model names rarely hold '@').
        idx = rest.rfind("@http")
        if idx < 0:
            idx = rest.rfind("@")
        rest, base_url = rest[:idx], rest[idx + 1 :]
        if not base_url.startswith(("http://", "https://")):
            raise SpecError(f"bad base URL '{base_url}' in spec '{raw}': use http://host:port[/v1]")
        base_url = base_url.rstrip("/")
    model = rest.strip()
    if not model:
        raise SpecError(f"spec '{raw}' names no model: write '{provider}:<model>'")
    if provider == "openai-compatible" and not base_url:
        raise SpecError(
            f"spec '{raw}' needs a base URL: write 'openai-compatible:{model}@http://host:port/v1'"
        )
    return ModelSpec(provider=provider, model=model, base_url=base_url)
