"""The always-on tools: current time and the calculator."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from langchain_core.tools import BaseTool, ToolException
from pydantic import BaseModel, Field

from llmapps.chat.tools.base import make_tool
from llmapps.chat.tools.calc import CalculatorError, evaluate


class TimeArgs(BaseModel):
    timezone: str = Field(
        default="UTC", description="IANA time zone, e.g. Asia/Shanghai, Europe/Berlin, UTC"
    )


class CalcArgs(BaseModel):
    expression: str = Field(description="arithmetic, e.g. (3 + 4) * 2 ** 10 / sqrt(16)")


def current_time(timezone: str = "UTC") -> str:
    """Now in the given time zone: ISO date-time and weekday."""
    try:
        zone = ZoneInfo(timezone.strip() or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolException(
            f"unknown time zone {timezone!r}: use an IANA name such as Asia/Shanghai or UTC"
        ) from None
    now = datetime.now(zone)
    return f"{now.isoformat(timespec='seconds')} ({now.strftime('%A')}, {zone.key})"


def calculate(expression: str) -> str:
    """The value of the expression as text."""
    try:
        value = evaluate(expression)
    except CalculatorError as exc:
        raise ToolException(str(exc)) from None
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def time_tool() -> BaseTool:
    return make_tool(
        current_time,
        "current_time",
        "Get the current date and time in a time zone.",
        TimeArgs,
    )


def calculator_tool() -> BaseTool:
    return make_tool(
        calculate,
        "calculator",
        (
            "Evaluate arithmetic exactly: numbers, + - * / // % ** (^ is power), parentheses, "
            "pi, e and sqrt, sin, cos, tan, log, log10, exp, abs, round, floor, ceil, min, max, "
            "factorial."
        ),
        CalcArgs,
    )
