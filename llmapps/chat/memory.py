"""Memory strategies: which earlier messages go back to the model, within its context.

Why here and not in the model layer: what to keep is an application choice (full history,
the last K turns, or a rolling summary the model writes itself), but whatever is chosen must
fit the model's context window next to the system prompt, retrieved sources, the new message
and the room kept for the answer. Tokens are counted with the model's own tokenizer when it
has one (``ChatLlamaCpp`` counts exactly); otherwise a conservative estimate is used, because
LangChain's default counter would need to download a GPT-2 tokenizer. Older messages are
dropped first and the number dropped is reported; when even the new message does not fit we
raise :class:`ContextOverflowError` instead of letting the backend truncate silently.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from langchain_core.language_models import BaseChatModel, BaseLanguageModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from llmapps.chat.conversations import Conversation, ConversationStore, Message
from llmapps.config import Settings
from llmapps.errors import LlmappsError

# Tokens a chat template adds around each message (role markers, separators).
PER_MESSAGE_TOKENS = 6
SAFETY_TOKENS = 16

SUMMARY_PROMPT = (
    "You keep a running summary of a conversation. Update the summary below with the new "
    "lines, keeping names, numbers, decisions and open questions. Write at most 120 words, "
    "in the language of the conversation. Reply with the summary only.\n"
    "你负责维护对话摘要：把新的对话内容并入摘要，保留人名、数字、决定和未解决的问题，"
    "不超过 120 字，只输出摘要。\n\n"
    "Current summary 当前摘要:\n{summary}\n\nNew lines 新内容:\n{lines}"
)


class ContextOverflowError(LlmappsError):
    """The new message (with system prompt and sources) does not fit the model's context."""

    status_code = 413


@dataclass
class MemoryResult:
    """The messages to send, and what trimming did (reported to the user, never silent)."""

    messages: list[BaseMessage]
    tokens: int
    budget: int
    dropped: int = 0
    kept: int = 0
    summarized: bool = False
    notes: list[str] = field(default_factory=list)


def context_window(model: BaseChatModel, settings: Settings) -> int:
    n_ctx = getattr(model, "n_ctx", None) or getattr(model, "num_ctx", None)  # llama.cpp, Ollama
    return int(n_ctx) if isinstance(n_ctx, int) and n_ctx > 0 else settings.chat.context_tokens


def answer_reserve(model: BaseChatModel, settings: Settings) -> int:
    max_tokens = getattr(model, "max_tokens", None)
    if isinstance(max_tokens, int) and max_tokens > 0:
        return max_tokens
    return settings.chat.answer_tokens


def token_counter(model: BaseChatModel) -> Callable[[str], int]:
    """The model's own counter when it has a real tokenizer, else a conservative estimate."""
    own = type(model).get_num_tokens is not BaseLanguageModel.get_num_tokens
    if own or getattr(model, "custom_get_token_ids", None) is not None:
        return model.get_num_tokens
    return estimate_tokens


def estimate_tokens(text: str) -> int:
    """Roughly one token per CJK character and per three other characters (errs high)."""
    cjk = sum(1 for ch in text if "\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff")
    return cjk + math.ceil((len(text) - cjk) / 3)


def message_tokens(count: Callable[[str], int], message: BaseMessage) -> int:
    content = message.content if isinstance(message.content, str) else str(message.content)
    return count(content) + PER_MESSAGE_TOKENS


def select_history(strategy: str, history: Sequence[Message], window_turns: int) -> list[Message]:
    """The earlier messages a strategy keeps before trimming to the context."""
    usable = [m for m in history if m.role in ("user", "assistant") and m.content]
    if strategy == "full":
        return usable
    if strategy in ("window", "summary"):
        return usable[-2 * window_turns :] if window_turns > 0 else []
    raise LlmappsError(f"unknown memory strategy '{strategy}' (use full, window or summary)")


def update_summary(
    store: ConversationStore,
    conversation: Conversation,
    history: Sequence[Message],
    model: BaseChatModel,
    settings: Settings,
    window_turns: int,
) -> Conversation:
    """Fold the messages that left the window into the conversation's rolling summary.

    The model writes the summary; it is stored with the id of the last folded message so each
    message is summarised once. The text sent for summarising is itself kept within context.
    """
    unsummarised = [
        m for m in history if m.id > conversation.summary_upto and m.role in ("user", "assistant")
    ]
    keep = 2 * window_turns
    to_fold = unsummarised[:-keep] if keep else unsummarised
    if not to_fold:
        return conversation
    count = token_counter(model)
    budget = context_window(model, settings) - answer_reserve(model, settings) - SAFETY_TOKENS
    budget -= count(SUMMARY_PROMPT) + count(conversation.summary) + 2 * PER_MESSAGE_TOKENS
    lines: list[str] = []
    last_id = conversation.summary_upto
    for message in to_fold:
        line = f"{message.role}: {message.content}"
        cost = count(line) + 1
        if cost > budget:
            if not lines:  # one huge message: keep its beginning
                line = line[: max(0, budget) * 2]
                lines.append(line)
                last_id = message.id
            break
        budget -= cost
        lines.append(line)
        last_id = message.id
    prompt = SUMMARY_PROMPT.format(
        summary=conversation.summary or "(none 无)", lines="\n".join(lines)
    )
    reply = model.invoke([HumanMessage(prompt)])
    summary = reply.content if isinstance(reply.content, str) else str(reply.content)
    return store.update(conversation.id, summary=summary.strip(), summary_upto=last_id)


def build_messages(
    *,
    model: BaseChatModel,
    settings: Settings,
    system: str,
    history: Sequence[Message],
    question: str,
    strategy: str,
    window_turns: int,
    summary: str = "",
    summary_upto: int = 0,
    sources: str = "",
    extra_tokens: int = 0,
) -> MemoryResult:
    """System prompt (+ summary, + sources) + chosen history + question, trimmed to fit.

    ``extra_tokens`` is room kept for text added later (the agent's tool descriptions).
    """
    count = token_counter(model)
    n_ctx = context_window(model, settings)
    reserve = answer_reserve(model, settings) + extra_tokens
    budget = n_ctx - reserve - SAFETY_TOKENS
    if strategy == "summary":
        history = [m for m in history if m.id > summary_upto]
    chosen = select_history(strategy, history, window_turns)
    system_text = system.strip()
    if strategy == "summary" and summary:
        system_text += f"\n\nSummary of the earlier conversation 之前对话的摘要:\n{summary}"
    if sources:
        system_text += f"\n\n{sources}"
    head: list[BaseMessage] = [SystemMessage(system_text.strip())] if system_text.strip() else []
    tail: list[BaseMessage] = [HumanMessage(question)]
    fixed = sum(message_tokens(count, m) for m in head + tail)
    if fixed > budget:
        raise ContextOverflowError(
            f"the message needs {fixed} tokens with the system prompt and sources, but the "
            f"model holds {n_ctx} with {reserve} kept for the answer: shorten the message, "
            "detach the knowledge base, or use a model with a larger context (models.n_ctx)"
        )
    used = fixed
    kept: list[BaseMessage] = []
    for message in reversed(chosen):
        lc = message.to_langchain()
        cost = message_tokens(count, lc)
        if used + cost > budget:
            break
        kept.append(lc)
        used += cost
    kept.reverse()
    dropped = len(chosen) - len(kept)
    result = MemoryResult(
        messages=head + kept + tail,
        tokens=used,
        budget=budget,
        dropped=dropped,
        kept=len(kept),
        summarized=strategy == "summary" and bool(summary),
    )
    if dropped:
        result.notes.append(
            f"{dropped} earlier message(s) left out to fit the model's {n_ctx}-token context"
        )
    return result
