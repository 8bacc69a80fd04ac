"""A small subset of Go's ``text/template``, enough for common Ollama ``TEMPLATE`` blocks.

Why a subset: Ollama templates are Go templates, and we run them without Go. Supported:
``{{ .Field }}`` / ``{{ $.Field }}`` / ``{{ $var.Field }}``, ``{{- trim -}}`` markers,
``{{ if X }}…{{ else if Y }}…{{ else }}…{{ end }}``, ``{{ range .Messages }}`` and
``{{ range $i, $m := .Messages }}``, ``{{ $x := … }}``, comments ``{{/* … */}}``, string and
number literals, parentheses, and the functions ``eq ne lt gt and or not len json``.
Anything else (pipes ``|``, ``with``, ``define``/``template``, other functions) is a clear
:class:`TemplateError` naming the construct, never a silent wrong prompt.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from llmapps.serve.errors import BadRequestError


class TemplateError(BadRequestError):
    """The TEMPLATE uses Go template syntax outside the supported subset."""


_ACTION = re.compile(r"{{(-?)\s*(.*?)\s*(-?)}}", re.DOTALL)
_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|`[^`]*`)|(?P<num>-?\d+(?:\.\d+)?)|(?P<lp>\()|(?P<rp>\))'
    r"|(?P<word>\$\w*(?:\.\w+)*|\.\w+(?:\.\w+)*|[A-Za-z_]\w*|\.))"
)


@dataclass
class _Node:
    kind: str  # text | expr | if | range | assign
    value: Any = None
    children: list[Any] = field(default_factory=list)  # for if: [(cond, body), ...]
    else_body: list[Any] = field(default_factory=list)
    vars: tuple[str, ...] = ()


def _tokens(expr: str) -> list[str]:
    out: list[str] = []
    pos = 0
    expr = expr.strip()
    while pos < len(expr):
        match = _TOKEN.match(expr, pos)
        if not match or match.end() == pos:
            raise TemplateError(
                f"TEMPLATE: unsupported syntax near '{expr[pos : pos + 20]}' "
                "(see docs/serve.md for the supported Go template subset)"
            )
        out.append(match.group(0).strip())
        pos = match.end()
    return [t for t in out if t]


def _lex(text: str) -> list[tuple[str, str]]:
    """Split into ("text", s) and ("action", s), applying ``{{-`` / ``-}}`` whitespace trims."""
    parts: list[tuple[str, str]] = []
    pos = 0
    trim_next = False
    for match in _ACTION.finditer(text):
        chunk = text[pos : match.start()]
        if trim_next:
            chunk = chunk.lstrip()
        if match.group(1):
            chunk = chunk.rstrip()
        if chunk:
            parts.append(("text", chunk))
        parts.append(("action", match.group(2)))
        trim_next = bool(match.group(3))
        pos = match.end()
    tail = text[pos:]
    if trim_next:
        tail = tail.lstrip()
    if tail:
        parts.append(("text", tail))
    return parts


def parse_template(text: str) -> list[_Node]:
    """Parse the template into a node tree (raises :class:`TemplateError`)."""
    items = _lex(text)
    nodes, _pos, end = _parse_block(items, 0)
    if end is not None:
        raise TemplateError(f"TEMPLATE: '{{{{ {end} }}}}' without a matching if/range")
    return nodes


def _parse_block(items: list[tuple[str, str]], pos: int) -> tuple[list[_Node], int, str | None]:
    nodes: list[_Node] = []
    while pos < len(items):
        kind, value = items[pos]
        pos += 1
        if kind == "text":
            nodes.append(_Node("text", value))
            continue
        if value.startswith("/*"):
            continue
        word = value.split(None, 1)[0] if value else ""
        if word in ("end", "else"):
            return nodes, pos, value
        if word == "if":
            node = _Node("if")
            cond = _tokens(value[2:])
            while True:
                body, pos, ender = _parse_block(items, pos)
                node.children.append((cond, body))
                if ender is None:
                    raise TemplateError("TEMPLATE: 'if' without '{{ end }}'")
                if ender == "end":
                    break
                if ender.startswith("else if"):
                    cond = _tokens(ender[len("else if") :])
                    continue
                node.else_body, pos, ender = _parse_block(items, pos)
                if ender != "end":
                    raise TemplateError("TEMPLATE: 'else' without '{{ end }}'")
                break
            nodes.append(node)
        elif word == "range":
            spec = value[len("range") :].strip()
            names: tuple[str, ...] = ()
            if ":=" in spec:
                left, _, spec = spec.partition(":=")
                names = tuple(n.strip() for n in left.split(",") if n.strip())
            body, pos, ender = _parse_block(items, pos)
            if ender is None:
                raise TemplateError("TEMPLATE: 'range' without '{{ end }}'")
            else_body: list[_Node] = []
            if ender == "else":
                else_body, pos, ender = _parse_block(items, pos)
            nodes.append(_Node("range", _tokens(spec), body, else_body, names))
        elif word in ("with", "define", "template", "block", "break", "continue"):
            raise TemplateError(
                f"TEMPLATE: '{word}' is not in the supported Go template subset "
                "(use if/range/variables; see docs/serve.md)"
            )
        elif "|" in value and not value.startswith('"'):
            raise TemplateError("TEMPLATE: pipes '|' are not supported (call functions instead)")
        elif re.match(r"^\$\w+\s*:?=", value):
            name, _, expr = value.partition("=")
            nodes.append(_Node("assign", _tokens(expr), vars=(name.rstrip(":").strip(),)))
        else:
            nodes.append(_Node("expr", _tokens(value)))
    return nodes, pos, None


def _truthy(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, int | float | str | list | tuple | dict):
        return bool(value)
    return True


class _Scope:
    def __init__(self, root: Any) -> None:
        self.root = root
        self.vars: dict[str, Any] = {"$": root}


def _field(obj: Any, path: list[str]) -> Any:
    for name in path:
        if not name:
            continue
        obj = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
        if obj is None:
            return None
    return obj


def _resolve(token: str, dot: Any, scope: _Scope) -> Any:
    if token.startswith('"'):
        return json.loads(token)
    if token.startswith("`"):
        return token[1:-1]
    if re.fullmatch(r"-?\d+(\.\d+)?", token):
        return float(token) if "." in token else int(token)
    if token == ".":
        return dot
    if token.startswith("."):
        return _field(dot, token[1:].split("."))
    if token.startswith("$"):
        name, _, rest = token.partition(".")
        if name not in scope.vars:
            raise TemplateError(f"TEMPLATE: undefined variable '{name}'")
        return _field(scope.vars[name], rest.split(".")) if rest else scope.vars[name]
    if token in ("true", "false"):
        return token == "true"
    if token == "nil":
        return None
    raise TemplateError(f"TEMPLATE: unknown function or value '{token}'")


_FUNCS = {"eq", "ne", "lt", "gt", "le", "ge", "and", "or", "not", "len", "json"}


def _eval(tokens: list[str], dot: Any, scope: _Scope) -> Any:
    args, rest = _eval_terms(tokens, dot, scope)
    if rest:
        raise TemplateError("TEMPLATE: unbalanced parentheses")
    return args


def _eval_terms(tokens: list[str], dot: Any, scope: _Scope) -> tuple[Any, list[str]]:
    """Evaluate a command (function call or single value) up to a closing parenthesis."""
    if not tokens:
        raise TemplateError("TEMPLATE: empty action '{{ }}'")
    values: list[Any] = []
    func: str | None = None
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == ")":
            return _apply(func, values), tokens[i + 1 :]
        if token == "(":
            value, remaining = _eval_terms(tokens[i + 1 :], dot, scope)
            values.append(value)
            tokens = remaining
            i = 0
            continue
        if i == 0 and func is None and not values and token in _FUNCS:
            func = token
        else:
            values.append(_resolve(token, dot, scope))
        i += 1
    return _apply(func, values), []


def _apply(func: str | None, args: list[Any]) -> Any:
    if func is None:
        if len(args) != 1:
            raise TemplateError("TEMPLATE: several values in one action need a function")
        return args[0]
    if func == "not":
        return not _truthy(args[0] if args else None)
    if func == "and":
        result: Any = True
        for arg in args:
            result = arg
            if not _truthy(arg):
                return arg
        return result
    if func == "or":
        for arg in args:
            if _truthy(arg):
                return arg
        return args[-1] if args else None
    if func == "len":
        return len(args[0] or [])
    if func == "json":
        return json.dumps(args[0], ensure_ascii=False)
    if len(args) != 2:
        raise TemplateError(f"TEMPLATE: '{func}' takes two arguments")
    a, b = args
    ops = {
        "eq": a == b,
        "ne": a != b,
        "lt": a < b if func == "lt" else False,
        "gt": a > b if func == "gt" else False,
        "le": a <= b if func == "le" else False,
        "ge": a >= b if func == "ge" else False,
    }
    return ops[func]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _render(nodes: list[_Node], dot: Any, scope: _Scope, out: list[str]) -> None:
    for node in nodes:
        if node.kind == "text":
            out.append(node.value)
        elif node.kind == "expr":
            out.append(_text(_eval(node.value, dot, scope)))
        elif node.kind == "assign":
            scope.vars[node.vars[0]] = _eval(node.value, dot, scope)
        elif node.kind == "if":
            for cond, body in node.children:
                if _truthy(_eval(cond, dot, scope)):
                    _render(body, dot, scope, out)
                    break
            else:
                _render(node.else_body, dot, scope, out)
        elif node.kind == "range":
            items = _eval(node.value, dot, scope) or []
            if not items:
                _render(node.else_body, dot, scope, out)
            for index, item in enumerate(items):
                if len(node.vars) == 2:
                    scope.vars[node.vars[0]] = index
                    scope.vars[node.vars[1]] = item
                elif len(node.vars) == 1:
                    scope.vars[node.vars[0]] = item
                _render(node.children, item, scope, out)


@lru_cache(maxsize=32)
def _parsed(template: str) -> list[_Node]:
    """Parse once per template text: a model's TEMPLATE is rendered on every request (and once
    per turn for legacy templates, again on each truncation retry); rendering never mutates the
    node tree, so the parsed tree is shared."""
    return parse_template(template)


def render_template(template: str, data: dict[str, Any]) -> str:
    """Render ``template`` with ``data`` as dot (``.System``, ``.Prompt``, ``.Messages`` …)."""
    nodes = _parsed(template)
    out: list[str] = []
    _render(nodes, data, _Scope(data), out)
    return "".join(out)
