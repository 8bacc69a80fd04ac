"""Calculator (no eval), current time, tool selection and switches."""

from __future__ import annotations

import pytest

from llmapps.chat.tools import ToolError, build_tools
from llmapps.chat.tools.calc import CalculatorError, evaluate
from llmapps.config import Settings


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("2 + 3 * 4", 14),
        ("(2 + 3) * 4", 20),
        ("7 // 2", 3),
        ("7 % 4", 3),
        ("2 ** 10", 1024),
        ("2^10", 1024),
        ("-3 + +5", 2),
        ("sqrt(16) + abs(-2)", 6.0),
        ("round(pi, 2)", 3.14),
        ("max(3, 9, 4) - min(1, 2)", 8),
        ("factorial(10)", 3628800),
        ("（1＋2）×3÷3", 3.0),
    ],
)
def test_calculator_computes(expression: str, value: float) -> None:
    assert evaluate(expression) == pytest.approx(value)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os').system('id')", "not allowed"),
        ("open('/etc/passwd')", "'open' is not allowed"),
        ("open('/etc/passwd').read()", "is not allowed"),
        ("(1).__class__.__bases__", "Attribute is not allowed"),
        ("[x for x in range(10)]", "not allowed"),
        ("lambda: 1", "Lambda is not allowed"),
        ("os", "unknown name 'os'"),
        ("'a' * 10", "not a number"),
        ("9 ** 9 ** 9", "too large"),
        ("10 ** 100000", "too large"),
        ("1 / 0", "division by zero"),
        ("2 +", "cannot parse"),
        ("sqrt(x=4)", "not allowed"),
    ],
)
def test_calculator_refuses(expression: str, message: str) -> None:
    with pytest.raises(CalculatorError, match=message):
        evaluate(expression)


def test_tools_by_default_and_switches(settings: Settings, enable) -> None:  # type: ignore[no-untyped-def]
    names = [t.name for t in build_tools(settings)]
    assert names == [
        "current_time",
        "calculator",
        "read_file",
        "write_file",
        "list_files",
        "weather",
    ]
    assert "kb_search" in [t.name for t in build_tools(settings, kb="docs")]
    with pytest.raises(ToolError, match=r"set chat\.enable_web_fetch = true"):
        build_tools(settings, names=["fetch_url"])
    with pytest.raises(ToolError, match=r"set chat\.enable_code_interpreter = true"):
        build_tools(settings, names=["python"])
    with pytest.raises(ToolError, match="unknown tool 'shell'"):
        build_tools(settings, names=["shell"])
    on = enable(enable_web_fetch=True, enable_code_interpreter=True)
    assert [t.name for t in build_tools(on, names=["python", "fetch_url"])] == [
        "python",
        "fetch_url",
    ]


def test_calculator_and_time_tools_report_errors_as_text(settings: Settings) -> None:
    tools = {t.name: t for t in build_tools(settings, names=["calculator", "current_time"])}
    assert tools["calculator"].invoke({"expression": "6 * 7"}) == "42"
    refused = tools["calculator"].invoke({"expression": "__import__('os')"})
    assert "'__import__' is not allowed" in refused
    now = tools["current_time"].invoke({"timezone": "Asia/Shanghai"})
    assert "+08:00" in now and "Asia/Shanghai" in now
    assert "unknown time zone" in tools["current_time"].invoke({"timezone": "Mars/Base"})


def test_kb_search_tool_returns_citations(settings: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from llmapps.chat.kb import add_paths, create_kb

    doc = tmp_path / "care.md"
    doc.write_text("# Cleaning\nWipe the casing with a soft dry cloth.", "utf-8")
    create_kb("docs", settings=settings)
    add_paths("docs", [doc], settings=settings)
    (tool,) = build_tools(settings, kb="docs", names=["kb_search"])
    found = tool.invoke({"query": "soft cloth casing"})
    assert "[1] care.md, Cleaning (score" in found and "soft dry cloth" in found
    assert "say you do not know" in tool.invoke({"query": "volcano eruption history"})
