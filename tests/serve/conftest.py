"""Fixtures for the model server tests: a live server on loopback with the bundled model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from llmapps.config import get_settings
from llmapps.models.local.pool import get_pool
from llmapps.serve.runner_process import stop_all as stop_all_runners


@pytest.fixture(autouse=True)
def clean_pool() -> Iterator[None]:
    """Each test starts and ends with no model loaded (the pool is process-wide) and no
    runner process left over."""
    pool = get_pool()
    pool.unload()
    yield
    stop_all_runners()
    pool.unload()


@pytest.fixture
def start_server(live_server: Callable[..., Any]) -> Callable[..., Any]:
    """``start_server()`` runs the standalone server app (``llmapps serve``) on 127.0.0.1."""

    def start() -> Any:
        from llmapps.app import create_app
        from llmapps.serve.routes import root_router

        app = create_app(get_settings(), ui=False)
        app.include_router(root_router)
        running = live_server(app)
        running.app = app  # tests read app.state.serve_runtime (scheduler counters)
        return running

    return start


@pytest.fixture
def server(start_server: Callable[..., Any]) -> Any:
    return start_server()


@pytest.fixture
def weather_tool() -> dict[str, Any]:
    """An OpenAI-style function tool used by the tool-calling tests."""
    return dict(WEATHER_TOOL)


@pytest.fixture
def eos_bias() -> Callable[[], dict[str, int]]:
    """logit_bias banning the bundled model's end and turn tokens (a new turn is a stop string),
    so a generation runs long."""

    def make() -> dict[str, int]:
        import llama_cpp

        from llmapps.models.local.discovery import bundled_model_path

        vocab = llama_cpp.Llama(
            model_path=str(bundled_model_path()), vocab_only=True, verbose=False
        )
        ids = {vocab.token_eos()}
        for special in (b"<|im_end|>", b"<|im_start|>", b"<|endoftext|>"):  # ends and new turns
            ids.update(vocab.tokenize(special, add_bos=False, special=True))
        return {str(i): -100 for i in ids}

    return make


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
