"""The answer parser, the rate limiter, the glossary and the cache key, on their own."""

from __future__ import annotations

import time

import pytest

from llmapps.translate.batcher import make_batches
from llmapps.translate.cache import cache_key
from llmapps.translate.chain import (
    BatchParseError,
    RateLimiter,
    format_items,
    parse_numbered,
    parse_single,
    strip_reasoning,
)
from llmapps.translate.errors import TranslateError
from llmapps.translate.glossary import parse_glossary


def test_parse_numbered_formats() -> None:
    assert parse_numbered("[1]\n你好\n\n[2]\n世界", 2) == ["你好", "世界"]
    assert parse_numbered("1. 你好\n2) 世界\n3：再见", 3) == ["你好", "世界", "再见"]
    assert parse_numbered("**1.** 甲\n**2.** 乙", 2) == ["甲", "乙"]
    # Numbers inside a translation do not split it; multi-line items stay whole.
    assert parse_numbered("[1] 共有 2 个\n部分\n[2] 第 3 章", 2) == ["共有 2 个\n部分", "第 3 章"]
    # Reasoning is stripped before parsing, even when it contains numbers.
    assert parse_numbered("<think>1. plan\n2. go</think>\n[1] 甲\n[2] 乙", 2) == ["甲", "乙"]
    # A model that keeps inventing items after the last one: the extra ones are dropped.
    assert parse_numbered("[1] 甲\n[2] 乙\n[3] 丙", 2) == ["甲", "乙"]


@pytest.mark.parametrize(
    "answer", ["只有一段译文", "[1] 甲", "[1] 甲\n[3] 丙", "[1]\n\n[2] 乙", "<think>[1] a [2] b"]
)
def test_parse_numbered_rejects_broken_structure(answer: str) -> None:
    with pytest.raises(BatchParseError):
        parse_numbered(answer, 2)


def test_single_answer_cleanup() -> None:
    assert parse_single("<think>hmm</think>\nTranslation: 你好") == "你好"
    assert parse_single("[1] 你好") == "你好"
    assert strip_reasoning("<THINK>x</THINK>ok") == "ok"
    assert format_items(["a", "b"]) == "[1]\na\n\n[2]\nb"


def test_rate_limiter_spaces_calls() -> None:
    limiter = RateLimiter(20)
    started = time.monotonic()
    for _ in range(6):
        limiter.wait()
    assert time.monotonic() - started >= 5 / 20 * 0.9
    free = RateLimiter(0)
    started = time.monotonic()
    for _ in range(100):
        free.wait()
    assert time.monotonic() - started < 0.05


def test_batches_respect_chars_and_items() -> None:
    items = [(f"k{i}", "x" * 100, f"p{i}") for i in range(10)]
    batches = make_batches(items, max_chars=350, max_items=8)
    assert [len(b.texts) for b in batches] == [3, 3, 3, 1]
    assert batches[1].previous == "p3"  # context: the paragraph before the batch
    assert [len(b.texts) for b in make_batches(items, 10_000, 4)] == [4, 4, 2]
    huge = make_batches([("a", "y" * 5000, ""), ("b", "z", "")], 100, 8)
    assert [b.keys for b in huge] == [["a"], ["b"]]


def test_glossary_csv_and_check() -> None:
    glossary = parse_glossary(
        'source,target\nlarge language model,大语言模型\n"Smith, J.",\nGPU,GPU\n', ["PyTorch"]
    )
    assert glossary.terms == {"large language model": "大语言模型"}
    assert set(glossary.keep) == {"PyTorch", "Smith, J.", "GPU"}
    fixed, problems = glossary.check(
        "A large language model runs on PyTorch.", "一个 large language model 运行在 火炬 上。"
    )
    assert fixed == "一个 大语言模型 运行在 火炬 上。"
    assert len(problems) == 2 and "PyTorch" in problems[1]
    relevant = glossary.relevant("Runs on a GPU")
    assert relevant.keep == ["GPU"] and not relevant.terms
    with pytest.raises(TranslateError, match="glossary line 2"):
        parse_glossary("a,b\nc,d,e\n")
    assert glossary.digest != parse_glossary("x,y").digest


def test_cache_key_covers_every_input() -> None:
    base = ("m", "en", "zh", "1", "g", "", "text")
    keys = {cache_key(*base)}
    for i in range(len(base)):
        changed = list(base)
        changed[i] = changed[i] + "*"
        keys.add(cache_key(*changed))
    assert len(keys) == len(base) + 1


def test_echoed_instructions_are_dropped() -> None:
    answer = (
        "Translation: 一项研究\nTranslate this text and answer with the translation only:\n"
        "Document title: A Study\n研究的正文"
    )
    assert parse_single(answer) == "一项研究\n研究的正文"
    numbered = "[1] 甲\nPrevious paragraph (context only, do not translate it): x\n[2] 乙"
    assert parse_numbered(numbered, 2) == ["甲", "乙"]
