"""Pulled and created models are usable by name everywhere, and ``models.default = "auto"``
picks the largest one that fits in memory (else the bundled SmolLM2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmapps.config import get_settings
from llmapps.models import get_chat_model, resolve_spec
from llmapps.models.local.manifests import auto_model, default_model_line, find_registry_model
from llmapps.serve.modelfile import Modelfile
from llmapps.serve.registry import Registry
from tests.serve.test_pull import make_gguf


def _pulled(tmp_path: Path, name: str, padding: int) -> Path:
    path = make_gguf(tmp_path / f"{name.replace(':', '-').replace('/', '-')}.gguf", padding)
    mf = Modelfile(from_=str(path), system="Answer briefly.", parameters={"temperature": 0.2})
    mf.parameters["num_predict"] = 64
    Registry(get_settings()).save_pulled(name, mf, {"name": name, "digest": "sha256:" + "a" * 64})
    return path


def test_auto_is_smollm2_until_a_model_is_pulled(tmp_path: Path) -> None:
    settings = get_settings()
    assert settings.models.default == "auto"
    assert auto_model(settings) == "local:smollm2"
    assert "llmapps pull qwen2.5:1.5b" in default_model_line(settings)
    _pulled(tmp_path, "qwen2.5:0.5b", 100_000)
    _pulled(tmp_path, "qwen2.5:1.5b", 300_000)
    _pulled(tmp_path, "nomic-embed-text:latest", 900_000)  # embeddings are never the chat default
    assert auto_model(settings, memory=10**9) == "local:qwen2.5:1.5b"
    assert auto_model(settings, memory=200_000) == "local:qwen2.5:0.5b"  # 1.5b does not fit
    assert auto_model(settings, memory=1000) == "local:smollm2"
    assert str(resolve_spec(None, settings)) in ("local:qwen2.5:1.5b", "local:qwen2.5:0.5b")


def test_a_pulled_model_is_a_spec_by_its_bare_name(tmp_path: Path) -> None:
    path = _pulled(tmp_path, "qwen2.5:1.5b", 1000)
    settings = get_settings()
    assert str(resolve_spec("qwen2.5:1.5b", settings)) == "local:qwen2.5:1.5b"
    assert find_registry_model("qwen2.5:1.5b", settings).path == path  # type: ignore[union-attr]
    model = get_chat_model("qwen2.5:1.5b", settings=settings, max_tokens=8)
    inner = model.first if hasattr(model, "first") else model  # the call logger may wrap it
    found = inner if hasattr(inner, "model_path") else getattr(inner, "bound", inner)
    assert found.model_path == path
    assert found.default_system == "Answer briefly."
    assert found.temperature == 0.2 and found.max_tokens == 8  # the caller's value wins
    with pytest.raises(Exception, match="unknown model spec"):
        resolve_spec("qwen9:404b", settings)


def test_remote_callers_may_name_registry_models(tmp_path: Path) -> None:
    from llmapps.models import SpecError, check_spec_allowed

    settings = get_settings()
    _pulled(tmp_path, "hf.co/someone/tiny-gguf:q8_0", 1000)
    _pulled(tmp_path, "qwen2.5:1.5b", 1000)
    for spec in ("qwen2.5:1.5b", "local:qwen2.5:1.5b", "hf.co/someone/tiny-gguf:q8_0"):
        check_spec_allowed(spec, settings)
    check_spec_allowed("local:hf.co/someone/tiny-gguf:q8_0", settings)
    with pytest.raises(SpecError):
        check_spec_allowed("qwen9:404b", settings)
