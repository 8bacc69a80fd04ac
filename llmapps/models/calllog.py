"""Record every model call in SQLite (the LangChain-callbacks role).

Why a callback handler set on the model itself: every way an application can call a model
(``invoke``, ``stream``, ``batch``, their async forms, inside LCEL chains, through
``bind_tools``) ends in LangChain's ``on_chat_model_start`` / ``on_llm_end`` / ``on_llm_error``,
so one handler sees them all without the applications doing anything. A row holds the time,
the application, the model spec, prompt/completion tokens (from ``usage_metadata``), latency,
time to first token and the error; prompt and answer text only when ``log_prompts = true``.
Logging must never break a call: a failed write is reported as a warning and dropped.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, LLMResult

from llmapps.config import Settings
from llmapps.errors import LlmappsError
from llmapps.scrub import scrub, scrub_optional
from llmapps.store import Database, get_db

log = logging.getLogger(__name__)

MIGRATIONS = [
    """
    CREATE TABLE model_calls (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        app TEXT NOT NULL,
        spec TEXT NOT NULL,
        prompt_tokens INTEGER,
        completion_tokens INTEGER,
        latency_ms INTEGER,
        first_token_ms INTEGER,
        error TEXT,
        prompt TEXT,
        answer TEXT
    );
    CREATE INDEX model_calls_app_time ON model_calls(app, started_at);
    CREATE INDEX model_calls_time ON model_calls(started_at);
    """,
]


def calls_db(settings: Settings) -> Database:
    """The database with the ``model_calls`` table in place."""
    db = get_db(settings)
    db.migrate("models", MIGRATIONS)
    return db


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _messages_text(messages: list[BaseMessage]) -> str:
    return "\n".join(f"{m.type}: {m.text}" for m in messages)


class _Run:
    __slots__ = ("first_token", "prompt", "started", "started_at")

    def __init__(self, prompt: str | None) -> None:
        self.started = time.perf_counter()
        self.started_at = _now_iso()
        self.first_token: float | None = None
        self.prompt = prompt


class CallLogger(BaseCallbackHandler):
    """Writes one ``model_calls`` row per chat-model run."""

    run_inline = True  # write before an async call returns, in order

    def __init__(self, *, app: str, spec: str, settings: Settings) -> None:
        self.app = app
        self.spec = spec
        self.settings = settings
        self._runs: dict[UUID, _Run] = {}
        self._lock = threading.Lock()

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        **kwargs: Any,
    ) -> None:
        prompt = None
        if self.settings.log_prompts:
            prompt = "\n\n".join(_messages_text(batch) for batch in messages)
        with self._lock:
            self._runs[run_id] = _Run(prompt)

    def on_llm_new_token(self, token: Any, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            run = self._runs.get(run_id)
            if run is not None and run.first_token is None and token:
                run.first_token = time.perf_counter()

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        prompt_tokens = completion_tokens = None
        answers: list[str] = []
        for batch in response.generations:
            for gen in batch:
                answers.append(gen.text)
                message = gen.message if isinstance(gen, ChatGeneration) else None
                usage = getattr(message, "usage_metadata", None)
                if usage:
                    prompt_tokens = (prompt_tokens or 0) + int(usage.get("input_tokens") or 0)
                    completion_tokens = (completion_tokens or 0) + int(
                        usage.get("output_tokens") or 0
                    )
                tool_calls = getattr(message, "tool_calls", None)
                if tool_calls:
                    answers.append(json.dumps(tool_calls, ensure_ascii=False, default=str))
        if prompt_tokens is None:
            usage = (response.llm_output or {}).get("token_usage") or {}
            if usage:
                prompt_tokens = usage.get("prompt_tokens")
                completion_tokens = usage.get("completion_tokens")
        self._finish(run_id, prompt_tokens, completion_tokens, None, "\n".join(answers))

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        if isinstance(error, GeneratorExit):
            message = "cancelled: the caller stopped reading the stream"
        else:
            text = " ".join(str(error).split()) or type(error).__name__
            ours = isinstance(error, LlmappsError)
            message = text if ours else f"{type(error).__name__}: {text}"
        self._finish(run_id, None, None, scrub(message)[:500], None)

    def _finish(
        self,
        run_id: UUID,
        prompt_tokens: int | None,
        completion_tokens: int | None,
        error: str | None,
        answer: str | None,
    ) -> None:
        with self._lock:
            run = self._runs.pop(run_id, None)
        if run is None:
            return
        end = time.perf_counter()
        first = None if run.first_token is None else int((run.first_token - run.started) * 1000)
        try:
            calls_db(self.settings).execute(
                "INSERT INTO model_calls(started_at, app, spec, prompt_tokens, completion_tokens,"
                " latency_ms, first_token_ms, error, prompt, answer)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run.started_at,
                    self.app,
                    self.spec,
                    prompt_tokens,
                    completion_tokens,
                    int((end - run.started) * 1000),
                    first,
                    error,
                    scrub_optional(run.prompt),
                    scrub_optional(answer) if self.settings.log_prompts else None,
                ),
            )
        except Exception as exc:  # logging must never break the model call
            log.warning("could not record a model call: %s", exc)


def attach_call_logger(
    model: BaseChatModel, *, app: str, spec: str, settings: Settings
) -> BaseChatModel:
    """Make ``model`` record every call it makes under ``app`` (returns the same model)."""
    handler = CallLogger(app=app, spec=spec, settings=settings)
    existing = model.callbacks
    if isinstance(existing, list):
        model.callbacks = [*existing, handler]
    elif existing is None:
        model.callbacks = [handler]
    else:  # a callback manager: add ours to it
        existing.add_handler(handler, inherit=False)
    return model


def recent_calls(
    settings: Settings, *, limit: int = 20, app: str | None = None
) -> list[dict[str, Any]]:
    """The newest ``limit`` calls (optionally of one app), newest first."""
    where, params = ("WHERE app = ?", [app]) if app else ("", [])
    rows = calls_db(settings).query(
        f"SELECT * FROM model_calls {where} ORDER BY started_at DESC, id DESC LIMIT ?",
        [*params, max(0, limit)],
    )
    return [dict(row) for row in rows]


def call_totals(settings: Settings, *, app: str | None = None) -> dict[str, int]:
    """All-time totals (optionally of one app): calls, errors, prompt and completion tokens."""
    where, params = ("WHERE app = ?", [app]) if app else ("", [])
    row = calls_db(settings).query_one(
        "SELECT COUNT(*) AS calls, COUNT(error) AS errors,"
        " COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens,"
        f" COALESCE(SUM(completion_tokens), 0) AS completion_tokens FROM model_calls {where}",
        params,
    )
    return {k: int(row[k]) for k in row.keys()} if row else {}  # noqa: SIM118 (sqlite3.Row)
