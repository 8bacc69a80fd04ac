"""The parser of Go's ``text/template/parse``: node tree, variable scoping and Go's errors."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from llmapps.serve.gotmpl.errors import ParseError
from llmapps.serve.gotmpl.lex import Item, lex

# -- nodes --------------------------------------------------------------------------------------


@dataclass
class Node:
    pos: int


@dataclass
class TextNode(Node):
    text: str


@dataclass
class ListNode(Node):
    nodes: list[Node] = field(default_factory=list)


@dataclass
class FieldNode(Node):
    ident: list[str]

    def __str__(self) -> str:
        return "".join("." + i for i in self.ident)


@dataclass
class VariableNode(Node):
    ident: list[str]

    def __str__(self) -> str:
        return ".".join(self.ident)


@dataclass
class IdentifierNode(Node):
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass
class DotNode(Node):
    def __str__(self) -> str:
        return "."


@dataclass
class NilNode(Node):
    def __str__(self) -> str:
        return "nil"


@dataclass
class BoolNode(Node):
    value: bool

    def __str__(self) -> str:
        return "true" if self.value else "false"


@dataclass
class NumberNode(Node):
    text: str
    value: Any  # int or float (chars are ints)
    is_int: bool

    def __str__(self) -> str:
        return self.text


@dataclass
class StringNode(Node):
    quoted: str
    text: str

    def __str__(self) -> str:
        return self.quoted


@dataclass
class CommandNode(Node):
    args: list[Node] = field(default_factory=list)

    def __str__(self) -> str:
        parts = []
        for arg in self.args:
            parts.append(f"({arg})" if isinstance(arg, PipeNode) else str(arg))
        return " ".join(parts)


@dataclass
class PipeNode(Node):
    line: int
    decl: list[VariableNode] = field(default_factory=list)
    cmds: list[CommandNode] = field(default_factory=list)
    is_assign: bool = False

    def __str__(self) -> str:
        text = ""
        if self.decl:
            text = ", ".join(str(d) for d in self.decl) + (" = " if self.is_assign else " := ")
        return text + " | ".join(str(c) for c in self.cmds)


@dataclass
class ChainNode(Node):
    node: Node
    fields: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        inner = f"({self.node})" if isinstance(self.node, PipeNode) else str(self.node)
        return inner + "".join("." + f for f in self.fields)


@dataclass
class ActionNode(Node):
    line: int
    pipe: PipeNode

    def __str__(self) -> str:
        return f"{{{{{self.pipe}}}}}"


@dataclass
class BranchNode(Node):
    line: int
    pipe: PipeNode
    list: ListNode
    else_list: ListNode | None
    kind: str  # if | range | with

    def __str__(self) -> str:
        return f"{{{{{self.kind} {self.pipe}}}}}"


@dataclass
class TemplateNode(Node):
    line: int
    name: str
    pipe: PipeNode | None

    def __str__(self) -> str:
        return f'{{{{template "{self.name}"}}}}'


@dataclass
class BreakNode(Node):
    def __str__(self) -> str:
        return "{{break}}"


@dataclass
class ContinueNode(Node):
    def __str__(self) -> str:
        return "{{continue}}"


@dataclass
class _End(Node):
    def __str__(self) -> str:
        return "{{end}}"


@dataclass
class _Else(Node):
    def __str__(self) -> str:
        return "{{else}}"


# -- parser -------------------------------------------------------------------------------------


class Parser:
    """Parse one template text into trees (``define`` / ``block`` add more named trees)."""

    def __init__(self, name: str, text: str, funcs: set[str]) -> None:
        self.name = name
        self.items = lex(name, text)
        self.i = 0
        self.funcs = funcs
        self.vars: list[str] = ["$"]
        self.range_depth = 0
        self.trees: dict[str, ListNode] = {}
        self.action_line = 0

    # -- token stream ---------------------------------------------------------------------------
    def next(self) -> Item:
        item = self.items[self.i]
        if self.i < len(self.items) - 1:
            self.i += 1
        self.last = item
        return item

    def backup(self, n: int = 1) -> None:
        self.i -= n

    def peek(self) -> Item:
        return self.items[self.i]

    def next_non_space(self) -> Item:
        item = self.next()
        while item.typ == "space":
            item = self.next()
        return item

    def peek_non_space(self) -> Item:
        item = self.next_non_space()
        self.backup()
        return item

    def error(self, message: str) -> ParseError:
        line = self.items[max(self.i - 1, 0)].line if self.i else self.items[0].line
        return ParseError(f"template: {self.name}:{line}: {message}")

    def unexpected(self, item: Item, context: str) -> ParseError:
        return self.error(f"unexpected {item} in {context}")

    def expect(self, typ: str, context: str) -> Item:
        item = self.next_non_space()
        if item.typ != typ:
            raise self.unexpected(item, context)
        return item

    # -- structure ------------------------------------------------------------------------------
    def parse(self) -> dict[str, ListNode]:
        root = ListNode(0)
        while self.peek().typ != "eof":
            if self.peek().typ == "leftDelim":
                start = self.i
                self.next()
                if self.next_non_space().typ == "define":
                    self.parse_definition()
                    continue
                self.i = start
            node = self.text_or_action()
            if isinstance(node, _End | _Else):
                raise self.error(f"unexpected {node}")
            root.nodes.append(node)
        self._add(self.name, root)
        return self.trees

    def _add(self, name: str, root: ListNode) -> None:
        old = self.trees.get(name)
        if old is None or _is_empty(old):
            self.trees[name] = root
        elif not _is_empty(root):
            raise self.error(f"template: multiple definition of template {_q(name)}")

    def parse_definition(self) -> None:
        name = self.template_name(self.next_non_space(), "define clause")
        self.expect("rightDelim", "define clause")
        saved_vars, self.vars = self.vars, ["$"]
        body, end = self.item_list()
        if not isinstance(end, _End):
            raise self.error(f"unexpected {end} in define clause")
        self.vars = saved_vars
        self._add(name, body)

    def template_name(self, item: Item, context: str) -> str:
        if item.typ in ("string", "rawString"):
            return _unquote(item.val, self)
        raise self.unexpected(item, context)

    def item_list(self) -> tuple[ListNode, Node]:
        body = ListNode(self.peek_non_space().pos)
        while self.peek_non_space().typ != "eof":
            node = self.text_or_action()
            if isinstance(node, _End | _Else):
                return body, node
            body.nodes.append(node)
        raise self.error("unexpected EOF")

    def text_or_action(self) -> Node:
        item = self.next_non_space()
        if item.typ == "text":
            return TextNode(item.pos, item.val)
        if item.typ == "leftDelim":
            self.action_line = item.line
            return self.action()
        raise self.unexpected(item, "input")

    def action(self) -> Node:
        item = self.next_non_space()
        typ = item.typ
        if typ == "block":
            return self.block_control()
        if typ in ("break", "continue"):
            end = self.next_non_space()
            if end.typ != "rightDelim":
                raise self.unexpected(end, f"{{{{{typ}}}}}")
            if self.range_depth == 0:
                raise self.error(f"{{{{{typ}}}}} outside {{{{range}}}}")
            return BreakNode(item.pos) if typ == "break" else ContinueNode(item.pos)
        if typ == "else":
            peek = self.peek_non_space()
            if peek.typ in ("if", "with"):
                return _Else(peek.pos)
            self.expect("rightDelim", "else")
            return _Else(item.pos)
        if typ == "end":
            self.expect("rightDelim", "end")
            return _End(item.pos)
        if typ in ("if", "range", "with"):
            return self.control(typ)
        if typ == "template":
            name = self.template_name(self.next_non_space(), "template clause")
            pipe: PipeNode | None = None
            if self.next_non_space().typ != "rightDelim":
                self.backup()
                pipe = self.pipeline("template", "rightDelim")
            return TemplateNode(item.pos, item.line, name, pipe)
        self.backup()
        peek = self.peek()
        return ActionNode(peek.pos, peek.line, self.pipeline("command", "rightDelim"))

    def block_control(self) -> Node:
        item = self.last
        name = self.template_name(self.next_non_space(), "block clause")
        pipe = self.pipeline("block clause", "rightDelim")
        saved_vars, saved_depth = self.vars, self.range_depth
        self.vars, self.range_depth = ["$"], 0
        body, end = self.item_list()
        if not isinstance(end, _End):
            raise self.error(f"unexpected {end} in block clause")
        self.vars, self.range_depth = saved_vars, saved_depth
        self._add(name, body)
        return TemplateNode(item.pos, item.line, name, pipe)

    def control(self, kind: str) -> BranchNode:
        start = self.last
        depth = len(self.vars)
        pipe = self.pipeline(kind, "rightDelim")
        if kind == "range":
            self.range_depth += 1
        body, nxt = self.item_list()
        if kind == "range":
            self.range_depth -= 1
        else_list: ListNode | None = None
        if isinstance(nxt, _Else):
            if kind in ("if", "with") and self.peek().typ == kind:
                self.next()
                else_list = ListNode(nxt.pos, [self.control(kind)])
            else:
                else_list, nxt = self.item_list()
                if not isinstance(nxt, _End):
                    raise self.error(f"expected end; found {nxt}")
        del self.vars[depth:]
        return BranchNode(start.pos, start.line, pipe, body, else_list, kind)

    # -- pipelines ------------------------------------------------------------------------------
    def pipeline(self, context: str, end: str) -> PipeNode:
        first = self.peek_non_space()
        pipe = PipeNode(first.pos, first.line)
        while True:  # declarations
            var = self.peek_non_space()
            if var.typ != "variable":
                break
            start = self.i
            self.next_non_space()
            after = self.peek()
            nxt = self.peek_non_space()
            if nxt.typ in ("assign", "declare"):
                pipe.is_assign = nxt.typ == "assign"
                self.next_non_space()
                pipe.decl.append(VariableNode(var.pos, [var.val]))
                self.vars.append(var.val)
            elif nxt.typ == "char" and nxt.val == ",":
                self.next_non_space()
                pipe.decl.append(VariableNode(var.pos, [var.val]))
                self.vars.append(var.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().typ in ("variable", "rightDelim", "rightParen"):
                        continue
                    raise self.error("range can only initialize variables")
                raise self.error(f"too many declarations in {context}")
            elif after.typ == "space":
                self.i = start
            else:
                self.i = start
            break
        while True:
            item = self.next_non_space()
            if item.typ == end:
                self._check_pipeline(pipe, context)
                return pipe
            if item.typ in (
                "bool", "charConstant", "dot", "field", "identifier", "number", "nil",
                "rawString", "string", "variable", "leftParen",
            ):  # fmt: skip
                self.backup()
                pipe.cmds.append(self.command())
            else:
                raise self.unexpected(item, context)

    def _check_pipeline(self, pipe: PipeNode, context: str) -> None:
        if not pipe.cmds:
            raise self.error(f"missing value for {context}")
        for i, cmd in enumerate(pipe.cmds[1:]):
            if isinstance(cmd.args[0], BoolNode | DotNode | NilNode | NumberNode | StringNode):
                raise self.error(f"non executable command in pipeline stage {i + 2}")

    def command(self) -> CommandNode:
        cmd = CommandNode(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            item = self.next()
            if item.typ == "space":
                continue
            if item.typ in ("rightDelim", "rightParen"):
                self.backup()
            elif item.typ != "pipe":
                raise self.unexpected(item, "operand")
            break
        if not cmd.args:
            raise self.error("empty command")
        return cmd

    def operand(self) -> Node | None:
        node = self.term()
        if node is None:
            return None
        if self.peek().typ == "field":
            chain = ChainNode(self.peek().pos, node)
            while self.peek().typ == "field":
                chain.fields.append(self.next().val[1:])
            if isinstance(node, FieldNode):
                return FieldNode(node.pos, node.ident + chain.fields)
            if isinstance(node, VariableNode):
                return VariableNode(node.pos, node.ident + chain.fields)
            if isinstance(node, BoolNode | StringNode | NumberNode | NilNode | DotNode):
                raise self.error(f"unexpected . after term {_q(str(node))}")
            return chain
        return node

    def term(self) -> Node | None:
        item = self.next_non_space()
        typ = item.typ
        if typ == "identifier":
            if item.val not in self.funcs:
                raise self.error(f"function {_q(item.val)} not defined")
            return IdentifierNode(item.pos, item.val)
        if typ == "dot":
            return DotNode(item.pos)
        if typ == "nil":
            return NilNode(item.pos)
        if typ == "variable":
            name = item.val.split(".")[0]
            if name not in self.vars:
                raise self.error(f"undefined variable {_q(name)}")
            return VariableNode(item.pos, [item.val])
        if typ == "field":
            return FieldNode(item.pos, [item.val[1:]])
        if typ == "bool":
            return BoolNode(item.pos, item.val == "true")
        if typ in ("number", "charConstant"):
            return self.number(item)
        if typ in ("string", "rawString"):
            return StringNode(item.pos, item.val, _unquote(item.val, self))
        if typ == "leftParen":
            return self.pipeline("parenthesized pipeline", "rightParen")
        self.backup()
        return None

    def number(self, item: Item) -> NumberNode:
        text = item.val
        if item.typ == "charConstant":
            value = _unquote(text, self)
            if len(value) != 1:
                raise self.error(f"malformed character constant: {text}")
            return NumberNode(item.pos, text, ord(value), True)
        clean = text.replace("_", "")
        if clean.endswith("i"):
            raise self.error(f"complex constants are not supported: {text}")
        try:
            return NumberNode(item.pos, text, int(clean, 0), True)
        except ValueError:
            pass
        try:
            number = float.fromhex(clean) if "0x" in clean.lower() else float(clean)
        except ValueError:
            raise self.error(f"illegal number syntax: {_q(text)}") from None
        return NumberNode(item.pos, text, number, False)


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unquote(text: str, parser: Parser) -> str:
    if text.startswith("`"):
        return text[1:-1]
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise parser.error(f"invalid syntax: {text}") from None
    return str(value)


def _is_empty(node: Node | None) -> bool:
    if node is None:
        return True
    if isinstance(node, ListNode):
        return all(_is_empty(n) for n in node.nodes)
    if isinstance(node, TextNode):
        return not node.text.strip()
    return False


def parse_trees(name: str, text: str, funcs: set[str]) -> dict[str, ListNode]:
    """Every tree ``text`` defines: ``name`` itself and its ``define`` / ``block`` templates."""
    return Parser(name, text, funcs).parse()
