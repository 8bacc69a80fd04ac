"""Record every model call in SQLite (the LangChain-callbacks role).

TODO(foundation): the callback handler writing time, app, spec, tokens, latency, error
(and prompt/answer text only when ``log_prompts = true``).
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from llmapps.config import Settings


def attach_call_logger(
    model: BaseChatModel, *, app: str, spec: str, settings: Settings
) -> BaseChatModel:
    return model
