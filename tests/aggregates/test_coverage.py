"""Maintained coverage (aggregates.coverage, issue 13 point 1): the counts of a calendar
quarter, half-year or year are read from CoverageCount and equal the raw rows' counts for every
grouping and filter; other ranges are read from the raw rows; every writer keeps the counts
equal to a rebuild (also tests/aggregates/test_maintained.py); a new year's periods are added
when first read."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.conftest import TODAY
from tests.followups.helpers import post_followup
from tests.personas import World
from utfall.aggregates import coverage
from utfall.aggregates.models import CoverageCount, CoveragePeriod
from utfall.aggregates.rebuild import check
from utfall.comparisons import queries
from utfall.comparisons.disclosure import protected_counts
from utfall.comparisons.indicators import get_indicator
from utfall.core.changes import announce_data_changed
from utfall.demo.generator import as_tables, generate
from utfall.followups.models import FollowUp
from utfall.interchange.importer import Importer
from utfall.organisations.models import Municipality
from utfall.registry.models import Intervention

pytestmark = pytest.mark.django_db

COVERAGE = get_indicator("followup_coverage")
GROUPINGS = [[], ["provider"], ["service"], ["unit"], ["sex"], ["age_group"], ["provider", "sex"],
             ["service", "unit", "age_group"], ["provider", "unit"]]  # fmt: skip


def ranges() -> list[tuple[dt.date, dt.date]]:
    """Every maintained period of 2025 and the first half of 2026 (with the run 2024–2025), and
    ranges that are none (a month, days, a run of three years)."""
    out = [(start, end) for year in (2025, 2026) for _, start, end in coverage.periods_of_year(year)
           if end <= dt.date(2026, 6, 30)]  # fmt: skip
    return [*out, (dt.date(2025, 3, 1), dt.date(2025, 3, 31)), (dt.date(2025, 3, 15), dt.date(2025, 8, 20)),
            (dt.date(2023, 1, 1), dt.date(2025, 12, 31))]  # fmt: skip


def counts(municipality: Municipality, start: dt.date, end: dt.date, by: list[str], **filters: str) -> Any:
    return queries.aggregate(COVERAGE, municipality=municipality, date_from=start, date_to=end, by=by,
                             filters=filters)  # fmt: skip


def raw_counts(monkeypatch: pytest.MonkeyPatch, *args: Any, **filters: str) -> Any:
    """The same counts read from the raw rows (no period is maintained for the reader)."""
    announce_data_changed()  # a fresh count, not the cached one
    with monkeypatch.context() as patched:
        patched.setattr(queries, "coverage_period", lambda *a, **k: None)
        found = counts(*args, **filters)  # type: ignore[arg-type]
    announce_data_changed()
    return found


@pytest.fixture
def imported(municipality: Municipality) -> Municipality:
    """A small demo data set (about 2,000 interventions over three years), imported."""
    report = Importer(municipality=municipality, today=TODAY).run(
        tables=as_tables(generate(size=0.02, seed=13, today=TODAY))  # type: ignore[arg-type]
    )
    assert report.ok
    return municipality


def test_maintained_periods_give_the_raw_counts_for_every_grouping(
    imported: Municipality, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = check(imported)
    assert result.ok, result.lines()  # the import kept the counts equal to a rebuild
    assert CoverageCount.objects.filter(municipality=imported).exists()
    contract = Intervention.objects.filter(municipality=imported).exclude(contract=None).first()
    assert contract is not None and contract.contract is not None
    filters: list[dict[str, str]] = [{}, {"target_group": contract.service.target_group},
                                     {"contract": contract.contract.contract_id}, {"sex": "female"},
                                     {"unit": contract.unit.code}]  # fmt: skip
    compared = 0
    for start, end in ranges():
        for by in GROUPINGS:
            for where in filters if by in ([], ["provider"]) else [{}]:
                maintained = counts(imported, start, end, by, **where)
                assert maintained == raw_counts(monkeypatch, imported, start, end, by, **where), (
                    start,
                    end,
                    by,
                )
                compared += bool(maintained and maintained[0]["n"])
    assert compared > 50
    # A unit manager's coverage by provider within the unit: from the rollup by provider and unit.
    announce_data_changed()
    with CaptureQueriesContext(connection) as queried:
        counts(imported, dt.date(2025, 1, 1), dt.date(2025, 12, 31), ["provider"], unit=contract.unit.code)
    assert "coveragebyproviderunit" in " ".join(q["sql"] for q in queried.captured_queries)
    # The published figures (with suppression) are the same too.
    year = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    published = protected_counts(COVERAGE, municipality=imported, date_from=year[0], date_to=year[1],
                                 by=["provider"])  # fmt: skip
    announce_data_changed()
    monkeypatch.setattr(queries, "coverage_period", lambda *a, **k: None)
    assert protected_counts(COVERAGE, municipality=imported, date_from=year[0], date_to=year[1],
                            by=["provider"]) == published  # fmt: skip


def test_only_maintained_periods_are_read_from_the_counts(imported: Municipality) -> None:
    assert coverage.period_id(dt.date(2025, 4, 1), dt.date(2025, 6, 30)) is not None
    assert coverage.period_id(dt.date(2025, 1, 1), dt.date(2025, 12, 31)) is not None
    assert coverage.period_id(dt.date(2025, 7, 1), dt.date(2025, 12, 31)) is not None
    assert coverage.period_id(dt.date(2025, 3, 15), dt.date(2025, 8, 20)) is None  # not a period
    # The run of two years that a year's disclosure check reads (2026-12-03) is maintained; longer runs are not.
    assert coverage.period_id(dt.date(2024, 1, 1), dt.date(2025, 12, 31)) is not None
    assert coverage.period_id(dt.date(2023, 1, 1), dt.date(2025, 12, 31)) is None  # a run of three years
    assert coverage.period_id(dt.date(2025, 2, 1), dt.date(2025, 4, 30)) is None  # three months, no quarter
    assert coverage.period_id(dt.date(2025, 3, 1), dt.date(2025, 3, 31)) is None  # a month: raw rows


def test_a_new_year_is_added_and_filled_when_first_read(
    imported: Municipality, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on the first read after New Year: the year is not maintained yet.
    last = CoveragePeriod.objects.order_by("-year").values_list("year", flat=True)[0]
    for table in (CoverageCount, *(model for model, _ in coverage.ROLLUPS)):
        table._default_manager.filter(period__year=last).delete()
    CoveragePeriod.objects.filter(year=last).delete()
    announce_data_changed()
    year = (dt.date(last, 1, 1), dt.date(last, 12, 31))
    assert not CoveragePeriod.objects.filter(year=last).exists()
    maintained = counts(imported, *year, ["provider"])
    assert CoveragePeriod.objects.filter(year=last).count() == 4 + 2 + 1 + 1  # + the two-year run
    assert maintained == raw_counts(monkeypatch, imported, *year, ["provider"])
    result = check(imported)
    assert result.ok, result.lines()
    # A year that has not begun is not added (read from the raw rows: nothing is ongoing yet).
    future = dt.date(last + 2, 1, 1)
    assert coverage.period_id(future, dt.date(last + 2, 12, 31)) is None
    assert not CoveragePeriod.objects.filter(year=last + 2).exists()


def test_a_submission_flips_its_intervention_and_deletions_take_it_out(client: Client, world: World) -> None:
    def exact() -> None:
        for municipality in (world.municipality, world.other_municipality):
            result = check(municipality)
            assert result.ok, result.lines()

    intervention = world.interventions["overdue"]

    def followed_in(day: dt.date) -> int:
        first = dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
        last = (first + dt.timedelta(days=95)).replace(day=1) - dt.timedelta(days=1)
        quarter = coverage.period_id(first, last)
        return sum(CoverageCount.objects.filter(period_id=quarter, followed=True, provider=intervention.provider_id)
                   .values_list("n", flat=True))  # fmt: skip

    assert not FollowUp.objects.filter(intervention=intervention).exists()
    before = {day: followed_in(day) for day in (TODAY, dt.date.today())}
    client.force_login(world.caseworker)
    assert post_followup(client, intervention).status_code == 302
    exact()
    date = FollowUp.objects.get(intervention=intervention).date
    assert followed_in(date) == before[date] + 1  # the submission flipped its intervention
    # A second follow-up in the same period changes nothing; deleting one (the admin) neither;
    # deleting the last takes the intervention back to "missing".
    second = FollowUp.objects.get(intervention=intervention)
    second.pk = None
    second.followup_id = "F-SECOND"
    second.save()
    exact()
    second.delete()
    exact()
    for followup in FollowUp.objects.filter(intervention=intervention):
        followup.delete()  # its answers go with it (CASCADE)
    exact()
    # The admin deleting an intervention takes it out of every period.
    intervention.delete()
    exact()


def test_next_years_periods_can_be_filled_ahead_by_the_command(imported: Municipality, capsys) -> None:  # type: ignore[no-untyped-def]
    last = CoveragePeriod.objects.order_by("-year").values_list("year", flat=True)[0]
    call_command("rebuild_aggregates", "--coverage-year", str(last + 1))
    assert "till och med" in capsys.readouterr().out
    assert CoveragePeriod.objects.filter(year=last + 1).count() == 4 + 2 + 1 + 1  # + the two-year run
    assert CoverageCount.objects.filter(period__year=last + 1).exists()  # the ongoing interventions
    result = check(imported)
    assert result.ok, result.lines()
