"""The chat turn: the one function behind the CLI, the web tab and the HTTP endpoints.

user message -> conversation (SQLite) -> memory strategy -> optional retrieval from the
attached knowledge base -> optional tools/agent loop -> streamed answer -> stored with its
citations and tool events.

Why a stream of :class:`ChatEvent` objects: every interface shows the same things as they
happen (tokens, tool calls and results, sources) and each only decides how to render them.
Why the answer is stored by the turn itself, even when stopped: a stop (a ``threading.Event``
set by ``/stop``, the Stop button or Ctrl-C) or a closed connection keeps the partial answer
with status ``stopped``, so nothing the user saw is lost and ``regenerate`` can replace it.

Why not ``RunnableWithMessageHistory`` for the turn: it stores the exchange only when a run
ends normally, which loses stopped answers, cannot attach citations, and is deprecated in
langchain-core 1.x. The turn uses LCEL
(``prompt | model``) over the messages our memory strategy chose; the SQLite-backed
``SQLiteChatMessageHistory`` is there for anyone composing their own chains.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.tools import BaseTool

from llmapps.access import LOCAL, Access
from llmapps.chat.conversations import Conversation, ConversationStore, Message
from llmapps.chat.errors import ChatError
from llmapps.chat.memory import (
    ContextOverflowError,
    build_messages,
    token_counter,
    update_summary,
)
from llmapps.chat.personas import Persona, PersonaStore
from llmapps.config import Settings, get_settings
from llmapps.errors import LlmappsError
from llmapps.models.guard import check_spec
from llmapps.scrub import scrub

log = logging.getLogger(__name__)

ModelFactory = Callable[[str | None, dict[str, Any]], BaseChatModel]

SOURCES_HEADER = (
    "Answer from the sources below only, and cite them as [1], [2]. If they do not answer "
    "the question, say you don't know.\n"
    "请只根据下列资料回答，并用 [1]、[2] 标注出处；资料中没有答案时请说不知道。\n\nSources 资料:"
)


@dataclass
class ChatEvent:
    """One thing that happened during a turn.

    kinds: ``start`` {conversation_id, user_message_id, title}; ``notice`` {message};
    ``citations`` {citations}; ``token`` {text}; ``tool_call`` {id, name, args, step};
    ``tool_result`` {id, name, content, error, step}; ``error`` {message, status_code};
    ``done`` {conversation_id, message_id, status, content, refused, dropped}.
    """

    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, **self.data}


@dataclass
class _Plan:
    conversation: Conversation
    persona: Persona
    user_message: Message
    model: BaseChatModel
    kb: str | None
    tools: list[str]


@dataclass
class _State:
    text: str = ""
    status: str = "complete"
    citations: list[dict[str, Any]] = field(default_factory=list)
    tool_events: list[dict[str, Any]] = field(default_factory=list)
    refused: bool = False
    dropped: int = 0
    saved: Message | None = None
    stored: bool = False


class Turn:
    """A running (lazy) turn: iterate it for events, or :meth:`stop` it."""

    def __init__(
        self, conversation_id: int, stop_event: threading.Event, events: Iterator[ChatEvent]
    ):
        self.conversation_id = conversation_id
        self.stop_event = stop_event
        self._events = events

    def __iter__(self) -> Iterator[ChatEvent]:
        return self._events

    def stop(self) -> None:
        self.stop_event.set()

    def threaded(self) -> Iterator[ChatEvent]:
        """Run the turn in one worker thread and hand its events over a queue.

        Why: servers (Starlette, Gradio) pull each item of a sync generator on whichever pool
        thread is free, but the SQLite connection and the model lock belong to one thread.
        Closing this iterator (client gone) stops the turn, which then stores its partial answer.
        """
        box: queue.Queue[ChatEvent | BaseException | None] = queue.Queue(maxsize=256)

        def work() -> None:
            try:
                for event in self._events:
                    box.put(event)
            except BaseException as exc:  # handed to the consumer thread
                box.put(exc)
            finally:
                box.put(None)

        worker = threading.Thread(
            target=work, name=f"chat-turn-{self.conversation_id}", daemon=True
        )
        worker.start()
        ended = False
        try:
            while True:
                item = box.get()
                if item is None:
                    ended = True
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            if not ended:  # the consumer left early: stop the turn, drain to the end mark
                self.stop_event.set()
                # The worker always puts None last, and draining keeps it from blocking on a
                # full queue. No timed wait: under libfaketime (``make test-at``) one never
                # wakes, and a stopped answer would hang its page.
                while box.get() is not None:
                    pass


class ChatService:
    """Conversations, personas and the chat turn for one data directory."""

    def __init__(
        self, settings: Settings | None = None, *, model_factory: ModelFactory | None = None
    ) -> None:
        self.settings = settings or get_settings()
        self.store = ConversationStore(self.settings)
        self.personas = PersonaStore(self.settings)
        self.model_factory = model_factory or self._default_model
        self._active: dict[int, threading.Event] = {}
        self._busy: set[int] = set()  # conversations with a submitted turn (and its queue)
        self._lock = threading.Lock()

    def _default_model(self, spec: str | None, params: dict[str, Any]) -> BaseChatModel:
        from llmapps.models import get_chat_model

        return get_chat_model(spec, app="chat", settings=self.settings, **params)

    # conversations -------------------------------------------------------------------------
    def new_conversation(
        self,
        *,
        persona: str | None = None,
        model: str | None = None,
        kb: str | None = None,
        memory: str | None = None,
        tools: list[str] | None = None,
        title: str = "",
        access: Access = LOCAL,
    ) -> Conversation:
        check_spec(model, self.settings, access)
        persona_name = persona or self.settings.chat.persona
        self.personas.get(persona_name)
        if kb:
            self._check_kb(kb)
        return self.store.create(
            title, persona=persona_name, model=model, kb=kb, memory=memory, tools=tools
        )

    def configure(
        self,
        conversation_id: int,
        *,
        persona: str | None = None,
        model: str | None = None,
        kb: str | None = None,
        memory: str | None = None,
        tools: list[str] | None = None,
        title: str | None = None,
        access: Access = LOCAL,
    ) -> Conversation:
        """Change a conversation's persona/model/KB/memory/tools (``""`` clears one)."""
        check_spec(model, self.settings, access)
        if persona:
            self.personas.get(persona)
        if kb:
            self._check_kb(kb)
        return self.store.update(
            conversation_id,
            persona=persona,
            model=model,
            kb=kb,
            memory=memory,
            tools=tools,
            title=title,
        )

    def attach_files(
        self,
        conversation_id: int | None,
        files: list[Path],
        *,
        persona: str | None = None,
        model: str | None = None,
        memory: str | None = None,
        tools: list[str] | None = None,
        access: Access = LOCAL,
    ) -> tuple[Conversation, dict[str, Any]]:
        """Add files to the conversation's knowledge base (``chat-ID``, created when it has none).

        Why here: a file dropped on the chat, posted to the API or named in the CLI all mean
        "answer from this too"; a new conversation is created first when needed.
        """
        from llmapps.chat.uploads import add_uploaded_files

        if conversation_id is None:
            conv = self.new_conversation(
                persona=persona, model=model, memory=memory, tools=tools, access=access
            )
        else:
            conv = self.store.get(conversation_id)
        kb = conv.kb or f"chat-{conv.id}"
        report = add_uploaded_files(kb, files, settings=self.settings)
        if conv.kb != kb:
            conv = self.store.update(conv.id, kb=kb)
        return conv, report

    def check_model(self, model: str | None, access: Access) -> None:
        """Refuse a model this caller may not use, before any work (the page checks early so
        the typed message stays in its box)."""
        check_spec(model, self.settings, access)

    def _check_kb(self, kb: str) -> None:
        kbmod = _kb_module()
        known = kbmod.list_kbs(self.settings)
        names = [getattr(k, "name", k) for k in known]
        if kb not in names:
            raise ChatError(
                f"knowledge base '{kb}' not found (known: {', '.join(map(str, names)) or 'none'}; "
                f"create it with 'llmapps kb create {kb}')"
            )

    # turns ---------------------------------------------------------------------------------
    def send(
        self,
        conversation_id: int | None,
        text: str,
        *,
        persona: str | None = None,
        model: str | None = None,
        kb: str | None = None,
        memory: str | None = None,
        tools: list[str] | None = None,
        stop_event: threading.Event | None = None,
        access: Access = LOCAL,
    ) -> Turn:
        """Add the user's message and answer it. Validation errors raise before streaming.

        ``access``: a remote caller (HTTP, web UI) may only name the models the guard allows."""
        text = text.strip()
        if not text:
            raise ChatError("empty message: type something to send")
        if conversation_id is None:
            conv = self.new_conversation(
                persona=persona, model=model, kb=kb, memory=memory, tools=tools, access=access
            )
        else:
            conv = self.configure(
                conversation_id,
                persona=persona,
                model=model,
                kb=kb,
                memory=memory,
                tools=tools,
                access=access,
            )
        plan_args = self._plan_args(conv)
        user = self.store.add_message(conv.id, "user", text)
        return self._turn(conv.id, user, plan_args, stop_event)

    def submit(
        self,
        conversation_id: int | None,
        text: str,
        *,
        persona: str | None = None,
        model: str | None = None,
        kb: str | None = None,
        memory: str | None = None,
        tools: list[str] | None = None,
        access: Access = LOCAL,
    ) -> Turn | Message:
        """Send now, or queue behind the answer that is still streaming.

        Returns a :class:`Turn` that answers this message and then every message queued
        meanwhile (iterate it to the end), or the stored ``queued`` :class:`Message` when
        another turn of the conversation is running: that turn answers it next. Why: a user
        who presses Enter while an answer streams expects the message to be kept and answered.
        """
        text = text.strip()
        if not text:
            raise ChatError("empty message: type something to send")
        check_spec(model, self.settings, access)  # before a queued message is stored
        if conversation_id is not None:
            with self._lock:
                if conversation_id in self._busy:
                    self.store.get(conversation_id)
                    return self.store.add_message(conversation_id, "user", text, status="queued")
                self._busy.add(conversation_id)
        try:
            turn = self.send(
                conversation_id,
                text,
                persona=persona,
                model=model,
                kb=kb,
                memory=memory,
                tools=tools,
                access=access,
            )
        except BaseException:
            if conversation_id is not None:
                with self._lock:
                    self._busy.discard(conversation_id)
            raise
        with self._lock:
            self._busy.add(turn.conversation_id)
        return Turn(turn.conversation_id, turn.stop_event, self._drain(turn))

    def _drain(self, first: Turn) -> Iterator[ChatEvent]:
        """The first turn's events, then one turn per queued message, oldest first."""
        cid = first.conversation_id
        released = False
        try:
            yield from first._events
            while True:
                with self._lock:
                    waiting = self.store.queued(cid)
                    if not waiting:
                        self._busy.discard(cid)
                        released = True
                        return
                user = self.store.attach_queued(waiting[0].id)
                try:
                    plan_args = self._plan_args(self.store.get(cid))
                except LlmappsError as exc:
                    yield ChatEvent("error", {"message": str(exc), "status_code": exc.status_code})
                    continue
                yield from self._turn(cid, user, plan_args, None)._events
        finally:
            if not released:
                with self._lock:
                    self._busy.discard(cid)

    def regenerate(
        self,
        conversation_id: int,
        message_id: int | None = None,
        *,
        stop_event: threading.Event | None = None,
    ) -> Turn:
        """Answer a user turn again; the earlier answer stays as another version.

        ``message_id`` is the answer (or the question) to regenerate; default: the last one.
        """
        conv = self.store.get(conversation_id)
        if message_id is None:
            user = self._last_user(conversation_id, "regenerate")
        else:
            msg = self._own_message(conversation_id, message_id)
            user = (
                msg
                if msg.role == "user"
                else self._own_message(conversation_id, msg.parent_id or 0)
            )
        plan_args = self._plan_args(conv)
        self.store.set_leaf(conversation_id, user.id)
        return self._turn(conversation_id, user, plan_args, stop_event)

    def edit(
        self,
        conversation_id: int,
        message_id: int,
        text: str,
        *,
        stop_event: threading.Event | None = None,
    ) -> Turn:
        """Change any user turn: the conversation branches there (the old branch is kept as
        an earlier version) and the new text is answered."""
        text = text.strip()
        if not text:
            raise ChatError("empty message: give the new text of your message")
        conv = self.store.get(conversation_id)
        old = self._own_message(conversation_id, message_id)
        if old.role != "user":
            raise ChatError("only your own messages can be edited; regenerate an answer instead")
        plan_args = self._plan_args(conv)
        user = self.store.add_message(conversation_id, "user", text, parent_id=old.parent_id)
        return self._turn(conversation_id, user, plan_args, stop_event)

    def edit_last(
        self, conversation_id: int, text: str, *, stop_event: threading.Event | None = None
    ) -> Turn:
        """Change the last user message and answer again (the old one stays as a version)."""
        if not text.strip():
            raise ChatError("empty message: give the new text of your last message")
        user = self._last_user(conversation_id, "edit")
        return self.edit(conversation_id, user.id, text, stop_event=stop_event)

    def switch_version(self, conversation_id: int, message_id: int, step: int) -> Conversation:
        """Show the previous (``step=-1``) or next (``+1``) version of a message."""
        self._own_message(conversation_id, message_id)
        versions = self.store.versions(message_id)
        index = next(i for i, m in enumerate(versions) if m.id == message_id)
        target = versions[max(0, min(len(versions) - 1, index + step))]
        return self.store.select(conversation_id, target.id)

    def delete_message(self, conversation_id: int, message_id: int) -> Conversation:
        """Delete a message and what followed it (every branch below it)."""
        self._own_message(conversation_id, message_id)
        with self._lock:
            if conversation_id in self._busy:
                raise ChatError("an answer is still streaming: stop it first, then delete")
        return self.store.delete_message(conversation_id, message_id)

    def _own_message(self, conversation_id: int, message_id: int) -> Message:
        msg = self.store.message(message_id)
        if msg.conversation_id != conversation_id:
            raise ChatError(f"message {message_id} is not part of conversation {conversation_id}")
        return msg

    def stop(self, conversation_id: int) -> bool:
        """Stop the running turn of a conversation; False when none is running."""
        with self._lock:
            event = self._active.get(conversation_id)
        if event is None:
            return False
        event.set()
        return True

    def _last_user(self, conversation_id: int, action: str) -> Message:
        for message in reversed(self.store.messages(conversation_id)):
            if message.role == "user":
                return message
        raise ChatError(f"nothing to {action}: send a message first")

    def _plan_args(
        self, conv: Conversation
    ) -> tuple[Persona, BaseChatModel, str | None, list[str]]:
        persona = self.personas.get(conv.persona or self.settings.chat.persona)
        kb = conv.kb or persona.kb
        if persona.kb_only and not kb:
            raise ChatError(
                f"persona '{persona.name}' answers only from a knowledge base: attach one "
                "(--kb NAME, /kb NAME, or the knowledge-base picker)"
            )
        model = self.model_factory(conv.model or persona.model, persona.params())
        tools = list(conv.tools if conv.tools is not None else persona.tools)
        return persona, model, kb, tools

    def _turn(
        self,
        conversation_id: int,
        user: Message,
        plan_args: tuple[Persona, BaseChatModel, str | None, list[str]],
        stop_event: threading.Event | None,
    ) -> Turn:
        persona, model, kb, tools = plan_args
        plan = _Plan(self.store.get(conversation_id), persona, user, model, kb, tools)
        stop = stop_event or threading.Event()
        return Turn(conversation_id, stop, self._run(plan, stop))

    def _run(self, plan: _Plan, stop: threading.Event) -> Iterator[ChatEvent]:
        conv_id = plan.conversation.id
        with self._lock:
            self._active[conv_id] = stop
        state = _State()
        try:
            yield ChatEvent(
                "start",
                {
                    "conversation_id": conv_id,
                    "user_message_id": plan.user_message.id,
                    "title": self.store.get(conv_id).title,
                },
            )
            try:
                yield from self._produce(plan, stop, state)
            except GeneratorExit:
                raise
            except LlmappsError as exc:
                state.status = "error"
                yield ChatEvent("error", {"message": str(exc), "status_code": exc.status_code})
            except Exception as exc:  # shown to the user, logged for us
                log.exception("chat turn failed")
                state.status = "error"
                yield ChatEvent(
                    "error",
                    {"message": scrub(f"{type(exc).__name__}: {exc}"), "status_code": 500},
                )
            if stop.is_set() and state.status == "complete":
                state.status = "stopped"
            message = self._save(plan, state)
            yield ChatEvent(
                "done",
                {
                    "conversation_id": conv_id,
                    "message_id": message.id if message else None,
                    "status": state.status,
                    "content": state.text,
                    "refused": state.refused,
                    "dropped": state.dropped,
                },
            )
        except GeneratorExit:  # the consumer went away: keep what was produced
            state.status = "stopped" if state.status == "complete" else state.status
            self._save(plan, state)
            raise
        finally:
            with self._lock:
                if self._active.get(conv_id) is stop:
                    del self._active[conv_id]

    def _save(self, plan: _Plan, state: _State) -> Message | None:
        if state.stored:
            return state.saved
        state.stored = True
        message: Message | None = None
        if state.text or state.tool_events or state.status in ("complete", "stopped"):
            message = self.store.add_message(
                plan.conversation.id,
                "assistant",
                state.text,
                citations=state.citations,
                tool_events=state.tool_events,
                status=state.status,
                parent_id=plan.user_message.id,
            )
        state.saved = message
        return message

    def _produce(self, plan: _Plan, stop: threading.Event, state: _State) -> Iterator[ChatEvent]:
        conv, persona, question = plan.conversation, plan.persona, plan.user_message.content
        strategy = conv.memory or persona.memory or self.settings.chat.memory
        window = persona.window_turns or self.settings.chat.window_turns
        history = self.store.messages(conv.id, plan.user_message.parent_id)

        hits: list[dict[str, Any]] = []
        if plan.kb:
            hits = self._retrieve(plan.kb, question)
            if not hits:
                state.refused = True
                state.text = refusal(persona, plan.kb, question)
                yield ChatEvent("citations", {"citations": []})
                yield ChatEvent("token", {"text": state.text})
                return
        if strategy == "summary":
            conv = update_summary(self.store, conv, history, plan.model, self.settings, window)

        tools = self._tools(plan) if plan.tools else []
        extra = _tools_tokens(plan.model, tools)
        while True:
            try:
                memory = build_messages(
                    model=plan.model,
                    settings=self.settings,
                    system=persona.system_prompt,
                    history=history,
                    question=question,
                    strategy=strategy,
                    window_turns=window,
                    summary=conv.summary,
                    summary_upto=conv.summary_upto,
                    sources=_sources_block(hits),
                    extra_tokens=extra,
                )
                break
            except ContextOverflowError:
                if len(hits) <= 1:
                    raise
                hits = hits[:-1]  # fewer sources before giving up
        state.dropped = memory.dropped
        for note in memory.notes:
            yield ChatEvent("notice", {"message": note})
        if hits:
            state.citations = hits
            yield ChatEvent("citations", {"citations": hits})

        if plan.tools:
            yield from self._agent(plan, memory.messages, tools, stop, state)
            return
        prompt = ChatPromptTemplate.from_messages([MessagesPlaceholder("messages")])
        chain = prompt | plan.model
        stream: Iterator[Any] = chain.stream({"messages": memory.messages})
        try:
            for chunk in stream:
                if stop.is_set():
                    state.status = "stopped"
                    break
                piece = chunk.content if isinstance(chunk.content, str) else ""
                if piece:
                    state.text += piece
                    yield ChatEvent("token", {"text": piece})
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()

    def _tools(self, plan: _Plan) -> list[BaseTool]:
        try:
            from llmapps.chat.tools import build_tools
        except ImportError as exc:  # pragma: no cover - depends on the tools package
            raise ChatError(f"agent mode is not available ({exc}): detach the tools") from None
        return build_tools(self.settings, kb=plan.kb, names=plan.tools)

    def _agent(
        self,
        plan: _Plan,
        messages: list[BaseMessage],
        tools: list[BaseTool],
        stop: threading.Event,
        state: _State,
    ) -> Iterator[ChatEvent]:
        from llmapps.chat.agent import run_agent

        streamed = ""
        for event in run_agent(
            plan.model,
            messages,
            tools,
            max_steps=self.settings.chat.agent_max_steps,
            stop_event=stop,
        ):
            data = {k: _jsonable(v) for k, v in event.data.items()}
            if event.kind == "token":
                text = str(data.get("text", ""))
                streamed += text
                state.text += text
                yield ChatEvent("token", {"text": text})
            elif event.kind in ("tool_call", "tool_result"):
                state.tool_events.append({"kind": event.kind, **data})
                yield ChatEvent(event.kind, data)
            elif event.kind == "final":
                final = str(data.get("text") or "")
                if data.get("reason") == "cancelled":
                    state.status = "stopped"
                if final and not streamed:
                    yield ChatEvent("token", {"text": final})
                state.text = final or state.text
            elif event.kind == "error":
                state.status = "error"
                yield ChatEvent("error", {"message": str(data.get("message", "agent failed"))})

    def _retrieve(self, kb: str, question: str) -> list[dict[str, Any]]:
        """Hits at or above ``chat.kb_threshold`` as citation dicts (numbered from 1)."""
        kbmod = _kb_module()
        found = kbmod.search(kb, question, k=self.settings.chat.kb_top_k, settings=self.settings)
        good = [h for h in found if h.score >= self.settings.chat.kb_threshold]
        return [
            {
                "n": i,
                "source": h.source,
                "location": h.location,
                "score": round(float(h.score), 4),
                "chunk_id": h.chunk_id,
                "text": h.text,
            }
            for i, h in enumerate(good, start=1)
        ]


def _kb_module() -> Any:
    try:
        from llmapps.chat import kb as kbmod
    except ImportError as exc:
        raise ChatError(
            f"knowledge bases are not available ({exc}): detach the knowledge base"
        ) from None
    return kbmod


def _tools_tokens(model: BaseChatModel, tools: list[BaseTool]) -> int:
    """Room for what the agent adds: tool descriptions, the ReAct format and one observation."""
    if not tools:
        return 0
    count = token_counter(model)
    described = "\n".join(f"{t.name}: {t.description} {json.dumps(t.args)}" for t in tools)
    return count(described) + 300


def _sources_block(hits: list[dict[str, Any]]) -> str:
    if not hits:
        return ""
    parts = [SOURCES_HEADER]
    for hit in hits:
        parts.append(f"[{hit['n']}] {hit['source']} ({hit['location']})\n{hit['text'].strip()}")
    return "\n\n".join(parts)


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def refusal(persona: Persona, kb: str, question: str) -> str:
    """What to say when retrieval found nothing good enough: the persona's hand-off, or
    "I don't know" in the user's language. Never a guess."""
    if persona.handoff:
        return persona.handoff
    if _has_cjk(question):
        return f"抱歉，知识库“{kb}”中没有与这个问题相关的内容，我不知道答案。"
    return f"I don't know: the knowledge base '{kb}' has nothing relevant to this question."


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


_services: dict[str, ChatService] = {}
_services_lock = threading.Lock()


def get_service(settings: Settings | None = None) -> ChatService:
    """The shared service of a data directory (so ``stop`` reaches the running turn)."""
    settings = settings or get_settings()
    key = str(settings.db_path.resolve())
    with _services_lock:
        service = _services.get(key)
        if service is None or service.settings != settings:
            service = _services[key] = ChatService(settings)
        return service
