"""The embedded SmolLM2 model end to end: CLI ask, streaming, embeddings, the pool."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from llmapps.cli import app as cli_app
from llmapps.config import load_settings
from llmapps.models import get_chat_model, get_embeddings
from llmapps.models.calllog import recent_calls
from llmapps.models.local.chat_model import ChatLlamaCpp
from llmapps.models.local.discovery import bundled_model_path
from llmapps.models.local.pool import ModelPool, get_pool

pytestmark = pytest.mark.model


def test_ask_streams_with_system_and_stdin() -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli_app,
        ["ask", "-", "--system", "Answer in one short sentence.", "--max-tokens", "12", "-t", "0"],
        input="What is the capital of France?\n",
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip()
    rows = recent_calls(load_settings())
    assert rows[0]["app"] == "ask"
    assert rows[0]["spec"] == "local:smollm2"
    assert 0 < rows[0]["completion_tokens"] <= 12  # --max-tokens honoured
    assert rows[0]["prompt_tokens"] > 10  # system + question through the chat template


def test_ask_errors_are_one_line() -> None:
    runner = CliRunner()
    result = runner.invoke(cli_app, ["ask", "hi", "-m", "local:/nowhere/x.gguf"])
    assert result.exit_code == 1
    assert "GGUF file not found: /nowhere/x.gguf" in result.output
    assert "Traceback" not in result.output
    empty = runner.invoke(cli_app, ["ask", "-"], input="   \n")
    assert empty.exit_code == 1
    assert "the prompt is empty" in empty.output


def test_stream_yields_several_chunks_and_usage() -> None:
    model = get_chat_model(max_tokens=16, temperature=0)
    chunks = list(model.stream("Count from one to ten."))
    texts = [c.text for c in chunks if c.text]
    assert len(texts) > 3  # really streamed, token by token
    usage = [c.usage_metadata for c in chunks if c.usage_metadata]
    assert usage and usage[-1]["output_tokens"] <= 16
    invoked = model.invoke("Count from one to ten.")
    assert invoked.usage_metadata is not None
    # the same prompt costs the same prompt tokens streamed or not (exact template count)
    assert invoked.usage_metadata["input_tokens"] == usage[-1]["input_tokens"]


def test_uses_gguf_chat_template() -> None:
    """SmolLM2's template (ChatML with its default system line) comes from the GGUF metadata."""
    with get_pool().use(bundled_model_path(), n_ctx=2048) as loaded:
        template = loaded.llama.metadata.get("tokenizer.chat_template", "")
        assert "<|im_start|>" in template
        assert loaded.llama.chat_format == "chat_template.default"


def test_embeddings_dimension_normalised_and_similarity() -> None:
    emb = get_embeddings()
    vectors = np.array(
        emb.embed_documents(
            [
                "The cat sat on the mat.",
                "A cat is sitting on a rug.",
                "Quarterly revenue grew by eight percent.",
            ]
        )
    )
    assert vectors.shape[0] == 3 and vectors.shape[1] >= 64
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    similar = float(vectors[0] @ vectors[1])
    unrelated = float(vectors[0] @ vectors[2])
    assert similar > unrelated
    query = np.array(emb.embed_query("The cat sat on the mat."))
    assert np.allclose(query, vectors[0], atol=1e-4)


def test_loads_once_and_serves_two_threads() -> None:
    pool = ModelPool(max_loaded=2, reap_interval=0.1)
    path = bundled_model_path()
    model = ChatLlamaCpp(model_path=path, n_ctx=1024, max_tokens=6, keep_alive=0.6, pool=pool)
    model.invoke("Hi")
    [first] = pool.loaded()
    llama = first.llama
    answers: list[str] = []
    errors: list[BaseException] = []

    def ask(prompt: str) -> None:
        try:
            answers.append(str(model.invoke(prompt).content))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(p,)) for p in ("Hello!", "Say a colour.")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert len(answers) == 2
    assert pool.loaded() == [first]  # both threads used the one loaded model
    assert first.llama is llama
    deadline = time.monotonic() + 10
    while pool.loaded() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pool.loaded() == []  # unloaded after the idle keep-alive
    model.invoke("Again")  # and loads again on the next call
    [second] = pool.loaded()
    assert second is not first
    pool.unload()
