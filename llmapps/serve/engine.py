"""The generation core both APIs share: prompt building, limits, grammar, tools, timings.

Why one synchronous generator: a generation streams from a runner process (or blocks in
llama.cpp in-process), so the server runs :func:`generate` in a worker thread and relays its
events; the ``llmapps run`` REPL calls it directly. The prompt is built here (the model's Go
``TEMPLATE`` when it has one, else the GGUF's own chat template, the one llama.cpp's
``create_chat_completion`` uses) and tokenized once with the model's vocabulary, so a prompt
longer than ``num_ctx`` is an error, or truncated only when the request asks for it, never
silently; the runner (``runner_process``) receives tokens, not text.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from llmapps.config import Settings
from llmapps.models.errors import ModelError
from llmapps.models.local.chat_template import ChatTemplate, chat_template, gguf_formatter
from llmapps.models.local.hardware import default_threads
from llmapps.models.local.pool import ModelPool, get_pool
from llmapps.serve.capacity import (
    check_ctx,
    max_memory,
    model_facts,
    prompt_cache_mib,
    runner_estimate,
)
from llmapps.serve.errors import BadRequestError, ContextOverflowError, ModelNotFoundError
from llmapps.serve.gotemplate import render_chat
from llmapps.serve.options import GenOptions, base_options
from llmapps.serve.registry import ModelRecord
from llmapps.serve.runner_process import RunnerProcess, RunnerSet, RunnerSpec, find_binary
from llmapps.serve.vocab import gguf_info, gguf_metadata, vocab_model

__all__ = ["GenRequest", "GenResult", "Runner", "ToolCall", "gguf_metadata", "model_options"]
# text, add_bos, special -> token ids (a runner's /tokenize, or a vocab-only llama in-process)
Tokenize = Callable[..., list[int]]
log = logging.getLogger("llmapps.serve")
_warned = threading.Event()

CHATML = (
    "{{ range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}"
    "<|im_start|>assistant\n"
)


@dataclass
class GenRequest:
    """One generation: either chat ``messages`` or a ``prompt`` (``raw`` skips templates)."""

    model: ModelRecord
    options: GenOptions
    messages: list[dict[str, Any]] | None = None
    prompt: str | None = None
    system: str | None = None  # /api/generate's system override
    template: str | None = None  # /api/generate's template override
    raw: bool = False
    format: Any = None  # None | "json" | a JSON schema dict
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None  # None/"auto" | "none" | "required" | {"function": {"name": …}}
    keep_alive: float = 300.0
    truncate: bool = False
    logit_bias: dict[int, float] | None = None
    buffer: bool = False  # set when tools are active: the answer is parsed before it is sent
    think: bool | str | None = None  # Ollama's `think` (None: not set): .Think / .IsThinkSet


@dataclass
class ToolCall:
    name: str
    arguments: dict[str, Any]
    id: str = field(default_factory=lambda: f"call_{uuid.uuid4().hex[:24]}")


@dataclass
class GenResult:
    """The finished generation with Ollama's counters (durations in nanoseconds)."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str = "stop"  # stop | length | tool_calls | cancelled
    prompt_tokens: int = 0
    completion_tokens: int = 0
    load_ns: int = 0
    prompt_eval_ns: int = 0
    eval_ns: int = 0
    total_ns: int = 0
    truncated: bool = False


class Runner:
    """Runs generations on llama-server runner processes (continuous batching), or in this
    process on the shared :class:`ModelPool` when no ``llama-server`` is built; embeddings
    always run in-process."""

    def __init__(self, settings: Settings, pool: ModelPool | None = None) -> None:
        self.settings = settings
        self.pool = pool or get_pool()
        self.pool.configure(max_loaded=settings.server.max_loaded_models)
        self.binary = find_binary(settings)
        self.runners: RunnerSet | None = None
        if self.binary is not None:
            self.runners = RunnerSet(
                self.binary, settings.server.max_loaded_models, max_memory(settings)
            )
        else:
            _warn_in_process()

    @property
    def slots(self) -> int:
        """Requests one loaded model serves at once (1 in-process: one llama.cpp context)."""
        if self.runners is None:
            return 1
        server = self.settings.server
        return max(1, server.parallel_per_model or server.parallel)

    # -- limits and loading ------------------------------------------------------------------
    def check_ctx(self, record: ModelRecord, n_ctx: int) -> int:
        """The context class serving ``n_ctx`` for ``record``; 404/400 before anything loads."""
        _require_file(record)
        adapter = str(record.adapters[0]) if record.adapters else None
        return check_ctx(self.settings, record.name, record.path, adapter, n_ctx, self.slots)

    def _spec(
        self, record: ModelRecord, opts: GenOptions, ctx_size: int, cache_mib: int = 0
    ) -> RunnerSpec:
        models = self.settings.models
        threads = default_threads(models.n_threads)
        layers = opts.num_gpu if opts.num_gpu is not None else models.n_gpu_layers
        main_gpu = opts.main_gpu if opts.main_gpu is not None else models.main_gpu
        return RunnerSpec(
            name=record.name,
            path=record.path,
            lora=str(record.adapters[0]) if record.adapters else None,
            ctx_slot=ctx_size,
            slots=self.slots,
            threads=threads,
            threads_batch=models.n_threads_batch or threads,
            n_gpu_layers=layers,
            main_gpu=main_gpu if main_gpu else None,
            cache_mib=cache_mib,
        )

    @contextlib.contextmanager
    def _runner(
        self, record: ModelRecord, opts: GenOptions, keep_alive: float
    ) -> Iterator[tuple[RunnerProcess, float]]:
        assert self.runners is not None
        ctx_size = self.check_ctx(record, opts.num_ctx)
        adapter = str(record.adapters[0]) if record.adapters else None
        facts = model_facts(record.path, adapter)
        cache = prompt_cache_mib(self.settings, facts, ctx_size * self.slots)
        spec = self._spec(record, opts, ctx_size, cache)
        size = runner_estimate(self.settings, facts, ctx_size * spec.slots)
        pool_bytes = sum(m.size_bytes for m in self.pool.loaded())
        with self.runners.use(spec, size, keep_alive, extra_used=pool_bytes) as held:
            yield held

    def load(self, record: ModelRecord, n_ctx: int, keep_alive: float) -> float:
        """Load (or refresh the keep-alive of) a model; returns seconds spent loading."""
        if self.runners is not None:
            opts = model_options(record, self.settings)
            opts.num_ctx = n_ctx
            with self._runner(record, opts, keep_alive) as (_runner, seconds):
                return seconds
        self.check_ctx(record, n_ctx)
        kwargs = self._use_kwargs(record, n_ctx, keep_alive, 0)
        before = self.pool.find(record.path, n_ctx=n_ctx, lora_path=kwargs["lora_path"])
        with self.pool.use(record.path, **kwargs) as loaded:
            return 0.0 if before is not None else loaded.load_seconds

    def loaded(self) -> list[Any]:
        """Loaded runners and in-process models (``/api/ps``)."""
        runners: list[Any] = self.runners.loaded() if self.runners is not None else []
        return runners + self.pool.loaded()

    def expire(self, *, name: str | None = None) -> int:
        """Unload ``name`` (idle copies now, busy ones when their request ends)."""
        count = self.runners.expire(name=name) if self.runners is not None else 0
        return count + self.pool.expire(name=name)

    def _use_kwargs(self, record: ModelRecord, n_ctx: int, keep_alive: float, slot: int) -> dict:
        _require_file(record)
        return {
            "n_ctx": n_ctx,
            "n_threads": default_threads(self.settings.models.n_threads),
            "lora_path": str(record.adapters[0]) if record.adapters else None,
            "keep_alive": keep_alive,
            "name": record.name,
            "slot": slot,
        }

    # -- generation ------------------------------------------------------------------------
    def generate(
        self, req: GenRequest, cancel: threading.Event | None = None, slot: int = 0
    ) -> Iterator[str | GenResult]:
        """Yield text pieces, then one :class:`GenResult` (always last)."""
        started = time.perf_counter()
        cancel = cancel or threading.Event()
        self.check_ctx(req.model, req.options.num_ctx)
        result = GenResult()
        buffer = req.buffer or _tools_active(req)
        grammar = self._grammar(req)
        pieces_iter: Generator[str, None, None]
        if self.runners is not None:  # the runner tokenizes: no llama.cpp in this process
            bias = _checked_bias(req, gguf_info(req.model.path).n_vocab)
            pieces_iter = self._run_remote(req, bias, grammar, cancel, result)
        else:
            vocab = vocab_model(req.model.path)
            tokens, stops = self._prompt_tokens(vocab.tokenize, gguf_formatter(vocab), req, result)
            bias = _checked_bias(req, int(vocab.n_vocab()))
            pieces_iter = self._run_local(req, slot, tokens, stops, bias, grammar, cancel, result)
        pieces: list[str] = []
        with contextlib.closing(pieces_iter):
            for text in pieces_iter:
                pieces.append(text)
                if not buffer:
                    yield text
        result.text = "".join(pieces)
        if _tools_active(req):
            result.tool_calls = parse_tool_calls(result.text, req.tools or [])
            if result.tool_calls:
                result.finish_reason = "tool_calls"
                result.text = ""
        if buffer and result.text:
            yield result.text
        result.total_ns = int((time.perf_counter() - started) * 1e9)
        yield result

    def _run_remote(
        self,
        req: GenRequest,
        bias: dict[int, float] | None,
        grammar: Any,
        cancel: threading.Event,
        result: GenResult,
    ) -> Generator[str, None, None]:
        """One generation on the model's runner process (a slot of its continuous batch)."""
        with self._runner(req.model, req.options, req.keep_alive) as (runner, load_seconds):
            result.load_ns = int(load_seconds * 1e9)
            info = gguf_info(req.model.path)
            template = info.chat_template
            formatter = chat_template(template, info.eos_text, info.bos_text) if template else None
            prompt, stops = self._remote_prompt(runner, formatter, req, result)
            payload = self._payload(req, prompt, stops, bias, grammar)
            final: dict[str, Any] = {}
            events = runner.complete(payload, cancel)
            with contextlib.closing(events):
                for data in events:
                    text = data.get("content") or ""
                    if text:
                        yield text
                    if data.get("stop"):
                        final = data
                        break
                    if cancel.is_set():
                        result.finish_reason = "cancelled"
                        break
        timings = final.get("timings") or {}
        result.prompt_eval_ns = int(float(timings.get("prompt_ms") or 0) * 1e6)
        result.eval_ns = int(float(timings.get("predicted_ms") or 0) * 1e6)
        result.completion_tokens = int(final.get("tokens_predicted") or 0)
        if result.prompt_tokens < 0:  # sent as text: the runner counted it
            result.prompt_tokens = int(final.get("tokens_evaluated") or 0)
        if final:
            result.finish_reason = "length" if final.get("stop_type") == "limit" else "stop"
        elif not cancel.is_set():
            raise ModelError(f"the runner of {req.model.name} ended the answer early")
        else:
            result.finish_reason = "cancelled"

    def _remote_prompt(
        self, runner: Any, formatter: ChatTemplate | None, req: GenRequest, result: GenResult
    ) -> tuple[list[int] | str, list[str]]:
        """The prompt for the runner: as text when it provably fits, else as tokens.

        Text saves a ``/tokenize`` round trip per request, during which the request's slot
        would sit idle. It is sent only when the runner's own tokenizing (BOS added as the
        model asks) is what we would do, and when its UTF-8 length proves it fits with the
        answer: a token is at least one byte, plus BOS and EOS. ``result.prompt_tokens`` is
        then -1 until the runner's final event gives the count."""
        messages = self._messages(req) if req.messages is not None else None
        text, stops, add_bos = self._render(formatter, req, messages)
        opts = req.options
        bound = len(text.encode("utf-8")) + 2
        if add_bos and opts.num_predict > 0 and bound + opts.num_predict <= opts.num_ctx:
            result.prompt_tokens = -1
            return text, stops
        return self._prompt_tokens(runner.tokenize, formatter, req, result)

    @staticmethod
    def _payload(
        req: GenRequest,
        prompt: list[int] | str,
        stops: list[str],
        bias: dict[int, float] | None,
        grammar: Any,
    ) -> dict[str, Any]:
        """The runner's ``/completion`` request for a prompt (tokens, or text that fits)."""
        opts = req.options
        if isinstance(prompt, str):
            n_predict = opts.num_predict  # _remote_prompt checked that it fits
        else:
            room = opts.num_ctx - len(prompt)
            n_predict = min(opts.num_predict, room) if opts.num_predict > 0 else room
        payload: dict[str, Any] = {
            "prompt": prompt,
            "n_predict": n_predict,
            "temperature": opts.temperature,
            "top_k": opts.top_k,
            "top_p": opts.top_p,
            "min_p": opts.min_p,
            "repeat_penalty": opts.repeat_penalty,
            "repeat_last_n": opts.repeat_last_n,
            "presence_penalty": opts.presence_penalty,
            "frequency_penalty": opts.frequency_penalty,
            "stop": [*opts.stop, *stops],
            "stream": True,
            # A reused prefix is evaluated in other batch shapes than a fresh prompt, which
            # changes the last bits of the logits: deterministic requests evaluate it whole.
            "cache_prompt": not opts.deterministic,
            "return_progress": True,  # events during long prompts: cancellation points
        }
        if opts.seed is not None:
            payload["seed"] = opts.seed
        if grammar is not None:
            payload["grammar"] = grammar._grammar
        if bias:
            payload["logit_bias"] = [[t, False if b <= -100 else b] for t, b in bias.items()]
        return payload

    def _run_local(
        self,
        req: GenRequest,
        slot: int,
        tokens: list[int],
        stops: list[str],
        bias: dict[int, float] | None,
        grammar: Any,
        cancel: threading.Event,
        result: GenResult,
    ) -> Generator[str, None, None]:
        """One generation in this process (the fallback without ``llama-server``)."""
        opts = req.options
        kwargs = self._use_kwargs(req.model, opts.num_ctx, req.keep_alive, slot)
        before = self.pool.find(
            req.model.path, n_ctx=opts.num_ctx, lora_path=kwargs["lora_path"], slot=slot
        )
        with self.pool.use(req.model.path, **kwargs) as loaded:
            result.load_ns = 0 if before is not None else int(loaded.load_seconds * 1e9)
            llama = loaded.llama
            llama.last_n_tokens_size = max(0, opts.repeat_last_n)
            if opts.deterministic:
                llama.reset()  # no prefix reuse: see cache_prompt in _run_remote
            eval_start = time.perf_counter()
            first_token_at: float | None = None
            pieces: list[str] = []
            try:
                stream = llama.create_completion(
                    prompt=tokens,
                    max_tokens=opts.num_predict if opts.num_predict > 0 else -1,
                    temperature=opts.temperature,
                    top_p=opts.top_p,
                    min_p=opts.min_p,
                    top_k=opts.top_k,
                    repeat_penalty=opts.repeat_penalty,
                    presence_penalty=opts.presence_penalty,
                    frequency_penalty=opts.frequency_penalty,
                    stop=[*opts.stop, *stops],
                    seed=opts.seed,
                    grammar=grammar,
                    logit_bias=bias,
                    stream=True,
                )
                for part in stream:
                    if first_token_at is None:
                        first_token_at = time.perf_counter()
                    choice = part["choices"][0]
                    text = choice.get("text") or ""
                    if choice.get("finish_reason"):
                        result.finish_reason = choice["finish_reason"]
                    if text:
                        pieces.append(text)
                        yield text
                    if cancel.is_set():
                        stream.close()  # stops llama.cpp at the next token boundary
                        result.finish_reason = "cancelled"
                        break
            except ValueError as exc:
                raise ModelError(f"{req.model.name}: {exc}") from exc
            finished = time.perf_counter()
            text = "".join(pieces)
            if text:
                result.completion_tokens = len(
                    llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
                )
        first = first_token_at or finished
        result.prompt_eval_ns = int((first - eval_start) * 1e9)
        result.eval_ns = int((finished - first) * 1e9)

    def _prompt_tokens(
        self, tokenize: Tokenize, formatter: ChatTemplate | None, req: GenRequest, result: GenResult
    ) -> tuple[list[int], list[str]]:
        """Tokenized prompt and extra stop strings (``result`` gets the prompt's token count and
        whether it was truncated on request)."""
        tokens, stops, result.truncated = self._fit_prompt(tokenize, formatter, req)
        result.prompt_tokens = len(tokens)
        return tokens, stops

    def _fit_prompt(
        self, tokenize: Tokenize, formatter: ChatTemplate | None, req: GenRequest
    ) -> tuple[list[int], list[str], bool]:
        n_ctx = req.options.num_ctx
        messages = self._messages(req) if req.messages is not None else None
        truncated = False
        while True:
            text, stops, add_bos = self._render(formatter, req, messages)
            tokens = tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)
            if len(tokens) < n_ctx:
                return tokens, stops, truncated
            if not req.truncate:
                raise ContextOverflowError(
                    f"prompt is {len(tokens)} tokens but {req.model.name} holds num_ctx "
                    f"{n_ctx}: shorten it, raise num_ctx, or ask for truncation "
                    "(truncate: true / options.truncate)",
                    param="messages" if messages is not None else "prompt",
                )
            truncated = True
            droppable = [i for i, m in enumerate(messages or []) if m["role"] != "system"][:-1]
            if messages is not None and droppable:
                del messages[droppable[0]]  # drop the oldest turn and try again
                continue
            keep = max(1, n_ctx // 2)
            return tokens[-keep:], stops, truncated  # keep the end of a single long prompt

    def _messages(self, req: GenRequest) -> list[dict[str, Any]]:
        """Request messages with the model's SYSTEM and MESSAGE history, tool schemas added."""
        model = req.model.modelfile
        incoming = [_normalize_message(m) for m in req.messages or []]
        messages = [dict(m) for m in model.messages] + incoming
        has_system = any(m["role"] == "system" for m in messages)
        if not has_system and model.system:
            messages.insert(0, {"role": "system", "content": model.system})
        if _tools_active(req):
            instruction = tools_instruction(req.tools or [], req.tool_choice)
            if messages and messages[0]["role"] == "system":
                messages[0] = {
                    "role": "system",
                    "content": f"{messages[0]['content']}\n\n{instruction}",
                }
            else:
                messages.insert(0, {"role": "system", "content": instruction})
        return messages

    def _render(
        self, formatter: ChatTemplate | None, req: GenRequest, messages: list[dict[str, Any]] | None
    ) -> tuple[str, list[str], bool]:
        template = req.template if req.template is not None else req.model.modelfile.template
        if messages is None:  # a plain prompt (/api/generate, /v1/completions)
            if req.raw:
                return req.prompt or "", [], True
            system = req.system if req.system is not None else req.model.modelfile.system
            messages = ([{"role": "system", "content": system}] if system else []) + [
                {"role": "user", "content": req.prompt or ""}
            ]
        if template is not None:
            return _render_go_chat(template, messages, req.tools, req.think), [], True
        if formatter is None:
            return _render_go_chat(CHATML, messages, None), ["<|im_end|>"], True
        result = formatter(messages=[_plain_message(m) for m in messages])
        stop = result.stop if isinstance(result.stop, list) else [result.stop]
        return result.prompt, [s for s in stop if s], not result.added_special

    def _grammar(self, req: GenRequest) -> Any:
        schema: Any = None
        if _tools_active(req) and _forced_tools(req):
            schema = tool_call_schema(_forced_tools(req))
        elif req.format == "json":
            return _grammar_from("json", None)
        elif isinstance(req.format, dict):
            schema = req.format
        if schema is None:
            return None
        return _grammar_from("schema", json.dumps(schema, sort_keys=True))

    # -- embeddings ------------------------------------------------------------------------
    def embed(
        self,
        record: ModelRecord,
        texts: list[str],
        *,
        n_ctx: int,
        keep_alive: float,
        truncate: bool = False,
    ) -> tuple[list[list[float]], int, GenResult]:
        """L2-normalised, mean-pooled vectors, the token count, and timings."""
        started = time.perf_counter()
        kwargs = self._use_kwargs(record, n_ctx, keep_alive, 0)
        kwargs.pop("slot")
        before = self.pool.find(record.path, embedding=True, n_ctx=n_ctx)
        stats = GenResult()
        with self.pool.use(record.path, embedding=True, **kwargs) as loaded:
            stats.load_ns = 0 if before is not None else int(loaded.load_seconds * 1e9)
            llama = loaded.llama
            total = 0
            limit = min(n_ctx, llama.n_batch)
            for i, text in enumerate(texts):
                count = len(llama.tokenize(text.encode("utf-8"), add_bos=True))
                if count > limit and not truncate:
                    raise ContextOverflowError(
                        f"input {i} is {count} tokens but the embedding model takes {limit}: "
                        "shorten it or pass truncate: true",
                        param="input",
                    )
                total += min(count, limit)
            vectors: list[list[float]] = []
            for text in texts:
                raw = llama.embed(text or " ", normalize=False, truncate=True)
                vectors.append(_normalize(raw))
        stats.prompt_tokens = total
        stats.total_ns = int((time.perf_counter() - started) * 1e9)
        return vectors, total, stats


def _warn_in_process() -> None:
    if not _warned.is_set():
        _warned.set()
        log.warning(
            "llama-server not found (run 'make install' to build it, or set server.runner): "
            "models run in-process, one request at a time per model"
        )


def _require_file(record: ModelRecord) -> None:
    if not record.path.is_file():
        raise ModelNotFoundError(
            f"the GGUF file of {record.name} is missing at {record.path}: restore it or "
            f"recreate the model with 'llmapps models create'"
        )


def _checked_bias(req: GenRequest, n_vocab: int) -> dict[int, float] | None:
    """``logit_bias`` with token ids inside the vocabulary and values in [-100, 100]."""
    if not req.logit_bias:
        return None
    for token, value in req.logit_bias.items():
        if not 0 <= token < n_vocab:
            raise BadRequestError(
                f"logit_bias token id {token} is out of range: {req.model.name} has token ids "
                f"0 to {n_vocab - 1}",
                param="logit_bias",
            )
        if not math.isfinite(value) or not -100 <= value <= 100:
            raise BadRequestError(
                f"logit_bias value {value} for token {token} must be between -100 and 100",
                param="logit_bias",
            )
    return dict(req.logit_bias)


def _normalize(raw: Any) -> list[float]:
    import numpy as np

    arr = np.asarray(raw, dtype="float32")
    if arr.ndim == 2:
        arr = arr.mean(axis=0)
    norm = float(np.linalg.norm(arr)) or 1.0
    return [float(x) for x in arr / norm]


def _normalize_message(msg: dict[str, Any]) -> dict[str, Any]:
    """OpenAI/Ollama message -> {role, content}; tool calls and tool results become text."""
    role = str(msg.get("role") or "user")
    content = msg.get("content")
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                texts.append(str(part.get("text", "")))
            elif isinstance(part, str):
                texts.append(part)
            else:
                raise BadRequestError(
                    "only text content is supported by local models (remove images/audio parts)",
                    param="messages",
                )
        content = "".join(texts)
    if msg.get("images"):
        raise BadRequestError(
            "images are not supported by this model (it is text-only)", param="messages"
        )
    content = "" if content is None else str(content)
    calls = msg.get("tool_calls") or []
    if role == "assistant" and calls:
        rendered = []
        for call in calls:
            fn = call.get("function") or {}
            args = fn.get("arguments")
            if isinstance(args, str):
                with contextlib.suppress(json.JSONDecodeError):
                    args = json.loads(args)
            rendered.append(json.dumps({"name": fn.get("name"), "arguments": args}))
        content = (content + "\n" if content else "") + "\n".join(rendered)
    if role == "tool":
        name = msg.get("tool_name") or msg.get("name") or "tool"
        return {"role": "user", "content": f"Tool result ({name}): {content}"}
    return {"role": role, "content": content}


def _plain_message(msg: dict[str, Any]) -> dict[str, Any]:
    return {"role": msg["role"], "content": msg["content"]}


def _render_go_chat(
    template: str,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    think: bool | str | None = None,
) -> str:
    """Render a Go TEMPLATE for a chat exactly as Ollama does (see serve/gotemplate.py).

    ``think`` is the request's own value: Ollama gives templates ``.Think`` (truthy, also for a
    level such as "high") and ``.IsThinkSet`` (whether the request said anything)."""
    return render_chat(template, messages, tools, think=bool(think), is_think_set=think is not None)


@lru_cache(maxsize=32)
def _grammar_from(kind: str, schema: str | None) -> Any:
    from llama_cpp.llama_grammar import JSON_GBNF, LlamaGrammar

    if kind == "json" or schema is None:
        return LlamaGrammar.from_string(JSON_GBNF, verbose=False)
    try:
        return LlamaGrammar.from_json_schema(schema, verbose=False)
    except Exception as exc:
        raise BadRequestError(
            f"cannot turn the JSON schema into a grammar: {exc} (simplify the schema)",
            param="format",
        ) from exc


# -- tools -------------------------------------------------------------------------------------
def _tool_fn(tool: dict[str, Any]) -> dict[str, Any]:
    return tool.get("function") or tool


def _tools_active(req: GenRequest) -> bool:
    return bool(req.tools) and req.tool_choice != "none" and req.messages is not None


def _forced_tools(req: GenRequest) -> list[dict[str, Any]]:
    """Tools the answer must call (tool_choice required or a named function), else []."""
    choice = req.tool_choice
    tools = req.tools or []
    if choice == "required":
        return tools
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name") or choice.get("name")
        chosen = [t for t in tools if _tool_fn(t).get("name") == name]
        if not chosen:
            raise BadRequestError(
                f"tool_choice names '{name}' but no tool of that name was given",
                param="tool_choice",
            )
        return chosen
    return []


def tools_instruction(tools: list[dict[str, Any]], tool_choice: Any) -> str:
    """System text that teaches a model without native tool calling our JSON call format."""
    specs = [
        {
            "name": _tool_fn(t).get("name"),
            "description": _tool_fn(t).get("description", ""),
            "parameters": _tool_fn(t).get("parameters") or {},
        }
        for t in tools
    ]
    text = (
        "You can call these tools:\n"
        + json.dumps(specs, ensure_ascii=False)
        + '\nTo call a tool, reply with only a JSON object {"name": "<tool name>", '
        '"arguments": {...}} and nothing else.'
    )
    if tool_choice == "required" or isinstance(tool_choice, dict):
        return text + " You must call a tool now."
    return text + " If no tool is needed, answer normally."


def tool_call_schema(tools: list[dict[str, Any]]) -> dict[str, Any]:
    """JSON schema of one call to any of ``tools`` (for a grammar that forces a call)."""
    options = []
    for tool in tools:
        fn = _tool_fn(tool)
        params = fn.get("parameters") or {"type": "object"}
        options.append(
            {
                "type": "object",
                "properties": {"name": {"enum": [fn.get("name")]}, "arguments": params},
                "required": ["name", "arguments"],
            }
        )
    return options[0] if len(options) == 1 else {"anyOf": options}


_JSON_BLOCK = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def parse_tool_calls(text: str, tools: list[dict[str, Any]]) -> list[ToolCall]:
    """Find JSON tool calls (``{"name", "arguments"}``) for known tools in the model output."""
    names = {_tool_fn(t).get("name") for t in tools}
    candidates = [m.group(1) for m in _JSON_BLOCK.finditer(text)] + [text.strip()]
    start = text.find("{")
    if start >= 0:
        candidates.append(text[start : text.rfind("}") + 1])
    for candidate in candidates:
        try:
            data = json.loads(candidate)
        except (json.JSONDecodeError, ValueError):
            continue
        items = data if isinstance(data, list) else [data]
        calls = []
        for item in items:
            if not isinstance(item, dict):
                continue
            if isinstance(item.get("function"), dict):
                item = item["function"]
            name = item.get("name") or item.get("tool")
            args = item.get("arguments", item.get("parameters", {}))
            if isinstance(args, str):
                try:
                    args = json.loads(args)
                except json.JSONDecodeError:
                    args = {"input": args}
            if name in names and isinstance(args, dict):
                calls.append(ToolCall(name=str(name), arguments=args))
        if calls:
            return calls
    return []


def model_options(record: ModelRecord, settings: Settings) -> GenOptions:
    """The model's effective options before a request's own ones."""
    return base_options(record.parameters, settings.models.n_ctx)
