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


# --- Downloads for Swedish Excel (issue 15, point 6) -----------------------------------------

BOM = "\ufeff"


def swedish_number(value: Any) -> Any:
    """A float with a decimal comma (Swedish Excel reads "0,7412" as a number); others unchanged."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else ("ja" if value else "nej")
    if isinstance(value, float):
        return repr(float(value)).replace(".", ",")  # float(): numpy floats print as np.float64(…)
    return value


def excel_csv(
    *, title: Iterable[tuple[str, str]], headers: Iterable[str], rows: Iterable[Iterable[Any]]
) -> str:
    """The one shape of every CSV download a person opens in Excel: UTF-8 with a byte-order mark
    (Excel otherwise guesses Windows-1252 and mangles å, ä, ö), ``;`` between cells (Swedish
    Excel's list separator, since the comma is the decimal sign), decimal comma, a title block
    of "label;value" lines (what, which selection, which period, the suppression rule), a blank
    line, the Swedish column headers, then the rows; formula-like text neutralised. Decided
    2026-12-02 (docs/reports.md)."""
    import csv
    import io

    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for label, value in title:
        writer.writerow(neutralised([label, value]))
    writer.writerow([])
    writer.writerow(neutralised(headers))
    for row in rows:
        writer.writerow([swedish_number(v) for v in neutralised(row)])  # a negative number is no formula
    return out.getvalue()


def read_excel_csv(text: str) -> tuple[dict[str, str], list[str], list[list[str]]]:
    """The inverse of :func:`excel_csv` for tests and re-reading: (title, headers, rows of text)."""
    import csv
    import io

    lines = list(csv.reader(io.StringIO(text.removeprefix(BOM)), delimiter=";"))
    blank = lines.index([])
    title = {line[0]: line[1] for line in lines[:blank]}
    return title, lines[blank + 1], lines[blank + 2 :]
