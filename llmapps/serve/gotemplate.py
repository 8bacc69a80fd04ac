"""Ollama's ``TEMPLATE``: Go's ``text/template`` with the data and the rendering rules Ollama uses.

Why: a Modelfile's TEMPLATE is a Go template, and models pulled from the Ollama registry bring
their own. :mod:`llmapps.serve.gotmpl` is the language (all of it); this module is what Ollama's
``template`` package adds around it: ``missingkey=zero`` and the ``json`` function, the
``{{ .Response }}`` appended to templates that name neither ``.Messages`` nor ``.Response``,
consecutive messages of one role merged (``collate``), the system messages joined into
``.System``, and legacy templates (no ``.Messages``) rendered turn by turn and cut after the last
``{{ .Response }}``. The data has Ollama's Go types: ``.Messages`` are ``api.Message`` s (``.Role``
``.Content`` ``.Thinking`` ``.ToolCalls`` ``.ToolName``), ``.Tools`` print as JSON, tool-call
``.Function.Arguments`` print as JSON (``ToolCallFunctionArguments.String()``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from llmapps.serve.errors import BadRequestError
from llmapps.serve.gotmpl import GoTemplateError, Template
from llmapps.serve.gotmpl.parse import (
    ActionNode,
    BranchNode,
    CommandNode,
    FieldNode,
    ListNode,
    Node,
    PipeNode,
    TemplateNode,
    VariableNode,
)
from llmapps.serve.gotmpl.values import GoStruct, OrderedMap, TypedNil, to_json


class TemplateError(BadRequestError):
    """The TEMPLATE is not a valid Go template, or failed while rendering (Go's message)."""


# -- Ollama's api types, as the template sees them --------------------------------------------


class Arguments(OrderedMap):
    """``api.ToolCallFunctionArguments``: a map that prints as its JSON (insertion order)."""

    def go_string(self) -> str:
        return to_json(self)


@dataclass
class ToolCallFunction(GoStruct):
    GO_TYPE = "api.ToolCallFunction"
    FIELDS = (("Index", "index", True), ("Name", "name", False), ("Arguments", "arguments", False))
    Name: str = ""
    Arguments: Arguments = field(default_factory=Arguments)
    Index: int = 0


@dataclass
class ToolCall(GoStruct):
    GO_TYPE = "api.ToolCall"
    FIELDS = (("ID", "id", True), ("Function", "function", False))
    Function: ToolCallFunction = field(default_factory=ToolCallFunction)
    ID: str = ""


@dataclass
class Message(GoStruct):
    GO_TYPE = "api.Message"
    POINTER = True
    FIELDS = (
        ("Role", "role", False),
        ("Content", "content", False),
        ("Thinking", "thinking", True),
        ("Images", "images", True),
        ("ToolCalls", "tool_calls", True),
        ("ToolName", "tool_name", True),
        ("ToolCallID", "tool_call_id", True),
    )
    Role: str = ""
    Content: str = ""
    Thinking: str = ""
    Images: Any = field(default_factory=lambda: TypedNil("[]api.ImageData", "slice"))
    ToolCalls: Any = field(default_factory=lambda: TypedNil("[]api.ToolCall", "slice"))
    ToolName: str = ""
    ToolCallID: str = ""


class PropertyType(list):  # type: ignore[type-arg]
    """``api.PropertyType``: one JSON type prints bare, several print as ``[a b]``."""

    def go_string(self) -> str:
        if not self:
            return ""
        return self[0] if len(self) == 1 else "[" + " ".join(self) + "]"

    def go_json(self) -> str:
        return to_json(self[0]) if len(self) == 1 else to_json(list(self))


class Properties(OrderedMap):
    """``api.ToolPropertiesMap``: ranges in key order like a Go map, marshals in given order."""

    def go_string(self) -> str:
        return to_json(self)


@dataclass
class ToolProperty(GoStruct):
    GO_TYPE = "api.ToolProperty"
    FIELDS = (
        ("AnyOf", "anyOf", True),
        ("Type", "type", True),
        ("Items", "items", True),
        ("Description", "description", True),
        ("Enum", "enum", True),
        ("Properties", "properties", True),
    )
    AnyOf: list[Any] = field(default_factory=list)
    Type: PropertyType = field(default_factory=PropertyType)
    Items: Any = None
    Description: str = ""
    Enum: list[Any] = field(default_factory=list)
    Properties: Any = field(default_factory=lambda: TypedNil("*api.ToolPropertiesMap"))


@dataclass
class ToolFunctionParameters(GoStruct):
    GO_TYPE = "api.ToolFunctionParameters"
    FIELDS = (
        ("Type", "type", False),
        ("Defs", "$defs", True),
        ("Items", "items", True),
        ("Required", "required", True),
        ("Properties", "properties", False),
    )
    Type: str = ""
    Defs: Any = None
    Items: Any = None
    Required: list[str] = field(default_factory=list)
    Properties: Any = field(default_factory=lambda: TypedNil("*api.ToolPropertiesMap"))

    def go_string(self) -> str:
        return to_json(self)


@dataclass
class ToolFunction(GoStruct):
    GO_TYPE = "api.ToolFunction"
    FIELDS = (
        ("Name", "name", False),
        ("Description", "description", True),
        ("Parameters", "parameters", False),
    )
    Name: str = ""
    Description: str = ""
    Parameters: ToolFunctionParameters = field(default_factory=ToolFunctionParameters)

    def go_string(self) -> str:
        return to_json(self)


@dataclass
class Tool(GoStruct):
    GO_TYPE = "api.Tool"
    FIELDS = (("Type", "type", False), ("Items", "items", True), ("Function", "function", False))
    Type: str = ""
    Function: ToolFunction = field(default_factory=ToolFunction)
    Items: Any = None

    def go_string(self) -> str:
        return to_json(self)


class Tools(list):  # type: ignore[type-arg]
    """``api.Tools``: prints as JSON (``null`` when the request has none)."""

    def go_string(self) -> str:
        return to_json(self) if self else "null"

    def go_json(self) -> str:
        return "[" + ",".join(to_json(t) for t in self) + "]" if self else "null"


def _property(data: Any) -> ToolProperty:
    data = data if isinstance(data, dict) else {}
    kind = data.get("type")
    types = PropertyType([kind] if isinstance(kind, str) else [str(k) for k in kind or []])
    props = data.get("properties")
    return ToolProperty(
        AnyOf=[_property(p) for p in data.get("anyOf") or []],
        Type=types,
        Items=data.get("items"),
        Description=str(data.get("description") or ""),
        Enum=list(data.get("enum") or []),
        Properties=_properties(props)
        if isinstance(props, dict)
        else TypedNil("*api.ToolPropertiesMap"),
    )


def _properties(data: dict[str, Any]) -> Properties:
    return Properties((str(k), _property(v)) for k, v in data.items())


def to_tool(data: dict[str, Any]) -> Tool:
    """An OpenAI/Ollama tool definition (JSON) as Ollama's ``api.Tool``."""
    fn: dict[str, Any] = data["function"] if isinstance(data.get("function"), dict) else {}
    params: dict[str, Any] = fn["parameters"] if isinstance(fn.get("parameters"), dict) else {}
    props = params.get("properties")
    return Tool(
        Type=str(data.get("type") or ""),
        Items=data.get("items"),
        Function=ToolFunction(
            Name=str(fn.get("name") or ""),
            Description=str(fn.get("description") or ""),
            Parameters=ToolFunctionParameters(
                Type=str(params.get("type") or ""),
                Defs=params.get("$defs"),
                Items=params.get("items"),
                Required=[str(r) for r in params.get("required") or []],
                Properties=(
                    _properties(props)
                    if isinstance(props, dict)
                    else TypedNil("*api.ToolPropertiesMap")
                ),
            ),
        ),
    )


def _arguments(raw: Any) -> Arguments:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raw = {}
    return Arguments(raw.items() if isinstance(raw, dict) else [])


def to_message(data: dict[str, Any]) -> Message:
    """A chat message (JSON) as Ollama's ``api.Message``."""
    calls = []
    for i, call in enumerate(data.get("tool_calls") or []):
        fn = call.get("function") or {}
        calls.append(
            ToolCall(
                ID=str(call.get("id") or ""),
                Function=ToolCallFunction(
                    Index=int(fn.get("index", i) or 0),
                    Name=str(fn.get("name") or ""),
                    Arguments=_arguments(fn.get("arguments")),
                ),
            )
        )
    return Message(
        Role=str(data.get("role") or ""),
        Content=str(data.get("content") or ""),
        Thinking=str(data.get("thinking") or ""),
        ToolCalls=calls or TypedNil("[]api.ToolCall", "slice"),
        ToolName=str(data.get("tool_name") or data.get("name") or ""),
        ToolCallID=str(data.get("tool_call_id") or ""),
    )


# -- Ollama's template package ----------------------------------------------------------------


def _identifiers(node: Node | None) -> list[str]:
    """Ollama's ``Identifiers``: the field and variable names a tree mentions."""
    if node is None:
        return []
    if isinstance(node, ListNode):
        return [name for child in node.nodes for name in _identifiers(child)]
    if isinstance(node, TemplateNode | ActionNode):
        return _identifiers(node.pipe)
    if isinstance(node, BranchNode):
        names = _identifiers(node.pipe) + _identifiers(node.list)
        return names + _identifiers(node.else_list)
    if isinstance(node, PipeNode):
        return [name for cmd in node.cmds for arg in cmd.args for name in _identifiers(arg)]
    if isinstance(node, FieldNode | VariableNode):
        return list(node.ident)
    return []


_RESPONSE = ActionNode(0, 0, PipeNode(0, 0, cmds=[CommandNode(0, [FieldNode(0, ["Response"])])]))


class OllamaTemplate:
    """A parsed TEMPLATE that renders a conversation as Ollama's ``Template.Execute`` does."""

    def __init__(self, text: str) -> None:
        try:
            self.tmpl = Template("", text)
        except GoTemplateError as exc:
            raise TemplateError(f"TEMPLATE: {exc}", param="template") from None
        self.vars = sorted(
            {name.lower() for tree in self.tmpl.trees.values() for name in _identifiers(tree)}
        )
        if "messages" not in self.vars and "response" not in self.vars:
            self.tmpl.root.nodes.append(_RESPONSE)

    def _run(self, data: dict[str, Any], root: ListNode | None = None) -> str:
        try:
            return self.tmpl.execute(data, root)
        except GoTemplateError as exc:
            raise TemplateError(f"TEMPLATE: {exc}", param="template") from None
        except RecursionError:
            raise TemplateError("TEMPLATE: template nests too deeply", param="template") from None

    def execute(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        *,
        think: bool = False,
        is_think_set: bool = False,
        prompt: str = "",
        suffix: str = "",
    ) -> str:
        """The prompt for ``messages`` (and ``tools``), byte for byte as Ollama renders it."""
        system, collated = collate([to_message(m) for m in messages])
        if prompt and suffix:
            data = {"Prompt": prompt, "Suffix": suffix, "Response": ""}
            return self._run({**data, "Think": think, "IsThinkSet": is_think_set})
        if "messages" in self.vars or "document" in self.vars:
            return self._run(
                {
                    "System": system,
                    "Messages": collated,
                    "Tools": Tools(to_tool(t) for t in tools or []),
                    "Response": "",
                    "Think": think,
                    "IsThinkSet": is_think_set,
                    "Query": "",
                    "Document": "",
                    "Instruction": "",
                }
            )
        return self._legacy(collated, think, is_think_set)

    def _legacy(self, messages: list[Message], think: bool, is_think_set: bool) -> str:
        out: list[str] = []
        turn = {"System": "", "Prompt": "", "Response": ""}

        def execute() -> None:
            out.append(self._run({**turn, "Think": think, "IsThinkSet": is_think_set}))
            turn.update(System="", Prompt="", Response="")

        for msg in messages:
            if msg.Role == "system":
                if turn["Prompt"] or turn["Response"]:
                    execute()
                turn["System"] = msg.Content
            elif msg.Role == "user":
                if turn["Response"]:
                    execute()
                turn["Prompt"] = msg.Content
            elif msg.Role == "assistant":
                turn["Response"] = msg.Content
        cut = _cut_after_response(self.tmpl.root)
        out.append(self._run({**turn, "Think": think, "IsThinkSet": is_think_set}, cut))
        return "".join(out)


def collate(messages: list[Message]) -> tuple[str, list[Message]]:
    """Ollama's ``collate``: system texts joined by a blank line; consecutive messages of one
    role (tool results excepted) merged into one, their contents joined by a blank line."""
    system: list[str] = []
    out: list[Message] = []
    for msg in messages:
        if msg.Role == "system":
            system.append(msg.Content)
        if out and out[-1].Role == msg.Role and msg.Role != "tool":
            out[-1].Content += "\n\n" + msg.Content
        else:
            out.append(msg)
    return "\n\n".join(system), out


def _cut_after_response(root: ListNode) -> ListNode:
    """A copy of the tree without anything after the first ``.Response`` (Ollama's
    ``deleteNode``): the open turn ends where the model's answer begins."""
    cut = False

    def hit(node: Node) -> bool:
        nonlocal cut
        if isinstance(node, FieldNode) and "Response" in node.ident:
            cut = True
            return False
        return cut

    def walk(node: Node) -> Node | None:
        if hit(node):
            return None
        if isinstance(node, ListNode):
            kept = [n for n in (walk(c) for c in node.nodes) if n is not None]
            return ListNode(node.pos, kept)
        if isinstance(node, BranchNode):
            body = walk(node.list)
            other = walk(node.else_list) if node.else_list is not None else None
            return BranchNode(
                node.pos,
                node.line,
                node.pipe,
                body if isinstance(body, ListNode) else ListNode(node.pos),
                other if isinstance(other, ListNode) else None,
                node.kind,
            )
        if isinstance(node, ActionNode):
            pipe = walk(node.pipe)
            if not isinstance(pipe, PipeNode):
                return None
            return ActionNode(node.pos, node.line, pipe)
        if isinstance(node, PipeNode):
            cmds = []
            for cmd in node.cmds:
                args = [a for a in (walk(arg) for arg in cmd.args) if a is not None]
                if not args:
                    return None
                cmds.append(CommandNode(cmd.pos, args))
            if not cmds:
                return None
            return PipeNode(node.pos, node.line, list(node.decl), cmds, node.is_assign)
        return node

    result = walk(root)
    return result if isinstance(result, ListNode) else ListNode(root.pos)


@lru_cache(maxsize=64)
def parsed(text: str) -> OllamaTemplate:
    """Parse once per template text (rendering never changes the tree)."""
    return OllamaTemplate(text)


def parse_template(text: str) -> OllamaTemplate:
    """Check a TEMPLATE at create time: Go's parse errors as :class:`TemplateError`."""
    return parsed(text)


def render_chat(
    template: str,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None = None,
    **kwargs: Any,
) -> str:
    """Render a conversation with a TEMPLATE as Ollama does (see :class:`OllamaTemplate`)."""
    return parsed(template).execute(messages, tools, **kwargs)


def render_template(template: str, data: dict[str, Any]) -> str:
    """Render ``template`` with ``data`` as dot, as plain Go would (no Ollama rules)."""
    try:
        return Template("", template).execute(data)
    except GoTemplateError as exc:
        raise TemplateError(f"TEMPLATE: {exc}", param="template") from None
