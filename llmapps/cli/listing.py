"""Every list command prints through here: whole identifiers, plain columns when piped, --json.

Why one helper: rich tables shorten cells to fit the terminal (``/home/me/src/de…``), so a
user, or a script reading the output, could not tell which repository or file a row was.
Here no cell is ever cut: on a terminal long cells wrap inside their column; when stdout is a
pipe or a file the rows are plain space-aligned columns, one line per row; and ``--json``
prints the records themselves for scripts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from llmapps.cli.common import console

JSON_HELP = "Print JSON (a list of objects) instead of a table."


def json_option() -> Any:
    """The ``--json`` option every list command takes."""
    return typer.Option(False, "--json", help=JSON_HELP)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return " ".join(text.split()) if "\n" in text or "\t" in text else text


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def print_list(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    as_json: bool = False,
    records: Sequence[Any] | None = None,
    title: str | None = None,
    empty: str | None = None,
) -> None:
    """Print ``rows`` under ``columns``; with ``as_json`` print ``records`` (or the rows as
    objects keyed by column). ``empty`` is said instead of an empty table (JSON prints ``[]``)."""
    if as_json:
        as_objects = [dict(zip(columns, r, strict=False)) for r in rows]
        print_json(list(records) if records is not None else as_objects)
        return
    if not rows and empty:
        console.print(empty, highlight=False, soft_wrap=True)
        return
    cells = [[_cell(v) for v in row] for row in rows]
    if console.is_terminal:
        table = Table(title=title)
        for name in columns:
            table.add_column(name, overflow="fold")  # wrap, never "…"
        for row in cells:
            table.add_row(*(escape(c) for c in row))
        console.print(table)
        return
    widths = [len(name) for name in columns]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=False)]
    if title:
        typer.echo(title)
    for row in [list(columns), *cells]:
        padded = [c.ljust(w) for c, w in zip(row, widths, strict=False)]
        typer.echo("  ".join(padded).rstrip())
