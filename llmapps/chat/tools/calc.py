"""A safe calculator: arithmetic parsed with ``ast`` and evaluated node by node (no ``eval``).

Why: model output is untrusted text; ``eval`` of it is arbitrary code execution. Only number
literals, ``+ - * / // % **`` (``^`` also means power), unary signs, parentheses, a few
constants and whitelisted ``math`` functions are accepted; everything else is refused by name.
Sizes are bounded so ``9**9**9`` cannot hang the process.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

from llmapps.errors import LlmappsError


class CalculatorError(LlmappsError):
    """An expression the calculator refuses or cannot compute."""


MAX_LENGTH = 500
MAX_EXPONENT = 10_000
MAX_DIGITS = 4_300

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.BitXor: operator.pow,  # "2^10" means power on a calculator
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}


def _factorial(n: float) -> int:
    if n != int(n) or n < 0 or n > 1000:
        raise CalculatorError("factorial takes a whole number from 0 to 1000")
    return math.factorial(int(n))


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sqrt": math.sqrt,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
    "exp": math.exp,
    "log": math.log,
    "log10": math.log10,
    "log2": math.log2,
    "abs": abs,
    "round": round,
    "floor": math.floor,
    "ceil": math.ceil,
    "min": min,
    "max": max,
    "hypot": math.hypot,
    "factorial": _factorial,
    "radians": math.radians,
    "degrees": math.degrees,
}
CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}
_REPLACEMENTS = {"×": "*", "÷": "/", "（": "(", "）": ")", "，": ",", "−": "-", "＋": "+"}


def evaluate(expression: str) -> int | float:
    """The value of an arithmetic expression, or :class:`CalculatorError` naming the problem."""
    text = expression.strip()
    for old, new in _REPLACEMENTS.items():
        text = text.replace(old, new)
    if not text:
        raise CalculatorError("empty expression: write arithmetic such as 2 * (3 + 4)")
    if len(text) > MAX_LENGTH:
        raise CalculatorError(f"expression longer than {MAX_LENGTH} characters: split it up")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise CalculatorError(
            f"cannot parse {expression!r}: use numbers, + - * / // % ** and functions like sqrt()"
        ) from None
    try:
        return _eval(tree.body)
    except ZeroDivisionError:
        raise CalculatorError("division by zero") from None
    except (OverflowError, ValueError) as exc:
        raise CalculatorError(f"cannot compute: {exc}") from None


def _too_big(base: Any, exponent: Any) -> bool:
    if abs(exponent) > MAX_EXPONENT:
        return True
    if isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1:
        return exponent * math.log10(abs(base)) > MAX_DIGITS
    return False


def _eval(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise CalculatorError(f"{node.value!r} is not a number: only numbers are allowed")
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow | ast.BitXor) and _too_big(left, right):
            raise CalculatorError("result too large: use a smaller exponent")
        result = _BINARY[type(node.op)](left, right)
        if isinstance(result, complex):
            raise CalculatorError("the result is not a real number")
        if isinstance(result, int) and result.bit_length() > MAX_DIGITS * 3.33:
            raise CalculatorError("result too large")
        return result
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        raise CalculatorError(f"unknown name {node.id!r}: only {', '.join(CONSTANTS)} are allowed")
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in FUNCTIONS or node.keywords:
            shown = name or ast.unparse(node.func)
            raise CalculatorError(
                f"function {shown!r} is not allowed: use one of {', '.join(sorted(FUNCTIONS))}"
            )
        return FUNCTIONS[name](*[_eval(arg) for arg in node.args])
    if isinstance(node, ast.Tuple | ast.List):
        raise CalculatorError("lists are not allowed: write one expression")
    raise CalculatorError(f"{type(node).__name__} is not allowed in a calculation")
