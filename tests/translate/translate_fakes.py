"""A test double for the MODEL (not our code): a chat model that "translates" by rule.

It reads the numbered items (or the single text) out of the prompt, and answers each with
``ZH<text>`` where glossary terms listed in the system prompt are replaced by their target, so
flow tests can assert exactly what reached the model and what came back, with call counts.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

_ITEM = re.compile(r"^\[(\d+)\]\n(.*?)(?=\n\n\[\d+\]\n|\Z)", re.DOTALL | re.MULTILINE)


class EchoTranslator(BaseChatModel):
    """Deterministic fake translator; ``fail_after`` makes call N+1 onwards raise."""

    prefix: str = "译"
    fail_after: int | None = None
    fail_first: int = 0  # the first N calls raise (a flaky endpoint), then it answers
    obey_glossary: bool = True
    break_numbering: bool = False  # answer batches without numbers (forces the fallback)
    max_numbered: int | None = None  # batches larger than this come back unnumbered
    think: bool = False  # wrap answers in <think>…</think> first
    _calls: int = PrivateAttr(default=0)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)
    _prompts: list[str] = PrivateAttr(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "echo-translator"

    @property
    def calls(self) -> int:
        return self._calls

    @property
    def prompts(self) -> list[str]:
        return self._prompts

    def _breaks(self, count: int) -> bool:
        if self.break_numbering:
            return True
        return self.max_numbered is not None and count > self.max_numbered

    def _translate(self, text: str, glossary: dict[str, str]) -> str:
        out = text
        if self.obey_glossary:
            for src, tgt in glossary.items():
                out = re.sub(re.escape(src), tgt, out, flags=re.IGNORECASE)
        return f"{self.prefix}{out}"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        with self._lock:
            self._calls += 1
            number = self._calls
        system = str(messages[0].content)
        human = str(messages[-1].content)
        self._prompts.append(system + "\n---\n" + human)
        if number <= self.fail_first:
            raise ConnectionError(f"fake model: flaky call {number}")
        if self.fail_after is not None and number > self.fail_after:
            raise RuntimeError(f"fake model stopped after {self.fail_after} calls")
        glossary = dict(re.findall(r"^- (.+?) -> (.+?)(?: \(do not translate\))?$", system, re.M))
        items = _ITEM.findall(human.split("\n\n", 2)[-1]) if "numbered items" in human else []
        if items:
            parts = [
                (f"[{n}] " if not self._breaks(len(items)) else "")
                + self._translate(t.strip(), glossary)
                for n, t in items
            ]
            answer = "\n".join(parts)
        else:
            text = human.split("answer with the translation only:\n\n", 1)[-1]
            answer = self._translate(text.strip(), glossary)
        if self.think:
            answer = "<think>Let me think about [1] and 2. carefully.</think>\n" + answer
        message = AIMessage(
            content=answer,
            usage_metadata={"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])
