"""The official ``ollama`` Python client's pull, list, show, ps, copy and delete, unchanged,
against ``llmapps serve`` pulling from a loopback Ollama registry."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import ollama
import pytest

from llmapps.models.local.discovery import bundled_model_path
from tests.serve.fake_registries import FakeHub, HubServer
from tests.serve.test_pull import TEMPLATE, make_gguf, publish


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    with HubServer(FakeHub()) as running:
        monkeypatch.setenv("LLMAPPS_MODELS__REGISTRY_URL", running.url)
        monkeypatch.setenv("LLMAPPS_MODELS__HF_URL", running.url)
        yield running


def test_ollama_client_pull_list_show_copy_delete_ps(
    hub: FakeHub, start_server: Callable[..., Any], tmp_path: Path
) -> None:
    gguf = make_gguf(tmp_path / "tiny.gguf")
    publish(hub, gguf)
    server = start_server()
    client = ollama.Client(host=server.url)

    events = list(client.pull("tiny:0.5b", stream=True))
    assert events[0].status == "pulling manifest" and events[-1].status == "success"
    layer = next(e for e in events if e.total == gguf.stat().st_size)
    assert layer.digest and layer.status == f"pulling {layer.digest[7:19]}"
    assert client.pull("tiny:0.5b").status == "success"  # non-streaming, already present

    listed = {m.model: m for m in client.list().models}
    assert {"tiny:0.5b", "smollm2:latest"} <= set(listed)
    assert listed["tiny:0.5b"].size == gguf.stat().st_size and listed["tiny:0.5b"].digest

    shown = client.show("tiny:0.5b")
    assert shown.template == TEMPLATE
    assert shown.details and shown.details.format == "gguf"
    assert "Be brief." in (shown.modelfile or "")

    assert client.copy("tiny:0.5b", "tiny-copy").status == "success"
    assert "tiny-copy:latest" in {m.model for m in client.list().models}
    assert client.delete("tiny-copy").status == "success"
    assert "tiny-copy:latest" not in {m.model for m in client.list().models}
    assert client.ps().models == []

    with pytest.raises(ollama.ResponseError) as info:
        client.pull("nosuch:1b")
    assert "no such model" in str(info.value)
    # a streamed pull ends with Ollama's {"error": ...} line
    lines = httpx.post(server.url + "/api/pull", json={"model": "nosuch:1b"}).text.splitlines()
    assert lines[-1].startswith('{"error": ') and "no such model" in lines[-1]


def test_a_non_gguf_blob_is_refused(start_server: Callable[..., Any]) -> None:
    import hashlib

    server = start_server()
    data = b'{"not": "gguf"}'
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    resp = httpx.post(f"{server.url}/api/blobs/{digest}", content=data)
    assert resp.status_code == 400 and "not a GGUF file" in resp.json()["error"]
    assert httpx.head(f"{server.url}/api/blobs/{digest}").status_code == 404


@pytest.mark.model
def test_a_pulled_model_answers_through_api_chat_and_v1(
    hub: FakeHub, start_server: Callable[..., Any]
) -> None:
    hub.add_model("smol", "135m", hub.add_blob(path=bundled_model_path()), {
        "template": TEMPLATE.encode(),
        "params": b'{"stop": ["<|im_end|>"]}',
    })  # fmt: skip
    server = start_server()
    client = ollama.Client(host=server.url)
    assert client.pull("smol:135m").status == "success"
    out = client.chat(
        model="smol:135m",
        messages=[{"role": "user", "content": "Say hello"}],
        options={"num_predict": 8, "temperature": 0},
    )
    assert out.message.content and out.done
    resp = httpx.post(
        server.url + "/v1/chat/completions",
        json={
            "model": "smol:135m",
            "messages": [{"role": "user", "content": "Say hello"}],
            "max_tokens": 8,
            "temperature": 0,
        },
        timeout=120,
    )
    assert resp.status_code == 200 and resp.json()["choices"][0]["message"]["content"]
    assert client.ps().models[0].model == "smol:135m"
