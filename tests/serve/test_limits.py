"""Errors and limits: malformed JSON, unknown model, 413, keys, CORS, queue full, disconnects,
keep-alive, max loaded models, context overflow."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import ollama
import openai
import pytest

LONG = {"role": "user", "content": "Write a very long story about dragons."}


def test_malformed_json_is_400_in_each_shape(server: Any) -> None:
    resp = httpx.post(
        server.url + "/v1/chat/completions",
        content=b'{"model": "smollm2", "messages": [',
        headers={"content-type": "application/json"},
    )
    assert resp.status_code == 400
    err = resp.json()["error"]
    assert err["type"] == "invalid_request_error" and "malformed JSON" in err["message"]
    assert set(err) == {"message", "type", "param", "code"}
    resp = httpx.post(server.url + "/api/chat", content=b"not json")
    assert resp.status_code == 400 and "malformed JSON" in resp.json()["error"]
    # A missing field is a 400 naming it (not FastAPI's 422).
    resp = httpx.post(server.url + "/v1/chat/completions", json={"model": "smollm2"})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "messages"
    resp = httpx.post(
        server.url + "/v1/chat/completions",
        json={"model": "smollm2", "messages": [{"role": "user", "content": "x"}], "temperature": 9},
    )
    assert resp.status_code == 400 and "temperature" in resp.json()["error"]["message"]
    resp = httpx.post(
        server.url + "/api/generate",
        json={"model": "smollm2", "prompt": "x", "options": {"temprature": 1}},
    )
    assert resp.status_code == 400 and "temprature" in resp.json()["error"]


def test_unknown_model_is_404(server: Any) -> None:
    oa = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.NotFoundError) as err:
        oa.chat.completions.create(
            model="nope", messages=[{"role": "user", "content": "hi"}], max_tokens=2
        )
    assert err.value.status_code == 404
    body: Any = err.value.body
    assert body["code"] == "model_not_found" and "nope" in body["message"]
    with pytest.raises(openai.NotFoundError):
        oa.models.retrieve("nope:tag")
    with pytest.raises(ollama.ResponseError) as oerr:
        ollama.Client(host=server.url).chat(model="nope", messages=[LONG])
    assert oerr.value.status_code == 404


def test_oversize_body_is_413(monkeypatch: pytest.MonkeyPatch, start_server: Any) -> None:
    monkeypatch.setenv("LLMAPPS_SERVER__MAX_BODY_MB", "0.001")  # about 1 KB
    server = start_server()
    big = {"model": "smollm2", "messages": [{"role": "user", "content": "x" * 5000}]}
    resp = httpx.post(server.url + "/v1/chat/completions", json=big)
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == "request_too_large"

    def chunks() -> Any:  # no Content-Length: the limit holds while reading
        data = json.dumps(big).encode()
        for i in range(0, len(data), 512):
            yield data[i : i + 512]

    resp = httpx.post(server.url + "/api/chat", content=chunks())
    assert resp.status_code == 413 and "max_body_mb" in resp.json()["error"]


def test_api_keys_and_cors(monkeypatch: pytest.MonkeyPatch, start_server: Any) -> None:
    monkeypatch.setenv("LLMAPPS_API_KEYS", "key-one, key-two")
    monkeypatch.setenv("LLMAPPS_SERVER__CORS_ORIGINS", '["http://app.example"]')
    server = start_server()
    wrong = openai.OpenAI(base_url=server.url + "/v1", api_key="bad", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as err:
        wrong.models.list()
    assert err.value.status_code == 401
    good = openai.OpenAI(base_url=server.url + "/v1", api_key="key-two", max_retries=0)
    assert any(m.id == "smollm2:latest" for m in good.models.list())
    resp = httpx.get(server.url + "/api/tags")
    assert resp.status_code == 401 and "Authorization" in resp.json()["error"]
    ok = httpx.get(server.url + "/api/tags", headers={"Authorization": "Bearer key-one"})
    assert ok.status_code == 200
    assert httpx.get(server.url + "/").status_code == 200  # the banner needs no key
    pre = httpx.options(
        server.url + "/v1/models",
        headers={"Origin": "http://app.example", "Access-Control-Request-Method": "GET"},
    )
    assert pre.headers.get("access-control-allow-origin") == "http://app.example"
    other = httpx.options(
        server.url + "/v1/models",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert other.headers.get("access-control-allow-origin") is None


def test_require_api_key_without_keys(monkeypatch: pytest.MonkeyPatch, start_server: Any) -> None:
    monkeypatch.setenv("LLMAPPS_SERVER__REQUIRE_API_KEY", "true")
    server = start_server()
    resp = httpx.get(server.url + "/v1/models", headers={"Authorization": "Bearer x"})
    assert resp.status_code == 401 and "LLMAPPS_API_KEYS" in resp.json()["error"]["message"]


def _wait(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.model
def test_queue_full_503_and_disconnect_cancels(
    monkeypatch: pytest.MonkeyPatch, start_server: Any, eos_bias: Callable[[], dict[str, int]]
) -> None:
    monkeypatch.setenv("LLMAPPS_SERVER__QUEUE_SIZE", "0")
    monkeypatch.setenv("LLMAPPS_SERVER__PARALLEL_PER_MODEL", "1")
    server = start_server()
    bias = eos_bias()
    body = {
        "model": "smollm2",
        "messages": [LONG],
        "max_tokens": 1500,
        "stream": True,
        "logit_bias": bias,
    }
    with (
        httpx.Client(timeout=60) as first_client,
        first_client.stream("POST", server.url + "/v1/chat/completions", json=body) as stream,
    ):
        lines = stream.iter_lines()
        received = [next(lines) for _ in range(6)]
        assert any(line.startswith("data: {") for line in received)
        busy = httpx.post(
            server.url + "/v1/chat/completions",
            json={"model": "smollm2", "messages": [LONG], "max_tokens": 2},
            timeout=30,
        )
        assert busy.status_code == 503
        assert busy.headers["Retry-After"].isdigit()
        assert busy.json()["error"]["code"] == "server_busy"
        obusy = httpx.post(
            server.url + "/api/chat",
            json={"model": "smollm2", "messages": [LONG], "stream": False},
            timeout=30,
        )
        assert obusy.status_code == 503 and "busy" in obusy.json()["error"]
    # Leaving the block closed the connection mid-stream: the generation must stop early
    # (1500 tokens would take far longer) and free the model's place in the queue.
    scheduler = server.app.state.serve_runtime.scheduler
    started = time.monotonic()
    assert _wait(lambda: scheduler.stats.cancelled >= 1)
    assert _wait(lambda: all(q["active"] == 0 for q in scheduler.snapshot().values()))
    assert time.monotonic() - started < 15
    after = httpx.post(
        server.url + "/v1/chat/completions",
        json={"model": "smollm2", "messages": [LONG], "max_tokens": 2},
        timeout=60,
    )
    assert after.status_code == 200


@pytest.mark.model
def test_non_stream_disconnect_cancels(server: Any, eos_bias: Callable[[], dict[str, int]]) -> None:
    bias = eos_bias()
    body = {"model": "smollm2", "messages": [LONG], "max_tokens": 1500, "logit_bias": bias}

    def doomed() -> None:
        # The client gives up after 2 s and closes the connection.
        with contextlib.suppress(httpx.TimeoutException):
            httpx.post(server.url + "/v1/chat/completions", json=body, timeout=2.0)

    thread = threading.Thread(target=doomed)
    thread.start()
    thread.join()
    scheduler = server.app.state.serve_runtime.scheduler
    assert _wait(lambda: scheduler.stats.cancelled >= 1, timeout=15)
    assert _wait(lambda: all(q["active"] == 0 for q in scheduler.snapshot().values()))


@pytest.mark.model
def test_two_models_and_keep_alive_unload(
    monkeypatch: pytest.MonkeyPatch, start_server: Any
) -> None:
    monkeypatch.setenv("LLMAPPS_SERVER__MAX_LOADED_MODELS", "2")
    server = start_server()
    cl = ollama.Client(host=server.url)
    cl.create(model="short", from_="smollm2", parameters={"num_ctx": 512})
    cl.create(model="long", from_="smollm2", parameters={"num_ctx": 1024})
    cl.generate(model="long", prompt="Hi", options={"num_predict": 2}, keep_alive=-1)
    cl.generate(model="short", prompt="Hi", options={"num_predict": 2}, keep_alive="3s")
    loaded = {m.model: m for m in cl.ps().models}
    assert set(loaded) == {"short:latest", "long:latest"}
    assert loaded["long:latest"].expires_at is not None
    assert loaded["long:latest"].expires_at.year > 2100  # negative keep_alive: forever
    assert _wait(lambda: [m.model for m in cl.ps().models] == ["long:latest"], timeout=10)
    # keep_alive 0 with an empty prompt unloads at once, as in Ollama.
    out = cl.generate(model="long", prompt="", keep_alive=0)
    assert out.done_reason == "unload"
    assert cl.ps().models == []
    # A third model over max_loaded_models evicts the least recently used one.
    cl.create(model="third", from_="smollm2", parameters={"num_ctx": 768})
    for name in ("short", "long", "third"):
        cl.generate(model=name, prompt="Hi", options={"num_predict": 1}, keep_alive="5m")
    assert {m.model for m in cl.ps().models} == {"long:latest", "third:latest"}


@pytest.mark.model
def test_context_overflow_is_an_error_unless_truncation_is_asked(server: Any) -> None:
    cl = ollama.Client(host=server.url)
    cl.create(model="tiny", from_="smollm2", parameters={"num_ctx": 128})
    history = [
        {"role": "user", "content": f"Turn {i}: " + "dragons fly high " * 8} for i in range(8)
    ]
    resp = httpx.post(
        server.url + "/v1/chat/completions",
        json={"model": "tiny", "messages": history, "max_tokens": 4},
        timeout=60,
    )
    assert resp.status_code == 400
    err = resp.json()["error"]
    assert err["code"] == "context_length_exceeded" and "num_ctx 128" in err["message"]
    resp = httpx.post(
        server.url + "/v1/chat/completions",
        json={"model": "tiny", "messages": history, "max_tokens": 4, "truncate": True},
        timeout=60,
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["usage"]["prompt_tokens"] < 128
    with pytest.raises(ollama.ResponseError) as oerr:
        cl.chat(model="tiny", messages=history)
    assert oerr.value.status_code == 400
    out = cl.chat(model="tiny", messages=history, options={"truncate": True, "num_predict": 3})
    assert out.done and out.prompt_eval_count and out.prompt_eval_count < 128


@pytest.mark.model
def test_parallel_per_model_is_slots_on_one_copy(
    monkeypatch: pytest.MonkeyPatch, start_server: Any, eos_bias: Callable[[], dict[str, int]]
) -> None:
    monkeypatch.setenv("LLMAPPS_SERVER__PARALLEL_PER_MODEL", "2")
    monkeypatch.setenv("LLMAPPS_SERVER__QUEUE_SIZE", "0")
    server = start_server()
    body = {
        "model": "smollm2",
        "messages": [LONG],
        "max_tokens": 400,
        "stream": True,
        "logit_bias": eos_bias(),
    }
    url = server.url + "/v1/chat/completions"
    with (
        httpx.Client(timeout=60) as c1,
        httpx.Client(timeout=60) as c2,
        c1.stream("POST", url, json=body) as s1,
        c2.stream("POST", url, json=body) as s2,
    ):
        assert s1.status_code == 200 and s2.status_code == 200  # two places, no 503
        first, second = s1.iter_lines(), s2.iter_lines()
        assert next(first).startswith("data: {") and next(second).startswith("data: {")
        scheduler = server.app.state.serve_runtime.scheduler
        assert max(q["active"] for q in scheduler.snapshot().values()) == 2
        third = httpx.post(url, json=body, timeout=30)
        assert third.status_code == 503
        loaded = list(ollama.Client(host=server.url).ps().models)
        assert [m.model for m in loaded] == ["smollm2:latest"]  # two slots, one copy
    assert _wait(lambda: all(q["active"] == 0 for q in scheduler.snapshot().values()))


def test_missing_gguf_is_a_clear_404(server: Any, isolated_home: Any) -> None:
    from llmapps.models.local.discovery import bundled_model_path

    gguf = isolated_home / "models" / "gguf" / "gone.gguf"  # over HTTP: inside the GGUF folder
    gguf.parent.mkdir(parents=True)
    gguf.write_bytes(bundled_model_path().read_bytes())
    ollama.Client(host=server.url).create(model="gone", from_=str(gguf))
    gguf.unlink()
    resp = httpx.post(
        server.url + "/v1/chat/completions",
        json={"model": "gone", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert resp.status_code == 404
    assert "missing" in resp.json()["error"]["message"]
    assert httpx.get(server.url + "/api/tags").status_code == 200  # listing still works
