"""Request shapes of the OpenAI ``/v1`` and Ollama ``/api`` endpoints (pydantic).

Why apart from the handlers (like ollama/ollama's ``api`` package): the wire format is a
contract; keeping it in one module makes it easy to compare with the upstream docs. Unknown
extra fields are accepted and ignored, as both upstream servers do, so newer clients work.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


# Field types that several requests share, so each bound is written once.
ModelName = Annotated[str, Field(min_length=1)]
Temperature = Annotated[float | None, Field(ge=0, le=2)]
TopP = Annotated[float | None, Field(ge=0, le=1)]
OneChoice = Annotated[int, Field(ge=1, le=1)]  # n: we generate one choice per request


# -- OpenAI -----------------------------------------------------------------------------------
class StreamOptions(_Loose):
    include_usage: bool = False


class ResponseFormat(_Loose):
    type: Literal["text", "json_object", "json_schema"] = "text"
    json_schema: dict[str, Any] | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")


class ChatCompletionRequest(_Loose):
    model: ModelName
    messages: list[dict[str, Any]] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: Temperature = None
    top_p: TopP = None
    stop: str | list[str] | None = None
    seed: int | None = None
    n: OneChoice = 1
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    response_format: ResponseFormat | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    truncate: bool = False  # extension: drop the oldest turns instead of a 400 on overflow
    keep_alive: str | float | None = None  # extension, as in Ollama


class CompletionRequest(_Loose):
    model: ModelName
    prompt: str | list[str]
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=16, ge=1)
    temperature: Temperature = None
    top_p: TopP = None
    stop: str | list[str] | None = None
    seed: int | None = None
    n: OneChoice = 1
    echo: bool = False
    suffix: str | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    truncate: bool = False
    keep_alive: str | float | None = None


class EmbeddingRequest(_Loose):
    model: ModelName
    input: str | list[str]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(default=None, ge=1)
    truncate: bool = False


# -- Ollama -----------------------------------------------------------------------------------
class OllamaChatRequest(_Loose):
    model: ModelName
    messages: list[dict[str, Any]] = Field(default_factory=list)
    tools: list[dict[str, Any]] | None = None
    format: str | dict[str, Any] | None = None
    options: dict[str, Any] | None = None
    stream: bool = True
    keep_alive: str | float | None = None
    truncate: bool = False
    think: bool | str | None = None


class OllamaGenerateRequest(_Loose):
    model: ModelName
    prompt: str | None = None
    suffix: str | None = None
    system: str | None = None
    template: str | None = None
    raw: bool = False
    format: str | dict[str, Any] | None = None
    options: dict[str, Any] | None = None
    stream: bool = True
    keep_alive: str | float | None = None
    images: list[Any] | None = None
    truncate: bool = False
    context: list[int] | None = None
    think: bool | str | None = None


class OllamaEmbedRequest(_Loose):
    model: ModelName
    input: str | list[str]
    truncate: bool = False
    options: dict[str, Any] | None = None
    keep_alive: str | float | None = None
    dimensions: int | None = Field(default=None, ge=1)


class OllamaEmbeddingsRequest(_Loose):
    model: ModelName
    prompt: str = ""
    options: dict[str, Any] | None = None
    keep_alive: str | float | None = None


class OllamaCreateRequest(_Loose):
    model: str | None = None
    name: str | None = None  # legacy spelling
    from_: str | None = Field(default=None, alias="from")
    modelfile: str | None = None  # legacy: the whole Modelfile as text
    path: str | None = None  # legacy: a Modelfile path on the server
    files: dict[str, str] | None = None
    adapters: dict[str, str] | None = None
    template: str | None = None
    license: str | list[str] | None = None
    system: str | None = None
    parameters: dict[str, Any] | None = None
    messages: list[dict[str, Any]] | None = None
    quantize: str | None = None
    stream: bool = True


class OllamaModelRef(_Loose):
    model: str | None = None
    name: str | None = None  # legacy spelling
    verbose: bool = False
    stream: bool = True
    insecure: bool = False

    def ref(self) -> str:
        return self.model or self.name or ""


class OllamaCopyRequest(_Loose):
    source: str = Field(min_length=1)
    destination: str = Field(min_length=1)
