"""Result tables: one shape for the page, the CSV, the XLSX and the API.

A service builds a :class:`ResultTable` whose rows have already been through
:func:`utfall.stats.suppression.suppress` and rounded (rates and intervals to 4 decimals, as
the comparison API). The page formats those very values (a rate of 0.7412 is shown as
"74,12 %"); the CSV, the XLSX and the API carry them unchanged. So the four agree exactly.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from django.utils.translation import get_language, gettext
from openpyxl import Workbook
from openpyxl.styles import Font

from utfall.comparisons.disclosure import SUPPRESSED_TEXT, SUPPRESSION_RULE
from utfall.core.spreadsheets import as_text_cell, excel_csv

#: "points": a size of a difference in percentage points, without sign (a detectable difference).
Kind = Literal["text", "count", "rate", "diff", "ratio", "number", "flag", "points"]
DECIMALS = 4


def translated(text: str) -> str:
    """A Swedish label or note of a results table in the page's language (issue 17 point 15).

    Labels stay Swedish in the code, the downloads and the API (their wording is part of the
    files people keep); a page translates them when it is rendered, from the results app's
    catalogue. A label without an entry of its own is translated part by part ("Kvinnor, n",
    "Ålder 13–15: andel"); parts without an entry (a provider's or an indicator's name) stay.
    """
    if isinstance(text, Phrase):
        return gettext(text.msgid) % {k: translated(v) for k, v in text.params.items()}
    out = gettext(text)
    if out != text or (get_language() or "sv").startswith("sv") or len(text) > 80 or ". " in text:
        return out  # a sentence is translated whole or not at all
    for sep in (": ", ", "):
        if sep in text:
            return sep.join(translated(part) for part in text.split(sep))
    return out


class Phrase(str):
    """A note made from a sentence with figures in it: Swedish as a string (the downloads and the
    API keep it so), and its msgid and values, so that a page can translate it (issue 17 point 15).
    A value that is itself a sentence of the catalogue (the reliability verdict) is translated too."""

    msgid: str
    params: dict[str, str]

    def __new__(cls, msgid: str, **params: str) -> Phrase:
        phrase = super().__new__(cls, msgid % params)
        phrase.msgid, phrase.params = msgid, params
        return phrase

    def __getnewargs_ex__(self) -> tuple[tuple[str], dict[str, str]]:  # a cached page unpickles
        return (self.msgid,), self.params


def suppressed_text() -> str:
    """The word for a hidden cell in the active language ("dold", "hidden")."""
    return gettext(SUPPRESSED_TEXT)


def suppression_rule(min_n: int) -> str:
    """The footnote of every table with a hidden cell, in the active language."""
    return gettext(SUPPRESSION_RULE).format(min_n=min_n)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: Kind = "text"
    #: Shown on the page in one cell with the next column(s): "rate (low–high)".
    interval: tuple[str, str] | None = None
    #: On the page for screen readers and tests only (a code beside its name takes a column's
    #: width from the numbers); the downloads keep it.
    hidden: bool = False
    #: The key of the n behind a rate when it is not the rate's own (``rate`` → ``n``).
    n_key: str | None = None


@dataclass
class ResultTable:
    name: str
    caption: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)

    def keys(self) -> list[str]:
        """The columns' keys, then ``suppressed`` and each ``<group>_suppressed`` the rows carry
        (hidden groups are named as hidden, not left to look like missing data)."""
        keys = [c.key for c in self.columns]
        for row in self.rows:
            for key in row:
                if key.endswith("suppressed") and key not in keys:
                    keys.append(key)
        return keys

    def labels(self) -> list[str]:
        labels = [c.label for c in self.columns]
        extra = self.keys()[len(labels) :]
        return labels + [
            "Dold" if k == "suppressed" else f"Dold: {k.removesuffix('_suppressed')}" for k in extra
        ]

    def as_json(self) -> dict[str, Any]:
        keys = self.keys()
        n_keys = [c.n_key for c in self.columns if c.n_key and c.n_key not in keys]
        return {
            "name": self.name,
            "caption": self.caption,
            "columns": [
                {
                    "key": c.key,
                    "label": c.label,
                    "kind": c.kind,
                    "interval": list(c.interval) if c.interval else None,
                    **({"n_key": c.n_key} if c.n_key else {}),
                }
                for c in self.columns
            ],
            "rows": [{key: row.get(key) for key in [*keys, *n_keys]} for row in self.rows],
            "notes": list(self.notes),
        }


def rounded(value: Any, decimals: int = DECIMALS) -> Any:
    """A float rounded as the API rounds; None for None and NaN; other values unchanged."""
    if value is None:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, decimals)
    return value


def to_csv(table: ResultTable, title: list[tuple[str, str]] | None = None) -> str:
    """The table for Swedish Excel (core.spreadsheets.excel_csv): a title block (the caption,
    then ``title``'s lines and the table's notes), the Swedish column labels, the values with a
    decimal comma (rates as fractions, 0,7412), an empty cell for no value, hidden groups named
    as hidden in the "Dold" columns."""
    keys = table.keys()
    block = [("Tabell", table.caption), *(title or []), *(("Not", note) for note in table.notes)]
    return excel_csv(
        title=block, headers=table.labels(), rows=([row.get(k) for k in keys] for row in table.rows)
    )


def to_xlsx(table: ResultTable) -> bytes:
    """One sheet: a row of keys, a row of Swedish labels, then the values as numbers."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = table.name[:31]
    keys = table.keys()
    sheet.append(keys)
    sheet.append(table.labels())
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in table.rows:
        sheet.append([row.get(key) for key in keys])
    for index, column in enumerate(table.columns, start=1):
        if column.kind in ("rate", "diff", "points"):
            for (cell,) in sheet.iter_rows(min_row=3, min_col=index, max_col=index):
                cell.number_format = "0.00%"
    if table.notes:
        sheet.append([])
        for note in table.notes:
            sheet.append([note])
    for cells in sheet.iter_rows():
        for cell in cells:
            as_text_cell(cell)  # a group named "=…" stays a name, never a formula
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def in_english() -> bool:
    """Whether the page is in English (else Swedish, the default)."""
    return not (get_language() or "sv").startswith("sv")


def decimal(text: str, *, english: bool | None = None) -> str:
    """A number written with a decimal point (``f"{x:.1f}"``) in the page's language: a decimal
    comma in Swedish, the point in English (issue 17 point 15). ``english``: the language
    already looked up (a table of 750 rows asks ~13,000 times; each look-up reads the request's
    thread-local language)."""
    if english is None:
        english = in_english()
    return text if english else text.replace(".", ",")


def display(value: Any, kind: str, *, n: int | None = None, english: bool | None = None) -> str:
    """The page's text for a value, as a Swedish reader expects (issue 17 point 13): decimal
    comma; a percentage whole when its n is under 100 and with one decimal above (more digits
    than the data carry suggest a precision it lacks); O/E with two decimals; counts with a
    space between thousands ("22 500"); other numbers (an expected count E, a report's minutes)
    with one decimal and a space between thousands ("3 423,8"). The downloads and the API keep
    the full numbers. In English, a
    decimal point and a comma between thousands ("74.1 %", "22,500")."""
    if value is None:
        return "–"
    if kind in ("text", "flag"):
        return str(value)
    if english is None:
        english = in_english()
    if kind == "rate":
        decimals = 0 if n is not None and n < 100 else 1
        return decimal(f"{value * 100:.{decimals}f}", english=english) + "\u00a0%"
    if kind == "diff":
        sign = "+" if value > 0 else ("−" if value < 0 else "±")
        return f"{sign}{decimal(f'{abs(value) * 100:.1f}', english=english)}\u00a0" + gettext("p.e.")
    if kind == "points":
        return decimal(f"{abs(value) * 100:.1f}", english=english) + "\u00a0" + gettext("p.e.")
    if kind == "ratio":
        return decimal(f"{value:.2f}", english=english) if isinstance(value, float) else str(value)
    if kind == "count" and isinstance(value, int):
        return f"{value:,}" if english else f"{value:,}".replace(",", "\u00a0")
    if kind == "number":
        return grouped(f"{value:,.1f}", english=english) if isinstance(value, float) else str(value)
    return str(value)


#: A number's point and thousands commas (``f"{x:,.1f}"``) as Swedish writes them.
SWEDISH_NUMBER = str.maketrans({".": ",", ",": "\u00a0"})


def grouped(text: str, *, english: bool) -> str:
    """A number written with a comma between thousands and a decimal point (``f"{x:,.1f}"``) in
    the page's language: "3 423,8" in Swedish (a no-break space between thousands, a decimal
    comma), "3,423.8" in English."""
    return text if english else text.translate(SWEDISH_NUMBER)


_PERIOD = re.compile(r"(\d{4})-([KH])([1-4])")


def period_text(label: str) -> str:
    """A period's label in the page's language: "2025-K1" stays so in Swedish and reads
    "2025 Q1" in English ("2025-H1" → "2025 H1"). Sort keys and downloads keep the Swedish label."""
    if not in_english():
        return label

    def one(m: re.Match[str]) -> str:
        msgid = "%(year)s-K%(n)s" if m[2] == "K" else "%(year)s-H%(n)s"
        return gettext(msgid) % {"year": m[1], "n": m[3]}

    return _PERIOD.sub(one, label)


def file_stem(*parts: str) -> str:
    """A download's file name from what it holds: ASCII words joined by "_" (å → a), e.g.
    ``jamforelse_nojd-med-stodet_hela-kommunen_2025-01-01_2025-12-31``."""
    import unicodedata

    words = []
    for part in parts:
        text = unicodedata.normalize("NFKD", part).encode("ascii", "ignore").decode().lower()
        text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
        if text:
            words.append(text[:60])
    return "_".join(words) or "utfall"
