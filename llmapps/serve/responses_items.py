"""Responses API items <-> the chat messages, tools and formats the engine understands.

Why a translation layer and not a second engine path: the engine already renders chat
messages (with tool calls and tool results), tool schemas and JSON grammars for every model;
the Responses API is another spelling of the same conversation. Input items are normalised
once (``normalize_input``) into the shape we store and echo, so a stored conversation read back
through ``previous_response_id`` goes through the very same conversion as a fresh request.
Every refusal names the offending field (``input[2].content[0]``) and what to send instead.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from llmapps.serve.errors import BadRequestError

_INPUT_ROLES = {"user", "system", "developer", "assistant"}
_TEXT_PARTS = {"input_text", "output_text", "text"}
# Items a client may send back from earlier turns that carry nothing a local model can use.
_SKIPPED_ITEMS = {"reasoning"}


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


# -- input ---------------------------------------------------------------------------------------
def normalize_input(value: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The request's ``input`` as a list of normalised items (messages, calls, call outputs)."""
    if isinstance(value, str):
        return [_message("user", [_text_part("user", value)], None)] if value else []
    items: list[dict[str, Any]] = []
    for i, raw in enumerate(value):
        where = f"input[{i}]"
        kind = raw.get("type") or ("message" if "role" in raw else None)
        if kind == "message":
            items.append(_normalize_message(raw, where))
        elif kind == "function_call":
            items.append(_normalize_call(raw, where))
        elif kind == "function_call_output":
            items.append(_normalize_call_output(raw, where))
        elif kind in _SKIPPED_ITEMS:
            continue
        elif kind is None:
            raise BadRequestError(
                f"{where}: an item needs a 'type' (message, function_call, function_call_output) "
                "or a 'role'",
                param=where,
            )
        else:
            raise BadRequestError(
                f"{where}: item type '{kind}' is not supported by this server (send message, "
                "function_call or function_call_output items)",
                param=where,
            )
    return items


def _text_part(role: str, text: str) -> dict[str, Any]:
    if role == "assistant":
        return {"type": "output_text", "text": text, "annotations": []}
    return {"type": "input_text", "text": text}


def _message(role: str, content: list[dict[str, Any]], item_id: str | None) -> dict[str, Any]:
    return {
        "id": item_id or new_id("msg"),
        "type": "message",
        "role": role,
        "content": content,
        "status": "completed",
    }


def _normalize_message(raw: dict[str, Any], where: str) -> dict[str, Any]:
    role = raw.get("role")
    if role not in _INPUT_ROLES:
        raise BadRequestError(
            f"{where}.role: must be one of user, system, developer, assistant (got {role!r})",
            param=f"{where}.role",
        )
    content = raw.get("content")
    if isinstance(content, str):
        parts = [_text_part(role, content)]
    elif isinstance(content, list):
        parts = []
        for j, part in enumerate(content):
            kind = part.get("type") if isinstance(part, dict) else None
            if kind in _TEXT_PARTS and isinstance(part.get("text"), str):
                parts.append(_text_part(role, part["text"]))
            elif kind == "refusal" and isinstance(part.get("refusal"), str):
                parts.append({"type": "refusal", "refusal": part["refusal"]})
            else:
                raise BadRequestError(
                    f"{where}.content[{j}]: only text parts (input_text/output_text with a "
                    f"'text' string) are supported by local models (got {kind!r})",
                    param=f"{where}.content[{j}]",
                )
    else:
        raise BadRequestError(
            f"{where}.content: send a string or a list of input_text parts",
            param=f"{where}.content",
        )
    item_id = raw.get("id") if isinstance(raw.get("id"), str) else None
    return _message(role, parts, item_id)


def _normalize_call(raw: dict[str, Any], where: str) -> dict[str, Any]:
    name, call_id, args = raw.get("name"), raw.get("call_id"), raw.get("arguments", "")
    if not isinstance(name, str) or not name:
        raise BadRequestError(
            f"{where}.name: a function_call needs the function's name", param=where
        )
    if not isinstance(call_id, str) or not call_id:
        raise BadRequestError(f"{where}.call_id: a function_call needs its call_id", param=where)
    if isinstance(args, dict):
        args = json.dumps(args, ensure_ascii=False)
    if not isinstance(args, str):
        raise BadRequestError(
            f"{where}.arguments: send the arguments as a JSON string", param=f"{where}.arguments"
        )
    item_id = raw.get("id") if isinstance(raw.get("id"), str) else None
    return {
        "id": item_id or new_id("fc"),
        "type": "function_call",
        "status": "completed",
        "arguments": args,
        "call_id": call_id,
        "name": name,
    }


def _normalize_call_output(raw: dict[str, Any], where: str) -> dict[str, Any]:
    call_id, output = raw.get("call_id"), raw.get("output")
    if not isinstance(call_id, str) or not call_id:
        raise BadRequestError(
            f"{where}.call_id: a function_call_output needs the call_id of its function_call",
            param=f"{where}.call_id",
        )
    if isinstance(output, list):
        texts = []
        for j, part in enumerate(output):
            if not (isinstance(part, dict) and isinstance(part.get("text"), str)):
                raise BadRequestError(
                    f"{where}.output[{j}]: only input_text parts are supported",
                    param=f"{where}.output[{j}]",
                )
            texts.append(part["text"])
        output = "".join(texts)
    if not isinstance(output, str):
        raise BadRequestError(
            f"{where}.output: send the function's result as a string", param=f"{where}.output"
        )
    item_id = raw.get("id") if isinstance(raw.get("id"), str) else None
    return {
        "id": item_id or new_id("fco"),
        "type": "function_call_output",
        "call_id": call_id,
        "output": output,
        "status": "completed",
    }


def to_messages(items: list[dict[str, Any]], instructions: str | None) -> list[dict[str, Any]]:
    """Chat messages for the engine: ``instructions`` first, calls and results as tool turns."""
    messages: list[dict[str, Any]] = []
    if instructions:
        messages.append({"role": "system", "content": instructions})
    names: dict[str, str] = {}
    for i, item in enumerate(items):
        if item["type"] == "message":
            role = "system" if item["role"] == "developer" else item["role"]
            text = "".join(
                p.get("text") or p.get("refusal") or ""
                for p in item["content"]
                if isinstance(p, dict)
            )
            messages.append({"role": role, "content": text})
        elif item["type"] == "function_call":
            names[item["call_id"]] = item["name"]
            call = {
                "id": item["call_id"],
                "type": "function",
                "function": {"name": item["name"], "arguments": item["arguments"]},
            }
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant" and "tool_call_id" not in last:
                last.setdefault("tool_calls", []).append(call)
            else:
                messages.append({"role": "assistant", "content": "", "tool_calls": [call]})
        else:  # function_call_output
            name = names.get(item["call_id"])
            if name is None:
                raise BadRequestError(
                    f"input[{i}]: no function_call with call_id '{item['call_id']}' comes before "
                    "this function_call_output (send the call too, or continue with "
                    "previous_response_id)",
                    param="input",
                )
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": item["call_id"],
                    "name": name,
                    "content": item["output"],
                }
            )
    if len(messages) == (1 if instructions else 0):
        raise BadRequestError(
            "input is empty: send a string or at least one message", param="input"
        )
    return messages


# -- tools ---------------------------------------------------------------------------------------
def function_tools(tools: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The request's tools as echoed in a response (function tools only; others are a 400)."""
    echoed = []
    for i, tool in enumerate(tools or []):
        where = f"tools[{i}]"
        if tool.get("type") != "function":
            raise BadRequestError(
                f"{where}: only function tools are supported by this server "
                f"(got type {tool.get('type')!r})",
                param=where,
            )
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            raise BadRequestError(
                f"{where}.name: a function tool needs a name (Responses tools are flat: "
                "{type, name, description, parameters})",
                param=f"{where}.name",
            )
        params = tool.get("parameters")
        if params is not None and not isinstance(params, dict):
            raise BadRequestError(
                f"{where}.parameters: must be a JSON schema object", param=f"{where}.parameters"
            )
        echoed.append(
            {
                "type": "function",
                "name": name,
                "description": tool.get("description"),
                "parameters": params,
                "strict": tool.get("strict", True),
            }
        )
    return echoed


def chat_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flat Responses function tools in the chat completions shape the engine reads."""
    return [
        {
            "type": "function",
            "function": {
                "name": t["name"],
                "description": t["description"] or "",
                "parameters": t["parameters"] or {"type": "object", "properties": {}},
            },
        }
        for t in tools
    ]


def tool_choice(
    choice: str | dict[str, Any] | None, tools: list[dict[str, Any]]
) -> tuple[Any, Any, list[dict[str, Any]]]:
    """``(engine tool_choice, echoed tool_choice, tools offered)`` for a request's choice.

    ``allowed_tools`` narrows the tools offered to the model; a named function forces that one.
    """
    names = [t["name"] for t in tools]
    if choice is None:
        return "auto", "auto", tools
    if isinstance(choice, str):
        if choice not in ("auto", "none", "required"):
            raise BadRequestError(
                f"tool_choice: '{choice}' is not one of auto, none, required (or send "
                '{"type": "function", "name": …})',
                param="tool_choice",
            )
        if choice == "required" and not tools:
            raise BadRequestError(
                "tool_choice 'required' needs at least one function in tools", param="tool_choice"
            )
        return choice, choice, tools
    kind = choice.get("type")
    if kind == "function":
        name = choice.get("name")
        if name not in names:
            raise BadRequestError(
                f"tool_choice names function {name!r} but tools has no function of that name "
                f"(tools: {', '.join(names) or 'none'})",
                param="tool_choice",
            )
        return (
            {"type": "function", "function": {"name": name}},
            {"type": "function", "name": name},
            tools,
        )
    if kind == "allowed_tools":
        mode = choice.get("mode", "auto")
        allowed = [t.get("name") for t in choice.get("tools") or [] if isinstance(t, dict)]
        unknown = [n for n in allowed if n not in names]
        if mode not in ("auto", "required") or not allowed or unknown:
            raise BadRequestError(
                "tool_choice allowed_tools: mode must be auto or required and tools must name "
                f"functions from tools (unknown: {', '.join(map(str, unknown)) or 'none'})",
                param="tool_choice",
            )
        offered = [t for t in tools if t["name"] in allowed]
        return mode, choice, offered
    raise BadRequestError(
        f"tool_choice type {kind!r} is not supported (use auto, none, required, or "
        '{"type": "function", "name": …})',
        param="tool_choice",
    )


# -- text format ---------------------------------------------------------------------------------
def text_format(fmt: dict[str, Any] | None) -> tuple[Any, dict[str, Any]]:
    """``(engine format, echoed format)`` for ``text.format``: text, json_object, json_schema."""
    kind = (fmt or {}).get("type", "text")
    if fmt is None or kind == "text":
        return None, {"type": "text"}
    if kind == "json_object":
        return "json", {"type": "json_object"}
    if kind != "json_schema":
        raise BadRequestError(
            f"text.format.type: '{kind}' is not one of text, json_object, json_schema",
            param="text.format.type",
        )
    name, schema = fmt.get("name"), fmt.get("schema")
    if not isinstance(name, str) or not name:
        raise BadRequestError(
            "text.format.name: a json_schema format needs a name", param="text.format.name"
        )
    if not isinstance(schema, dict):
        raise BadRequestError(
            "text.format.schema: a json_schema format needs a JSON schema object",
            param="text.format.schema",
        )
    echoed = {
        "type": "json_schema",
        "description": fmt.get("description"),
        "name": name,
        "schema": schema,
        "strict": bool(fmt.get("strict", False)),
    }
    return schema, echoed
