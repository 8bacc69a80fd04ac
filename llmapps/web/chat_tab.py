"""The Chat tab: conversations, persona/model/knowledge-base pickers, streamed answers.

Only presentation lives here: every action calls the chat service (the same one behind the
CLI and HTTP) and turns its events into the Chatbot's messages. Tool calls and results show
as collapsible messages while they happen; sources are listed under the answer.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from llmapps.access import REMOTE
from llmapps.chat.conversations import Message
from llmapps.chat.service import ChatService, Turn, get_service
from llmapps.config import Settings
from llmapps.errors import LlmappsError

NO_KB = "(none 无)"

Outputs = tuple[Any, ...]


def _kb_names(settings: Settings) -> list[str]:
    try:
        from llmapps.chat.kb import list_kbs

        return [str(getattr(k, "name", k)) for k in list_kbs(settings)]
    except (ImportError, LlmappsError):
        return []


def _tool_names(settings: Settings) -> list[str]:
    try:
        from llmapps.chat.tools import build_tools

        return [t.name for t in build_tools(settings)] + ["kb_search"]
    except (ImportError, LlmappsError):
        return []


def _conversation_choices(service: ChatService, query: str = "") -> list[tuple[str, int]]:
    if query.strip():
        convs = [hit["conversation"] for hit in service.store.search(query.strip())]
        return [(f"{c['title'] or '(untitled)'} · #{c['id']}", int(c["id"])) for c in convs]
    return [(f"{c.title or '(untitled)'} · #{c.id}", c.id) for c in service.store.all()]


def citations_markdown(citations: list[dict[str, Any]]) -> str:
    if not citations:
        return ""
    lines = ["**Sources 来源**"]
    for c in citations:
        lines.append(f"- [{c['n']}] `{c['source']}`, {c['location']} (score {c['score']:.2f})")
    return "\n".join(lines)


def _tool_message(event: dict[str, Any]) -> dict[str, Any]:
    if event.get("kind") == "tool_call" or event.get("type") == "tool_call":
        args = json.dumps(event.get("args"), ensure_ascii=False)
        return {
            "role": "assistant",
            "content": f"`{event.get('name')}({args})`",
            "metadata": {"title": f"🔧 {event.get('name')}", "status": "pending"},
        }
    text = str(event.get("content", ""))
    return {
        "role": "assistant",
        "content": text if len(text) < 2000 else text[:2000] + "…",
        "metadata": {"title": f"✅ {event.get('name')} result 结果", "status": "done"},
    }


def history_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """Stored messages -> Chatbot messages (tool events and sources included)."""
    out: list[dict[str, Any]] = []
    for msg in messages:
        if msg.role == "user":
            out.append({"role": "user", "content": msg.content})
            continue
        out += [_tool_message(e) for e in msg.tool_events]
        content = msg.content
        if msg.status == "stopped":
            content += " *(stopped 已停止)*"
        if msg.citations:
            content += "\n\n" + citations_markdown(msg.citations)
        out.append({"role": "assistant", "content": content})
    return out


def build(settings: Settings) -> None:
    service = get_service(settings)
    personas = service.personas.names()
    default_persona = settings.chat.persona if settings.chat.persona in personas else None
    models = [settings.models.default, *settings.models.aliases]
    conv_id = gr.State(None)

    with gr.Row():
        with gr.Column(scale=1, min_width=260):
            new_btn = gr.Button("New chat 新对话", elem_id="chat-new")
            search = gr.Textbox(
                label="Search 搜索", placeholder="title or text 标题或内容", elem_id="chat-search"
            )
            conversations = gr.Radio(
                choices=_conversation_choices(service),
                label="Conversations 对话",
                elem_id="chat-conversations",
            )
            refresh_btn = gr.Button("↻ Refresh 刷新", size="sm", elem_id="chat-refresh")
            with gr.Accordion("Manage 管理", open=False):
                rename_box = gr.Textbox(label="New title 新标题", elem_id="chat-rename")
                rename_btn = gr.Button("Rename 重命名", size="sm", elem_id="chat-rename-btn")
                delete_btn = gr.Button(
                    "Delete 删除", size="sm", variant="stop", elem_id="chat-delete"
                )
                export_fmt = gr.Radio(["md", "json"], value="md", label="Format 格式")
                export_btn = gr.Button("Export 导出", size="sm", elem_id="chat-export")
                export_file = gr.File(label="Export file", elem_id="chat-export-file")
            with gr.Accordion("Knowledge base files 知识库文件", open=False):
                kb_name = gr.Textbox(label="Knowledge base 知识库名称", elem_id="chat-kb-name")
                kb_files = gr.File(
                    file_count="multiple",
                    label="PDF / Markdown / text / DOCX / Q&A",
                    elem_id="chat-kb-files",
                )
                kb_add_btn = gr.Button("Add 添加", size="sm", elem_id="chat-kb-add")
                kb_result = gr.Markdown(elem_id="chat-kb-result")
        with gr.Column(scale=3):
            with gr.Row():
                persona = gr.Dropdown(
                    personas, value=default_persona, label="Persona 角色", elem_id="chat-persona"
                )
                model = gr.Dropdown(
                    models,
                    value=None,
                    allow_custom_value=True,
                    label="Model 模型 (empty: persona/default)",
                    elem_id="chat-model",
                )
                kb = gr.Dropdown(
                    [NO_KB, *_kb_names(settings)],
                    value=NO_KB,
                    label="Knowledge base 知识库",
                    elem_id="chat-kb",
                )
                memory = gr.Dropdown(
                    ["window", "full", "summary"],
                    value=settings.chat.memory,
                    label="Memory 记忆",
                    elem_id="chat-memory",
                )
            tools = gr.CheckboxGroup(
                _tool_names(settings),
                label="Tools 工具 (agent mode 智能体模式 when any is ticked)",
                elem_id="chat-tools",
            )
            chatbot = gr.Chatbot(elem_id="chat-chatbot", height=460, label="Chat 对话")
            citations = gr.Markdown(elem_id="chat-citations")
            status = gr.Markdown(elem_id="chat-status")
            with gr.Row():
                message = gr.Textbox(
                    placeholder="Message 输入消息… (Enter to send)",
                    show_label=False,
                    scale=5,
                    elem_id="chat-input",
                )
                send_btn = gr.Button("Send 发送", variant="primary", elem_id="chat-send")
            with gr.Row():
                stop_btn = gr.Button("Stop 停止", elem_id="chat-stop")
                regen_btn = gr.Button("Regenerate 重新生成", elem_id="chat-regenerate")
                edit_btn = gr.Button("Edit last 修改上一条 (uses the box)", elem_id="chat-edit")

    def stream(turn: Turn) -> Iterator[Outputs]:
        # the stored messages already hold the new user message (and no replaced answer)
        shown = history_messages(service.store.messages(turn.conversation_id))
        answer: dict[str, Any] = {"role": "assistant", "content": ""}
        shown.append(answer)
        cites: list[dict[str, Any]] = []
        tool_msgs: dict[str, dict[str, Any]] = {}
        note = ""
        choices = gr.update()
        for event in turn.threaded():
            data = event.data
            if event.kind == "start":
                choices = gr.update(
                    choices=_conversation_choices(service), value=turn.conversation_id
                )
            elif event.kind == "token":
                answer["content"] += data["text"]
            elif event.kind == "citations":
                cites = list(data.get("citations", []))
            elif event.kind == "tool_call":
                msg = _tool_message({"kind": "tool_call", **data})
                tool_msgs[str(data.get("id"))] = msg
                shown.insert(len(shown) - 1, msg)
            elif event.kind == "tool_result":
                call = tool_msgs.get(str(data.get("id")))
                if call is not None:
                    call["metadata"]["status"] = "done"
                shown.insert(len(shown) - 1, _tool_message({"kind": "tool_result", **data}))
            elif event.kind == "notice":
                note = f"ℹ️ {data['message']}"
            elif event.kind == "error":
                note = f"❌ {data['message']}"
            elif event.kind == "done":
                if data.get("status") == "stopped":
                    answer["content"] += " *(stopped 已停止)*"
                if cites:
                    answer["content"] += "\n\n" + citations_markdown(cites)
                if not note:
                    note = f"✓ {data.get('status')}"
                choices = gr.update(
                    choices=_conversation_choices(service), value=turn.conversation_id
                )
            yield shown, citations_markdown(cites), note, turn.conversation_id, choices
            choices = gr.update()

    def _opts(
        persona_v: str | None,
        model_v: str | None,
        kb_v: str | None,
        memory_v: str | None,
        tools_v: list[str] | None,
    ) -> dict[str, Any]:
        return {
            "persona": persona_v or None,
            "model": (model_v or "").strip(),
            "kb": "" if not kb_v or kb_v == NO_KB else kb_v,
            "memory": memory_v or None,
            "tools": list(tools_v or []),
        }

    def on_send(
        text: str,
        cid: int | None,
        persona_v: str | None,
        model_v: str | None,
        kb_v: str | None,
        memory_v: str | None,
        tools_v: list[str] | None,
    ) -> Iterator[Outputs]:
        try:
            opts = _opts(persona_v, model_v, kb_v, memory_v, tools_v)
            turn = service.send(cid, text or "", **opts, access=REMOTE)  # the page is remote
        except LlmappsError as exc:
            raise gr.Error(str(exc)) from None
        for outputs in stream(turn):
            yield (*outputs, "")

    def on_regenerate(cid: int | None) -> Iterator[Outputs]:
        if cid is None:
            raise gr.Error("nothing to regenerate: send a message first")
        try:
            turn = service.regenerate(cid)
        except LlmappsError as exc:
            raise gr.Error(str(exc)) from None
        for outputs in stream(turn):
            yield (*outputs, gr.update())

    def on_edit(text: str, cid: int | None) -> Iterator[Outputs]:
        if cid is None:
            raise gr.Error("nothing to edit: send a message first")
        try:
            turn = service.edit_last(cid, text or "")
        except LlmappsError as exc:
            raise gr.Error(str(exc)) from None
        for outputs in stream(turn):
            yield (*outputs, "")

    def on_stop(cid: int | None) -> str:
        if cid is not None and service.stop(cid):
            return "⏹ stopping… 正在停止"
        return "nothing is running 没有正在生成的回答"

    def on_select(cid: int | None) -> Outputs:
        if cid is None:
            return [], "", "", None, *(gr.update() for _ in pickers)
        try:
            conv = service.store.get(int(cid))
        except LlmappsError as exc:
            raise gr.Error(str(exc)) from None
        msgs = service.store.messages(conv.id)
        last = next((m for m in reversed(msgs) if m.role == "assistant"), None)
        return (
            history_messages(msgs),
            citations_markdown(last.citations if last else []),
            "",
            conv.id,
            gr.update(value=conv.persona),
            gr.update(value=conv.model),
            gr.update(value=conv.kb or NO_KB),
            gr.update(value=conv.memory or settings.chat.memory),
            gr.update(value=conv.tools or []),
        )

    def on_new() -> Outputs:
        return [], "", "", None, gr.update(value=None)

    def on_refresh(query: str) -> Outputs:
        return (
            gr.update(choices=_conversation_choices(service, query or "")),
            gr.update(choices=service.personas.names()),
            gr.update(choices=[NO_KB, *_kb_names(settings)]),
        )

    def on_rename(cid: int | None, title: str) -> Outputs:
        if cid is None:
            raise gr.Error("open a conversation first 请先选择对话")
        try:
            service.store.rename(cid, title or "")
        except LlmappsError as exc:
            raise gr.Error(str(exc)) from None
        return gr.update(choices=_conversation_choices(service), value=cid), ""

    def on_delete(cid: int | None) -> Outputs:
        if cid is None:
            raise gr.Error("open a conversation first 请先选择对话")
        service.store.delete(cid)
        return gr.update(choices=_conversation_choices(service), value=None), [], "", None

    def on_export(cid: int | None, fmt: str) -> str:
        if cid is None:
            raise gr.Error("open a conversation first 请先选择对话")
        folder = Path(tempfile.mkdtemp(prefix="llmapps-chat-"))
        path = folder / f"conversation-{cid}.{fmt}"
        if fmt == "json":
            data = service.store.export_json(cid)
            path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        else:
            path.write_text(service.store.export_markdown(cid), encoding="utf-8")
        return str(path)

    def on_kb_add(name: str, files: list[str] | None) -> Outputs:
        from llmapps.chat.uploads import add_uploaded_files

        name = (name or "").strip()
        if not name:
            raise gr.Error("give the knowledge base a name 请输入知识库名称")
        try:
            report = add_uploaded_files(name, [Path(f) for f in files or []], settings=settings)
        except LlmappsError as exc:
            raise gr.Error(str(exc)) from None
        lines = [f"**{name}**: {report['chunks']} chunks 片段"]
        lines += [f"- added 已添加: {f}" for f in report["added"]]
        lines += [f"- unchanged 未变: {f}" for f in report["unchanged"]]
        lines += [f"- ❌ {f['file']}: {f['error']}" for f in report["failed"]]
        return "\n".join(lines), gr.update(choices=[NO_KB, *_kb_names(settings)], value=name)

    pickers = [persona, model, kb, memory, tools]
    turn_outputs = [chatbot, citations, status, conv_id, conversations, message]
    send_event = send_btn.click(
        on_send, [message, conv_id, *pickers], turn_outputs, concurrency_limit=4
    )
    message.submit(on_send, [message, conv_id, *pickers], turn_outputs, concurrency_limit=4)
    regen_btn.click(on_regenerate, [conv_id], turn_outputs, concurrency_limit=4)
    edit_btn.click(on_edit, [message, conv_id], turn_outputs, concurrency_limit=4)
    stop_btn.click(on_stop, [conv_id], [status], queue=False)
    conversations.input(on_select, [conversations], [chatbot, citations, status, conv_id, *pickers])
    new_btn.click(on_new, None, [chatbot, citations, status, conv_id, conversations])
    refresh_btn.click(on_refresh, [search], [conversations, persona, kb])
    search.submit(on_refresh, [search], [conversations, persona, kb])
    rename_btn.click(on_rename, [conv_id, rename_box], [conversations, rename_box])
    delete_btn.click(on_delete, [conv_id], [conversations, chatbot, citations, conv_id])
    kb_add_btn.click(on_kb_add, [kb_name, kb_files], [kb_result, kb])
    export_btn.click(on_export, [conv_id, export_fmt], [export_file])
    del send_event
