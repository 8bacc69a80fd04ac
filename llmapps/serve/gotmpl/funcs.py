"""The builtin functions of Go's ``text/template`` (``funcs.go``) plus Ollama's ``json``."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from typing import Any

from llmapps.serve.gotmpl.lex import go_quote as _go_quote
from llmapps.serve.gotmpl.values import (
    MISSING,
    GoStruct,
    TypedNil,
    format_float,
    sprint,
    sprint_value,
    sprintln,
    to_json,
    truth,
    type_name,
)


class FuncError(Exception):
    """An error a function returns; the executor words it ``error calling NAME: …``."""


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if value is MISSING or value is None:  # a nil interface: Go's indirectInterface -> invalid
        return "invalid"
    return "other"


def eq(arg1: Any, *others: Any) -> bool:
    if not others:
        raise FuncError("missing argument for comparison")
    k1 = _kind(arg1)
    for arg in others:
        k2 = _kind(arg)
        if k1 != k2:
            if k1 != "invalid" and k2 != "invalid":
                raise FuncError("incompatible types for comparison")
            continue
        if k1 in ("bool", "int", "float", "string"):
            if arg1 == arg:
                return True
            continue
        if isinstance(arg1, list | dict) or isinstance(arg, list | dict):
            raise FuncError(f"non-comparable type {sprint_value(arg)}: {type_name(arg)}")
        nil1 = arg1 is None or arg1 is MISSING or isinstance(arg1, TypedNil)
        nil2 = arg is None or arg is MISSING or isinstance(arg, TypedNil)
        if nil1 or nil2:
            if nil1 == nil2:
                return True
            continue
        if arg1 is arg or arg1 == arg:
            return True
    return False


def ne(arg1: Any, arg2: Any) -> bool:
    return not eq(arg1, arg2)


def lt(arg1: Any, arg2: Any) -> bool:
    k1, k2 = _kind(arg1), _kind(arg2)
    if k1 not in ("int", "float", "string", "bool") or k2 not in ("int", "float", "string", "bool"):
        raise FuncError("invalid type for comparison")
    if k1 != k2:
        raise FuncError("incompatible types for comparison")
    if k1 == "bool":
        raise FuncError("invalid type for comparison")
    return bool(arg1 < arg2)


def le(arg1: Any, arg2: Any) -> bool:
    return lt(arg1, arg2) or eq(arg1, arg2)


def gt(arg1: Any, arg2: Any) -> bool:
    return not le(arg1, arg2)


def ge(arg1: Any, arg2: Any) -> bool:
    return not lt(arg1, arg2)


def not_(arg: Any) -> bool:
    return not truth(arg)


def length(item: Any) -> int:
    if item is None or (isinstance(item, TypedNil) and item.kind == "ptr"):
        raise FuncError("len of nil pointer")
    if isinstance(item, TypedNil):
        return 0
    if isinstance(item, str):
        return len(item.encode("utf-8"))
    if isinstance(item, list | tuple | dict):
        return len(item)
    raise FuncError(f"len of type {type_name(item)}")


def _index_arg(index: Any, cap: int) -> int:
    if isinstance(index, bool) or not isinstance(index, int):
        if index is None or index is MISSING:
            raise FuncError("cannot index slice/array with nil")
        raise FuncError(f"cannot index slice/array with type {type_name(index)}")
    if index < 0 or index > cap:
        raise FuncError(f"index out of range: {index}")
    return index


def index(item: Any, *indexes: Any) -> Any:
    if item is None or item is MISSING:
        raise FuncError("index of untyped nil")
    for idx in indexes:
        if (isinstance(item, TypedNil) and item.kind == "ptr") or item is None:
            raise FuncError("index of nil pointer")
        if isinstance(item, TypedNil) and item.kind == "slice":
            item = []
        if isinstance(item, TypedNil) and item.kind == "map":
            item = {}
        if isinstance(item, str):
            data = item.encode("utf-8")
            x = _index_arg(idx, len(data))
            if x >= len(data):
                raise FuncError("reflect: string index out of range")
            item = data[x]
        elif isinstance(item, list | tuple):
            x = _index_arg(idx, len(item))
            if x >= len(item):
                raise FuncError("reflect: slice index out of range")
            item = item[x]
        elif isinstance(item, dict):
            if idx is None or idx is MISSING:
                raise FuncError("value is nil; should be of type string")
            if not isinstance(idx, str):
                raise FuncError(f"value has type {type_name(idx)}; should be string")
            item = item.get(idx)
        else:
            raise FuncError(f"can't index item of type {type_name(item)}")
    return item


def slice_(item: Any, *indexes: Any) -> Any:
    if item is None or item is MISSING:
        raise FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise FuncError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, TypedNil) and item.kind == "slice":
        item = []
    if isinstance(item, str):
        if len(indexes) == 3:
            raise FuncError("cannot 3-index slice a string")
        data = item.encode("utf-8")
        size = len(data)
    elif isinstance(item, list | tuple):
        size = len(item)
    else:
        raise FuncError(f"can't slice item of type {type_name(item)}")
    idx = [0, size, size]
    for i, value in enumerate(indexes):
        idx[i] = _index_arg(value, size)
    if idx[0] > idx[1]:
        raise FuncError(f"invalid slice index: {idx[0]} > {idx[1]}")
    if len(indexes) == 3 and idx[1] > idx[2]:
        raise FuncError(f"invalid slice index: {idx[1]} > {idx[2]}")
    if isinstance(item, str):
        return data[idx[0] : idx[1]].decode("utf-8", errors="replace")
    return list(item[idx[0] : idx[1]])


def _eval_args(args: tuple[Any, ...]) -> str:
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return sprint(list(args))


def html(*args: Any) -> str:
    text = _eval_args(args)
    table = {'"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;", "\0": "\ufffd"}
    return "".join(table.get(ch, ch) for ch in text)


def js(*args: Any) -> str:
    text = _eval_args(args)
    table = {
        "\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E",
        "&": "\\u0026", "=": "\\u003D",
    }  # fmt: skip
    out = []
    for ch in text:
        if ch in table:
            out.append(table[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u00{ord(ch):02X}")
        elif ord(ch) >= 0x80 and not ch.isprintable():
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def urlquery(*args: Any) -> str:
    return urllib.parse.quote_plus(_eval_args(args), safe="-_.~")


def call(fn: Any, *args: Any) -> Any:
    if fn is None or fn is MISSING:
        raise FuncError("call of nil")
    if not callable(fn) or isinstance(fn, GoStruct):
        raise FuncError(f"non-function of type {type_name(fn)}")
    return fn(*args)


def json_(value: Any) -> str:
    try:
        return to_json(value)
    except ValueError:
        return ""  # Ollama ignores json.Marshal's error and prints nothing


# -- printf ------------------------------------------------------------------------------------

_VERB = re.compile(r"%([-+# 0]*)(\*|\d+)?(?:\.(\*|\d*))?([a-zA-Z%])")


def _bad(verb: str, arg: Any) -> str:
    return f"%!{verb}({type_name(arg)}={sprint_value(arg, False)})"


def _one(verb: str, flags: str, prec: int | None, arg: Any) -> str:
    if verb in "vs":
        if verb == "s" and isinstance(arg, bool | int | float):
            return _bad(verb, arg)
        text = sprint_value(arg, False) if arg is not MISSING else "<nil>"
        return text[:prec] if prec is not None and verb == "s" else text
    if verb == "q":
        if isinstance(arg, str):
            return _go_quote(arg)
        if isinstance(arg, int) and not isinstance(arg, bool):
            return "'" + chr(arg) + "'"
        return _bad(verb, arg)
    if verb == "t":
        return ("true" if arg else "false") if isinstance(arg, bool) else _bad(verb, arg)
    if verb in "dboxXc":
        if isinstance(arg, bool) or not isinstance(arg, int):
            if verb in "xX" and isinstance(arg, str):
                hexed = arg.encode("utf-8").hex()
                return hexed.upper() if verb == "X" else hexed
            return _bad(verb, arg)
        if verb == "c":
            return chr(arg)
        base = {"d": "d", "b": "b", "o": "o", "x": "x", "X": "X"}[verb]
        text = format(abs(arg), base)
        if "#" in flags and verb in "xX":
            text = ("0x" if verb == "x" else "0X") + text
        sign = "-" if arg < 0 else ("+" if "+" in flags else (" " if " " in flags else ""))
        return sign + text
    if verb in "feEgG":
        if not isinstance(arg, float):  # Go: %f of an int is %!f(int=1)
            return _bad(verb, arg)
        value = float(arg)
        if verb in "gG" and prec is None:
            text = format_float(value)
        else:
            text = format(value, f".{6 if prec is None else prec}{verb}")
        if "+" in flags and value >= 0:
            text = "+" + text
        return text
    return f"%!{verb}({type_name(arg)}={sprint_value(arg, False)})"


def printf(fmt: Any, *args: Any) -> str:
    if not isinstance(fmt, str):
        raise FuncError(f"wrong type for value; expected string; got {type_name(fmt)}")
    out: list[str] = []
    pos = 0
    argi = 0
    for match in _VERB.finditer(fmt):
        out.append(fmt[pos : match.start()])
        pos = match.end()
        flags, width_text, prec_text, verb = match.groups()
        if verb == "%":
            out.append("%")
            continue
        width = None
        if width_text == "*":
            width = args[argi] if argi < len(args) else 0
            argi += 1
        elif width_text:
            width = int(width_text)
        prec = None
        if prec_text == "*":
            prec = args[argi] if argi < len(args) else 0
            argi += 1
        elif prec_text is not None:
            prec = int(prec_text or 0)
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        text = _one(verb, flags, prec, args[argi])
        argi += 1
        if width and len(text) < width:
            pad = width - len(text)
            if "-" in flags:
                text += " " * pad
            elif "0" in flags and verb not in "sqvt":
                sign = text[0] if text[:1] in "+-" else ""
                text = sign + "0" * pad + text[len(sign) :]
            else:
                text = " " * pad + text
        out.append(text)
    out.append(fmt[pos:])
    if argi < len(args):
        extra = ", ".join(f"{type_name(a)}={sprint_value(a, False)}" for a in args[argi:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


# name -> (function, minimum args, maximum args or None)
BUILTINS: dict[str, tuple[Callable[..., Any], int, int | None]] = {
    "and": (lambda *a: a, 1, None),
    "or": (lambda *a: a, 1, None),
    "not": (not_, 1, 1),
    "len": (length, 1, 1),
    "index": (index, 1, None),
    "slice": (slice_, 1, None),
    "print": (lambda *a: sprint(list(a)), 0, None),
    "printf": (printf, 1, None),
    "println": (lambda *a: sprintln(list(a)), 0, None),
    "eq": (eq, 1, None),
    "ne": (ne, 2, 2),
    "lt": (lt, 2, 2),
    "le": (le, 2, 2),
    "gt": (gt, 2, 2),
    "ge": (ge, 2, 2),
    "html": (html, 0, None),
    "js": (js, 0, None),
    "urlquery": (urlquery, 0, None),
    "call": (call, 1, None),
    "json": (json_, 1, 1),  # Ollama's addition: json.Marshal
}
