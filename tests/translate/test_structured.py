"""Batches through structured output (JSON schema), on the real embedded model and on fakes.

The embedded model cannot keep a numbered list, but llama.cpp's grammar from the JSON schema
makes it answer exactly N strings: one call per batch. Models without structured output (the
LangChain fakes) keep the numbered-text path; an unusable structured answer falls back to one
call per block.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import BaseModel

from llmapps.models import get_chat_model
from llmapps.translate.chain import (
    BatchParseError,
    BatchTranslator,
    ChainSettings,
    RateLimiter,
    parse_structured,
    translations_schema,
)
from llmapps.translate.glossary import load_glossary
from llmapps.translate.progress import Tracker
from tests.translate.translate_fakes import EchoTranslator

TEXTS = ["Good morning.", "The sea is blue.", "Thank you very much."]


def _translator(model: Any, max_tokens: int | None = 160) -> tuple[BatchTranslator, Tracker]:
    tracker = Tracker()
    options = ChainSettings(source="en", target="zh", title="Notes", max_tokens=max_tokens)
    return BatchTranslator(
        model, options, load_glossary(None, []), tracker, RateLimiter(0)
    ), tracker


def test_parse_structured_checks_count_and_content() -> None:
    assert parse_structured({"2": "[2] 乙", "1": "甲", "3": "3. 丙"}, 3) == ["甲", "乙", "丙"]
    # A number that is not the item's own is part of the translation.
    assert parse_structured({"1": "2. 甲"}, 1) == ["2. 甲"]
    for bad in ({"1": "甲"}, {"1": "甲", "2": "  "}, {"1": "甲", "3": "丙"}, ["甲", "乙"], None):
        with pytest.raises(BatchParseError):
            parse_structured(bad, 2)
    schema = translations_schema(4)
    assert schema["required"] == ["1", "2", "3", "4"] and not schema["additionalProperties"]


@pytest.mark.model
def test_embedded_model_batch_in_one_call() -> None:
    model = get_chat_model(max_tokens=160, temperature=0.0, seed=0)
    translator, tracker = _translator(model)
    out = translator.translate(TEXTS)
    progress = tracker.progress
    assert len(out) == len(TEXTS) and all(t.strip() for t in out)
    assert progress.model_calls == 1 and progress.fallback_calls == 0
    assert progress.tokens > 0 and progress.model_seconds > 0


@pytest.mark.model
def test_embedded_model_structured_output_pydantic() -> None:
    class Answer(BaseModel):
        city: str
        count: int

    model = get_chat_model(max_tokens=48, temperature=0.0, seed=0)
    result = model.with_structured_output(Answer, include_raw=True).invoke(
        "Name a city and a number."
    )
    assert isinstance(result["parsed"], Answer), result["parsing_error"]
    assert result["raw"].usage_metadata["total_tokens"] > 0


def test_fake_without_structured_output_takes_numbered_path() -> None:
    model = EchoTranslator()
    translator, tracker = _translator(model)
    assert translator.translate(TEXTS) == [f"译{t}" for t in TEXTS]
    assert model.calls == 1 and tracker.progress.model_calls == 1
    assert "numbered items" in model.prompts[0] and "JSON" not in model.prompts[0]


class CountingJson(EchoTranslator):
    """A model double with structured output whose batch answers have one item too few."""

    structured_calls: int = 0

    def with_structured_output(self, schema: Any, **kwargs: Any) -> Runnable[Any, Any]:  # type: ignore[override]
        count = len(schema["required"])

        def answer(_: Any) -> dict[str, Any]:
            self.structured_calls += 1
            raw = AIMessage(
                content="{}",
                usage_metadata={"input_tokens": 7, "output_tokens": 3, "total_tokens": 10},
            )
            return {
                "raw": raw,
                "parsed": {str(i): "甲" for i in range(1, count)},
                "parsing_error": None,
            }

        return RunnableLambda(answer)


def test_wrong_structured_count_falls_back_per_block() -> None:
    model = CountingJson()
    translator, tracker = _translator(model)
    assert translator.translate(TEXTS) == [f"译{t}" for t in TEXTS]
    progress = tracker.progress
    assert model.structured_calls == 1 and model.calls == len(TEXTS)
    assert progress.model_calls == 1 + len(TEXTS) and progress.fallback_calls == 1
    assert progress.tokens == 10 + 15 * len(TEXTS)
