"""Request shape of OpenAI's ``POST /v1/responses`` (pydantic).

Why a module of its own beside ``api_types``: the Responses API has its own vocabulary (items,
``instructions``, ``text.format``, flat function tools) and its own limits; keeping it apart
makes it easy to hold against openai-python's ``types/responses`` models. Unknown fields are
accepted and ignored (``include``, ``reasoning``, ``prompt_cache_key`` …), as with the other
endpoints, so newer clients keep working. Items stay plain dicts here: their many types are
checked one by one in :mod:`llmapps.serve.responses_items`, where each error can name its index.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from llmapps.serve.api_types import ModelName, Temperature, TopP, _Loose

# OpenAI's own limits on ``metadata``: 16 pairs, keys up to 64 and values up to 512 characters.
MAX_METADATA_PAIRS = 16
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 512
# Bounds on what one request may ask for (a body is also capped by server.max_body_mb).
MAX_INPUT_ITEMS = 2048
MAX_TOOLS = 128


class TextConfig(_Loose):
    format: dict[str, Any] | None = None
    verbosity: Literal["low", "medium", "high"] | None = None


class ResponsesRequest(_Loose):
    model: ModelName
    input: str | Annotated[list[dict[str, Any]], Field(max_length=MAX_INPUT_ITEMS)] = ""
    instructions: str | None = None
    max_output_tokens: int | None = Field(default=None, ge=1)
    temperature: Temperature = None
    top_p: TopP = None
    tools: Annotated[list[dict[str, Any]], Field(max_length=MAX_TOOLS)] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    text: TextConfig | None = None
    store: bool | None = True
    previous_response_id: str | None = None
    metadata: dict[str, str] | None = None
    stream: bool = False
    background: bool | None = None
    truncation: Literal["auto", "disabled"] | None = None
    user: str | None = None
    seed: int | None = None  # extension: a fixed sampling seed, as in chat completions
    keep_alive: str | float | None = None  # extension, as in Ollama

    @field_validator("metadata")
    @classmethod
    def _metadata_limits(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        if len(value) > MAX_METADATA_PAIRS:
            raise ValueError(f"at most {MAX_METADATA_PAIRS} key-value pairs are allowed")
        for key, item in value.items():
            if len(key) > MAX_METADATA_KEY:
                raise ValueError(f"key '{key[:20]}…' is over {MAX_METADATA_KEY} characters")
            if len(item) > MAX_METADATA_VALUE:
                raise ValueError(f"the value of '{key}' is over {MAX_METADATA_VALUE} characters")
        return value
