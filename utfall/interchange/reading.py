"""Reading interchange files: CSV (',' or ';', UTF-8 with or without BOM) or XLSX (first sheet).

A CSV cell ``'=…`` (``+ - @`` likewise) is read as ``=…``: the export writes such text with the
apostrophe so that no spreadsheet runs it as a formula (utfall.core.spreadsheets)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

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


def read_table(path: Path, label: str | None = None) -> Table:
    label = label or str(path)
    if not path.exists():
        raise UnreadableFile(f"{label}: filen finns inte")
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _read_xlsx(path, label)
    if suffix in (".csv", ".txt"):
        return _read_csv(path, label)
    raise UnreadableFile(f"{label}: okänd filtyp '{path.suffix}' (använd .csv eller .xlsx)")


def _read_csv(path: Path, label: str) -> Table:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            f"{label}: filen är inte UTF-8 (fel vid byte {exc.start}); spara den som CSV UTF-8"
        ) from None
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise UnreadableFile(f"{label}: filen är tom (rubrikraden saknas)") from None
    except csv.Error as exc:
        raise UnreadableFile(f"{label}:1: rubrikraden kan inte läsas: {exc}") from None
    if not any(h.strip() for h in header):
        raise UnreadableFile(f"{label}: filen är tom (rubrikraden saknas)")
    table = Table(path, label, [h.strip() for h in header], delimiter=delimiter)
    line = reader.line_num
    try:
        for row in reader:
            start = line + 1
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue  # blank lines are not rows
            table.rows.append((start, [restore(cell) for cell in row]))
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


def _read_xlsx(path: Path, label: str) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise UnreadableFile(f"{label}: kan inte läsas som XLSX ({exc.__class__.__name__})") from None
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        try:
            header_cells = next(rows)
        except StopIteration:
            raise UnreadableFile(f"{label}: första bladet är tomt (rubrikraden saknas)") from None
        header = [_cell_text(c).strip() for c in header_cells]
        while header and header[-1] == "":
            header.pop()
        table = Table(path, label, header)
        for number, cells in enumerate(rows, start=2):
            values = [_cell_text(c) for c in cells]
            while len(values) > len(header) and values[-1] == "":
                values.pop()
            if any(v.strip() for v in values):
                values += [""] * (len(header) - len(values))
                table.rows.append((number, values))
        return table
    finally:
        workbook.close()
