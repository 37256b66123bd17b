"""Contracts as managed: the interchange v1.1 contracts file, backwards compatible with v1."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import TODAY
from utfall.interchange.exporter import export_all
from utfall.interchange.importer import Importer
from utfall.organisations.models import Municipality
from utfall.procurement.results import contract_periods, indicator_row
from utfall.registry.models import Contract

pytestmark = pytest.mark.django_db

PROVIDERS = ["provider_id,name,org_number,ownership", "P1,Solgläntan HVB,,private"]
V11 = [
    "contract_id,provider_id,form,services,valid_from,valid_to,extension_options,price,price_unit,value,manager,targets",
    "C1,P1,lou,hvb_youth,2024-01-01,2026-12-31,12 12,3250.50,day,9000000,Eva Avtalsson,"
    "step_down:0.60:20 plan_goals_reached:0.7:10",
]


def run(municipality: Municipality, *files: Path, update: bool = False):  # type: ignore[no-untyped-def]
    return Importer(municipality=municipality, today=TODAY, update=update).run([*files])


def test_a_v11_file_stores_the_terms_and_targets_and_exports_them(municipality, write_csv, tmp_path) -> None:  # type: ignore[no-untyped-def]
    report = run(municipality, write_csv("providers.csv", *PROVIDERS), write_csv("contracts.csv", *V11))
    assert report.ok, report.issues
    c = Contract.objects.get(municipality=municipality, contract_id="C1")
    assert (c.extension_options, c.price, c.price_unit, c.value, c.manager) == (
        "12 12",
        Decimal("3250.50"),
        "day",
        Decimal(9000000),
        "Eva Avtalsson",
    )
    assert c.latest_end == dt.date(2028, 12, 31)
    assert sorted((t.indicator, t.level, t.min_n) for t in c.targets.all()) == [
        ("plan_goals_reached", Decimal("0.700"), 10),
        ("step_down", Decimal("0.600"), 20),
    ]
    export_all(municipality, tmp_path / "out")
    with (tmp_path / "out" / "contracts.csv").open(encoding="utf-8") as fh:
        row = next(csv.DictReader(fh))
    assert row["targets"] == "plan_goals_reached:0.7:10 step_down:0.6:20"
    assert (row["price"], row["price_unit"], row["value"]) == ("3250.50", "day", "9000000")
    # The export imports unchanged; a v1 file (no v1.1 columns) changes nothing either.
    again = run(municipality, tmp_path / "out" / "contracts.csv")
    assert again.ok and again.unchanged["contracts"] == 1, again.issues
    v1 = write_csv("v1.csv", "contract_id,provider_id,form,services,valid_from,valid_to",
                   "C1,P1,lou,hvb_youth,2024-01-01,2026-12-31")  # fmt: skip
    old = run(municipality, v1)
    assert old.ok and old.unchanged["contracts"] == 1, old.issues
    assert Contract.objects.get(pk=c.pk).targets.count() == 2


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("targets", "step_down:60%:20", "ska ha formen indikator:nivå:minsta_n"),
        ("targets", "no_such:0.5:10", "okänd indikator 'no_such'"),
        ("price", "-10", "är inte ett belopp i kronor"),
        ("price_unit", "month", "okänt värde"),
        ("extension_options", "ett år", "hela månader"),
    ],
)
def test_bad_terms_are_refused_by_column_and_store_nothing(
    municipality, write_csv, column, value, reason
) -> None:  # type: ignore[no-untyped-def]
    header = V11[0].split(",")
    cells = ["C1", "P1", "lou", "hvb_youth", "2024-01-01", "", "", "100", "day", "", "", ""]
    cells[header.index(column)] = value
    report = run(municipality, write_csv("providers.csv", *PROVIDERS),
                 write_csv("contracts.csv", V11[0], ",".join(cells)))  # fmt: skip
    assert not report.ok
    assert any(i.column == column and reason in i.reason for i in report.issues), report.issues
    assert not Contract.objects.filter(municipality=municipality).exists()


def test_a_price_needs_its_unit(municipality, write_csv) -> None:  # type: ignore[no-untyped-def]
    report = run(municipality, write_csv("providers.csv", *PROVIDERS),
                 write_csv("contracts.csv", V11[0], "C1,P1,lou,hvb_youth,2024-01-01,,,100,,,,"))  # fmt: skip
    assert [(i.column, i.line) for i in report.issues] == [("price_unit", 2)]


def test_contract_years_and_small_contracts_are_suppressed(market: Municipality, settings) -> None:  # type: ignore[no-untyped-def]
    c = Contract.objects.get(municipality=market, contract_id="C-A")
    periods = contract_periods(c, until=dt.date(2025, 12, 20))
    assert [(p.date_from, p.date_to) for p in periods] == [
        (dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
        (dt.date(2025, 1, 1), dt.date(2025, 12, 20)),
    ]
    row = indicator_row(
        c,
        "step_down",
        dt.date(2025, 1, 1),
        dt.date(2025, 12, 31),
        target=c.targets.get(indicator="step_down"),
    )
    assert (row["n"], row["events"], row["rate"]) == (20, 16, 0.8)
    assert row["ci_low"] == pytest.approx(0.5840, abs=1e-4)  # Wilson 16/20
    assert row["verdict"] == "Uppnått (inom osäkerheten)"
    settings.UTFALL_MIN_COUNT = 25
    hidden = indicator_row(c, "step_down", dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    assert hidden["suppressed"] and hidden["rate"] is None and hidden["n"] is None
