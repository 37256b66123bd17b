from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import Workbook

from tests.conftest import TODAY
from tests.interchange.helpers import write_set
from tests.interchange.test_import import stored_counts
from utfall.demo.generator import generate
from utfall.interchange.exporter import export_all
from utfall.interchange.importer import import_files

pytestmark = pytest.mark.django_db


def test_export_import_export_gives_identical_files(municipality, other_municipality, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = generate(size=0.03, seed=7, today=TODAY)
    report = import_files(data.write_csv(tmp_path / "in"), municipality=municipality, today=TODAY)
    assert report.ok, report.issues[:5]
    first = export_all(municipality, tmp_path / "first")
    assert first == {
        "providers": len(data.providers),
        "contracts": len(data.contracts),
        "interventions": len(data.interventions),
        "followups": len(data.followups),
    }

    again = import_files(
        sorted((tmp_path / "first").glob("*.csv")), municipality=other_municipality, today=TODAY
    )
    assert again.ok, again.issues[:5]
    assert stored_counts(other_municipality) == stored_counts(municipality)
    export_all(other_municipality, tmp_path / "second")
    for kind in first:
        name = f"{kind}.csv"
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes(), name


def test_the_export_carries_pseudonyms_never_identity_numbers(write_csv, municipality, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert import_files(write_set(write_csv), municipality=municipality, today=TODAY).ok
    export_all(municipality, tmp_path / "out")
    text = (tmp_path / "out" / "interventions.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0].split(",")[:3] == ["intervention_id", "person_id", "sex"]
    person_ids = [line.split(",")[1] for line in lines[1:]]
    assert all(p.startswith("pseudo:") and len(p) == 7 + 64 for p in person_ids)
    followups = (tmp_path / "out" / "followups.csv").read_text(encoding="utf-8").splitlines()
    assert followups[0] == (
        "followup_id,intervention_id,date,instrument,respondent,status,q1,q2,q3,q4,q5,assessment,g1,g2,g3,minutes"
    )
    assert followups[1] == (
        "F1,I1,2025-07-01,stockholm-2021@1,client,completed,yes_completely,yes_somewhat,dont_know,"
        "much_better,very_large,approved,yes,partly,yes,14"
    )


def test_it_imports_the_first_sheet_of_an_xlsx_file(municipality, tmp_path) -> None:  # type: ignore[no-untyped-def]
    book = Workbook()
    sheet = book.active
    sheet.append(["contract_id", "provider_id", "form", "services", "valid_from", "valid_to"])
    sheet.append(["C1", "P1", "lov", "ihf mst", dt.datetime(2024, 1, 1), None])
    second = book.create_sheet("providers")
    second.append(["provider_id", "name", "org_number", "ownership"])
    book.save(tmp_path / "contracts.xlsx")
    providers = tmp_path / "providers.xlsx"
    book2 = Workbook()
    book2.active.append(["provider_id", "name", "org_number", "ownership"])
    book2.active.append(["P1", "Familjestöd", 5560000001, "nonprofit"])
    book2.save(providers)

    report = import_files([tmp_path / "contracts.xlsx", providers], municipality=municipality, today=TODAY)
    assert report.ok, report.issues
    assert dict(report.created) == {"providers": 1, "contracts": 1}
