"""Modelfile ``ADAPTER``: a real LoRA adapter GGUF applied by llama.cpp to the bundled model.

The adapter is built here with the ``gguf`` package from the bundled model's own tensor
shapes: rank-4 ``lora_a``/``lora_b`` pairs (seeded random, F32) on every layer's
``ffn_down``. llama.cpp wants, in GGUF numpy order, ``lora_a`` of shape (rank, n_in) and
``lora_b`` of shape (n_out, rank); the values are large enough to change greedy output.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import gguf
import httpx
import numpy as np
from typer.testing import CliRunner

from llmapps.cli import app
from llmapps.models.local.discovery import bundled_model_path

runner = CliRunner()
PROMPT = "What is the capital of France?"
GREEDY = {"temperature": 0, "seed": 42, "num_predict": 16}


def build_lora(path: Path, *, arch: str | None = None, rank: int = 4, seed: int = 7) -> Path:
    """Write a LoRA adapter GGUF matching the bundled model (or claiming another ``arch``)."""
    base = gguf.GGUFReader(str(bundled_model_path()))
    base_arch = str(base.fields["general.architecture"].contents())
    writer = gguf.GGUFWriter(str(path), arch or base_arch)
    writer.add_type("adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(rank))  # scale = alpha / rank = 1
    rng = np.random.default_rng(seed)
    for tensor in base.tensors:
        if tensor.name.endswith(".ffn_down.weight"):
            n_in, n_out = int(tensor.shape[0]), int(tensor.shape[1])  # ggml order: ne0 = in
            lora_a = rng.standard_normal((rank, n_in)) * 0.1
            lora_b = rng.standard_normal((n_out, rank)) * 0.1
            writer.add_tensor(f"{tensor.name}.lora_a", lora_a.astype(np.float32))
            writer.add_tensor(f"{tensor.name}.lora_b", lora_b.astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def create_cli(tmp_path: Path, name: str, adapter: str) -> Any:
    modelfile = tmp_path / "Modelfile"
    modelfile.write_text(f"FROM smollm2\nADAPTER {adapter}\n")
    return runner.invoke(app, ["models", "create", name, "-f", str(modelfile)])


def generate(server: Any, model: str) -> str:
    body = {"model": model, "prompt": PROMPT, "stream": False, "options": GREEDY}
    resp = httpx.post(f"{server.url}/api/generate", json=body, timeout=120)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["response"])


def upload_blob(server: Any, path: Path) -> str:
    digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    resp = httpx.post(f"{server.url}/api/blobs/{digest}", content=path.read_bytes(), timeout=60)
    assert resp.status_code in (200, 201), resp.text
    return digest


def test_lora_adapter_changes_greedy_output(tmp_path: Path, server: Any) -> None:
    build_lora(tmp_path / "adapter.gguf")
    result = create_cli(tmp_path, "pirate", "./adapter.gguf")
    assert result.exit_code == 0, result.output
    modelfile = runner.invoke(app, ["models", "show", "pirate", "--modelfile"]).output
    assert f"ADAPTER {(tmp_path / 'adapter.gguf').resolve()}" in modelfile

    base = generate(server, "smollm2")
    tuned = generate(server, "pirate")
    assert base.strip() and tuned.strip()
    assert tuned != base  # the LoRA really is applied
    assert generate(server, "pirate") == tuned  # and deterministically so
    assert generate(server, "smollm2") == base  # the base model is left untouched

    # The same adapter uploaded as a blob through the Ollama API gives the same model.
    digest = upload_blob(server, tmp_path / "adapter.gguf")
    body = {"model": "pirate-http", "from": "smollm2", "adapters": {"adapter.gguf": digest}}
    resp = httpx.post(f"{server.url}/api/create", json={**body, "stream": False}, timeout=60)
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "success"
    assert generate(server, "pirate-http") == tuned
    # A model created FROM the adapter model inherits its adapter.
    child = tmp_path / "child"
    child.mkdir()
    (child / "Modelfile").write_text("FROM pirate\nPARAMETER num_predict 4\n")
    made = runner.invoke(app, ["models", "create", "parrot", "-f", str(child / "Modelfile")])
    assert made.exit_code == 0, made.output
    inherited = runner.invoke(app, ["models", "show", "parrot", "--modelfile"]).output
    assert "ADAPTER " in inherited and "adapter.gguf" in inherited


def test_non_lora_adapters_are_refused_with_one_line(tmp_path: Path, server: Any) -> None:
    (tmp_path / "garbage.gguf").write_bytes(b"not a model at all\n" * 10)
    (tmp_path / "base.gguf").symlink_to(bundled_model_path())  # a model, not an adapter
    build_lora(tmp_path / "qwen.gguf", arch="qwen2")
    cases = {
        "./garbage.gguf": "not a GGUF file",
        "./base.gguf": "not a LoRA adapter GGUF",
        "./qwen.gguf": "architecture 'qwen2'",
        "./missing.gguf": "file not found",
    }
    for ref, message in cases.items():
        result = create_cli(tmp_path, "bad", ref)
        assert result.exit_code != 0, ref
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and message in lines[0] and ref in lines[0], result.output
    assert runner.invoke(app, ["models", "show", "bad"]).exit_code != 0  # nothing was written

    # Over HTTP: a model GGUF uploaded as a blob and named as adapter is a 400, not a 500.
    digest = upload_blob(server, bundled_model_path())
    body = {"model": "bad", "from": "smollm2", "adapters": {"a.gguf": digest}, "stream": False}
    resp = httpx.post(f"{server.url}/api/create", json=body, timeout=60)
    assert resp.status_code == 400 and "not a LoRA adapter GGUF" in resp.json()["error"]
