"""The agent loop: native tool calling when the model has it, else a ReAct text loop."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.tools import BaseTool

EventKind = Literal["tool_call", "tool_result", "token", "final", "error"]


@dataclass
class AgentEvent:
    """One step of an agent run.

    ``token``: ``{"text"}``; ``tool_call``: ``{"id", "name", "args", "step"}``;
    ``tool_result``: ``{"id", "name", "content", "error", "step"}``; the run ends with exactly
    one ``final`` (``{"text", "steps", "reason"}``, reason ``answer``/``max_steps``/
    ``cancelled``) or ``error`` (``{"message"}``).
    """

    kind: EventKind
    data: dict = field(default_factory=dict)


def run_agent(
    model: BaseChatModel,
    messages: list[BaseMessage],
    tools: list[BaseTool],
    *,
    max_steps: int = 6,
    stop_event: threading.Event | None = None,
) -> Iterator[AgentEvent]:
    """Skeleton; filled in next."""
    raise NotImplementedError
