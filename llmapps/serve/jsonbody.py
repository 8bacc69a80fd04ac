"""The one strict JSON parser every API's request bodies go through.

Why not plain ``json.loads``: it accepts what later code cannot hold and turns it into a 500
far from the edge: a lone surrogate (``"\\ud800"``) fails when SQLite or the tokenizer encodes
the text, an integer over 64 bits overflows SQLite, ``1e400``/``NaN``/``Infinity`` or ``1e308``
overflow a ``timedelta``, and a body nested 100k levels deep raises ``RecursionError``. Here each
of those is refused once, before any route sees the body, with one line naming the problem.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from llmapps.errors import LlmappsError

MAX_DEPTH = 100  # nesting levels of objects/arrays (tool schemas need a dozen at most)
INT_MIN, INT_MAX = -(2**63), 2**63 - 1  # SQLite's INTEGER range
FLOAT_MAX = 2.0**63  # finite, and still convertible to an SQLite integer
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonBodyError(LlmappsError):
    """A request body that is not acceptable JSON; ``str()`` names the problem and the fix."""

    status_code = 400


def _int(text: str) -> int:
    if len(text.lstrip("-")) > 19:
        raise JsonBodyError(f"the number {text[:24]}… is outside the 64-bit integer range")
    value = int(text)
    if not INT_MIN <= value <= INT_MAX:
        raise JsonBodyError(f"the number {text} is outside the 64-bit integer range")
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or abs(value) > FLOAT_MAX:
        raise JsonBodyError(f"the number {text[:24]} is too large (at most ±2^63)")
    return value


def _constant(name: str) -> Any:
    raise JsonBodyError(f"{name} is not valid JSON: send a finite number")


def check_text(value: str, where: str) -> None:
    """Refuse a string holding a lone UTF-16 surrogate (it cannot be stored or encoded)."""
    if not value.isascii() and _SURROGATE.search(value):
        raise JsonBodyError(f"'{where}' holds a lone surrogate (\\ud800-\\udfff): send valid UTF-8")


def check_tree(data: Any) -> None:
    """Walk a parsed body without recursion: depth limit and surrogate-free strings."""
    stack: list[tuple[Any, str, int]] = [(data, "body", 0)]
    while stack:
        node, where, depth = stack.pop()
        if isinstance(node, str):
            check_text(node, where)
        elif isinstance(node, dict | list):
            if depth >= MAX_DEPTH:
                raise _too_deep()
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, value in items:
                path = f"{where}.{key}" if where != "body" else str(key)
                if isinstance(key, str):
                    check_text(key, f"{where} (a key)")
                stack.append((value, path[:80], depth + 1))


def _too_deep() -> JsonBodyError:
    return JsonBodyError(f"the JSON body is nested more than {MAX_DEPTH} levels deep")


def parse_json(raw: bytes) -> Any:
    """``raw`` parsed strictly; :class:`JsonBodyError` (400) for anything the APIs cannot hold."""
    try:
        data = json.loads(raw, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except RecursionError:
        raise _too_deep() from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise JsonBodyError(f"malformed JSON in request body: {exc}") from None
    except ValueError as exc:  # int() over Python's digit limit
        raise JsonBodyError(f"a number in the JSON body is not usable: {exc}") from None
    check_tree(data)
    return data


def int_in_range(text: str) -> bool:
    """Whether an integer written in a URL (path segment or query value) fits SQLite."""
    digits = text.lstrip("-+")
    return len(digits) <= 19 and INT_MIN <= int(text) <= INT_MAX
