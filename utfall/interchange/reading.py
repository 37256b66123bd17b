"""Reading interchange files: CSV (',' or ';', UTF-8 with or without BOM) or XLSX (first sheet).

Files are read row by row (never the whole file at once) and within the bounds of
``UTFALL_IMPORT_MAX_BYTES``, ``UTFALL_IMPORT_MAX_ROWS`` and ``UTFALL_IMPORT_MAX_COLUMNS``
(docs/interchange.md, "Limits"); a file past a bound is refused as a whole, with the bound
named, before its rows are checked.

A CSV cell ``'=…`` (``+ - @`` likewise) is read as ``=…``: the export writes such text with the
apostrophe so that no spreadsheet runs it as a formula (utfall.core.spreadsheets)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from utfall.core.spreadsheets import restore


class UnreadableFile(Exception):
    """The file as a whole cannot be read; the message says why."""


@dataclass
class Table:
    """A file's header and its data rows, each with the line number a user sees in an editor."""

    path: Path
    label: str
    header: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)
    delimiter: str = ","


@dataclass(frozen=True)
class Limits:
    """The bounds a file is read within (settings ``UTFALL_IMPORT_MAX_*``)."""

    max_bytes: int
    max_rows: int
    max_columns: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            max_bytes=settings.UTFALL_IMPORT_MAX_BYTES,
            max_rows=settings.UTFALL_IMPORT_MAX_ROWS,
            max_columns=settings.UTFALL_IMPORT_MAX_COLUMNS,
        )


def _megabytes(n: int) -> str:
    return f"{n / 1024 / 1024:.1f}".replace(".", ",")


def _check_columns(label: str, header: list[str], limits: Limits) -> None:
    if len(header) > limits.max_columns:
        raise UnreadableFile(
            f"{label}:1: rubrikraden har fler än {limits.max_columns} kolumner, så många tas inte emot "
            "(UTFALL_IMPORT_MAX_COLUMNS)"
        )


def _too_many_rows(label: str, limits: Limits) -> UnreadableFile:
    return UnreadableFile(
        f"{label}: filen har fler än {limits.max_rows} datarader (UTFALL_IMPORT_MAX_ROWS); "
        "dela upp den i flera filer"
    )


def _nul(label: str, line: int) -> UnreadableFile:
    # PostgreSQL cannot store NUL and no column has a use for it; a UTF-16 file read as UTF-8 is
    # the usual source, so the whole file is refused rather than the row.
    return UnreadableFile(
        f"{label}: rad {line} innehåller NUL-tecken (\\0), som inte kan lagras; är filen sparad som "
        "UTF-16? Spara den som CSV UTF-8"
    )


def read_table(path: Path, label: str | None = None, limits: Limits | None = None) -> Table:
    label = label or str(path)
    limits = limits or Limits.from_settings()
    if not path.exists():
        raise UnreadableFile(f"{label}: filen finns inte")
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise UnreadableFile(
            f"{label}: filen är {_megabytes(size)} MB, högst {_megabytes(limits.max_bytes)} MB tas emot "
            "(UTFALL_IMPORT_MAX_BYTES); dela upp den i flera filer"
        )
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _read_xlsx(path, label, limits)
    if suffix in (".csv", ".txt"):
        return _read_csv(path, label, limits)
    raise UnreadableFile(f"{label}: okänd filtyp '{path.suffix}' (använd .csv eller .xlsx)")


def _read_csv(path: Path, label: str, limits: Limits) -> Table:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        try:
            return _read_csv_rows(fh, path, label, limits)
        except UnicodeDecodeError as exc:
            raise UnreadableFile(
                f"{label}: filen är inte UTF-8 (fel vid byte {exc.start}); spara den som CSV UTF-8"
            ) from None


def _read_csv_rows(fh: io.TextIOWrapper, path: Path, label: str, limits: Limits) -> Table:
    first_line = fh.readline()
    fh.seek(0)
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(fh, delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise UnreadableFile(f"{label}: filen är tom (rubrikraden saknas)") from None
    except csv.Error as exc:
        raise UnreadableFile(f"{label}:1: rubrikraden kan inte läsas: {exc}") from None
    if not any(h.strip() for h in header):
        raise UnreadableFile(f"{label}: filen är tom (rubrikraden saknas)")
    _check_columns(label, header, limits)
    if any("\x00" in h for h in header):
        raise _nul(label, 1)
    table = Table(path, label, [h.strip() for h in header], delimiter=delimiter)
    line = reader.line_num
    try:
        for row in reader:
            start = line + 1
            line = reader.line_num
            joined = "".join(row)  # one string per row: the blank and apostrophe checks at C speed
            if not joined.strip():
                continue  # blank lines are not rows
            if len(table.rows) >= limits.max_rows:
                raise _too_many_rows(label, limits)
            if len(row) > limits.max_columns:
                row = row[: limits.max_columns + 1]  # the width check names the row; no more is held
            if "\x00" in joined:
                raise _nul(label, start)
            table.rows.append((start, [restore(cell) for cell in row] if "'" in joined else row))
    except csv.Error as exc:
        raise UnreadableFile(f"{label}:{line + 1}: raden kan inte läsas som CSV: {exc}") from None
    return table


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_xlsx(path: Path, label: str, limits: Limits) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise UnreadableFile(f"{label}: kan inte läsas som XLSX ({exc.__class__.__name__})") from None
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True, max_col=limits.max_columns + 1)
        try:
            header_cells = next(rows)
        except StopIteration:
            raise UnreadableFile(f"{label}: första bladet är tomt (rubrikraden saknas)") from None
        header = [_cell_text(c).strip() for c in header_cells]
        while header and header[-1] == "":
            header.pop()
        _check_columns(label, header, limits)
        if any("\x00" in h for h in header):
            raise _nul(label, 1)
        table = Table(path, label, header)
        for number, cells in enumerate(rows, start=2):
            values = [_cell_text(c) for c in cells]
            while len(values) > len(header) and values[-1] == "":
                values.pop()
            if any("\x00" in v for v in values):
                raise _nul(label, number)
            if any(v.strip() for v in values):
                if len(table.rows) >= limits.max_rows:
                    raise _too_many_rows(label, limits)
                values += [""] * (len(header) - len(values))
                table.rows.append((number, values))
        return table
    finally:
        workbook.close()
