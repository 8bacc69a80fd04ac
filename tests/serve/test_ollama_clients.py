"""The official ``ollama`` client and LangChain's ChatOllama against our /api, real model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import ollama
import pytest

from llmapps.models.local.discovery import bundled_model_path

pytestmark = pytest.mark.model


def client(server: Any) -> ollama.Client:
    return ollama.Client(host=server.url)


def test_root_and_version(server: Any) -> None:
    assert httpx.get(server.url + "/").text == "Ollama is running"
    assert httpx.get(server.url + "/api/version").json()["version"]


def test_chat_stream_ends_with_done_and_counters(server: Any) -> None:
    parts = list(
        client(server).chat(
            model="smollm2",
            messages=[{"role": "user", "content": "Say hello"}],
            options={"num_predict": 10, "seed": 3},
            stream=True,
        )
    )
    assert "".join(p.message.content or "" for p in parts).strip()
    last = parts[-1]
    assert last.done is True and all(p.done is False for p in parts[:-1])
    assert last.done_reason in ("stop", "length")
    assert last.eval_count is not None and 0 < last.eval_count <= 10
    assert last.prompt_eval_count and last.prompt_eval_count > 0
    for name in ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration"):
        assert isinstance(getattr(last, name), int), name
    assert last.total_duration and last.total_duration >= (last.eval_duration or 0)


def test_chat_non_stream_json_format(server: Any) -> None:
    out = client(server).chat(
        model="smollm2",
        messages=[{"role": "user", "content": "Reply with a JSON object with key a."}],
        format={"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
        options={"num_predict": 24, "temperature": 0},
    )
    assert isinstance(json.loads(out.message.content or "")["a"], int)


def test_generate_stream_and_plain(server: Any) -> None:
    cl = client(server)
    out = cl.generate(model="smollm2", prompt="Why is the sky blue?", options={"num_predict": 8})
    assert out.response and out.done and out.eval_count and out.eval_count <= 8
    parts = list(cl.generate(model="smollm2", prompt="Hi", options={"num_predict": 6}, stream=True))
    assert parts[-1].done and parts[-1].eval_duration is not None
    raw = httpx.post(
        server.url + "/api/generate",
        json={"model": "smollm2", "prompt": "Hi", "options": {"num_predict": 3}},
        timeout=60,
    )
    lines = [json.loads(line) for line in raw.text.splitlines() if line]
    assert raw.headers["content-type"].startswith("application/x-ndjson")
    assert lines[-1]["done"] is True and "eval_count" in lines[-1]


def test_tags_create_show_copy_ps_delete(server: Any, tmp_path: Path) -> None:
    cl = client(server)
    assert "smollm2:latest" in [m.model for m in cl.list().models]
    status = cl.create(
        model="pirate",
        from_="smollm2",
        system="You are a pirate.",
        parameters={"temperature": 0.2, "num_predict": 8, "stop": ["\n\n"]},
    )
    assert status.status == "success"
    info = cl.show("pirate")
    assert "SYSTEM" in (info.modelfile or "") and "pirate" in (info.modelfile or "")
    assert "temperature" in (info.parameters or "")
    assert cl.copy("pirate", "pirate:v2").status == "success"
    names = [m.model for m in cl.list().models]
    assert {"pirate:latest", "pirate:v2"} <= set(names)
    # The Modelfile's num_predict applies: at most 8 tokens.
    out = cl.chat(model="pirate:v2", messages=[{"role": "user", "content": "Hello"}])
    assert out.eval_count is not None and out.eval_count <= 8
    running = [m.model for m in cl.ps().models]
    assert "pirate:v2" in running
    assert cl.delete("pirate:v2").status == "success"
    assert "pirate:v2" not in [m.model for m in cl.list().models]
    assert "pirate:v2" not in [m.model for m in cl.ps().models]  # unloaded with it
    with pytest.raises(ollama.ResponseError) as err:
        cl.delete("pirate:v2")
    assert err.value.status_code == 404
    # Legacy Modelfile text and a GGUF path both work.
    gguf = bundled_model_path()
    resp = httpx.post(
        server.url + "/api/create",
        json={
            "model": "fromfile",
            "modelfile": f"FROM {gguf}\nPARAMETER seed 1\n",
            "stream": False,
        },
    )
    assert resp.status_code == 200, resp.text
    assert cl.show("fromfile").parameters and "seed" in (cl.show("fromfile").parameters or "")


def test_embed_and_legacy_embeddings(server: Any) -> None:
    cl = client(server)
    out = cl.embed(model="smollm2", input=["one", "two"])
    assert len(out.embeddings) == 2 and len(out.embeddings[0]) > 100
    legacy = cl.embeddings(model="smollm2", prompt="one")
    assert list(legacy.embedding)[:4] == pytest.approx(list(out.embeddings[0])[:4], abs=1e-5)


def test_pull_without_network_is_one_line_or_imports_a_local_gguf(
    start_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import free_port

    # No network in tests: the registry is a closed loopback port (pulling from a loopback
    # registry is tested in test_ollama_client_pull.py).
    monkeypatch.setenv("LLMAPPS_MODELS__REGISTRY_URL", f"http://127.0.0.1:{free_port()}")
    server = start_server()
    cl = client(server)
    with pytest.raises(ollama.ResponseError) as err:
        cl.pull("llama3.2")
    assert "cannot reach 127.0.0.1" in str(err.value)
    gguf = bundled_model_path()
    assert cl.pull(str(gguf)).status == "success"
    assert gguf.stem.lower() + ":latest" in [m.model for m in cl.list().models]


def test_tools_with_ollama_client(server: Any, weather_tool: dict[str, Any]) -> None:
    out = client(server).chat(
        model="smollm2",
        messages=[{"role": "user", "content": "Call the tool get_weather for Paris."}],
        tools=[weather_tool],
        options={"num_predict": 48, "temperature": 0},
    )
    # SmolLM2-135M may or may not choose the tool; whichever it does must be well-formed.
    if out.message.tool_calls:
        call = out.message.tool_calls[0]
        assert call.function.name == "get_weather"
        assert isinstance(call.function.arguments, dict)
    else:
        assert out.message.content


def test_langchain_chat_ollama(server: Any) -> None:
    from langchain_ollama import ChatOllama

    chat = ChatOllama(base_url=server.url, model="smollm2", num_predict=10)
    answer = chat.invoke("Say hi")
    assert isinstance(answer.content, str) and answer.content
    assert "".join(str(c.content) for c in chat.stream("Say hi")).strip()


def test_create_from_uploaded_blob(server: Any, isolated_home: Path) -> None:
    cl = client(server)
    gguf = bundled_model_path()
    digest = cl.create_blob(gguf)  # what `ollama create` does with a local FROM file
    assert httpx.head(f"{server.url}/api/blobs/{digest}").status_code == 200
    assert cl.create(model="uploaded", files={"model.gguf": digest}).status == "success"
    stored = isolated_home / "models" / "blobs" / digest.replace(":", "-")
    assert stored.read_bytes()[:4] == b"GGUF"
    assert cl.show("uploaded").details is not None
    out = cl.generate(model="uploaded", prompt="Hi", options={"num_predict": 2})
    assert out.done
    wrong = "sha256:" + "0" * 64
    assert httpx.head(f"{server.url}/api/blobs/{wrong}").status_code == 404
    resp = httpx.post(f"{server.url}/api/blobs/{wrong}", content=b"GGUF not really")
    assert resp.status_code == 400 and "digest mismatch" in resp.json()["error"]
    with pytest.raises(ollama.ResponseError) as err:
        cl.create(model="nope", files={"model.gguf": wrong})
    assert "not uploaded" in str(err.value)
