"""Go values as Python sees them, and Go's rules for printing them (``fmt``) and JSON.

Mapping: ``str`` string, ``bool`` bool, ``int`` int, ``float`` float64, ``list`` slice,
``dict`` map (printed and ranged in sorted key order), :class:`OrderedMap` a map type that
marshals in insertion order, :class:`GoStruct` a struct (fields in declaration order, JSON
tags, optional ``String()``), :class:`TypedNil` a nil pointer/slice/map of a named type,
``None`` a nil interface, and :data:`MISSING` an invalid value (printed ``<no value>``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class OrderedMap(dict):  # type: ignore[type-arg]
    """A map whose JSON keeps insertion order (Ollama's ordered maps); ranges sort like Go's."""


class TypedNil:
    """A nil pointer, slice or map with a Go type name (prints ``<nil>``, ``[]`` or ``map[]``)."""

    def __init__(self, type_name: str, kind: str = "ptr") -> None:
        self.type_name = type_name
        self.kind = kind

    def __repr__(self) -> str:
        return f"TypedNil({self.type_name})"


class GoStruct:
    """A Go struct value. Subclasses list ``FIELDS`` as (Go name, JSON name, omitempty)."""

    GO_TYPE = "struct"
    FIELDS: tuple[tuple[str, str, bool], ...] = ()
    POINTER = False  # held by pointer: printed as &{...}

    def go_field(self, name: str) -> Any:
        for go_name, _json, _omit in self.FIELDS:
            if go_name == name:
                return getattr(self, go_name)
        raise KeyError(name)

    def go_method(self, name: str) -> Callable[..., Any] | None:
        """A method callable from templates (``String`` when the type is a Stringer)."""
        if name == "String" and self.go_string() is not None:
            return lambda: self.go_string()
        return None

    def go_string(self) -> str | None:
        """``String()`` of the type when it has one, else None."""
        return None

    def go_json(self) -> str | None:
        """A custom ``MarshalJSON`` result, else None (fields are marshalled)."""
        return None


# -- kinds -------------------------------------------------------------------------------------


def type_name(value: Any) -> str:
    """Go's name for the value's type (in error messages)."""
    if value is MISSING or value is None:
        return "interface {}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, TypedNil):
        return value.type_name
    if isinstance(value, GoStruct):
        return ("*" if value.POINTER else "") + value.GO_TYPE
    if callable(value):
        return "func"
    return type(value).__name__


def truth(value: Any) -> bool:
    """Go's ``isTrue``: empty strings, slices and maps, zero numbers, nil and false are false."""
    if value is MISSING or value is None or isinstance(value, TypedNil):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str | list | tuple | dict):
        return len(value) > 0
    return True


# -- fmt %v ------------------------------------------------------------------------------------


def _shortest(value: float) -> tuple[str, int]:
    """Shortest round-trip digits and the decimal point position (like strconv's)."""
    text = repr(abs(value))
    mantissa, _, exp = text.partition("e")
    whole, _, frac = mantissa.partition(".")
    if frac == "0":
        frac = ""
    digits = (whole + frac).lstrip("0")
    point = len(whole) + (int(exp) if exp else 0)
    if not digits:
        return "0", 1
    lead = len(whole + frac) - len((whole + frac).lstrip("0"))
    digits = digits.rstrip("0") or "0"
    return digits, point - lead


def _fmt_e(neg: bool, digits: str, point: int, lower: str = "e") -> str:
    exp = point - 1
    mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    sign = "-" if exp < 0 else "+"
    return f"{'-' if neg else ''}{mant}{lower}{sign}{abs(exp):02d}"


def _fmt_f(neg: bool, digits: str, point: int) -> str:
    if point <= 0:
        text = "0." + "0" * (-point) + digits
    elif point >= len(digits):
        text = digits + "0" * (point - len(digits))
    else:
        text = digits[:point] + "." + digits[point:]
    return ("-" if neg else "") + text


def format_float(value: float) -> str:
    """``%v`` of a float64 (strconv 'g', shortest: exponent form when < -4 or >= 6)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    neg = math.copysign(1.0, value) < 0
    if value == 0:
        return "-0" if neg else "0"
    digits, point = _shortest(value)
    exp = point - 1
    if exp < -4 or exp >= 6:
        return _fmt_e(neg, digits, point)
    return _fmt_f(neg, digits, point)


def sprint_value(value: Any, top: bool = True) -> str:
    """``fmt.Sprint`` of one value (``%v``)."""
    if value is MISSING:
        return "<no value>" if top else "<nil>"
    if value is None:
        return "<nil>"
    stringer = getattr(value, "go_string", None)
    if stringer is not None:
        text = stringer()
        if text is not None:
            return str(text)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, TypedNil):
        return {"slice": "[]", "map": "map[]"}.get(value.kind, "<nil>")
    if isinstance(value, GoStruct):
        inner = " ".join(sprint_value(value.go_field(f), False) for f, _j, _o in value.FIELDS)
        if value.POINTER and not top:
            return f"0x{id(value):x}"
        return ("&" if value.POINTER else "") + "{" + inner + "}"
    if isinstance(value, list | tuple):
        return "[" + " ".join(sprint_value(v, False) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted_items(value)
        return (
            "map["
            + " ".join(f"{sprint_value(k, False)}:{sprint_value(v, False)}" for k, v in items)
            + "]"
        )
    if callable(value):
        return f"0x{id(value):x}"
    return str(value)


def sorted_items(mapping: dict[Any, Any]) -> list[tuple[Any, Any]]:
    """Map entries in Go's ``fmtsort`` order (keys ascending)."""
    try:
        return sorted(mapping.items(), key=lambda kv: kv[0])
    except TypeError:
        return sorted(mapping.items(), key=lambda kv: str(kv[0]))


def sprint(args: list[Any]) -> str:
    """``fmt.Sprint``: a space between operands when neither is a string."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if i > 0 and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(sprint_value(arg, False) if arg is MISSING else sprint_value(arg))
    return "".join(out)


def sprintln(args: list[Any]) -> str:
    """``fmt.Sprintln``: operands separated by spaces, then a newline."""
    return " ".join(sprint_value(a, a is not MISSING) for a in args) + "\n"


# -- encoding/json -----------------------------------------------------------------------------


def _json_string(text: str) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x20 or ch in "<>&" or code in (0x2028, 0x2029):
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _json_float(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"json: unsupported value: {format_float(value)}")
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    neg = value < 0
    digits, point = _shortest(value)
    if abs(value) < 1e-6 or abs(value) >= 1e21:
        text = _fmt_e(neg, digits, point)
        mant, _, exp = text.partition("e")
        sign, num = exp[0], exp[1:].lstrip("0") or "0"
        return f"{mant}e{sign}{num}"
    return _fmt_f(neg, digits, point)


def _empty(value: Any) -> bool:
    if value is None or value is MISSING or isinstance(value, TypedNil):
        return True
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value == 0
    if isinstance(value, str | list | tuple | dict):
        return len(value) == 0
    return False


def to_json(value: Any) -> str:
    """``json.Marshal`` as Go writes it: compact, HTML-safe escapes, sorted map keys."""
    if value is None or value is MISSING or isinstance(value, TypedNil):
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _json_float(value)
    if isinstance(value, str):
        return _json_string(value)
    custom_json = getattr(value, "go_json", None)
    if custom_json is not None and not isinstance(value, GoStruct):
        return str(custom_json())
    if isinstance(value, GoStruct):
        custom = value.go_json()
        if custom is not None:
            return custom
        parts = []
        for go_name, json_name, omit in value.FIELDS:
            if json_name == "-":
                continue
            item = value.go_field(go_name)
            if omit and _empty(item):
                continue
            parts.append(f"{_json_string(json_name)}:{to_json(item)}")
        return "{" + ",".join(parts) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    if isinstance(value, dict):
        items = list(value.items()) if isinstance(value, OrderedMap) else sorted_items(value)
        return "{" + ",".join(f"{_json_string(str(k))}:{to_json(v)}" for k, v in items) + "}"
    raise ValueError(f"json: unsupported type: {type_name(value)}")
