"""The translation chain: ``prompt | model``, a numbered batch in, parsed translations out.

Why batches: one call for several blocks saves most of the per-call overhead (system prompt,
context, latency). A model with structured output (``with_structured_output(schema,
method="json_schema")``; the embedded llama.cpp model enforces it with a grammar, so even a
135M model keeps it) answers a JSON object with exactly the keys "1".."N", one string each
(keys named like the numbered items keep a weak model better aligned than a bare array).
Other models get a numbered list, parsed leniently (``[1]``, ``1.``, ``**1)**``...). When
either answer is unusable (wrong count, empty item) the batch falls back to one call per
block, whose answer needs no structure. Reasoning models' hidden ``<think>…</think>`` output
is stripped from text answers.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from llmapps.models.errors import (
    AuthError,
    MissingKeyError,
    RequestRejectedError,
    SpecError,
    UnknownModelError,
)
from llmapps.translate.glossary import Glossary
from llmapps.translate.language import language_name
from llmapps.translate.progress import Tracker

PROMPT_VERSION = "3"  # bump when the prompt or answer parsing changes (cache key)

SYSTEM = (
    "You are a professional translator. Translate the user's text from {source} into "
    "{target}.{style} Keep numbers, names, URLs, code, formulas and Markdown syntax unchanged. "
    "Translate everything else; do not explain, do not add notes.{glossary}"
)
BATCH_HUMAN = (
    "Document title: {title}\n"
    "Previous paragraph (context only, do not translate it): {previous}\n\n"
    "Translate each of the {count} numbered items below. Answer with exactly {count} items in "
    "the same format: a line with the item number in brackets, then its translation.\n\n"
    "{items}"
)
STRUCTURED_HUMAN = (
    "Document title: {title}\n"
    "Previous paragraph (context only, do not translate it): {previous}\n\n"
    "Translate each of the {count} numbered items below. Answer in JSON: an object whose keys "
    'are the item numbers "1", "2"... and whose values are their translations.\n\n'
    "{items}"
)
SINGLE_HUMAN = (
    "Document title: {title}\n"
    "Previous paragraph (context only, do not translate it): {previous}\n\n"
    "Translate this text and answer with the translation only:\n\n{text}"
)

_THINK = re.compile(r"<think>.*?(</think>|$)", re.DOTALL | re.IGNORECASE)
_MARKER = re.compile(
    # "[1]", "1.", "1)", "【1】", "1：", "**1.**" at the start of a line; a "." needs a space
    # after it so that "3.14" at the start of a translated line is not taken for item 3.
    r"^[ \t]*(?:\*\*|#+\s*)?[\[(【]?(\d{1,3})"
    r"(?:[\])】:：](?:\*\*)?[ \t]*|\.(?:\*\*)?(?:[ \t]+|$)|(?:\*\*)?(?:[ \t]+|$))",
    re.MULTILINE,
)
# Errors that end the run: no other way of asking can help.
_FATAL = (AuthError, MissingKeyError, SpecError, UnknownModelError)
# Errors not worth retrying: a rejected request (e.g. an unsupported response_format) stays
# rejected, though another way of asking (the text path) may still work.
_NON_RETRYABLE = (*_FATAL, RequestRejectedError)


class BatchParseError(ValueError):
    """The model's answer did not keep the numbered structure."""


def strip_reasoning(text: str) -> str:
    return _THINK.sub("", text).strip()


def format_items(texts: Sequence[str]) -> str:
    return "\n\n".join(f"[{i}]\n{text}" for i, text in enumerate(texts, start=1))


def parse_numbered(answer: str, count: int) -> list[str]:
    """Split a numbered answer into ``count`` translations, or raise :class:`BatchParseError`."""
    text = strip_reasoning(answer)
    matches = list(_MARKER.finditer(text))
    # Keep only markers that count up 1, 2, 3... (numbers inside a translation are skipped).
    picked = []
    expected = 1
    for match in matches:
        if int(match.group(1)) == expected:
            picked.append(match)
            expected += 1
    if len(picked) < count:
        raise BatchParseError(f"expected {count} numbered items, found {len(picked)}")
    if len(picked) > count:
        # The model kept going past the last item (invented [n+1], [n+2]...): drop those.
        extra = picked[count]
        text = text[: extra.start()]
        picked = picked[:count]
    items = []
    for i, match in enumerate(picked):
        end = picked[i + 1].start() if i + 1 < len(picked) else len(text)
        item = drop_echo(text[match.end() : end])
        if not item:
            raise BatchParseError(f"item {i + 1} is empty")
        items.append(item)
    return items


_ECHO = re.compile(
    r"^\s*(document title:|previous (paragraph|translation)\b|translate (this text|each of)\b)",
    re.IGNORECASE,
)


def drop_echo(text: str) -> str:
    """Remove lines where a (weak) model repeated our instructions instead of translating."""
    lines = [line for line in text.splitlines() if not _ECHO.match(line)]
    return "\n".join(lines).strip()


def translations_schema(count: int) -> dict[str, Any]:
    """JSON schema of a batch answer: keys "1".."count", each a non-empty string."""
    keys = [str(i) for i in range(1, count + 1)]
    return {
        "title": "translations",
        "description": f"the translations of the {count} numbered items, by item number",
        "type": "object",
        "properties": {key: {"type": "string", "minLength": 1} for key in keys},
        "required": keys,
        "additionalProperties": False,
    }


_ITEM_NUMBER = re.compile(r"^\s*(?:\[(\d{1,3})\]|(\d{1,3})[.)])\s+")


def parse_structured(answer: Any, count: int) -> list[str]:
    """The ``count`` translations of a structured answer, or raise :class:`BatchParseError`.

    The grammar fixes the shape, not the content: a weak model may still write an empty
    item or repeat the item number, which is dropped here.
    """
    if not isinstance(answer, dict):
        raise BatchParseError(f"expected a JSON object, got {type(answer).__name__}")
    missing = [str(i) for i in range(1, count + 1) if str(i) not in answer]
    if missing or len(answer) != count:
        raise BatchParseError(f"expected items 1..{count}, got keys {sorted(answer)[:10]}")
    out = []
    for i in range(1, count + 1):
        item = answer[str(i)]
        text = drop_echo(str(item) if item is not None else "")
        number = _ITEM_NUMBER.match(text)
        if number and int(number.group(1) or number.group(2)) == i:
            text = text[number.end() :].strip()
        if not text:
            raise BatchParseError(f"item {i} is empty")
        out.append(text)
    return out


def parse_single(answer: str) -> str:
    text = drop_echo(strip_reasoning(answer))
    text = re.sub(r"^\s*\[1\]\s*", "", text)
    text = re.sub(r"^\s*(translation|译文|翻译)\s*[:：]\s*", "", text, flags=re.IGNORECASE | re.M)
    return text.strip()


class RateLimiter:
    """At most ``rate`` calls per second across all worker threads (0 = unlimited)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


@dataclass
class ChainSettings:
    source: str
    target: str
    style: str = ""
    title: str = ""
    retries: int = 3
    retry_wait: float = 1.0
    max_tokens: int | None = None


class BatchTranslator:
    """Translates batches of texts with one model; counts calls and tokens in a tracker."""

    def __init__(
        self,
        model: BaseChatModel,
        options: ChainSettings,
        glossary: Glossary,
        tracker: Tracker,
        limiter: RateLimiter,
    ) -> None:
        self.model = model
        self.options = options
        self.glossary = glossary
        self.tracker = tracker
        self.limiter = limiter
        self.max_items = 1_000_000  # lowered when the model cannot keep a batch numbered
        self._size_lock = threading.Lock()
        self._singles = 0  # blocks sent one per call since the batch size dropped to 1
        self._structured = True  # False once the model showed it has no structured output
        self.batch_prompt = ChatPromptTemplate.from_messages(
            [("system", SYSTEM), ("human", BATCH_HUMAN)]
        )
        self.single_prompt = ChatPromptTemplate.from_messages(
            [("system", SYSTEM), ("human", SINGLE_HUMAN)]
        )
        self.structured_prompt = ChatPromptTemplate.from_messages(
            [("system", SYSTEM), ("human", STRUCTURED_HUMAN)]
        )

    def _common(self, texts: Sequence[str], previous: str) -> dict[str, str]:
        terms = self.glossary.relevant("\n".join(texts))
        glossary = (
            "\nUse this glossary (source -> required translation):\n" + terms.prompt_lines()
            if terms
            else ""
        )
        style = f" Write in a {self.options.style} style." if self.options.style else ""
        return {
            "source": language_name(self.options.source),
            "target": language_name(self.options.target),
            "style": style,
            "glossary": glossary,
            "title": self.options.title or "(none)",
            "previous": (previous or "(none)")[:600],
        }

    def _answer_budget(self, texts: Sequence[str], base: int, per_item: int) -> int | None:
        """An answer budget sized to the input, so a looping model stops early (None when no
        ``max_tokens`` is set or the model has no such field).

        A translation is rarely more than ~1 token per source character (CJK output of Latin
        input is far shorter), plus ``base`` and ``per_item`` tokens for the numbering or the
        JSON punctuation; ``max_tokens`` stays the upper bound.
        """
        if self.options.max_tokens is None or "max_tokens" not in type(self.model).model_fields:
            return None
        chars = sum(len(t) for t in texts)
        return min(self.options.max_tokens, base + per_item * len(texts) + chars)

    def _budget(self, texts: Sequence[str]) -> Runnable[Any, Any]:
        """The model bound to the text path's answer budget."""
        budget = self._answer_budget(texts, 32, 8)
        return self.model if budget is None else self.model.bind(max_tokens=budget)

    def _structured_model(self, texts: Sequence[str]) -> Runnable[Any, Any] | None:
        """The model answering exactly ``len(texts)`` strings, or None if it cannot.

        Asked through the provider-neutral ``with_structured_output``: models without it
        (no JSON-schema mode, no tool calling) raise, and the numbered-text path is used from
        then on. The answer budget is the text path's plus room for the JSON punctuation.
        """
        if not self._structured:
            return None
        model = self.model
        budget = self._answer_budget(texts, 48, 16)
        if budget is not None:
            model = model.model_copy(update={"max_tokens": budget})
        try:
            return model.with_structured_output(
                translations_schema(len(texts)), method="json_schema", include_raw=True
            )
        except (NotImplementedError, ValueError, TypeError):
            self._structured = False
            return None

    def _call(self, chain: Runnable[Any, Any], variables: dict[str, str]) -> Any:
        """``chain.invoke`` rate-limited, timed and retried (auth/spec errors are final)."""

        def call() -> Any:
            self.limiter.wait()
            started = time.monotonic()
            try:
                return chain.invoke(variables)
            finally:
                self.tracker.add(model_seconds=time.monotonic() - started)

        retrying = Retrying(
            stop=stop_after_attempt(max(1, self.options.retries)),
            wait=wait_exponential(multiplier=self.options.retry_wait, max=30),
            retry=retry_if_exception(lambda exc: not isinstance(exc, _NON_RETRYABLE)),
            reraise=True,
        )
        return retrying(call)

    def _count(self, message: Any, variables: dict[str, str]) -> str:
        """Count one model call and its tokens (estimated when the provider reports none)."""
        raw = getattr(message, "content", "")
        content = raw if isinstance(raw, str) else str(raw)
        usage = getattr(message, "usage_metadata", None) or {}
        tokens = (
            int(usage.get("total_tokens") or 0)
            or (sum(len(v) for v in variables.values()) + len(content)) // 4
        )
        self.tracker.add(model_calls=1, tokens=tokens)
        return content

    def _invoke(
        self, prompt: ChatPromptTemplate, texts: Sequence[str], variables: dict[str, str]
    ) -> str:
        message: AIMessage = self._call(prompt | self._budget(texts), variables)
        return self._count(message, variables)

    def _invoke_structured(self, texts: Sequence[str], variables: dict[str, str]) -> list[str]:
        """One structured call for the batch; raises :class:`BatchParseError` when unusable.

        A call that fails (e.g. an OpenAI-compatible server without JSON-schema support)
        turns structured output off for this translator, and the caller uses the text path.
        """
        model = self._structured_model(texts)
        if model is None:
            raise NotImplementedError("no structured output")
        try:
            result = self._call(self.structured_prompt | model, variables)
        except _FATAL:
            raise
        except Exception as exc:
            self._structured = False
            raise NotImplementedError(f"structured output failed: {exc}") from exc
        result = result if isinstance(result, dict) else {}
        self._count(result.get("raw"), variables)
        if result.get("parsed") is None:
            raise BatchParseError(f"unparsable answer: {result.get('parsing_error')}")
        return parse_structured(result["parsed"], len(texts))

    def translate(self, texts: Sequence[str], previous: str = "") -> list[str]:
        """Translations of ``texts`` in order.

        The batch goes out in chunks of at most ``self.max_items`` blocks. A chunk whose
        answer does not parse falls back to one call per block and halves ``max_items`` for
        the chunks after it; a chunk that parses lets the size grow back (after 8 single
        blocks, batching is probed again). A weak model settles on a batch size it can keep
        numbered; a strong one keeps the configured size.
        """
        results: list[str] = []
        start = 0
        while start < len(texts):
            with self._size_lock:
                if self.max_items == 1 and self._singles >= 8:
                    self.max_items, self._singles = 2, 0  # probe batching again
                size = self.max_items
            chunk = list(texts[start : start + size])
            results.extend(self._chunk(chunk, previous))
            previous = chunk[-1]
            start += len(chunk)
        return results

    def _chunk(self, texts: list[str], previous: str) -> list[str]:
        if len(texts) > 1:
            variables = self._common(texts, previous)
            variables.update(count=str(len(texts)), items=format_items(texts))
            try:
                try:
                    parsed = self._invoke_structured(texts, variables)
                except NotImplementedError:
                    answer = self._invoke(self.batch_prompt, texts, variables)
                    parsed = parse_numbered(answer, len(texts))
            except BatchParseError:
                self.tracker.add(fallback_calls=1)
                with self._size_lock:
                    self.max_items = max(1, min(self.max_items, len(texts)) // 2)
            else:
                with self._size_lock:  # it worked: allow bigger chunks again
                    self.max_items = max(self.max_items, len(texts) * 2)
                return parsed
        with self._size_lock:
            self._singles += len(texts)
        results = []
        for text in texts:
            variables = self._common([text], previous)
            variables["text"] = text
            translated = parse_single(self._invoke(self.single_prompt, [text], variables))
            results.append(translated or text)
            previous = text
        return results
