"""Prompts rendered and tokenized without llama.cpp in the server process: the chat template
renders as llama.cpp's Python binding renders it, the runner's tokenizer gives the same tokens
as the model's own vocabulary, and a server whose runners serve never maps llama.cpp."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmapps.config import get_settings
from llmapps.models.local.chat_template import chat_template
from llmapps.models.local.discovery import bundled_model_path
from llmapps.serve.runner_process import find_binary
from llmapps.serve.vocab import gguf_info, vocab_model

CONVERSATIONS: list[list[dict[str, Any]]] = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [
        {"role": "system", "content": "你是一个乐于助人的助手。"},
        {"role": "user", "content": "用中文介绍一下长城。"},
        {"role": "assistant", "content": "长城是中国古代的军事防御工程。"},
        {"role": "user", "content": '它有多长？ 🧱 <b>tags</b> & "quotes"'},
    ],
    [{"role": "user", "content": ""}],
]
# Exercises what real chat templates use: loop controls, tojson with non-ASCII, a
# {% generation %} block, raise_exception, trim/lstrip of block lines, bos/eos tokens.
FEATURES = """{{ bos_token }}
{% for m in messages %}
  {% if m.role not in ['system', 'user', 'assistant'] %}{{ raise_exception('bad role') }}{% endif %}
  {% if loop.index > 3 %}{% break %}{% endif %}
<{{ m.role }}>{{ m.content | tojson }}
{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{{ eos_token }}
{% endgeneration %}{% endif %}
{% endfor %}
{% if add_generation_prompt %}<assistant>{% endif %}"""


def _binding_render(template: str, eos: str, bos: str, messages: list[dict[str, Any]]) -> Any:
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    return Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)(messages=messages)


@pytest.mark.parametrize("messages", CONVERSATIONS)
def test_bundled_template_renders_as_llama_cpp_does(messages: list[dict[str, Any]]) -> None:
    info = gguf_info(bundled_model_path())
    assert info.chat_template and info.eos_text and info.n_vocab > 1000
    ours = chat_template(info.chat_template, info.eos_text, info.bos_text)(messages=messages)
    theirs = _binding_render(info.chat_template, info.eos_text, info.bos_text, messages)
    assert ours.prompt == theirs.prompt
    assert ours.stop == theirs.stop and ours.added_special == theirs.added_special


def test_template_features_render_as_llama_cpp_does() -> None:
    messages = CONVERSATIONS[1]
    ours = chat_template(FEATURES, "</s>", "<s>")(messages=messages)
    theirs = _binding_render(FEATURES, "</s>", "<s>", messages)
    assert ours.prompt == theirs.prompt
    assert '"你是一个乐于助人的助手。"' in ours.prompt  # tojson keeps non-ASCII
    assert ours.prompt.count("<") - ours.prompt.count("<b>") >= 4
    with pytest.raises(ValueError, match="bad role"):
        chat_template(FEATURES, "</s>", "<s>")(messages=[{"role": "tool", "content": "x"}])


def test_header_facts_match_the_vocabulary() -> None:
    path = bundled_model_path()
    info, vocab = gguf_info(path), vocab_model(path)
    assert info.n_vocab == vocab.n_vocab()
    assert info.eos_text == vocab._model.token_get_text(vocab.token_eos())
    assert info.metadata["general.architecture"] == vocab.metadata["general.architecture"]
    assert int(info.metadata["llama.context_length"]) == int(vocab.metadata["llama.context_length"])


@pytest.mark.model
def test_runner_tokenizes_prompts_as_the_vocabulary_does(server: Any) -> None:
    """prompt_eval_count of a chat equals the vocab-only tokenizer's count of the same prompt."""
    path = bundled_model_path()
    info, vocab = gguf_info(path), vocab_model(path)
    template = chat_template(info.chat_template or "", info.eos_text, info.bos_text)
    for messages in CONVERSATIONS[:2]:
        body = {"model": "smollm2", "messages": messages, "stream": False}
        body["options"] = {"temperature": 0, "num_predict": 2}
        resp = httpx.post(f"{server.url}/api/chat", json=body, timeout=120)
        assert resp.status_code == 200, resp.text
        prompt = template(messages=messages).prompt
        expected = vocab.tokenize(prompt.encode(), add_bos=False, special=True)
        assert resp.json()["prompt_eval_count"] == len(expected)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.model
def test_serving_process_never_maps_llama_cpp(tmp_path: Path) -> None:
    """With llama-server runners the server process renders and tokenizes without llama.cpp
    (about 45 MB less resident memory); its runner holds the model."""
    if find_binary(get_settings()) is None:
        pytest.fail("llama-server is not built: run make install")
    port = _free_port()
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    cmd = [sys.executable, "-c", "from llmapps.cli import main; main()", "serve", "--port"]
    proc = subprocess.Popen(
        [*cmd, str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url + "/", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
                time.sleep(0.3)
        body = {
            "model": "smollm2",
            "messages": CONVERSATIONS[1],
            "stream": False,
            "options": {"temperature": 0, "num_predict": 4},
        }
        resp = httpx.post(url + "/api/chat", json=body, timeout=120)
        assert resp.status_code == 200, resp.text
        assert resp.json()["prompt_eval_count"] > 10
        maps = Path(f"/proc/{proc.pid}/maps").read_text()
        assert "libllama" not in maps and "libggml" not in maps
    finally:
        proc.terminate()
        proc.wait(timeout=20)
