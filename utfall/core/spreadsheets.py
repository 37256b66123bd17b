"""Every text cell in every download is data, never a formula (CSV and formula injection).

A spreadsheet program reads a CSV cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a
tab or carriage return before one) as a formula, which can run commands or send data away.
Such text cells are written with a leading apostrophe, which spreadsheets show as text
(OWASP's advice); numbers are left as numbers. Reading an interchange CSV removes exactly
that apostrophe again, so export → import keeps the value (docs/interchange.md). XLSX cells
are typed: text is written as a string cell, never as a formula, and needs no prefix.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """The value as a CSV cell may carry it: text that a spreadsheet would run gets a ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def neutralised(values: Iterable[Any]) -> list[Any]:
    return [neutralise(v) for v in values]


def restore(text: str) -> str:
    """The interchange reader's inverse of :func:`neutralise` for one CSV cell."""
    if len(text) > 1 and text[0] == "'" and text[1:].startswith(FORMULA_START):
        return text[1:]
    return text


def as_text_cell(cell: Any) -> None:
    """Make an openpyxl cell holding text a string cell, whatever its first character."""
    if isinstance(cell.value, str):
        cell.data_type = "s"
