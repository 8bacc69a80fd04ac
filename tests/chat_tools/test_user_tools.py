"""User-defined tools: typed, documented functions in the tools folder."""

from __future__ import annotations

from pathlib import Path

from llmapps.chat.tools import build_tools, load_user_tools, tools_dir
from llmapps.config import Settings

TOOLS = '''
from langchain_core.tools import tool


def shipping_cost(weight_kg: float, express: bool = False) -> str:
    """Shipping cost of a parcel in yuan.

    Args:
        weight_kg: parcel weight in kilograms
        express: next-day delivery
    """
    cost = 10 + 4 * weight_kg + (15 if express else 0)
    return f"{cost:.1f} yuan"


def untyped(x):
    """No annotation: skipped."""
    return x


def undocumented(x: int) -> int:
    return x


@tool
def greet(name: str) -> str:
    """Greet someone by name."""
    return f"你好, {name}!"


def _private(x: int) -> int:
    """Never a tool."""
    return x
'''


def test_user_tools_are_loaded_from_the_tools_folder(settings: Settings) -> None:
    folder = tools_dir(settings)
    folder.mkdir(parents=True)
    (folder / "shop.py").write_text(TOOLS, "utf-8")
    (folder / "broken.py").write_text("import does_not_exist\n", "utf-8")
    tools, problems = load_user_tools(folder)
    assert sorted(t.name for t in tools) == ["greet", "shipping_cost"]
    assert any("untyped: parameter(s) x need a type annotation" in p for p in problems)
    assert any("undocumented: needs a docstring" in p for p in problems)
    assert any(p.startswith("broken.py: cannot import (ModuleNotFoundError") for p in problems)

    by_name = {t.name: t for t in build_tools(settings)}
    shipping = by_name["shipping_cost"]
    assert shipping.description.startswith("Shipping cost of a parcel in yuan.")
    assert shipping.args["weight_kg"]["type"] == "number"
    assert shipping.args["weight_kg"]["description"] == "parcel weight in kilograms"
    assert shipping.invoke({"weight_kg": 2.5, "express": True}) == "35.0 yuan"
    assert by_name["greet"].invoke({"name": "Li"}) == "你好, Li!"


def test_tools_dir_setting(enable, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "mytools"
    folder.mkdir()
    (folder / "echo.py").write_text(
        'def echo(text: str) -> str:\n    """Echo the text back."""\n    return text\n', "utf-8"
    )
    settings = enable(tools_dir=str(folder))
    (tool,) = build_tools(settings, names=["echo"])
    assert tool.invoke({"text": "hi"}) == "hi"
