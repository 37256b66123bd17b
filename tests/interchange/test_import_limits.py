"""Issue 16 point 8: the importer's bounds. A file past UTFALL_IMPORT_MAX_BYTES, _ROWS or
_COLUMNS is refused as a whole with the bound named and nothing stored; at most
UTFALL_IMPORT_MAX_ERRORS errors are listed; files are read row by row, not held whole; and no
error repeats what was sent beyond a short quoted value (never an identity number)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.interchange.helpers import PROVIDERS
from utfall.interchange.importer import import_files
from utfall.interchange.reading import UnreadableFile, read_table
from utfall.registry.models import Provider

pytestmark = pytest.mark.django_db


def providers(n: int, *, bad: bool = False) -> list[str]:
    ownership = "nobody" if bad else "private"
    return [PROVIDERS[0], *(f"P{i},Utförare {i},,{ownership}" for i in range(n))]


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(write_csv, municipality, settings) -> None:  # type: ignore[no-untyped-def]
    settings.UTFALL_IMPORT_MAX_BYTES = 1000
    path = write_csv("providers.csv", *providers(100))
    report = import_files([path], municipality=municipality)
    assert not report.stored and Provider.objects.count() == 0
    [issue] = report.issues
    assert "högst 0,0 MB" in issue.reason and "UTFALL_IMPORT_MAX_BYTES" in issue.reason
    assert "dela upp den" in issue.reason


def test_a_file_with_too_many_rows_or_columns_is_refused_whole(write_csv, municipality, settings) -> None:  # type: ignore[no-untyped-def]
    settings.UTFALL_IMPORT_MAX_ROWS = 10
    report = import_files([write_csv("providers.csv", *providers(11))], municipality=municipality)
    assert [i.reason for i in report.issues] == [
        "filen har fler än 10 datarader (UTFALL_IMPORT_MAX_ROWS); dela upp den i flera filer"
    ]
    assert import_files([write_csv("providers.csv", *providers(10))], municipality=municipality).ok
    assert Provider.objects.count() == 10

    settings.UTFALL_IMPORT_MAX_COLUMNS = 4
    wide = write_csv("providers.csv", PROVIDERS[0] + ",extra", "P99,Bred,,private,x")
    report = import_files([wide], municipality=municipality)
    assert [i.reason for i in report.issues] == [
        "rubrikraden har fler än 4 kolumner, så många tas inte emot (UTFALL_IMPORT_MAX_COLUMNS)"
    ]
    assert not Provider.objects.filter(provider_id="P99").exists()


def test_only_the_first_errors_are_listed_and_the_rest_counted(write_csv, municipality, settings) -> None:  # type: ignore[no-untyped-def]
    settings.UTFALL_IMPORT_MAX_ERRORS = 3
    path = write_csv("providers.csv", *providers(8, bad=True))
    report = import_files([path], municipality=municipality)
    assert len(report.issues) == 3 and report.hidden_issues == 5 and report.error_count == 8
    assert [i.line for i in report.issues] == [2, 3, 4]
    with pytest.raises(CommandError, match=r"^8 fel; ingenting sparades"):
        call_command("import", str(path), "--municipality", municipality.code)
    assert Provider.objects.count() == 0


def test_a_large_file_is_read_row_by_row_not_held_whole(tmp_path: Path, settings) -> None:
    """Reading stops at the row limit: memory stays far below the file's size (before, the whole
    file was read into memory, decoded, and only then split)."""
    settings.UTFALL_IMPORT_MAX_ROWS = 1000
    path = tmp_path / "providers.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write(PROVIDERS[0] + "\n")
        for i in range(300_000):
            fh.write(f"P{i},Utförare med ett ganska långt namn nummer {i},,private\n")
    assert path.stat().st_size > 15_000_000
    tracemalloc.start()
    try:
        with pytest.raises(UnreadableFile, match="fler än 1000 datarader"):
            read_table(path)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3_000_000, peak


def test_errors_about_headings_do_not_repeat_long_or_identity_like_input(write_csv, municipality) -> None:  # type: ignore[no-untyped-def]
    heading = "19660808-6549"
    long = "x" * 300
    path = write_csv("providers.csv", PROVIDERS[0] + f",{heading},{long}", "P1,Ett,,private,a,b")
    report = import_files([path], municipality=municipality)
    text = " ".join(f"{i.column} {i.reason}" for i in report.issues)
    assert heading not in text and "19660808" not in text and "x" * 50 not in text
    assert "okänd kolumn (värdet visas inte: det liknar ett personnummer) för providers" in text
    assert Provider.objects.count() == 0


def test_an_xlsx_file_has_the_same_row_and_column_bounds(tmp_path: Path, municipality, settings) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import Workbook

    settings.UTFALL_IMPORT_MAX_ROWS = 3
    settings.UTFALL_IMPORT_MAX_COLUMNS = 4
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(PROVIDERS[0].split(","))
    for i in range(4):
        sheet.append([f"P{i}", f"Utförare {i}", None, "private"])
    path = tmp_path / "providers.xlsx"
    book.save(path)
    report = import_files([path], municipality=municipality)
    assert [i.reason for i in report.issues] == [
        "filen har fler än 3 datarader (UTFALL_IMPORT_MAX_ROWS); dela upp den i flera filer"
    ]
    sheet.cell(row=1, column=5, value="extra")
    book.save(path)
    report = import_files([path], municipality=municipality)
    assert [i.reason for i in report.issues] == [
        "rubrikraden har fler än 4 kolumner, så många tas inte emot (UTFALL_IMPORT_MAX_COLUMNS)"
    ]
    assert Provider.objects.count() == 0


def test_blank_lines_are_skipped_and_only_apostrophe_cells_restored(tmp_path: Path) -> None:
    """The reader's fast path (issue 13.2): a line of separators and spaces is no row, a cell
    written as ``'=…`` by the export is read back as ``=…``, and every other cell, an apostrophe
    inside a name included, is kept as it was, with the line numbers an editor shows."""
    path = tmp_path / "providers.csv"
    path.write_text(
        PROVIDERS[0] + "\n"
        "P1,Ett,,private\n"
        " , ,  ,\n"
        "\n"
        "P2,'=SUMMA(A1),,private\n"
        "P3,O'Brien's omsorg,,private\n"
        "P4,'Citat',,private\n",
        encoding="utf-8",
    )
    table = read_table(path)
    assert table.rows == [
        (2, ["P1", "Ett", "", "private"]),
        (5, ["P2", "=SUMMA(A1)", "", "private"]),
        (6, ["P3", "O'Brien's omsorg", "", "private"]),
        (7, ["P4", "'Citat'", "", "private"]),
    ]
