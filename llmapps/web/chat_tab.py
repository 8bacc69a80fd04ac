"""The Chat tab: conversation sidebar, full-height messages, the input always at the bottom.

Only presentation lives here: every action calls the chat service (the same one behind the
CLI and HTTP) and turns its events into the Chatbot's messages.

- The sidebar (☰ folds it; on a phone it opens over the chat) lists conversations, filled from
  the store on every page load and after every change made here.
- Persona, model, knowledge base, memory and tools sit in one folded settings drawer.
- The input is never an output of a streaming answer, so it stays editable; a message sent
  while an answer streams is queued by the service (stored at once, answered next).
- Per message: copy and edit (Gradio's own buttons; editing any user turn branches the
  conversation there), and under each answer ‹ 1/2 › to flip versions, ↻ regenerate and
  🗑 delete (confirmed). Those links carry an action the page script hands to a hidden box.
- Sources appear once, as folded entries under the answer that open to the quoted passage.
- Files dropped on the input go into the conversation's knowledge base (one is created).
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
from llmapps.web.common import Redraw, bilingual, on_page_load, user_error

NO_KB = "(none 无)"
QUEUED_NOTE = "\n\n*⏳ queued 排队中*"

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


def _model_choices(settings: Settings) -> list[str]:
    from llmapps.web.playground import model_choices

    return model_choices(settings)


def conversation_choices(service: ChatService, query: str = "") -> list[tuple[str, int]]:
    if query.strip():
        convs = [hit["conversation"] for hit in service.store.search(query.strip())]
        return [(f"{c['title'] or '(untitled)'} · #{c['id']}", int(c["id"])) for c in convs]
    return [(f"{c.title or '(untitled)'} · #{c.id}", c.id) for c in service.store.all()]


def citation_message(c: dict[str, Any]) -> dict[str, Any]:
    """One source as a folded entry: title = number, file and page/line; body = the passage."""
    passage = str(c.get("text") or "").strip() or "(no text stored 无原文)"
    return {
        "role": "assistant",
        "content": "> " + passage.replace("\n", "\n> "),
        "metadata": {
            "title": f"[{c.get('n')}] 📄 {c.get('source')} · {c.get('location')}",
            "status": "done",
        },
    }


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


def _link(label: str, action: str) -> str:
    return f'<a href="#llm:{action}">{label}</a>'


def _flip(label: str, msg: Message, versions: list[Message]) -> str:
    index = next(i for i, v in enumerate(versions) if v.id == msg.id)
    return (
        f"{label} {_link('‹', f'ver:{msg.id}:-1')} {index + 1}/{len(versions)} "
        f"{_link('›', f'ver:{msg.id}:1')}"
    )


def actions_line(service: ChatService, answer: Message, question: Message | None) -> str:
    """The links under an answer: versions of the question and of the answer, ↻, 🗑."""
    parts: list[str] = []
    if question is not None:
        asked = service.store.versions(question.id)
        if len(asked) > 1:
            parts.append(_flip("✎ question 问题", question, asked))
    answers = service.store.versions(answer.id)
    if len(answers) > 1:
        parts.append(_flip("answer 回答", answer, answers))
    parts.append(_link("↻ regenerate 重新生成", f"regen:{answer.id}"))
    parts.append(_link("🗑 delete 删除", f"del:{(question or answer).id}"))
    return "\n\n<sub>" + " · ".join(parts) + "</sub>"


def history_messages(
    service: ChatService, cid: int | None
) -> tuple[list[dict[str, Any]], list[int | None]]:
    """The shown branch as Chatbot messages, and the stored id behind each one (or None)."""
    if cid is None:
        return [], []
    out: list[dict[str, Any]] = []
    ids: list[int | None] = []
    question: Message | None = None
    for msg in service.store.messages(cid):
        if msg.role == "user":
            question = msg
            out.append({"role": "user", "content": msg.content})
            ids.append(msg.id)
            continue
        for event in msg.tool_events:
            out.append(_tool_message(event))
            ids.append(None)
        content = msg.content
        if msg.status == "stopped":
            content += " *(stopped 已停止)*"
        elif msg.status == "error" and not content:
            content = "*(error 出错)*"
        out.append({"role": "assistant", "content": content + actions_line(service, msg, question)})
        ids.append(msg.id)
        for cite in msg.citations:
            out.append(citation_message(cite))
            ids.append(None)
        question = None
    return out, ids


def queued_messages(service: ChatService, cid: int | None) -> list[dict[str, Any]]:
    if cid is None:
        return []
    return [{"role": "user", "content": m.content + QUEUED_NOTE} for m in service.store.queued(cid)]


def build(settings: Settings) -> None:
    service = get_service(settings)
    default_persona = settings.chat.persona
    conv_id = gr.State(None)
    index_map = gr.State([])
    pending = gr.State(None)

    with gr.Row(elem_id="chat-layout", equal_height=False):
        with gr.Column(scale=1, min_width=240, elem_id="chat-sidebar"):
            with gr.Row(equal_height=True):
                new_btn = gr.Button("＋ New chat 新对话", elem_id="chat-new", size="sm", scale=4)
                close = gr.Button(
                    "✕", size="sm", min_width=36, scale=0, elem_id="chat-close-sidebar"
                )
            search = gr.Textbox(
                show_label=False,
                placeholder="🔍 Search 搜索 (Enter)",
                elem_id="chat-search",
                max_lines=1,
            )
            conversations = gr.Radio(
                choices=[], label="Conversations 对话", elem_id="chat-conversations"
            )
            with gr.Accordion("Manage 管理", open=False, elem_id="chat-manage"):
                rename_box = gr.Textbox(label="New title 新标题", elem_id="chat-rename")
                rename_btn = gr.Button("Rename 重命名", size="sm", elem_id="chat-rename-btn")
                delete_btn = gr.Button(
                    "Delete conversation 删除对话", size="sm", variant="stop", elem_id="chat-delete"
                )
                export_fmt = gr.Radio(["md", "json"], value="md", label="Format 格式")
                export_btn = gr.Button("Export 导出", size="sm", elem_id="chat-export")
                export_file = gr.File(label="Export file", elem_id="chat-export-file")
        with gr.Column(scale=4, elem_id="chat-main"):
            with gr.Row(elem_id="chat-topbar"):
                toggle = gr.Button(
                    "☰", size="sm", min_width=40, scale=0, elem_id="chat-toggle-sidebar"
                )
                with gr.Accordion(
                    "⚙ Persona · model · knowledge base · memory · tools 设置",
                    open=False,
                    elem_id="chat-settings",
                ):
                    with gr.Row():
                        persona = gr.Dropdown(
                            [default_persona],
                            value=default_persona,
                            label="Persona 角色",
                            elem_id="chat-persona",
                        )
                        model = gr.Dropdown(
                            [settings.models.default],
                            value=None,
                            allow_custom_value=True,
                            label="Model 模型 (empty: persona/default)",
                            elem_id="chat-model",
                        )
                        kb = gr.Dropdown(
                            [NO_KB], value=NO_KB, label="Knowledge base 知识库", elem_id="chat-kb"
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
                    with gr.Row():
                        kb_name = gr.Textbox(
                            label="Knowledge base 知识库名称", elem_id="chat-kb-name", scale=1
                        )
                        kb_files = gr.File(
                            file_count="multiple",
                            label="Add files 添加文件 (PDF / Markdown / text / DOCX / Q&A)",
                            elem_id="chat-kb-files",
                            scale=2,
                        )
                    kb_add_btn = gr.Button("Add 添加", size="sm", elem_id="chat-kb-add")
                    kb_result = gr.Markdown(elem_id="chat-kb-result")
                stop_btn = gr.Button(
                    "⏹ Stop 停止", size="sm", min_width=60, scale=0, elem_id="chat-stop"
                )
            chatbot = gr.Chatbot(
                elem_id="chat-chatbot",
                label="Chat 对话",
                show_label=False,
                height="100%",
                editable="user",
                buttons=["copy"],
                feedback_options=None,
                group_consecutive_messages=False,
                placeholder="Ask anything, or drop a file below to chat with it.\n\n"
                "问点什么，或把文件拖到下面的输入框，基于文件对话。",
            )
            status = gr.Markdown(elem_id="chat-status")
            with gr.Row(elem_id="chat-inputbar"):
                message = gr.MultimodalTextbox(
                    placeholder="Message 输入消息… (drop files 可拖入文件)",
                    show_label=False,
                    file_count="multiple",
                    sources=["upload"],
                    scale=8,
                    elem_id="chat-input",
                )
            action = gr.Textbox(visible="hidden", elem_id="chat-action")

    pickers = [persona, model, kb, memory, tools]

    def conv_update(cid: int | None, query: str = "") -> Any:
        return gr.update(choices=conversation_choices(service, query), value=cid)

    def stream(turn: Turn) -> Iterator[Outputs]:
        """Show a running turn (and the queued turns after it) as it happens."""
        cid = turn.conversation_id
        shown, ids = history_messages(service, cid)
        answer: dict[str, Any] = {"role": "assistant", "content": ""}
        extra: list[dict[str, Any]] = []  # tool calls/results of the running answer
        note = ""
        redraw = Redraw()
        for event in turn.threaded():
            data = event.data
            if event.kind == "token":
                answer["content"] += data["text"]
                if not redraw.due():
                    continue
            elif event.kind == "start":
                shown, ids = history_messages(service, cid)
                answer = {"role": "assistant", "content": ""}
                extra = []
                note = "⏳ answering… 回答中（可继续输入 you can keep typing）"
            elif event.kind == "tool_call":
                extra.append(_tool_message({"kind": "tool_call", **data}))
            elif event.kind == "tool_result":
                for msg in extra:
                    if msg["metadata"]["status"] == "pending":
                        msg["metadata"]["status"] = "done"
                extra.append(_tool_message({"kind": "tool_result", **data}))
            elif event.kind == "notice":
                note = f"ℹ️ {data['message']}"
            elif event.kind == "error":
                note = f"❌ {bilingual(data['message'])}"
            elif event.kind == "done":
                shown, ids = history_messages(service, cid)
                answer = {}
                extra = []
                if not note.startswith("❌"):
                    note = (
                        "✓ ready 就绪" if data.get("status") == "complete" else "⏹ stopped 已停止"
                    )
            live = [*shown, *extra, *([answer] if answer else [])]
            live_ids = ids + [None] * (len(live) - len(ids))
            queued = queued_messages(service, cid)
            # The conversation list changes when a turn starts or ends, not with each token.
            listing: Any = gr.skip()
            if event.kind != "token":  # a token's redraw was counted by redraw.due()
                listing = conv_update(cid)
                redraw.done()
            yield (live + queued, live_ids + [None] * len(queued), note, cid, listing)

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

    def take(
        value: dict[str, Any] | None,
        persona_v: str | None,
        model_v: str | None,
        kb_v: str | None,
        memory_v: str | None,
        tools_v: list[str] | None,
    ) -> tuple[Any, Any]:
        """Check the message, then empty the input at once and hand the value on.

        A mistake (empty message, a model this page may not use) raises here, before the
        input is emptied, so the typed text stays for the user to fix.
        """
        value = value or {}
        if not str(value.get("text") or "").strip() and not value.get("files"):
            raise user_error("empty message: type something to send")
        try:
            service.check_model(_opts(persona_v, model_v, kb_v, memory_v, tools_v)["model"], REMOTE)
        except LlmappsError as exc:
            raise user_error(exc) from None
        return gr.update(value=None), value

    def on_send(
        value: dict[str, Any] | None,
        cid: int | None,
        persona_v: str | None,
        model_v: str | None,
        kb_v: str | None,
        memory_v: str | None,
        tools_v: list[str] | None,
    ) -> Iterator[Outputs]:
        text = str((value or {}).get("text") or "")
        files = [Path(str(f)) for f in (value or {}).get("files") or []]
        kb_shown: Any = gr.update()
        try:
            opts = _opts(persona_v, model_v, kb_v, memory_v, tools_v)
            if files:
                conv, report = service.attach_files(
                    cid,
                    files,
                    persona=opts["persona"],
                    model=opts["model"],
                    memory=opts["memory"],
                    tools=opts["tools"],
                    access=REMOTE,
                )
                cid = conv.id
                opts["kb"] = conv.kb or ""
                kb_shown = gr.update(choices=[NO_KB, *_kb_names(settings)], value=conv.kb)
                added = ", ".join(Path(f).name for f in report["added"] + report["unchanged"])
                if not text.strip():
                    shown, ids = history_messages(service, cid)
                    yield (
                        shown,
                        ids,
                        f"📎 added to 已加入 **{conv.kb}**: {added}",
                        cid,
                        conv_update(cid),
                        kb_shown,
                    )
                    return
            result = service.submit(cid, text, **opts, access=REMOTE)  # the page is remote
        except LlmappsError as exc:
            raise user_error(exc) from None
        if not isinstance(result, Turn):  # queued behind the running answer
            yield (
                gr.skip(),
                gr.skip(),
                "⏳ queued: answered after the current one 已排队，当前回答后处理",
                gr.skip(),
                gr.skip(),
                kb_shown,
            )
            return
        for outputs in stream(result):
            yield (*outputs, kb_shown)
            kb_shown = gr.update()

    def on_action(text: str, cid: int | None) -> Iterator[Outputs]:
        """``ver:ID:STEP`` flips versions, ``regen:ID`` answers again, ``del:ID`` deletes."""
        if cid is None or not text:
            yield (gr.skip(),) * 5
            return
        parts = text.split("|")[0].split(":")
        try:
            if parts[0] == "ver":
                service.switch_version(int(cid), int(parts[1]), int(parts[2]))
            elif parts[0] == "del":
                service.delete_message(int(cid), int(parts[1]))
            elif parts[0] == "regen":
                yield from stream(service.regenerate(int(cid), int(parts[1])))
                return
        except LlmappsError as exc:
            raise user_error(exc) from None
        except (ValueError, IndexError):
            raise user_error(f"unknown action '{text}': reload the page") from None
        shown, ids = history_messages(service, int(cid))
        yield shown, ids, "", cid, conv_update(int(cid))

    def on_edit(cid: int | None, ids: list[int | None], evt: gr.EditData) -> Iterator[Outputs]:
        index = evt.index if isinstance(evt.index, int) else evt.index[0]
        target = ids[index] if cid is not None and 0 <= index < len(ids) else None
        if target is None:
            raise user_error("message not saved yet: wait until it is answered, then edit it")
        new_text = str(evt.value if not isinstance(evt.value, dict) else evt.value.get("text"))
        try:
            turn = service.edit(int(cid), int(target), new_text)  # type: ignore[arg-type]
        except LlmappsError as exc:
            raise user_error(exc) from None
        yield from stream(turn)

    def on_retry(cid: int | None, ids: list[int | None], evt: gr.RetryData) -> Iterator[Outputs]:
        if cid is None:
            raise user_error("nothing to regenerate: send a message first")
        index = evt.index if isinstance(evt.index, int) else evt.index[0]
        target = next((ids[i] for i in range(index, -1, -1) if ids[i] is not None), None)
        try:
            turn = service.regenerate(int(cid), target)
        except LlmappsError as exc:
            raise user_error(exc) from None
        yield from stream(turn)

    def on_stop(cid: int | None) -> str:
        if cid is not None and service.stop(cid):
            return "⏹ stopping… 正在停止"
        return "nothing is running 没有正在生成的回答"

    def on_select(cid: int | None) -> Outputs:
        if cid is None:
            return [], [], "", None, *(gr.update() for _ in pickers)
        try:
            conv = service.store.get(int(cid))
        except LlmappsError as exc:
            raise user_error(exc) from None
        shown, ids = history_messages(service, conv.id)
        return (
            shown + queued_messages(service, conv.id),
            ids + [None] * len(queued_messages(service, conv.id)),
            "",
            conv.id,
            gr.update(value=conv.persona),
            gr.update(value=conv.model),
            gr.update(value=conv.kb or NO_KB),
            gr.update(value=conv.memory or settings.chat.memory),
            gr.update(value=conv.tools or []),
        )

    def on_new() -> Outputs:
        return [], [], "", None, gr.update(value=None)

    def on_load(query: str) -> Outputs:
        """Every list from the store as it is now (runs on each page load)."""
        personas = service.personas.names()
        return (
            gr.update(choices=conversation_choices(service, query or "")),
            gr.update(choices=personas),
            gr.update(choices=_model_choices(settings)),
            gr.update(choices=[NO_KB, *_kb_names(settings)]),
        )

    def on_search(query: str) -> Any:
        try:
            return gr.update(choices=conversation_choices(service, query or ""))
        except LlmappsError as exc:
            raise user_error(exc) from None

    def on_rename(cid: int | None, title: str) -> Outputs:
        if cid is None:
            raise user_error("open a conversation first")
        try:
            service.store.rename(cid, title or "")
        except LlmappsError as exc:
            raise user_error(exc) from None
        return conv_update(cid), ""

    def on_delete(confirmed: Any, cid: int | None) -> Outputs:
        if not confirmed:
            return (gr.skip(),) * 5
        if cid is None:
            raise user_error("open a conversation first")
        service.store.delete(cid)
        return conv_update(None), [], [], None, "🗑 deleted 已删除"

    def on_export(cid: int | None, fmt: str) -> str:
        if cid is None:
            raise user_error("open a conversation first")
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
            raise user_error("knowledge base name missing: give the knowledge base a name")
        try:
            report = add_uploaded_files(name, [Path(f) for f in files or []], settings=settings)
        except LlmappsError as exc:
            raise user_error(exc) from None
        lines = [f"**{name}**: {report['chunks']} chunks 片段"]
        lines += [f"- added 已添加: {f}" for f in report["added"]]
        lines += [f"- unchanged 未变: {f}" for f in report["unchanged"]]
        lines += [f"- ❌ {f['file']}: {f['error']}" for f in report["failed"]]
        return "\n".join(lines), gr.update(choices=[NO_KB, *_kb_names(settings)], value=name)

    turn_outputs = [chatbot, index_map, status, conv_id, conversations]
    # "multiple": a second Enter while the first answer streams must reach the service,
    # which queues it (Gradio's default drops submits while one is pending).
    message.submit(
        take,
        [message, *pickers],
        [message, pending],
        concurrency_limit=None,
        show_progress="hidden",
        trigger_mode="multiple",
    ).success(
        on_send,
        [pending, conv_id, *pickers],
        [*turn_outputs, kb],
        concurrency_limit=None,
        show_progress="hidden",
        trigger_mode="multiple",
    )
    action.change(
        on_action, [action, conv_id], turn_outputs, concurrency_limit=None, show_progress="hidden"
    )
    chatbot.edit(
        on_edit, [conv_id, index_map], turn_outputs, concurrency_limit=None, show_progress="hidden"
    )
    chatbot.retry(
        on_retry, [conv_id, index_map], turn_outputs, concurrency_limit=None, show_progress="hidden"
    )
    stop_btn.click(on_stop, [conv_id], [status], queue=False)
    conversations.input(on_select, [conversations], [chatbot, index_map, status, conv_id, *pickers])
    new_btn.click(on_new, None, [chatbot, index_map, status, conv_id, conversations])
    search.submit(on_search, [search], [conversations])
    rename_btn.click(on_rename, [conv_id, rename_box], [conversations, rename_box])
    delete_btn.click(
        on_delete,
        [delete_btn, conv_id],
        [conversations, chatbot, index_map, conv_id, status],
        js="(label, cid) => [confirm('Delete this conversation? 删除这个对话？'), cid]",
    )
    kb_add_btn.click(on_kb_add, [kb_name, kb_files], [kb_result, kb])
    export_btn.click(on_export, [conv_id, export_fmt], [export_file])
    toggle.click(None, None, None, js="() => window.llmappsToggleSidebar()")
    close.click(None, None, None, js="() => window.llmappsToggleSidebar()")
    # on a phone the list closes once a conversation is picked
    conversations.input(None, None, None, js="() => window.llmappsCloseSidebarOnPhone()")
    new_btn.click(None, None, None, js="() => window.llmappsCloseSidebarOnPhone()")
    on_page_load(on_load, [search], [conversations, persona, model, kb])
