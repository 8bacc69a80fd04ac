"""An interactive chat with a registry model, in-process (what ``llmapps run`` drives).

Why a class of its own: the REPL's state (history, ``/set parameter`` overrides, system
prompt) and its commands are logic, testable without a terminal; the CLI only reads lines and
prints what this returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from llmapps.config import Settings
from llmapps.serve.engine import GenRequest, GenResult, Runner, model_options
from llmapps.serve.errors import BadRequestError
from llmapps.serve.modelfile import PARAMETER_TYPES, convert_parameter
from llmapps.serve.options import parse_keep_alive
from llmapps.serve.registry import ModelRecord, Registry

HELP = """Commands:
  /set parameter NAME VALUE   set an option (temperature, num_predict, seed, stop, …)
  /set system TEXT            replace the system prompt
  /show parameters            the options in force
  /clear                      forget the conversation
  /bye                        leave
  \"\"\"                         start or end a multi-line message"""


@dataclass
class ChatSession:
    """History plus overrides; :meth:`send` streams one answer and records it."""

    settings: Settings
    record: ModelRecord
    runner: Runner
    overrides: dict[str, Any] = field(default_factory=dict)
    system: str | None = None
    history: list[dict[str, str]] = field(default_factory=list)
    last: GenResult | None = None

    @classmethod
    def open(cls, settings: Settings, name: str) -> ChatSession:
        record = Registry(settings).get(name)
        return cls(settings=settings, record=record, runner=Runner(settings))

    def set_parameter(self, name: str, value: str) -> str:
        key = name.lower()
        if key not in PARAMETER_TYPES:
            raise BadRequestError(
                f"unknown parameter '{name}' (known: {', '.join(PARAMETER_TYPES)})"
            )
        converted = convert_parameter(key, value, "/set parameter: ")
        if key == "stop":
            self.overrides.setdefault("stop", []).extend(converted)
        else:
            self.overrides[key] = converted
        return f"Set parameter '{key}' to '{value}'"

    def clear(self) -> str:
        self.history.clear()
        return "Cleared session context"

    def parameters(self) -> dict[str, Any]:
        return {**self.record.parameters, **self.overrides}

    def send(self, text: str) -> Iterator[str]:
        """Stream the answer to ``text``; the exchange joins the history when it completes."""
        opts = model_options(self.record, self.settings).apply(self.overrides, "/set parameter")
        messages: list[dict[str, Any]] = []
        if self.system is not None:
            messages.append({"role": "system", "content": self.system})
        messages += [*self.history, {"role": "user", "content": text}]
        req = GenRequest(
            model=self.record,
            options=opts,
            messages=messages,
            keep_alive=parse_keep_alive(self.settings.server.default_keep_alive),
        )
        pieces: list[str] = []
        for item in self.runner.generate(req):
            if isinstance(item, GenResult):
                self.last = item
            else:
                pieces.append(item)
                yield item
        self.history += [
            {"role": "user", "content": text},
            {"role": "assistant", "content": "".join(pieces)},
        ]

    def command(self, line: str) -> str | None:
        """Run a ``/command``; returns the text to show, or None for ``/bye``."""
        parts = line.strip().split(None, 3)
        word = parts[0].lower()
        if word in ("/bye", "/exit", "/quit"):
            return None
        if word == "/clear":
            return self.clear()
        if word in ("/?", "/help"):
            return HELP
        if word == "/set" and len(parts) >= 2:
            what = parts[1].lower()
            if what == "parameter":
                if len(parts) < 4:
                    raise BadRequestError("usage: /set parameter NAME VALUE")
                return self.set_parameter(parts[2], parts[3])
            if what == "system":
                self.system = line.strip().split(None, 2)[2] if len(parts) >= 3 else ""
                return "Set system message."
        if word == "/show" and len(parts) >= 2 and parts[1].lower() == "parameters":
            params = self.parameters()
            return "\n".join(f"{k} {v}" for k, v in params.items()) or "(defaults)"
        raise BadRequestError(f"unknown command '{line.strip()}' (type /? for help)")
