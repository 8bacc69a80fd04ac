"""A GGUF's own chat template (``tokenizer.chat_template``) rendered as llama.cpp's Python
binding and Hugging Face render it, without importing either.

Why our own: the model server renders every prompt itself and must not load llama.cpp into its
process just for that (its runners hold the model), and the in-process chat model counts
prompt tokens with the same renderer its generation uses. The environment matches what
chat templates expect: a sandbox, ``trim_blocks``/``lstrip_blocks``, loop controls,
``{% generation %}`` tags ignored, ``tojson`` without ASCII escaping, ``raise_exception`` and
``strftime_now``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment


@dataclass(frozen=True)
class RenderedPrompt:
    """A rendered prompt; ``added_special``: the template wrote BOS itself (so the tokenizer
    must not add another), as llama.cpp's binding assumes for Jinja templates."""

    prompt: str
    stop: list[str] = field(default_factory=list)
    added_special: bool = True


class _IgnoreGeneration(jinja2.ext.Extension):
    """``{% generation %}...{% endgeneration %}`` (training masks) renders its body."""

    tags = {"generation"}  # noqa: RUF012 - jinja2 reads it from the class

    def parse(self, parser: Any) -> Any:
        parser.stream.skip(1)
        return parser.parse_statements(("name:endgeneration",), drop_needle=True)


def _tojson(
    value: Any,
    ensure_ascii: bool = False,
    indent: int | None = None,
    separators: tuple[str, str] | None = None,
    sort_keys: bool = False,
) -> str:
    return json.dumps(
        value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
    )


def _raise(message: str) -> None:
    raise ValueError(message)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


class ChatTemplate:
    """A compiled chat template; call it with OpenAI-style ``messages``."""

    def __init__(self, template: str, eos_token: str, bos_token: str) -> None:
        env = ImmutableSandboxedEnvironment(
            loader=jinja2.BaseLoader(),
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=[_IgnoreGeneration, jinja2.ext.loopcontrols],
        )
        env.filters["tojson"] = _tojson
        self._template = env.from_string(template)
        self.eos_token = eos_token
        self.bos_token = bos_token

    def __call__(
        self,
        *,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        tool_choice: Any = None,
    ) -> RenderedPrompt:
        prompt = self._template.render(
            messages=messages,
            eos_token=self.eos_token,
            bos_token=self.bos_token,
            raise_exception=_raise,
            add_generation_prompt=True,
            functions=None,
            function_call=None,
            tools=tools,
            tool_choice=tool_choice,
            strftime_now=_strftime_now,
        )
        return RenderedPrompt(prompt=prompt, stop=[self.eos_token] if self.eos_token else [])


@lru_cache(maxsize=8)
def chat_template(template: str, eos_token: str, bos_token: str) -> ChatTemplate:
    """The compiled template (cached: models sharing a template share it)."""
    return ChatTemplate(template, eos_token, bos_token)


def gguf_formatter(llama: Any) -> ChatTemplate | None:
    """The chat template of a loaded ``llama_cpp.Llama`` (None when its GGUF has none)."""
    template = (getattr(llama, "metadata", None) or {}).get("tokenizer.chat_template")
    if not template:
        return None
    eos_id, bos_id = llama.token_eos(), llama.token_bos()
    eos = llama._model.token_get_text(eos_id) if eos_id != -1 else ""
    bos = llama._model.token_get_text(bos_id) if bos_id != -1 else ""
    return chat_template(template, eos, bos)
