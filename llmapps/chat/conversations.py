"""Saved conversations and their messages in SQLite.

Why a small store class instead of an ORM: the chat turn, the CLI, the web tab and the HTTP
routes all need the same handful of operations (create, list, rename, delete, search, export,
append / edit / drop messages), and plain portable SQL keeps PostgreSQL a drop-in later.
Every message keeps its citations and tool events as JSON so an answer can be shown again
exactly as it was produced.

Why a tree: editing any user turn or regenerating an answer adds a sibling message (same
``parent_id``) instead of overwriting, so earlier versions stay and can be flipped back to
(‹ 1/2 ›). The conversation's ``leaf_id`` says which branch is shown; :meth:`messages` is the
path from the first message to that leaf, which is what memory, export and the views use.
A message typed while an answer is still streaming is stored at once with status ``queued``
(no parent yet) and joins the branch when its turn comes, so it is never lost.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from llmapps.chat.schema import chat_db
from llmapps.config import Settings, get_settings
from llmapps.errors import LlmappsError

MEMORY_STRATEGIES = ("full", "window", "summary")
ROLES = ("user", "assistant", "system")


class ConversationError(LlmappsError):
    """Bad input about a conversation (unknown strategy, empty title…)."""


class ConversationNotFound(ConversationError):
    status_code = 404


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Message:
    id: int
    conversation_id: int
    role: str
    content: str
    citations: list[dict[str, Any]] = field(default_factory=list)
    tool_events: list[dict[str, Any]] = field(default_factory=list)
    status: str = "complete"  # complete | stopped | error | queued
    created_at: str = ""
    parent_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_langchain(self) -> BaseMessage:
        if self.role == "user":
            return HumanMessage(self.content)
        if self.role == "assistant":
            return AIMessage(self.content)
        return SystemMessage(self.content)


@dataclass
class Conversation:
    id: int
    title: str
    persona: str | None = None
    model: str | None = None
    kb: str | None = None
    memory: str | None = None
    tools: list[str] | None = None
    summary: str = ""
    summary_upto: int = 0
    created_at: str = ""
    updated_at: str = ""
    leaf_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_CONV_FIELDS = ("title", "persona", "model", "kb", "memory", "tools", "summary", "summary_upto")


def _conv(row: Any) -> Conversation:
    data = dict(row)
    data["tools"] = json.loads(data["tools"]) if data.get("tools") else None
    return Conversation(**data)


def _msg(row: Any) -> Message:
    data = dict(row)
    data["citations"] = json.loads(data["citations"] or "[]")
    data["tool_events"] = json.loads(data["tool_events"] or "[]")
    return Message(**data)


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class ConversationStore:
    """Conversations and messages of one data directory."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.db = chat_db(self.settings)

    # conversations -------------------------------------------------------------------------
    def create(
        self,
        title: str = "",
        *,
        persona: str | None = None,
        model: str | None = None,
        kb: str | None = None,
        memory: str | None = None,
        tools: list[str] | None = None,
    ) -> Conversation:
        _check_memory(memory)
        stamp = now()
        cur = self.db.execute(
            "INSERT INTO chat_conversations(title, persona, model, kb, memory, tools, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                title.strip(),
                persona or None,
                model or None,
                kb or None,
                memory or None,
                json.dumps(tools) if tools else None,
                stamp,
                stamp,
            ),
        )
        return self.get(int(cur.lastrowid or 0))

    def get(self, conversation_id: int) -> Conversation:
        row = self.db.query_one("SELECT * FROM chat_conversations WHERE id = ?", (conversation_id,))
        if row is None:
            raise ConversationNotFound(
                f"conversation {conversation_id} not found (list them with 'llmapps chat' /list)"
            )
        return _conv(row)

    def all(self, limit: int = 200) -> list[Conversation]:
        rows = self.db.query(
            "SELECT * FROM chat_conversations ORDER BY updated_at DESC, id DESC LIMIT ?", (limit,)
        )
        return [_conv(r) for r in rows]

    def update(self, conversation_id: int, **fields: Any) -> Conversation:
        """Change settings of a conversation; ``None`` values are left as they are.

        An empty string clears an optional field (persona, model, kb, memory).
        """
        self.get(conversation_id)
        changes: dict[str, Any] = {}
        for key, value in fields.items():
            if key not in _CONV_FIELDS:
                raise ConversationError(f"unknown conversation field '{key}'")
            if value is None:
                continue
            if key == "memory":
                _check_memory(value or None)
            if key == "tools":
                value = json.dumps(list(value)) if value else None
            elif key in ("persona", "model", "kb", "memory"):
                value = value or None
            changes[key] = value
        if not changes:
            return self.get(conversation_id)
        sets = ", ".join(f"{k} = ?" for k in changes)
        self.db.execute(
            f"UPDATE chat_conversations SET {sets}, updated_at = ? WHERE id = ?",
            (*changes.values(), now(), conversation_id),
        )
        return self.get(conversation_id)

    def rename(self, conversation_id: int, title: str) -> Conversation:
        if not title.strip():
            raise ConversationError("empty title: give the conversation a non-empty name")
        return self.update(conversation_id, title=title.strip())

    def delete(self, conversation_id: int) -> None:
        self.get(conversation_id)
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM chat_messages WHERE conversation_id = ?", (conversation_id,))
            conn.execute("DELETE FROM chat_conversations WHERE id = ?", (conversation_id,))

    def search(self, query: str, limit: int = 50) -> list[dict[str, Any]]:
        """Conversations whose title or any message contains ``query`` (case-insensitive).

        Each result is ``{"conversation": …, "snippet": …, "message_id": …}``; the snippet is
        the matching text around the hit so a user can tell results apart.
        """
        if not query.strip():
            raise ConversationError("empty search: give a word or phrase to look for")
        pattern = _like(query.strip())
        out: dict[int, dict[str, Any]] = {}
        for row in self.db.query(
            "SELECT * FROM chat_conversations WHERE LOWER(title) LIKE ? ESCAPE '\\' "
            "ORDER BY updated_at DESC LIMIT ?",
            (pattern, limit),
        ):
            conv = _conv(row)
            out[conv.id] = {
                "conversation": conv.to_dict(),
                "snippet": conv.title,
                "message_id": None,
            }
        for row in self.db.query(
            "SELECT m.id AS mid, m.content AS content, c.* FROM chat_messages m "
            "JOIN chat_conversations c ON c.id = m.conversation_id "
            "WHERE LOWER(m.content) LIKE ? ESCAPE '\\' ORDER BY c.updated_at DESC, m.id LIMIT ?",
            (pattern, limit * 5),
        ):
            data = dict(row)
            mid, content = data.pop("mid"), data.pop("content")
            if data["id"] in out:
                continue
            out[data["id"]] = {
                "conversation": _conv(data).to_dict(),
                "snippet": _snippet(content, query.strip()),
                "message_id": mid,
            }
        return list(out.values())[:limit]

    # messages ------------------------------------------------------------------------------
    def add_message(
        self,
        conversation_id: int,
        role: str,
        content: str,
        *,
        citations: list[dict[str, Any]] | None = None,
        tool_events: list[dict[str, Any]] | None = None,
        status: str = "complete",
        parent_id: int | object | None = ...,
    ) -> Message:
        """Append a message under ``parent_id`` (default: the shown leaf) and show it.

        A ``queued`` message gets no parent and leaves the shown branch alone until
        :meth:`attach_queued` puts it in place.
        """
        if role not in ROLES:
            raise ConversationError(f"unknown role '{role}' (use one of {', '.join(ROLES)})")
        conv = self.get(conversation_id)
        queued = status == "queued"
        parent: int | None = None
        if not queued:
            parent = conv.leaf_id if parent_id is ... else cast("int | None", parent_id)
        stamp = now()
        with self.db.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO chat_messages(conversation_id, role, content, citations, "
                "tool_events, status, created_at, parent_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conversation_id,
                    role,
                    content,
                    json.dumps(citations or [], ensure_ascii=False),
                    json.dumps(tool_events or [], ensure_ascii=False),
                    status,
                    stamp,
                    parent,
                ),
            )
            new_id = int(cur.lastrowid or 0)
            title = conv.title
            if not title and role == "user":
                title = _auto_title(content)
            conn.execute(
                "UPDATE chat_conversations SET updated_at = ?, title = ?, leaf_id = ? WHERE id = ?",
                (stamp, title, conv.leaf_id if queued else new_id, conversation_id),
            )
        if not queued:
            self._reset_summary_if_off_branch(conv, parent)
        return self.message(new_id)

    def message(self, message_id: int) -> Message:
        row = self.db.query_one("SELECT * FROM chat_messages WHERE id = ?", (message_id,))
        if row is None:
            raise ConversationNotFound(f"message {message_id} not found")
        return _msg(row)

    def all_messages(self, conversation_id: int) -> list[Message]:
        """Every message of the conversation, all branches and queued ones, oldest first."""
        rows = self.db.query(
            "SELECT * FROM chat_messages WHERE conversation_id = ? ORDER BY id", (conversation_id,)
        )
        return [_msg(r) for r in rows]

    def messages(self, conversation_id: int, leaf_id: int | object | None = ...) -> list[Message]:
        """The shown branch: the path from the first message to ``leaf_id`` (default: the
        conversation's current leaf), oldest first."""
        leaf = self.get(conversation_id).leaf_id if leaf_id is ... else leaf_id
        if leaf is None:
            return []
        by_id = {m.id: m for m in self.all_messages(conversation_id)}
        path: list[Message] = []
        current = by_id.get(int(leaf))  # type: ignore[call-overload]
        while current is not None and len(path) <= len(by_id):
            path.append(current)
            current = by_id.get(current.parent_id) if current.parent_id is not None else None
        return path[::-1]

    def versions(self, message_id: int) -> list[Message]:
        """The message and its siblings (same parent, same role): its versions, oldest first."""
        msg = self.message(message_id)
        return self._siblings(msg.conversation_id, msg)

    def select(self, conversation_id: int, message_id: int) -> Conversation:
        """Show the branch through ``message_id``: its newest descendant becomes the leaf."""
        msg = self.message(message_id)
        if msg.conversation_id != conversation_id or msg.status == "queued":
            raise ConversationNotFound(
                f"message {message_id} is not part of conversation {conversation_id}"
            )
        children: dict[int, list[Message]] = {}
        for m in self.all_messages(conversation_id):
            if m.parent_id is not None and m.status != "queued":
                children.setdefault(m.parent_id, []).append(m)
        leaf = msg
        while children.get(leaf.id):
            leaf = children[leaf.id][-1]
        conv = self.get(conversation_id)
        self.db.execute(
            "UPDATE chat_conversations SET leaf_id = ? WHERE id = ?", (leaf.id, conversation_id)
        )
        self._reset_summary_if_off_branch(conv, leaf.id)
        return self.get(conversation_id)

    def delete_message(self, conversation_id: int, message_id: int) -> Conversation:
        """Delete a message with everything that followed it on any branch.

        The shown branch moves to the newest remaining version of the message, or to its parent.
        """
        msg = self.message(message_id)
        if msg.conversation_id != conversation_id:
            raise ConversationNotFound(
                f"message {message_id} is not part of conversation {conversation_id}"
            )
        every = self.all_messages(conversation_id)
        doomed = {message_id}
        for m in every:  # ids grow along a branch, so one pass in id order finds the subtree
            if m.parent_id in doomed:
                doomed.add(m.id)
        marks = ",".join("?" * len(doomed))
        self.db.execute(f"DELETE FROM chat_messages WHERE id IN ({marks})", tuple(doomed))
        conv = self.get(conversation_id)
        if conv.leaf_id in doomed or conv.leaf_id is None:
            rest = [v for v in self._siblings(conversation_id, msg) if v.id not in doomed]
            if rest:
                return self.select(conversation_id, rest[-1].id)
            self.db.execute(
                "UPDATE chat_conversations SET leaf_id = ?, summary = '', summary_upto = 0 "
                "WHERE id = ?",
                (msg.parent_id, conversation_id),
            )
        return self.get(conversation_id)

    def _siblings(self, conversation_id: int, msg: Message) -> list[Message]:
        return [
            m
            for m in self.all_messages(conversation_id)
            if m.parent_id == msg.parent_id and m.role == msg.role and m.status != "queued"
        ]

    def queued(self, conversation_id: int) -> list[Message]:
        """User messages waiting for the running answer to finish, oldest first."""
        rows = self.db.query(
            "SELECT * FROM chat_messages WHERE conversation_id = ? AND status = 'queued' "
            "ORDER BY id",
            (conversation_id,),
        )
        return [_msg(r) for r in rows]

    def attach_queued(self, message_id: int) -> Message:
        """Put a queued message at the end of the shown branch: its turn has come."""
        msg = self.message(message_id)
        conv = self.get(msg.conversation_id)
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE chat_messages SET status = 'complete', parent_id = ? WHERE id = ?",
                (conv.leaf_id, message_id),
            )
            conn.execute(
                "UPDATE chat_conversations SET leaf_id = ?, updated_at = ? WHERE id = ?",
                (message_id, now(), conv.id),
            )
        return self.message(message_id)

    def set_leaf(self, conversation_id: int, message_id: int | None) -> None:
        """Show the branch that ends at ``message_id`` (a turn about to get a new answer)."""
        self.db.execute(
            "UPDATE chat_conversations SET leaf_id = ? WHERE id = ?", (message_id, conversation_id)
        )

    def update_message(self, message_id: int, content: str) -> Message:
        self.message(message_id)
        self.db.execute("UPDATE chat_messages SET content = ? WHERE id = ?", (content, message_id))
        return self.message(message_id)

    def delete_messages_after(self, conversation_id: int, message_id: int) -> int:
        """Drop every message of the conversation newer than ``message_id``."""
        cur = self.db.execute(
            "DELETE FROM chat_messages WHERE conversation_id = ? AND id > ?",
            (conversation_id, message_id),
        )
        self.db.execute(
            "UPDATE chat_conversations SET leaf_id = ? WHERE id = ?", (message_id, conversation_id)
        )
        conv = self.get(conversation_id)
        if conv.summary_upto > message_id:  # the summary covered dropped text: start again
            self.update(conversation_id, summary="", summary_upto=0)
        return int(cur.rowcount or 0)

    def _reset_summary_if_off_branch(self, conv: Conversation, leaf: int | None) -> None:
        """A running summary covers one branch: moving to another one starts it again."""
        if not conv.summary_upto:
            return
        if conv.summary_upto not in {m.id for m in self.messages(conv.id, leaf)}:
            self.update(conv.id, summary="", summary_upto=0)

    def clear(self, conversation_id: int) -> None:
        self.db.execute("DELETE FROM chat_messages WHERE conversation_id = ?", (conversation_id,))
        self.db.execute(
            "UPDATE chat_conversations SET leaf_id = NULL WHERE id = ?", (conversation_id,)
        )
        self.update(conversation_id, summary="", summary_upto=0)

    # export --------------------------------------------------------------------------------
    def export_json(self, conversation_id: int) -> dict[str, Any]:
        conv = self.get(conversation_id)
        return {
            "conversation": conv.to_dict(),
            "messages": [m.to_dict() for m in self.messages(conversation_id)],
        }

    def export_markdown(self, conversation_id: int) -> str:
        conv = self.get(conversation_id)
        lines = [f"# {conv.title or f'Conversation {conv.id}'}", ""]
        meta = [
            f"{k}: {v}"
            for k, v in (
                ("persona", conv.persona),
                ("model", conv.model),
                ("knowledge base", conv.kb),
            )
            if v
        ]
        lines += [f"*{' · '.join([*meta, f'created {conv.created_at}'])}*", ""]
        for msg in self.messages(conversation_id):
            who = {"user": "You 你", "assistant": "Assistant 助手"}.get(msg.role, msg.role)
            lines += [f"## {who}", ""]
            for event in msg.tool_events:
                if event.get("kind") == "tool_call":
                    lines.append(f"> tool `{event.get('name')}` {json.dumps(event.get('args'))}")
                elif event.get("kind") == "tool_result":
                    lines.append(f"> result: {str(event.get('content', ''))[:500]}")
            if msg.tool_events:
                lines.append("")
            lines += [msg.content, ""]
            if msg.status != "complete":
                lines += [f"*({msg.status})*", ""]
            if msg.citations:
                lines.append("Sources 来源:")
                for c in msg.citations:
                    lines.append(f"- [{c.get('n')}] {c.get('source')}, {c.get('location')}")
                lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def history(self, conversation_id: int) -> SQLiteChatMessageHistory:
        return SQLiteChatMessageHistory(self, conversation_id)


class SQLiteChatMessageHistory(BaseChatMessageHistory):
    """LangChain's chat-history interface over our tables (for RunnableWithMessageHistory)."""

    def __init__(self, store: ConversationStore, conversation_id: int) -> None:
        self.store = store
        self.conversation_id = conversation_id
        store.get(conversation_id)

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        return [m.to_langchain() for m in self.store.messages(self.conversation_id)]

    def add_messages(self, messages: Any) -> None:
        for message in messages:
            role = {"human": "user", "ai": "assistant", "system": "system"}.get(message.type)
            if role is None:
                continue
            self.store.add_message(self.conversation_id, role, str(message.content))

    def clear(self) -> None:
        self.store.clear(self.conversation_id)


def _check_memory(memory: str | None) -> None:
    if memory is not None and memory not in MEMORY_STRATEGIES:
        raise ConversationError(
            f"unknown memory strategy '{memory}' (use one of {', '.join(MEMORY_STRATEGIES)})"
        )


def _auto_title(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 40 else line[:39] + "…"


def _snippet(text: str, query: str, width: int = 60) -> str:
    pos = text.lower().find(query.lower())
    if pos < 0:
        return text[: width * 2]
    start = max(0, pos - width)
    end = min(len(text), pos + len(query) + width)
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
