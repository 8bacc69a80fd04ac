"""The executor of Go's ``text/template`` (``exec.go``), with ``missingkey=zero`` as Ollama sets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmapps.serve.gotmpl.errors import ExecError
from llmapps.serve.gotmpl.funcs import BUILTINS, FuncError
from llmapps.serve.gotmpl.parse import (
    ActionNode,
    BoolNode,
    BranchNode,
    BreakNode,
    ChainNode,
    CommandNode,
    ContinueNode,
    DotNode,
    FieldNode,
    IdentifierNode,
    ListNode,
    NilNode,
    Node,
    NumberNode,
    PipeNode,
    StringNode,
    TemplateNode,
    TextNode,
    VariableNode,
    parse_trees,
)
from llmapps.serve.gotmpl.values import (
    MISSING,
    GoStruct,
    TypedNil,
    sorted_items,
    sprint_value,
    truth,
    type_name,
)

MAX_DEPTH = 200  # nested {{template}} calls (Go allows 100000; Python's stack does not)
MAX_OUTPUT = 16 * 1024 * 1024  # a prompt larger than this is a runaway template


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class Template:
    """A parsed template with its ``define`` d companions; :meth:`execute` renders it."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text
        self.trees = parse_trees(name, text, set(BUILTINS))
        self.root = self.trees[name]

    def execute(self, data: Any, root: ListNode | None = None) -> str:
        state = _State(self, self.name, [("$", data)])
        state.walk(data, root if root is not None else self.root)
        return "".join(state.out)


def parse(text: str, name: str = "") -> Template:
    """Parse ``text`` as Go would (:class:`~llmapps.serve.gotmpl.errors.ParseError`)."""
    return Template(name, text)


class _State:
    def __init__(self, tmpl: Template, name: str, variables: list[tuple[str, Any]]) -> None:
        self.tmpl = tmpl
        self.name = name
        self.vars = variables
        self.out: list[str] = []
        self.size = 0
        self.node: Node | None = None
        self.depth = 0

    # -- errors ---------------------------------------------------------------------------------
    def error(self, message: str) -> ExecError:
        node = self.node
        if node is None:
            return ExecError(f"template: {self.name}: {message}")
        text = self.tmpl.text
        pos = min(node.pos, len(text))
        line = 1 + text.count("\n", 0, pos)
        col = pos - (text.rfind("\n", 0, pos) + 1)
        context = str(node)
        if len(context) > 20:
            context = context[:20] + "..."
        return ExecError(
            f'template: {self.tmpl.name}:{line}:{col}: executing "{self.name}" at <{context}>: '
            f"{message}"
        )

    # -- variables ------------------------------------------------------------------------------
    def var_value(self, name: str) -> Any:
        for var, value in reversed(self.vars):
            if var == name:
                return value
        raise self.error(f"undefined variable: {name}")

    def set_var(self, name: str, value: Any) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i] = (name, value)
                return
        raise self.error(f"undefined variable: {name}")

    # -- walking --------------------------------------------------------------------------------
    def write(self, text: str) -> None:
        self.size += len(text)
        if self.size > MAX_OUTPUT:
            raise self.error(f"output over {MAX_OUTPUT} characters (a runaway template)")
        self.out.append(text)

    def walk(self, dot: Any, node: Node) -> None:
        if isinstance(node, TextNode):
            self.write(node.text)
        elif isinstance(node, ListNode):
            for child in node.nodes:
                self.walk(dot, child)
        elif isinstance(node, ActionNode):
            value = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.node = node
                self.write(sprint_value(value))
        elif isinstance(node, BranchNode):
            if node.kind == "range":
                self.walk_range(dot, node)
            else:
                self.walk_if_or_with(dot, node)
        elif isinstance(node, TemplateNode):
            self.walk_template(dot, node)
        elif isinstance(node, BreakNode):
            raise _Break
        elif isinstance(node, ContinueNode):
            raise _Continue

    def walk_if_or_with(self, dot: Any, node: BranchNode) -> None:
        mark = len(self.vars)
        try:
            value = self.eval_pipeline(dot, node.pipe)
            if truth(value):
                self.walk(value if node.kind == "with" else dot, node.list)
            elif node.else_list is not None:
                self.walk(dot, node.else_list)
        finally:
            del self.vars[mark:]

    def walk_range(self, dot: Any, node: BranchNode) -> None:
        self.node = node
        mark = len(self.vars)
        pipe = node.pipe
        try:
            value = self.eval_pipeline(dot, pipe)
            inner = len(self.vars)
            if isinstance(value, TypedNil) and value.kind in ("slice", "map"):
                value = []
            if isinstance(value, bool):
                raise self.error(f"range can't iterate over {sprint_value(value)}")
            pairs: list[tuple[Any, Any]]
            if isinstance(value, list | tuple):
                pairs = list(enumerate(value))
            elif isinstance(value, dict):
                pairs = sorted_items(value)
            elif isinstance(value, int):
                if len(pipe.decl) > 1:
                    raise self.error(f"can't use {value} to iterate over more than one variable")
                pairs = [(i, i) for i in range(value)]
            elif value is MISSING or value is None or isinstance(value, TypedNil):
                pairs = []
            else:
                raise self.error(f"range can't iterate over {sprint_value(value)}")
            for key, elem in pairs:
                self._iteration(pipe, key, elem, inner, node)
            if not pairs and node.else_list is not None:
                self.walk(dot, node.else_list)
        except _Break:
            pass
        finally:
            del self.vars[mark:]

    def _iteration(self, pipe: PipeNode, key: Any, elem: Any, mark: int, node: BranchNode) -> None:
        if pipe.decl:
            if pipe.is_assign:
                if len(pipe.decl) > 1:
                    self.set_var(pipe.decl[0].ident[0], key)
                    self.set_var(pipe.decl[1].ident[0], elem)
                else:
                    self.set_var(pipe.decl[0].ident[0], elem)
            else:
                self.vars[-1] = (self.vars[-1][0], elem)
                if len(pipe.decl) > 1:
                    self.vars[-2] = (self.vars[-2][0], key)
        try:
            self.walk(elem, node.list)
        except _Continue:
            pass
        finally:
            del self.vars[mark:]

    def walk_template(self, dot: Any, node: TemplateNode) -> None:
        self.node = node
        tree = self.tmpl.trees.get(node.name)
        if tree is None:
            raise self.error(f"template {_q(node.name)} not defined")
        if self.depth >= MAX_DEPTH:
            raise self.error(f"exceeded maximum template depth ({MAX_DEPTH})")
        value = self.eval_pipeline(dot, node.pipe) if node.pipe is not None else None
        if value is MISSING:
            value = None
        state = _State(self.tmpl, node.name, [("$", value)])
        state.out = self.out
        state.size = self.size
        state.depth = self.depth + 1
        state.walk(value, tree)
        self.size = state.size

    # -- evaluation -----------------------------------------------------------------------------
    def eval_pipeline(self, dot: Any, pipe: PipeNode | None) -> Any:
        if pipe is None:
            return MISSING
        self.node = pipe
        value: Any = MISSING
        final = False
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value, final)
            final = True
            if value is None:
                value = MISSING  # an empty interface unwraps to "no value"
        for var in pipe.decl:
            if pipe.is_assign:
                self.set_var(var.ident[0], value)
            else:
                self.vars.append((var.ident[0], value))
        return value

    def not_a_function(self, args: list[Node], has_final: bool) -> None:
        if len(args) > 1 or has_final:
            raise self.error(f"can't give argument to non-function {args[0]}")

    def eval_command(self, dot: Any, cmd: CommandNode, final: Any, has_final: bool) -> Any:
        first = cmd.args[0]
        if isinstance(first, FieldNode):
            return self.eval_field_chain(dot, dot, first, first.ident, cmd.args, final, has_final)
        if isinstance(first, ChainNode):
            self.node = first
            if isinstance(first.node, NilNode):
                raise self.error(f"indirection through explicit nil in {first}")
            receiver = self.eval_arg(dot, first.node)
            return self.eval_field_chain(
                dot, receiver, first, first.fields, cmd.args, final, has_final
            )
        if isinstance(first, IdentifierNode):
            return self.eval_function(dot, first, cmd, final, has_final)
        if isinstance(first, PipeNode):
            self.not_a_function(cmd.args, has_final)
            return self.eval_pipeline(dot, first)
        if isinstance(first, VariableNode):
            self.node = first
            value = self.var_value(first.ident[0])
            if len(first.ident) == 1:
                self.not_a_function(cmd.args, has_final)
                return value
            return self.eval_field_chain(
                dot, value, first, first.ident[1:], cmd.args, final, has_final
            )
        self.node = first
        self.not_a_function(cmd.args, has_final)
        if isinstance(first, BoolNode):
            return first.value
        if isinstance(first, DotNode):
            return dot
        if isinstance(first, NilNode):
            raise self.error("nil is not a command")
        if isinstance(first, NumberNode):
            return first.value
        if isinstance(first, StringNode):
            return first.text
        raise self.error(f"can't evaluate command {first}")

    def eval_field_chain(
        self,
        dot: Any,
        receiver: Any,
        node: Node,
        ident: list[str],
        args: list[Node],
        final: Any,
        has_final: bool,
    ) -> Any:
        self.node = node
        for name in ident[:-1]:
            receiver = self.eval_field(dot, name, [], MISSING, False, receiver)
        return self.eval_field(dot, ident[-1], args, final, has_final, receiver)

    def eval_field(
        self, dot: Any, name: str, args: list[Node], final: Any, has_final: bool, receiver: Any
    ) -> Any:
        if receiver is MISSING:
            return MISSING
        if receiver is None:
            raise self.error(f"nil pointer evaluating interface {{}}.{name}")
        if isinstance(receiver, GoStruct):
            method = receiver.go_method(name)
            if method is not None:
                return self.eval_call(dot, method, name, args, final, has_final)
            try:
                value = receiver.go_field(name)
            except KeyError:
                value = MISSING
            if value is not MISSING:
                if len(args) > 1 or has_final:
                    raise self.error(f"{name} has arguments but cannot be invoked as function")
                return value
        elif isinstance(receiver, dict):
            if len(args) > 1 or has_final:
                raise self.error(f"{name} is not a method but has arguments")
            return receiver.get(name)
        elif isinstance(receiver, TypedNil) and receiver.kind == "ptr":
            raise self.error(f"nil pointer evaluating {receiver.type_name}.{name}")
        raise self.error(f"can't evaluate field {name} in type {type_name(receiver)}")

    def eval_arg(self, dot: Any, node: Node) -> Any:
        self.node = node
        if isinstance(node, DotNode):
            return dot
        if isinstance(node, NilNode):
            return None
        if isinstance(node, FieldNode):
            return self.eval_field_chain(dot, dot, node, node.ident, [], MISSING, False)
        if isinstance(node, VariableNode):
            value = self.var_value(node.ident[0])
            if len(node.ident) == 1:
                return value
            return self.eval_field_chain(dot, value, node, node.ident[1:], [], MISSING, False)
        if isinstance(node, PipeNode):
            return self.eval_pipeline(dot, node)
        if isinstance(node, IdentifierNode):
            return self.eval_function(dot, node, CommandNode(node.pos, [node]), MISSING, False)
        if isinstance(node, ChainNode):
            receiver = self.eval_arg(dot, node.node)
            return self.eval_field_chain(dot, receiver, node, node.fields, [], MISSING, False)
        if isinstance(node, BoolNode):
            return node.value
        if isinstance(node, NumberNode):
            return node.value
        if isinstance(node, StringNode):
            return node.text
        raise self.error(f"can't handle {node} for arg")

    def eval_function(
        self, dot: Any, node: IdentifierNode, cmd: CommandNode, final: Any, has_final: bool
    ) -> Any:
        self.node = node
        name = node.name
        fn, least, most = BUILTINS[name]
        args = cmd.args[1:]
        count = len(args) + (1 if has_final else 0)
        if count < least or (most is not None and count > most):
            want = f"at least {least}" if most is None else str(least)
            raise self.error(f"wrong number of args for {name}: want {want} got {count}")
        if name in ("and", "or"):
            value: Any = MISSING
            for arg in args:
                value = self.eval_arg(dot, arg)
                if truth(value) == (name == "or"):
                    return value
            if has_final:
                value = final
            return value
        return self.eval_call(dot, fn, name, cmd.args, final, has_final, node)

    def eval_call(
        self,
        dot: Any,
        fn: Callable[..., Any],
        name: str,
        args: list[Node],
        final: Any,
        has_final: bool,
        node: Node | None = None,
    ) -> Any:
        values = [self.eval_arg(dot, arg) for arg in args[1:]]
        if has_final:
            values.append(final)
        if node is not None:
            self.node = node
        try:
            return fn(*values)
        except FuncError as exc:
            raise self.error(f"error calling {name}: {exc}") from None
        except TypeError:
            raise self.error(f"wrong number of args for {name}") from None


def _q(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'
