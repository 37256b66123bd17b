"""A maintained coverage period's counts by provider or by unit, unfiltered, are read with SQL
written once (``queries._coverage_by_one``, 2026-12-06, cmp6) instead of a query built through
the ORM: the same rows, in the same order, as the ORM's query gives, for years and a run of two,
on both databases."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.comparisons.builders import DataSet
from utfall.comparisons import queries
from utfall.comparisons.cache import bump
from utfall.comparisons.indicators import get_indicator
from utfall.comparisons.queries import aggregate

pytestmark = pytest.mark.django_db

PERIODS = [
    (dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
    (dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
    (dt.date(2024, 1, 1), dt.date(2025, 12, 31)),
]


def _data(municipality) -> None:  # type: ignore[no-untyped-def]
    data = DataSet()
    # Codes in another order than their rows' ids ("Z9" first, "Z10" after "B"): the rows are
    # ordered by code as text, not by id.
    for k, pid in enumerate(["Z9", "B", "Z10", "A", "AB"]):
        data.provider(pid)
        for i in range(3 + 2 * k):
            unit = "bromma" if i % 3 == 0 else "sodermalm"
            started = "2024-02-01" if i % 2 else "2025-03-01"
            iid = data.intervention(f"I{pid}-{i}", pid, unit=unit, started_on=started)
            if i % 4 != 1:
                data.followup(iid, date="2024-09-01" if i % 2 else "2025-06-01")
    data.load(municipality)


@pytest.mark.parametrize("by", ["provider", "unit"])
def test_coverage_by_one_dimension_is_the_orms_rows(  # type: ignore[no-untyped-def]
    municipality, monkeypatch: pytest.MonkeyPatch, by: str
) -> None:
    _data(municipality)
    read = []
    original = queries._coverage_by_one
    monkeypatch.setattr(queries, "_coverage_by_one", lambda *a: read.append(a) or original(*a))
    indicator = get_indicator("followup_coverage")
    for date_from, date_to in PERIODS:
        bump()
        fast = aggregate(indicator, municipality=municipality, date_from=date_from, date_to=date_to, by=[by])
        with monkeypatch.context() as m:
            m.setattr(queries, "_COVERAGE_ROLLUPS", set())
            bump()
            slow = aggregate(
                indicator, municipality=municipality, date_from=date_from, date_to=date_to, by=[by]
            )
        assert fast == slow
        assert [list(r) for r in fast] == [list(r) for r in slow]
        assert [type(r["n"]) for r in fast] == [type(r["n"]) for r in slow]
        assert len(fast) >= 2 and any(r["events"] < r["n"] for r in fast)
    assert len(read) == len(PERIODS)  # every count above came from the written SQL
    providers = [r["provider"] for r in aggregate(indicator, municipality=municipality, by=["provider"],
                                                  date_from=PERIODS[2][0], date_to=PERIODS[2][1])]  # fmt: skip
    if by == "provider":
        assert providers == sorted(providers) == ["A", "AB", "B", "Z10", "Z9"]


def test_a_filtered_or_two_dimensional_coverage_count_is_built_as_before(municipality, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _data(municipality)
    monkeypatch.setattr(queries, "_coverage_by_one", lambda *a: pytest.fail("not for this count"))
    indicator = get_indicator("followup_coverage")
    year = {"date_from": PERIODS[1][0], "date_to": PERIODS[1][1]}
    assert aggregate(
        indicator, municipality=municipality, by=["provider"], filters={"unit": "bromma"}, **year
    )
    assert aggregate(indicator, municipality=municipality, by=["provider", "unit"], **year)


def test_the_run_and_its_years_look_up_their_periods_in_one_query(municipality) -> None:  # type: ignore[no-untyped-def]
    """A comparison page counts coverage for the run and each of its years: the maintained
    periods' ids are read in one query (``aggregates.coverage.maintained_periods``, 2026-12-06,
    cmp7), not one per period, and each count is the one its own period's look-up gives."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from utfall.aggregates.coverage import period_id
    from utfall.aggregates.models import CoveragePeriod

    _data(municipality)
    indicator = get_indicator("followup_coverage")
    table = CoveragePeriod._meta.db_table
    bump()
    with CaptureQueriesContext(connection) as queries_run:
        counted = [aggregate(indicator, municipality=municipality, date_from=date_from, date_to=date_to,
                             by=["provider"]) for date_from, date_to in PERIODS]  # fmt: skip
    assert sum(table in q["sql"] for q in queries_run.captured_queries) == 1
    for (date_from, date_to), rows in zip(PERIODS, counted, strict=True):
        assert period_id(date_from, date_to) is not None
        bump()
        assert rows == aggregate(indicator, municipality=municipality, date_from=date_from, date_to=date_to,
                                 by=["provider"])  # fmt: skip
        assert rows
