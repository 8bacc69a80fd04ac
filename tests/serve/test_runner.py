"""The runner: one llama-server per model and context class, continuous batching across its
slots, queued requests dropped when their client goes away, num_ctx and memory limits checked
before loading, GPU options on the runner's command line, deterministic answers."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import ollama
import pytest

from llmapps.config import get_settings
from llmapps.models.local.discovery import bundled_model_path
from llmapps.serve.capacity import model_facts, runner_estimate

pytestmark = pytest.mark.model

PROMPTS = [
    "What is the capital of France?",
    "Name three colors.",
    "Count from one to five.",
    "What do cats eat?",
]
GREEDY = {"temperature": 0, "num_predict": 24}
LONG = {"role": "user", "content": "Write a very long story about dragons."}


def _wait(predicate: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Poll a state (not a duration): True as soon as ``predicate`` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _generate(url: str, prompt: str, options: dict[str, Any], model: str = "smollm2") -> str:
    body = {"model": model, "prompt": prompt, "stream": False, "options": options}
    resp = httpx.post(f"{url}/api/generate", json=body, timeout=120)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["response"])


def _runtime(server: Any) -> Any:
    """The server's runtime (created by its first request)."""
    assert httpx.get(server.url + "/api/ps").status_code == 200
    return server.app.state.serve_runtime


def test_concurrent_requests_share_one_copy_and_match_sequential(server: Any) -> None:
    sequential = [_generate(server.url, p, GREEDY) for p in PROMPTS]
    assert all(text.strip() for text in sequential)
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(lambda p: _generate(server.url, p, GREEDY), PROMPTS))
    assert concurrent == sequential  # batching with others does not change a greedy answer
    rt = _runtime(server)
    assert rt.scheduler.stats.started == 8 and rt.scheduler.stats.rejected == 0
    runners = rt.runner.runners.loaded()
    assert len(runners) == 1 and runners[0].spec.slots == 4  # one copy, four slots
    ps = ollama.Client(host=server.url).ps().models
    assert [m.model for m in ps] == ["smollm2:latest"] and ps[0].size_vram == 0


def test_seeded_sampling_is_deterministic(server: Any) -> None:
    seeded = {"temperature": 0.9, "seed": 1234, "num_predict": 24}
    first = _generate(server.url, PROMPTS[0], seeded)
    assert _generate(server.url, PROMPTS[0], seeded) == first
    assert _generate(server.url, PROMPTS[0], seeded) == first


def test_prompts_sent_as_text_or_tokens_count_the_same(server: Any) -> None:
    """A prompt whose UTF-8 length proves it fits goes to the runner as text (no /tokenize
    round trip first, during which its slot would sit idle); a prompt whose bytes alone could
    fill the context is tokenized here. Either way prompt_eval_count is the token count."""
    n_ctx = get_settings().models.n_ctx
    short = PROMPTS[0]  # bytes + answer fit in num_ctx: sent as text
    long = "word " * (n_ctx // 5)  # about n_ctx bytes but a fifth as many tokens: tokenized
    _generate(server.url, short, GREEDY)
    runner = _runtime(server).runner.runners.loaded()[0]
    for prompt in (short, long):
        body = {"model": "smollm2", "prompt": prompt, "raw": True, "stream": False}
        options = {**GREEDY, "num_ctx": n_ctx}
        resp = httpx.post(
            f"{server.url}/api/generate", json={**body, "options": options}, timeout=120
        )
        assert resp.status_code == 200, resp.text
        expected = len(runner.tokenize(prompt.encode(), add_bos=True, special=True))
        assert resp.json()["prompt_eval_count"] == expected
        assert resp.json()["eval_count"] > 0


def _open_streaming_request(url: str, body: bytes) -> socket.socket:
    """A raw client that sends a streaming request and never reads the answer."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    head = (
        f"POST /api/chat HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    sock.sendall(head.encode() + body)
    return sock


def _running_stream(
    client: httpx.Client, url: str, max_tokens: int, bias: dict[str, int], model: str = "smollm2"
) -> Any:
    """A /v1 chat stream that runs long (end tokens banned); enter it and read its first line.

    The caller keeps the returned line iterator: a dropped httpx iterator closes the
    connection, which the server rightly takes as the client going away (it cancels the job)."""
    body = {
        "model": model,
        "messages": [LONG],
        "max_tokens": max_tokens,
        "stream": True,
        "logit_bias": bias,
    }
    return client.stream("POST", url + "/v1/chat/completions", json=body)


def test_queued_clients_that_disconnect_are_never_processed(
    monkeypatch: pytest.MonkeyPatch, start_server: Any, eos_bias: Callable[[], dict[str, int]]
) -> None:
    monkeypatch.setenv("LLMAPPS_SERVER__PARALLEL", "1")
    monkeypatch.setenv("LLMAPPS_SERVER__QUEUE_SIZE", "8")
    # The running answer may take up to 8000 tokens (minutes on a CPU, seconds on a GPU),
    # far longer than the queue checks below; it ends when this test closes it.
    monkeypatch.setenv("LLMAPPS_MODELS__N_CTX", "8192")
    server = start_server()
    scheduler = _runtime(server).scheduler

    def waiting() -> int:
        return sum(q["waiting"] for q in scheduler.snapshot().values())

    with (
        httpx.Client(timeout=60) as client,
        _running_stream(client, server.url, 8000, eos_bias()) as running,
    ):
        lines = running.iter_lines()
        assert next(lines).startswith("data: {")
        # /api/chat with no num_ctx joins the same queue as the /v1 stream (one per model).
        queued = json.dumps(
            {"model": "smollm2", "messages": [LONG], "stream": True, "options": {"num_predict": 4}}
        ).encode()
        sockets = [_open_streaming_request(server.url, queued) for _ in range(5)]
        assert _wait(lambda: waiting() == 5), (scheduler.snapshot(), scheduler.stats)
        for sock in sockets:
            sock.close()
        # Dropped from the queue while the first request still runs.
        assert _wait(lambda: scheduler.stats.abandoned == 5), scheduler.stats
        assert waiting() == 0
        assert scheduler.stats.started == 1 and scheduler.stats.cancelled == 0
        assert [q["active"] for q in scheduler.snapshot().values()] == [1]
    assert _wait(lambda: all(q["active"] == 0 for q in scheduler.snapshot().values()))
    assert scheduler.stats.cancelled == 1  # the long one, when this test closed it
    assert _generate(server.url, "Hi", {"num_predict": 4, "temperature": 0})
    assert scheduler.stats.started == 2  # the long one and the new one: none of the five
    # Both APIs resolved the same default num_ctx: one runner served all of them.
    runners = _runtime(server).runner.runners.loaded()
    assert [(r.name, r.n_ctx) for r in runners] == [("smollm2:latest", 8192)]


def test_num_ctx_limits_are_400_before_loading(
    monkeypatch: pytest.MonkeyPatch, start_server: Any
) -> None:
    monkeypatch.setenv("LLMAPPS_SERVER__MAX_CTX", "4096")
    server = start_server()
    chat = {"model": "smollm2", "messages": [{"role": "user", "content": "Hi"}], "stream": False}
    for value in (1000000, 1e9, 8192):
        resp = httpx.post(server.url + "/api/chat", json={**chat, "options": {"num_ctx": value}})
        assert resp.status_code == 400, resp.text
        message = resp.json()["error"]
        assert "num_ctx" in message and "limit of 4096 (server.max_ctx)" in message
        assert "/" not in message.replace("num_ctx", "")  # no path in the message
    assert _runtime(server).runner.loaded() == []  # nothing was loaded
    # The model's own trained context (8192 for SmolLM2) caps a larger server.max_ctx.
    monkeypatch.setenv("LLMAPPS_SERVER__MAX_CTX", "65536")
    other = start_server()
    resp = httpx.post(other.url + "/api/chat", json={**chat, "options": {"num_ctx": 16384}})
    assert resp.status_code == 400 and "trained context" in resp.json()["error"]
    # Near sizes share one runner (a context class), so num_ctx cannot multiply copies.
    for n_ctx in (700, 1500, 2048):
        _generate(other.url, "Hi", {"num_ctx": n_ctx, "num_predict": 2, "temperature": 0})
    runners = _runtime(other).runner.runners.loaded()
    assert len(runners) == 1 and runners[0].n_ctx == 2048


def test_memory_budget_refuses_loads(
    monkeypatch: pytest.MonkeyPatch, start_server: Any, eos_bias: Callable[[], dict[str, int]]
) -> None:
    facts = model_facts(bundled_model_path())
    one_runner = runner_estimate(get_settings(), facts, 2048 * 4)
    monkeypatch.setenv("LLMAPPS_SERVER__MAX_MEMORY", str(int(one_runner * 1.5)))
    monkeypatch.setenv("LLMAPPS_MODELS__N_CTX", "2048")
    server = start_server()
    cl = ollama.Client(host=server.url)
    cl.create(model="other", from_="smollm2", system="You are terse.")
    # A context that can never fit is a 400 naming the budget.
    resp = httpx.post(
        server.url + "/api/generate",
        json={"model": "smollm2", "prompt": "Hi", "stream": False, "options": {"num_ctx": 8192}},
    )
    assert resp.status_code == 400 and "server.max_memory" in resp.json()["error"]
    scheduler = _runtime(server).scheduler
    with (
        httpx.Client(timeout=60) as client,
        _running_stream(client, server.url, 1900, eos_bias()) as running,
    ):
        lines = running.iter_lines()  # kept: see _running_stream
        assert next(lines).startswith("data: {")
        # A second model does not fit beside the busy first one: 503 with Retry-After, in
        # each API's own error shape; the busy runner is neither stopped nor replaced.
        busy = httpx.post(
            server.url + "/api/generate",
            json={"model": "other", "prompt": "Hi", "stream": False, "options": {"num_predict": 2}},
            timeout=60,
        )
        assert busy.status_code == 503, busy.text
        assert busy.headers["Retry-After"].isdigit() and "server.max_memory" in busy.json()["error"]
        chat = {"model": "other", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}
        for stream in (False, True):
            busy = httpx.post(
                server.url + "/v1/chat/completions", json={**chat, "stream": stream}, timeout=60
            )
            assert busy.status_code == 503, busy.text
            error = busy.json()["error"]
            assert busy.headers["Retry-After"].isdigit() and "server.max_memory" in error["message"]
            assert (error["type"], error["code"]) == ("server_error", "server_busy")
        assert [m.model for m in cl.ps().models] == ["smollm2:latest"]
        assert scheduler.stats.cancelled == 0  # the first stream still runs
        assert next(line for line in lines if line).startswith("data: {")
    assert _wait(lambda: all(q["active"] == 0 for q in scheduler.snapshot().values()))
    # Once the first model is idle it is unloaded to make room.
    assert _generate(server.url, "Hi", {"num_predict": 2, "temperature": 0}, model="other")
    assert [m.model for m in cl.ps().models] == ["other:latest"]


def test_busy_runners_are_never_replaced(
    monkeypatch: pytest.MonkeyPatch, start_server: Any, eos_bias: Callable[[], dict[str, int]]
) -> None:
    monkeypatch.setenv("LLMAPPS_SERVER__MAX_LOADED_MODELS", "2")
    monkeypatch.setenv("LLMAPPS_MODELS__N_CTX", "8192")  # long answers: they outlast the checks
    server = start_server()
    cl = ollama.Client(host=server.url)
    cl.create(model="other", from_="smollm2", system="You are terse.")
    scheduler = _runtime(server).scheduler
    bias = eos_bias()
    with (
        httpx.Client(timeout=60) as client,
        _running_stream(client, server.url, 8000, bias) as first,
    ):
        first_lines = first.iter_lines()  # kept: see _running_stream
        assert next(first_lines).startswith("data: {")
        # Another context class of the busy model starts beside it, which keeps running.
        assert _generate(server.url, "Hi", {"num_ctx": 2048, "num_predict": 2, "temperature": 0})
        assert sorted(m.context_length for m in cl.ps().models) == [2048, 8192]
        with _running_stream(client, server.url, 8000, bias, model="other") as second:
            second_lines = second.iter_lines()
            assert next(second_lines).startswith("data: {")  # replaced the idle 2048 runner
            assert sorted(m.model for m in cl.ps().models) == ["other:latest", "smollm2:latest"]
            # Both loaded runners are busy: a third is a 503 (not an eviction).
            busy = httpx.post(
                server.url + "/api/generate",
                json={"model": "smollm2", "prompt": "Hi", "options": {"num_ctx": 4096}},
                timeout=60,
            )
            assert busy.status_code == 503, busy.text
            assert busy.headers["Retry-After"].isdigit()
            assert "server.max_loaded_models" in busy.json()["error"]
            assert scheduler.stats.cancelled == 0  # neither stream was touched
            for lines in (first_lines, second_lines):
                assert next(line for line in lines if line).startswith("data: {")


def test_gpu_options_reach_the_runner(server: Any) -> None:
    cl = ollama.Client(host=server.url)
    cl.create(model="cpu-only", from_="smollm2", parameters={"num_gpu": 0})
    _generate(server.url, "Hi", {"num_predict": 2, "temperature": 0}, model="cpu-only")
    _generate(server.url, "Hi", {"num_predict": 2, "num_gpu": -1, "main_gpu": 0})
    runners = {r.name.split(":")[0]: r for r in _runtime(server).runner.runners.loaded()}
    cpu_args = runners["cpu-only"].proc.args
    assert cpu_args[cpu_args.index("--n-gpu-layers") + 1] == "0"
    all_args = runners["smollm2"].proc.args
    assert all_args[all_args.index("--n-gpu-layers") + 1] == "all"
    threads = all_args[all_args.index("--threads") + 1]
    from llmapps.models.local.hardware import physical_cores

    assert threads == str(physical_cores())  # physical cores by default
    sizes = {m.model: m.size_vram for m in cl.ps().models}
    assert sizes == {"cpu-only:latest": 0, "smollm2:latest": 0}  # no GPU on this machine


def test_out_of_range_logit_bias_is_400(server: Any) -> None:
    chat = {"model": "smollm2", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}
    for bias in ({"99999999": 5}, {"-1": 5}, {"5": 1000}):
        resp = httpx.post(server.url + "/v1/chat/completions", json={**chat, "logit_bias": bias})
        assert resp.status_code == 400, resp.text
        assert resp.json()["error"]["param"] == "logit_bias"


def test_stream_is_cancelled_in_the_runner(
    server: Any, eos_bias: Callable[[], dict[str, int]]
) -> None:
    body = {
        "model": "smollm2",
        "messages": [LONG],
        "max_tokens": 1500,
        "stream": True,
        "logit_bias": eos_bias(),
    }
    url = server.url + "/v1/chat/completions"
    with httpx.Client(timeout=60) as client, client.stream("POST", url, json=body) as running:
        lines = running.iter_lines()
        assert next(lines).startswith("data: {")
    scheduler = _runtime(server).scheduler
    assert _wait(lambda: scheduler.stats.cancelled == 1)
    assert _wait(lambda: all(q["active"] == 0 for q in scheduler.snapshot().values()))
    runner = _runtime(server).runner.runners.loaded()[0]

    def runner_idle() -> bool:  # llama-server itself stopped the generation
        slots = runner.client.get("/slots").json()
        return not any(slot["is_processing"] for slot in slots)

    assert _wait(runner_idle)
    assert _generate(server.url, "Hi", {"num_predict": 2, "temperature": 0})


def test_in_process_fallback_is_deterministic(
    monkeypatch: pytest.MonkeyPatch, start_server: Any
) -> None:
    monkeypatch.setenv("LLMAPPS_SERVER__RUNNER", "inprocess")
    server = start_server()
    first = _generate(server.url, PROMPTS[0], GREEDY)
    assert first.strip()
    # The second call would reuse the cached prompt prefix: deterministic requests do not.
    assert _generate(server.url, PROMPTS[0], GREEDY) == first
    rt = _runtime(server)
    assert rt.runner.runners is None and rt.scheduler.parallel == 1
    assert [m.model for m in ollama.Client(host=server.url).ps().models] == ["smollm2:latest"]
