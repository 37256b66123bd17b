"""The outcome indicators (step down, plan goals, rereferral) read the maintained outcome counts
for whole months of the end and the interventions for the days around them: the same numbers as
the interventions alone, for any range, grouping, filter and reference date — also around the
day a window has passed (issue 13 point 1)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db.models import F

from tests.comparisons.builders import DataSet
from tests.conftest import TODAY
from utfall.aggregates import outcome_counts
from utfall.aggregates.models import (
    OutcomeByProvider,
    OutcomeByProviderUnit,
    OutcomeByProviderUnitYear,
    OutcomeByProviderYear,
    OutcomeByService,
    OutcomeCount,
)
from utfall.aggregates.rebuild import check
from utfall.comparisons import queries
from utfall.comparisons.cache import bump
from utfall.comparisons.indicators import Indicator, get_indicator
from utfall.demo.generator import as_tables, generate
from utfall.interchange.importer import Importer
from utfall.organisations.models import Municipality
from utfall.registry.models import EndReason, Intervention, Service

pytestmark = pytest.mark.django_db

OUTCOMES = ("step_down", "plan_goals_reached", "plan_goals_fully", "rereferral_6m", "rereferral_12m")


@pytest.fixture
def generated(municipality: Municipality) -> Municipality:
    data = generate(size=0.03, seed=11, today=TODAY)
    assert Importer(municipality=municipality, today=TODAY).run(tables=as_tables(data)).ok  # type: ignore[arg-type]
    return municipality


def raw(code: str | Indicator, municipality: Municipality, start: dt.date, end: dt.date, by: list[str],
        filters: dict[str, str] | None = None, as_of: dt.date | None = None,
        period: str | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """The counts from the interventions and their outcomes alone (as before the outcome counts)."""
    indicator = get_indicator(code) if isinstance(code, str) else code
    qs, prefix, event, year = queries._base(indicator, municipality, start, end, as_of)
    return queries._grouped(qs, prefix, event, year, indicator, municipality, start, end, by, filters, period)  # type: ignore[no-any-return]


def test_the_data_has_every_outcome_to_count(generated: Municipality) -> None:
    ended = Intervention.objects.filter(municipality=generated, ended_on__isnull=False)
    assert ended.filter(end_reason=EndReason.MOVED).exists()
    assert ended.filter(goals_total__gte=1, goals_fully=F("goals_total")).exists()
    assert ended.filter(outcome__next_after_days__lte=90).exists()
    assert ended.filter(outcome__back_after_days__lte=183).exists()
    assert ended.filter(outcome__back_after_days__gt=183, outcome__back_after_days__lte=365).exists()
    assert OutcomeCount.objects.exists() and OutcomeByProvider.objects.exists()
    assert check(generated).ok


def test_every_range_grouping_and_reference_date_gives_the_interventions_own_numbers(
    generated: Municipality,
) -> None:
    reference = queries.reference_date(generated)
    assert reference is not None
    d = dt.date
    ranges = [
        (d(2023, 1, 1), d(2025, 12, 31)),  # whole years
        (d(2024, 3, 17), d(2025, 11, 4)),  # days around whole months
        (d(2025, 2, 3), d(2025, 2, 20)),  # days of one month only
    ]
    # Around the day each window has passed at the reference date: the last counted end, the
    # day before and after it, and mid-month.
    for window in (90, 183, 365):
        cut = reference - dt.timedelta(days=window)
        ranges += [(d(2024, 1, 1), cut), (d(2024, 1, 1), cut - dt.timedelta(days=1)),
                   (d(2024, 1, 1), cut + dt.timedelta(days=1)), (cut, cut + dt.timedelta(days=40)),
                   (cut + dt.timedelta(days=1), reference)]  # fmt: skip
    groupings: list[tuple[list[str], dict[str, str] | None]] = [
        ([], None), (["provider"], None), (["service"], None), (["provider", "sex"], None),
        (["age_group"], None), (["unit"], {"target_group": "children_youth"}), (["service"], {"target_group": "children_youth"}),
        ([], {"target_group": "adults_addiction"}), (["service"], {"unit": "bromma"}),
        (["provider"], {"contract": "K0002"}),
        # A unit manager's (the rollup by provider and unit, 2026-12-05).
        (["provider"], {"unit": "bromma"}), (["provider", "unit"], None), ([], {"provider": "P0001", "unit": "bromma"}),
    ]  # fmt: skip
    compared = 0
    for code in OUTCOMES:
        for start, end in ranges:
            for by, filters in groupings:
                got = queries.aggregate(get_indicator(code), municipality=generated, date_from=start,
                                        date_to=end, by=by, filters=filters)  # fmt: skip
                assert got == raw(code, generated, start, end, by, filters), (code, start, end, by, filters)
                compared += sum(r["n"] for r in got)
        # Another reference date (mid-month and a month's last day) and a trend by quarter.
        for as_of in (d(2025, 8, 15), d(2025, 9, 30)):
            got = queries.aggregate(get_indicator(code), municipality=generated, date_from=d(2024, 1, 1),
                                    date_to=d(2025, 12, 31), by=["provider"], as_of=as_of)  # fmt: skip
            assert got == raw(code, generated, d(2024, 1, 1), d(2025, 12, 31), ["provider"], as_of=as_of)
        got = queries.aggregate(get_indicator(code), municipality=generated, date_from=d(2023, 2, 11),
                                date_to=d(2025, 12, 31), by=["service"], period="quarter")  # fmt: skip
        assert got == raw(code, generated, d(2023, 2, 11), d(2025, 12, 31), ["service"], period="quarter")
    assert compared > 1000  # the comparison counted something


def test_whole_months_are_read_from_the_outcome_counts(generated: Municipality) -> None:
    d = dt.date
    indicator = get_indicator("plan_goals_reached")

    def total(by: list[str]) -> int:
        rows = queries.aggregate(indicator, municipality=generated, date_from=d(2025, 1, 1),
                                 date_to=d(2025, 6, 30), by=by)  # fmt: skip
        return sum(r["n"] for r in rows)

    before = total(["provider"]), total(["service"]), total(["sex"]), total(["provider", "unit"])
    # By provider, by service or by provider and unit a rollup by measure, with another dimension
    # the full table.
    for model, add in ((OutcomeByProvider, 2), (OutcomeByService, 4), (OutcomeByProviderUnit, 5)):
        first = model.objects.filter(month=d(2025, 3, 1), measure="goals_reached").values("pk")[:1]
        model.objects.filter(pk=first).update(n=F("n") + add)
    first = OutcomeCount.objects.filter(month=d(2025, 3, 1)).exclude(goals="").values("pk")[:1]
    OutcomeCount.objects.filter(pk=first).update(n=F("n") + 3)
    bump()
    assert (total(["provider"]), total(["service"]), total(["sex"]), total(["provider", "unit"])) == (
        before[0] + 2,
        before[1] + 4,
        before[2] + 3,
        before[3] + 5,
    )
    assert not check(generated).ok
    # The migration's fill (and the rebuild) make them exact again.
    outcome_counts.fill(generated.pk)
    assert check(generated).ok


@pytest.mark.parametrize(
    ("model", "by"),
    [(OutcomeByProviderYear, ["provider"]), (OutcomeByProviderUnitYear, ["provider", "unit"])],
)
def test_whole_years_by_provider_are_read_from_the_outcome_counts_by_year(
    generated: Municipality, model: Any, by: list[str]
) -> None:
    """A count by provider (or by provider and unit: a unit manager's) of whole calendar years
    reads the rollup by year (2026-12-07, outyear): one row per group, measure and event instead
    of twelve. Months of a year read the monthly rollup still, and the check names the table by
    year when it is off."""
    d = dt.date
    indicator = get_indicator("plan_goals_reached")

    def total(start: dt.date, end: dt.date) -> int:
        rows = queries.aggregate(indicator, municipality=generated, date_from=start, date_to=end, by=by)
        return sum(r["n"] for r in rows)

    year, half, two = (
        (d(2025, 1, 1), d(2025, 12, 31)),
        (d(2025, 1, 1), d(2025, 6, 30)),
        (d(2024, 1, 1), d(2025, 12, 31)),
    )
    before = total(*year), total(*half), total(*two)
    assert before[0] == sum(r["n"] for r in raw(indicator, generated, *year, by)) > 0
    first = model.objects.filter(year=d(2025, 1, 1), measure="goals_reached").values("pk")[:1]
    assert model.objects.filter(pk=first).update(n=F("n") + 2) == 1
    bump()
    assert (total(*year), total(*half), total(*two)) == (before[0] + 2, before[1], before[2] + 2)
    found = check(generated)
    assert found.differences.get(model._meta.model_name) and not found.ok
    outcome_counts.fill(generated.pk)
    assert check(generated).ok


def test_a_changed_intensity_changes_the_step_downs_at_once(generated: Municipality) -> None:
    d = dt.date
    indicator = get_indicator("step_down")

    def events() -> list[int]:
        return [sum(r["events"] for r in queries.aggregate(indicator, municipality=generated,
                date_from=d(2024, 1, 1), date_to=d(2025, 12, 31), by=by)) for by in (["provider"], ["unit"])]  # fmt: skip

    before = events()
    assert before[0] == before[1]
    service = Service.objects.get(code="outpatient_youth")
    service.intensity = 9  # above every other: what followed it is now a step down
    service.save()
    bump()
    after = events()
    assert after[0] == after[1] != before[0]
    assert check(generated).ok
    assert after[0] == sum(r["events"] for r in raw(indicator, generated, d(2024, 1, 1), d(2025, 12, 31), []))


def test_a_window_without_a_bucket_is_read_from_the_interventions(generated: Municipality) -> None:
    from dataclasses import replace

    nine_months = replace(get_indicator("rereferral_12m"), code="rereferral_9m", rule="274")
    for model in (OutcomeCount, OutcomeByProvider, OutcomeByService):
        model.objects.all().delete()
    d = dt.date
    got = queries.aggregate(nine_months, municipality=generated, date_from=d(2024, 1, 1),
                            date_to=d(2025, 12, 31), by=["provider"])  # fmt: skip
    assert sum(r["n"] for r in got) > 0
    assert got == raw(nine_months, generated, d(2024, 1, 1), d(2025, 12, 31), ["provider"])


def test_the_windows_boundaries_count_as_before(municipality: Municipality) -> None:
    """Next interventions and returns exactly on and one day past each window, ends mid-month
    and on a month's last day, reference dates on and around the day a window has passed."""
    data = DataSet()
    provider = data.provider("A")
    ends = (dt.date(2025, 3, 15), dt.date(2025, 3, 31))
    for e, end in enumerate(ends):
        for gap in (89, 90, 91, 182, 183, 184, 364, 365, 366):
            person = data.person(female=bool(gap % 2))
            data.intervention(f"I{e}-{gap}", provider, person_id=person, ended_on=end.isoformat(), end_reason="goals_met",
                              goals_total="2", goals_fully=str(gap % 3), goals_partly="0")  # fmt: skip
            # Back in the same target group at a higher intensity: no step down within the window.
            start = end + dt.timedelta(days=gap)
            data.intervention(f"N{e}-{gap}", provider, person_id=person, service="sis_youth",
                              decided_on=start.isoformat(), started_on=start.isoformat())  # fmt: skip
        data.intervention(f"M{e}", provider, ended_on=end.isoformat(), end_reason="moved")
    data.load(municipality)
    assert check(municipality).ok

    def count(code: str, start: dt.date, end: dt.date, as_of: dt.date) -> tuple[int, int]:
        got = queries.aggregate(get_indicator(code), municipality=municipality, date_from=start, date_to=end,
                                by=["provider", "sex"], as_of=as_of)  # fmt: skip
        assert got == raw(code, municipality, start, end, ["provider", "sex"], as_of=as_of), (
            code,
            start,
            as_of,
        )
        return sum(r["events"] for r in got), sum(r["n"] for r in got)

    year = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    late = dt.date(2027, 6, 30)
    # Next at 89 or 90 days (higher intensity): no step down; at 91 or later: none within the window.
    assert count("step_down", *year, late) == (2 * 7, 2 * 9)
    # Back within 183 days (89…183), within 365 days (89…365).
    assert count("rereferral_6m", *year, late) == (2 * 5, 2 * 9)
    assert count("rereferral_12m", *year, late) == (2 * 8, 2 * 9)
    assert count("plan_goals_fully", *year, late) == (2 * 3, 2 * 9 + 2 * 0)
    for code, window in (("step_down", 90), ("rereferral_6m", 183), ("rereferral_12m", 365)):
        for end in ends:
            cut = end + dt.timedelta(days=window)
            for as_of in (
                cut - dt.timedelta(days=1),
                cut,
                cut + dt.timedelta(days=1),
                cut + dt.timedelta(days=20),
            ):
                for start, stop in (year, (end, end), (dt.date(2025, 3, 1), dt.date(2025, 3, 31)),
                                    (dt.date(2025, 3, 16), dt.date(2025, 4, 30))):  # fmt: skip
                    count(code, start, stop, as_of)
        # The mid-month ends count from the day their window has passed, the month's last
        # day's ends from theirs.
        assert count(code, *year, ends[0] + dt.timedelta(days=window - 1))[1] == 0
        assert count(code, *year, ends[0] + dt.timedelta(days=window))[1] == 9
        assert count(code, *year, ends[1] + dt.timedelta(days=window))[1] == 18
