"""``ChatLlamaCpp``: our own small LangChain chat model over the embedded llama.cpp runner.

Why our own: ``langchain-community`` is being retired, and we want the pool (load once,
keep-alive, thread safety) and the GGUF's own chat template (llama-cpp-python reads
``tokenizer.chat_template`` from the metadata when no ``chat_format`` is forced).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from pydantic import BaseModel, ConfigDict, Field

from llmapps.models.errors import ModelError
from llmapps.models.local.chat_template import gguf_formatter
from llmapps.models.local.pool import ModelPool, get_pool


def to_openai_messages(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """LangChain messages -> the OpenAI-style dicts llama.cpp's chat templates expect."""
    out: list[dict[str, Any]] = []
    for msg in messages:
        content = msg.content if isinstance(msg.content, str) else _flatten(msg.content)
        if isinstance(msg, SystemMessage):
            out.append({"role": "system", "content": content})
        elif isinstance(msg, HumanMessage):
            out.append({"role": "user", "content": content})
        elif isinstance(msg, AIMessage):
            out.append({"role": "assistant", "content": content})
        elif isinstance(msg, ToolMessage):
            # Small local models rarely know a "tool" role; present results as user text.
            out.append(
                {"role": "user", "content": f"Tool result ({msg.name or 'tool'}): {content}"}
            )
        elif isinstance(msg, ChatMessage):
            out.append({"role": msg.role, "content": content})
        else:
            out.append({"role": "user", "content": content})
    return out


def _flatten(content: list[Any]) -> str:
    parts = []
    for item in content:
        if isinstance(item, str):
            parts.append(item)
        elif isinstance(item, dict) and item.get("type") == "text":
            parts.append(str(item.get("text", "")))
    return "".join(parts)


def _fresh_if_deterministic(llama: Any, params: dict[str, Any]) -> None:
    """Greedy or seeded calls evaluate the whole prompt: llama-cpp-python's prefix reuse
    evaluates the rest in another batch shape, which changes the last bits of the logits and
    so, now and then, a greedy answer."""
    if params.get("seed") is not None or float(params.get("temperature", 1.0)) <= 0:
        llama.reset()


def count_prompt_tokens(llama: Any, messages: list[dict[str, Any]]) -> int:
    """Tokens of the prompt exactly as the chat template renders it."""
    formatter = gguf_formatter(llama)
    if formatter is None:
        text = "".join(str(m.get("content", "")) for m in messages)
        return len(llama.tokenize(text.encode("utf-8"), add_bos=True)) + 4 * len(messages)
    rendered = formatter(messages=messages)
    return len(
        llama.tokenize(
            rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True
        )
    )


class ChatLlamaCpp(BaseChatModel):
    """A chat model over a GGUF file run in-process by llama.cpp."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: Path
    model_name: str = "smollm2"
    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    max_tokens: int | None = 512
    stop: list[str] | None = None
    seed: int | None = None
    n_ctx: int = 4096
    n_threads: int | None = None
    keep_alive: float = 300.0
    default_system: str | None = None  # a registry model's SYSTEM, used when none is given
    pool: ModelPool = Field(default_factory=get_pool, exclude=True)

    @property
    def _llm_type(self) -> str:
        return "llmapps-llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "model_path": str(self.model_path)}

    def _params(self, stop: list[str] | None, **kwargs: Any) -> dict[str, Any]:
        params: dict[str, Any] = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "min_p": self.min_p,
            "repeat_penalty": self.repeat_penalty,
            "max_tokens": self.max_tokens,
            "stop": stop or self.stop or [],
        }
        if self.seed is not None:
            params["seed"] = self.seed
        allowed = set(params) | {"seed", "response_format", "logit_bias", "presence_penalty"}
        params.update({k: v for k, v in kwargs.items() if k in allowed and v is not None})
        return params

    def _with_system(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.default_system and not any(m.get("role") == "system" for m in messages):
            return [{"role": "system", "content": self.default_system}, *messages]
        return messages

    def _use(self) -> Any:
        return self.pool.use(
            self.model_path, n_ctx=self.n_ctx, n_threads=self.n_threads, keep_alive=self.keep_alive
        )

    def _check_context(self, llama: Any, messages: list[dict[str, Any]]) -> int:
        """Count prompt tokens exactly and fail clearly instead of letting llama.cpp overflow."""
        prompt_tokens = count_prompt_tokens(llama, messages)
        if prompt_tokens >= self.n_ctx:
            raise ModelError(
                f"prompt is {prompt_tokens} tokens but {self.model_name} holds {self.n_ctx}: "
                "shorten the input or raise models.n_ctx"
            )
        return prompt_tokens

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        oa_messages = self._with_system(to_openai_messages(messages))
        params = self._params(stop, **kwargs)
        with self._use() as loaded:
            self._check_context(loaded.llama, oa_messages)
            _fresh_if_deterministic(loaded.llama, params)
            try:
                result = loaded.llama.create_chat_completion(messages=oa_messages, **params)
            except ValueError as exc:  # llama.cpp raises ValueError when the context overflows
                raise ModelError(f"{self.model_name}: {exc}") from exc
        choice = result["choices"][0]
        usage = result.get("usage") or {}
        message = AIMessage(
            content=choice["message"].get("content") or "",
            usage_metadata=UsageMetadata(
                input_tokens=usage.get("prompt_tokens", 0),
                output_tokens=usage.get("completion_tokens", 0),
                total_tokens=usage.get("total_tokens", 0),
            ),
            response_metadata={
                "finish_reason": choice.get("finish_reason"),
                "model_name": self.model_name,
            },
        )
        return ChatResult(
            generations=[ChatGeneration(message=message)], llm_output={"token_usage": usage}
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        oa_messages = self._with_system(to_openai_messages(messages))
        params = self._params(stop, **kwargs)
        with self._use() as loaded:
            llama = loaded.llama
            prompt_tokens = self._check_context(llama, oa_messages)
            _fresh_if_deterministic(llama, params)
            pieces: list[str] = []
            finish_reason = None
            try:
                stream = llama.create_chat_completion(messages=oa_messages, stream=True, **params)
                for part in stream:
                    choice = part["choices"][0]
                    finish_reason = choice.get("finish_reason") or finish_reason
                    text = choice.get("delta", {}).get("content") or ""
                    if not text:
                        continue
                    pieces.append(text)
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                    if run_manager:
                        run_manager.on_llm_new_token(text, chunk=chunk)
                    yield chunk
            except ValueError as exc:
                raise ModelError(f"{self.model_name}: {exc}") from exc
            answer = "".join(pieces).encode("utf-8")
            completion_tokens = len(llama.tokenize(answer, add_bos=False)) if answer else 0
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata=UsageMetadata(
                    input_tokens=prompt_tokens,
                    output_tokens=completion_tokens,
                    total_tokens=prompt_tokens + completion_tokens,
                ),
                response_metadata={"finish_reason": finish_reason, "model_name": self.model_name},
            )
        )

    def with_structured_output(  # type: ignore[override]
        self,
        schema: dict[str, Any] | type[BaseModel],
        *,
        method: str = "json_schema",
        include_raw: bool = False,
        **kwargs: Any,
    ) -> Runnable[Any, Any]:
        """The model forced by a llama.cpp grammar to answer JSON matching ``schema``.

        Why a grammar: small local models rarely keep a requested structure on their own;
        llama.cpp builds a grammar from the JSON schema (``response_format``), so every token
        sampled fits it. ``schema`` is a JSON-schema dict (answer parsed to a dict) or a
        pydantic class (answer validated into it). ``method="json_mode"`` forces any JSON
        object. There is no tool calling, hence no ``function_calling`` method.
        """
        kwargs.pop("strict", None)
        if kwargs:
            raise ValueError(f"unsupported arguments {sorted(kwargs)}")
        parser: Runnable[Any, Any]
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            schema_dict: dict[str, Any] = schema.model_json_schema()
            parser = PydanticOutputParser(pydantic_object=schema)
        elif isinstance(schema, dict):
            schema_dict = dict(schema)
            parser = JsonOutputParser()
        else:
            raise ValueError("schema must be a JSON-schema dict or a pydantic model class")
        if method == "json_schema":
            response_format: dict[str, Any] = {"type": "json_object", "schema": schema_dict}
        elif method == "json_mode":
            response_format = {"type": "json_object"}
        else:
            raise NotImplementedError(
                f"{self.model_name} has no {method!r} structured output: use json_schema"
            )
        llm = self.bind(response_format=response_format)
        if not include_raw:
            return llm | parser
        parsed = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        )
        failed = RunnablePassthrough.assign(parsed=lambda _: None)
        return RunnableMap(raw=llm) | parsed.with_fallbacks([failed], exception_key="parsing_error")

    def get_num_tokens(self, text: str) -> int:
        """Exact token count with the model's own tokenizer (memory trimming relies on it)."""
        with self._use() as loaded:
            return len(loaded.llama.tokenize(text.encode("utf-8"), add_bos=False))


class LlamaCppEmbeddings(Embeddings):
    """Mean-pooled, L2-normalised embeddings from a GGUF model loaded in embedding mode."""

    def __init__(
        self,
        model_path: Path,
        *,
        n_ctx: int = 2048,
        keep_alive: float = 300.0,
        pool: ModelPool | None = None,
    ) -> None:
        self.model_path = model_path
        self.n_ctx = n_ctx
        self.keep_alive = keep_alive
        self.pool = pool or get_pool()

    def _embed(self, texts: list[str]) -> list[list[float]]:
        import numpy as np

        vectors: list[list[float]] = []
        with self.pool.use(
            self.model_path, embedding=True, n_ctx=self.n_ctx, keep_alive=self.keep_alive
        ) as m:
            for text in texts:
                raw = m.llama.embed(text or " ", truncate=True)
                arr = np.asarray(raw, dtype="float32")
                if arr.ndim == 2:  # per-token output: pool it ourselves
                    arr = arr.mean(axis=0)
                norm = float(np.linalg.norm(arr)) or 1.0
                vectors.append((arr / norm).tolist())
        return vectors

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embed(texts)

    def embed_query(self, text: str) -> list[float]:
        return self._embed([text])[0]
