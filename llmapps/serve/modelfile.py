"""Our own Modelfile parser (Ollama's format) with errors that carry line numbers.

Why our own: the format is small, and users need a message such as ``line 4: unknown
PARAMETER 'temprature'`` rather than a stack trace. Instructions are case-insensitive; a value
may be bare, ``"quoted"`` or a ``\"\"\"`` multi-line block; ``#`` starts a comment line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from llmapps.serve.errors import ModelfileError

# PARAMETER name -> converter. ``stop`` may repeat and collects a list.
PARAMETER_TYPES: dict[str, type] = {
    "temperature": float,
    "top_k": int,
    "top_p": float,
    "min_p": float,
    "num_ctx": int,
    "num_predict": int,
    "stop": str,
    "repeat_penalty": float,
    "repeat_last_n": int,
    "seed": int,
    "num_gpu": int,  # layers offloaded to a GPU (-1: all)
    "main_gpu": int,
}
INSTRUCTIONS = ("FROM", "PARAMETER", "TEMPLATE", "SYSTEM", "ADAPTER", "MESSAGE", "LICENSE")
MESSAGE_ROLES = ("system", "user", "assistant", "tool")


@dataclass
class Modelfile:
    """The parsed instructions. ``from_`` is required; everything else is optional."""

    from_: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    template: str | None = None
    system: str | None = None
    adapters: list[str] = field(default_factory=list)
    messages: list[dict[str, str]] = field(default_factory=list)
    license: list[str] = field(default_factory=list)

    def render(self) -> str:
        """Modelfile text that parses back to the same content (``models show --modelfile``)."""
        lines = [f"FROM {self.from_}"]
        for adapter in self.adapters:
            lines.append(f"ADAPTER {adapter}")
        if self.template is not None:
            lines.append(f"TEMPLATE {_quote(self.template)}")
        if self.system is not None:
            lines.append(f"SYSTEM {_quote(self.system)}")
        for name, value in self.parameters.items():
            for item in value if isinstance(value, list) else [value]:
                lines.append(f"PARAMETER {name} {_quote(str(item))}")
        for msg in self.messages:
            lines.append(f"MESSAGE {msg['role']} {_quote(msg['content'])}")
        for text in self.license:
            lines.append(f"LICENSE {_quote(text)}")
        return "\n".join(lines) + "\n"


def _quote(value: str) -> str:
    if "\n" in value or value != value.strip() or value.startswith('"') or not value:
        return f'"""{value}"""'
    return value


def convert_parameter(name: str, raw: Any, where: str = "") -> Any:
    """Check a parameter name and convert its value; ``where`` prefixes the error message."""
    key = str(name).lower()
    kind = PARAMETER_TYPES.get(key)
    if kind is None:
        known = ", ".join(PARAMETER_TYPES)
        raise ModelfileError(f"{where}unknown PARAMETER '{name}' (known: {known})")
    if key == "stop":
        items = raw if isinstance(raw, list) else [raw]
        return [str(item) for item in items]
    try:
        if kind is int and isinstance(raw, str) and not raw.strip().lstrip("-").isdigit():
            raise ValueError(raw)
        value = kind(raw)
    except (TypeError, ValueError):
        raise ModelfileError(
            f"{where}PARAMETER {key} needs {'an integer' if kind is int else 'a number'}, "
            f"got {raw!r}"
        ) from None
    return value


def parse_modelfile(text: str) -> Modelfile:
    """Parse Modelfile text; raise :class:`ModelfileError` naming the line on any problem."""
    mf = Modelfile()
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        lineno = i + 1
        line = lines[i].strip()
        i += 1
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if "\t" in word:
            word, _, tail = word.partition("\t")
            rest = f"{tail} {rest}".strip()
        instruction = word.upper()
        where = f"line {lineno}: "
        if instruction not in INSTRUCTIONS:
            raise ModelfileError(
                f"{where}unknown instruction '{word}' (use one of {', '.join(INSTRUCTIONS)})"
            )
        rest = rest.strip()
        if instruction in ("PARAMETER", "MESSAGE"):
            name, _, value_text = rest.partition(" ")
            if not name:
                raise ModelfileError(f"{where}{instruction} needs a name and a value")
            value, i = _value(value_text.strip(), lines, i, lineno, instruction)
            if instruction == "PARAMETER":
                _add_parameter(mf, name, value, where)
            else:
                role = name.lower()
                if role not in MESSAGE_ROLES:
                    raise ModelfileError(
                        f"{where}MESSAGE role '{name}' is not one of {', '.join(MESSAGE_ROLES)}"
                    )
                mf.messages.append({"role": role, "content": value})
            continue
        value, i = _value(rest, lines, i, lineno, instruction)
        if instruction == "FROM":
            if mf.from_:
                raise ModelfileError(f"{where}a second FROM (a Modelfile has exactly one)")
            mf.from_ = value
        elif instruction == "TEMPLATE":
            mf.template = value
        elif instruction == "SYSTEM":
            mf.system = value
        elif instruction == "ADAPTER":
            mf.adapters.append(value)
        elif instruction == "LICENSE":
            mf.license.append(value)
    if not mf.from_:
        raise ModelfileError(
            "line 1: no FROM instruction (add 'FROM smollm2', a model name or a GGUF path)"
        )
    return mf


def _add_parameter(mf: Modelfile, name: str, value: str, where: str) -> None:
    key = name.lower()
    converted = convert_parameter(key, value, where)
    if key == "stop":
        mf.parameters.setdefault("stop", []).extend(converted)
    else:
        mf.parameters[key] = converted


def _value(text: str, lines: list[str], i: int, lineno: int, instruction: str) -> tuple[str, int]:
    """The value starting at ``text``; may consume following lines for a ``\"\"\"`` block."""
    where = f"line {lineno}: "
    if text.startswith('"""'):
        body = text[3:]
        if '"""' in body:
            value, _, after = body.partition('"""')
            if after.strip():
                raise ModelfileError(f'{where}unexpected text after closing """: {after.strip()}')
            return value, i
        parts = [body]
        while i < len(lines):
            line = lines[i]
            i += 1
            if '"""' in line:
                head, _, after = line.partition('"""')
                if after.strip():
                    raise ModelfileError(
                        f'line {i}: unexpected text after closing """: {after.strip()}'
                    )
                parts.append(head)
                return "\n".join(parts).removeprefix("\n"), i
            parts.append(line)
        raise ModelfileError(f'{where}{instruction} opens """ but it is never closed (add """)')
    if text.startswith('"') and len(text) >= 2 and text.endswith('"'):
        try:
            return str(json.loads(text)), i
        except json.JSONDecodeError:
            return text[1:-1], i
    if not text:
        raise ModelfileError(f"{where}{instruction} needs a value")
    return text, i
