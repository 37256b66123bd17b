"""Work saved on a cold page (2026-12-02, issue 17 point 14, issue 13): the data token read
once per request, a trend's per-period cells counted in one query. Neither may ever give a
count other than the one the plain path gives."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.comparisons.builders import DataSet
from utfall.comparisons import disclosure
from utfall.comparisons.cache import bump
from utfall.comparisons.disclosure import protected_by_client, protected_counts
from utfall.comparisons.indicators import all_indicators, get_indicator
from utfall.comparisons.queries import aggregate, period_sizes, prefetch_periods, prefetch_questions
from utfall.comparisons.sql import periods
from utfall.followups.models import Answer
from utfall.registry.models import Provider
from utfall.stats.disclosure import hidden_in_partitions

pytestmark = pytest.mark.django_db


@contextmanager
def in_request() -> Iterator[None]:
    """The signals around a request, as Django's test client sends them (without closing the
    test's database connection)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        request_started.send(sender=None)
        try:
            yield
        finally:
            request_finished.send(sender=None)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


ANSWERS = ("yes_completely", "yes_mostly", "no", "yes_somewhat")


def load(municipality) -> None:  # type: ignore[no-untyped-def]
    """Four providers, answers spread over 2025 and the first half of 2026 (one quarter empty)."""
    data = DataSet()
    for i, provider in enumerate(("A", "B", "C", "D")):
        data.provider(provider)
        for k in range(6 + 2 * i):
            intervention = data.intervention(f"I{provider}{k}", provider)
            month = 1 + (k * 5 + i * 2) % 18
            if month in (7, 8, 9):  # 2025-K3: no answers at all
                month += 3
            day = dt.date(2025 + (month - 1) // 12, (month - 1) % 12 + 1, 3 + k)
            data.followup(intervention, date=day.isoformat(), q3=ANSWERS[(k + i) % 4])
    data.load(municipality)


def counts(municipality, start: dt.date, end: dt.date, by: list[str], filters: dict[str, str]):  # type: ignore[no-untyped-def]
    return aggregate(get_indicator("satisfied"), municipality=municipality, date_from=start, date_to=end,
                     by=by, filters=filters)  # fmt: skip


@pytest.mark.parametrize("grain", ["quarter", "year"])
@pytest.mark.parametrize(("by", "filters"), [([], {}), ([], {"provider": "B"}), (["provider"], {})])
def test_counts_of_every_period_at_once_are_those_of_each_period_alone(
    municipality, grain: str, by: list[str], filters: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    load(municipality)
    spans = periods(grain, dt.date(2025, 1, 1), dt.date(2026, 12, 31))  # whole calendar periods
    bump()
    alone = {label: counts(municipality, start, end, by, filters) for label, start, end in spans}
    assert any(rows and rows[0]["n"] for rows in alone.values())
    bump()  # nothing cached: the next counts come from the one query
    prefetch_periods(get_indicator("satisfied"), municipality=municipality, date_from=dt.date(2025, 2, 3),
                     date_to=dt.date(2026, 11, 9), grain=grain, by=by, filters=filters)  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        together = {label: counts(municipality, start, end, by, filters) for label, start, end in spans}
    assert together == alone
    assert not [q for q in queries if "token" not in q["sql"]], "every period was counted already"


def test_a_trend_counts_its_quarters_cells_in_a_few_queries(municipality) -> None:  # type: ignore[no-untyped-def]
    load(municipality)
    indicator = get_indicator("satisfied")
    kwargs = {"municipality": municipality, "date_from": dt.date(2025, 1, 1), "date_to": dt.date(2026, 6, 30),
              "period": "quarter", "filters": {"provider": "C"}}  # fmt: skip
    bump()
    with CaptureQueriesContext(connection) as queries:
        trend = protected_by_client(indicator, **kwargs)
    counted = [q for q in queries if "token" not in q["sql"]]
    assert len(trend) >= 4
    # The per-client read, the cells and the partition by provider (not two per quarter),
    # plus small look-ups (codes, comparable versions, the provider's key).
    assert len(counted) <= 8, [q["sql"][:120] for q in counted]


def test_within_a_request_the_token_is_read_once_and_a_write_is_seen_at_once(municipality) -> None:  # type: ignore[no-untyped-def]
    load(municipality)
    year = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    with in_request():
        before = counts(municipality, *year, [], {})[0]
        with CaptureQueriesContext(connection) as queries:
            for _ in range(3):
                counts(municipality, *year, ["provider"], {})
                counts(municipality, *year, [], {})
        assert sum("core_datageneration" in q["sql"] for q in queries) == 0  # remembered
        answer = Answer.objects.filter(option__code="no", date__year=2025).first()
        assert answer is not None
        with transaction.atomic():  # a write in this request, committed
            answer.followup.delete()
        after = counts(municipality, *year, [], {})[0]
        assert after["n"] == before["n"] - 1
        assert after["events"] == before["events"]


def test_within_a_request_counts_of_a_rolled_back_write_are_never_served(municipality) -> None:  # type: ignore[no-untyped-def]
    load(municipality)
    year = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    with in_request():
        before = counts(municipality, *year, [], {})[0]
        answer = Answer.objects.filter(date__year=2025).first()
        assert answer is not None
        with pytest.raises(RuntimeError), transaction.atomic():
            answer.followup.delete()
            # Counted (and cached) inside the transaction:
            assert counts(municipality, *year, [], {})[0]["n"] == before["n"] - 1
            raise RuntimeError("rolled back")
        with transaction.atomic():  # another transaction at the same depth reads the real token
            assert counts(municipality, *year, [], {})[0] == before
        assert counts(municipality, *year, [], {})[0] == before


@pytest.mark.parametrize(
    ("start", "end", "by", "filters"),
    [
        (dt.date(2025, 1, 1), dt.date(2025, 12, 31), ["provider"], {}),  # whole months: the count tables
        (dt.date(2025, 2, 10), dt.date(2026, 3, 20), ["provider"], {}),  # and days around them: the answers
        (dt.date(2025, 1, 1), dt.date(2026, 6, 30), ["sex", "age_group"], {"provider": "B"}),
        (dt.date(2025, 1, 1), dt.date(2025, 6, 30), ["unit"], {"sex": "female"}),
        # One cell each (a unit manager's provider within the unit): a question without answers is
        # one row of zeros, as aggregate answers it (2026-12-06, mgrprov).
        (dt.date(2025, 1, 1), dt.date(2025, 12, 31), [], {"provider": "B", "unit": "sodermalm"}),
        (dt.date(2025, 2, 10), dt.date(2026, 3, 20), [], {"provider": "C", "unit": "sodermalm"}),
        (dt.date(2025, 1, 1), dt.date(2025, 9, 30), [], {"provider": "A", "unit": "sodermalm"}),
    ],
)
def test_counts_of_every_question_at_once_are_those_of_each_question_alone(
    municipality, start: dt.date, end: dt.date, by: list[str], filters: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    data = DataSet()
    for i, provider in enumerate(("A", "B", "C")):
        data.provider(provider)
        for k in range(8):
            intervention = data.intervention(
                f"I{provider}{k}", provider, person_id=data.person(female=k % 2 == 0)
            )
            day = dt.date(2025, 1 + (k * 3 + i) % 12, 1 + (k * 7) % 28)
            data.followup(intervention, date=day.isoformat(), q1=ANSWERS[k % 4], q3=ANSWERS[(k + i) % 4],
                          q4=("much_better", "somewhat_better")[(k * i) % 2])  # fmt: skip
    data.load(municipality)
    questions = [d for d in all_indicators().values() if d.kind == "question"]

    def each() -> dict[str, list[dict[str, object]]]:
        return {d.code: aggregate(d, municipality=municipality, date_from=start, date_to=end, by=by,
                                  filters=filters) for d in questions}  # fmt: skip

    bump()
    alone = each()
    assert sum(r["n"] for rows in alone.values() for r in rows) > 10
    bump()
    prefetch_questions(
        questions, municipality=municipality, date_from=start, date_to=end, by=by, filters=filters
    )
    with CaptureQueriesContext(connection) as queries:
        together = each()
    assert together == alone
    assert [[list(r) for r in rows] for rows in together.values()] == [
        [list(r) for r in rows] for rows in alone.values()
    ]
    assert not [q for q in queries if "token" not in q["sql"]], "every question was counted already"


def test_a_run_of_years_reads_its_years_in_one_query(municipality) -> None:  # type: ignore[no-untyped-def]
    load(municipality)
    indicator = get_indicator("satisfied")
    years = [(dt.date(2025, 1, 1), dt.date(2025, 12, 31)), (dt.date(2026, 1, 1), dt.date(2026, 12, 31))]
    run = (dt.date(2025, 1, 1), dt.date(2026, 12, 31))
    bump()
    alone = [counts(municipality, *year, ["provider"], {}) for year in years]
    bump()
    run_alone = counts(municipality, *run, ["provider"], {})
    bump()
    with CaptureQueriesContext(connection) as queries:
        rows = protected_counts(indicator, municipality=municipality, date_from=run[0], date_to=run[1],
                                by=["provider"])  # fmt: skip
    assert {r["provider"] for r in rows} == {"A", "B", "C", "D"}
    # One query for its years, whose sum is the run's own count (was one per year, then two), from
    # the question's counts by provider and year (2026-12-07: without the option).
    assert sum("aggregates_answer" in q["sql"] or "aggregates_question" in q["sql"] for q in queries) == 1
    assert any("aggregates_questionbyprovideryear" in q["sql"] for q in queries)
    with CaptureQueriesContext(connection) as queries:
        together = [counts(municipality, *year, ["provider"], {}) for year in years]
        run_together = counts(municipality, *run, ["provider"], {})
    assert together == alone
    assert run_together == run_alone  # the same rows in the same order, keys in the same order
    assert [list(r) for r in run_together] == [list(r) for r in run_alone]
    assert [{k: v for k, v in r.items() if k != "suppressed"} for r in rows] == run_alone
    assert not [q for q in queries if "token" not in q["sql"]], "the years and the run were counted at once"


def sized_load(municipality, seed: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Providers with a seeded random number of answers (0–9, some under the minimum of 5) in each
    quarter of 2025 and 2026-K1–K2, on two units, so that the quarters' partitions by provider and
    by unit hide cells by both rules. Returns the providers' codes."""
    rng = random.Random(seed)
    data = DataSet()
    codes = ["A", "B", "C", "D", "E", "F", "G", "H10", "H9", "b"]  # codes sort as text, not by number or case
    for provider in codes:
        data.provider(provider)
    k = 0
    for quarter in range(6):
        year, first = 2025 + quarter // 4, 1 + 3 * (quarter % 4)
        for provider in codes:
            for _ in range(rng.choice((0, 0, 0, 0, 2, 5, 5, 6, 6, 7, 8, 9))):
                k += 1
                intervention = data.intervention(f"I{k}", provider, unit=rng.choice(("sodermalm", "bromma")))
                day = dt.date(year, first + rng.randrange(3), 1 + rng.randrange(28))
                data.followup(intervention, date=day.isoformat(), q3=rng.choice(ANSWERS))
    data.load(municipality)
    return codes


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_trends_hidden_quarters_are_those_of_each_quarters_own_check(municipality, seed: int) -> None:  # type: ignore[no-untyped-def]
    """The trend's quarters along a filter checked from each quarter's sizes alone
    (disclosure.prefetch_hidden, 2026-12-05) hide exactly what each quarter's own protected
    count hides, counted on its own with nothing cached, and what the one rule
    (stats.disclosure.hidden_in_partitions) hides in each quarter's partition of all providers."""
    codes = sized_load(municipality, seed)
    indicator = get_indicator("satisfied")
    spans = periods("quarter", dt.date(2025, 1, 1), dt.date(2026, 6, 30))
    secondary = 0
    for filters in [
        *({"provider": p} for p in codes),
        {"unit": "bromma"},
        {"provider": "C", "unit": "bromma"},
    ]:
        bump()
        trend = protected_by_client(indicator, municipality=municipality, date_from=dt.date(2024, 1, 2),
                                    date_to=dt.date(2026, 6, 30), period="quarter", filters=filters)  # fmt: skip
        shown = {r["period"]: r["suppressed"] for r in trend}
        for label, start, end in spans:
            bump()  # nothing cached: the cell's check counts its partitions itself
            cell = protected_counts(indicator, municipality=municipality, date_from=start, date_to=end, by=[],
                                    filters=filters)  # fmt: skip
            if cell[0]["n"]:
                assert shown[label] == cell[0]["suppressed"], (filters, label)
            if set(filters) == {"provider"}:
                rows = counts(municipality, start, end, ["provider"], {})
                gone = hidden_in_partitions([{str(r["provider"]): r["n"] for r in rows}], min_n=5)
                mine = next((r["n"] for r in rows if r["provider"] == filters["provider"]), 0)
                by_rule = (0, filters["provider"]) in gone
                if mine:  # hidden in the partition by provider: hidden in the trend
                    assert not by_rule or shown[label], (filters, label)
                secondary += by_rule and mine >= 5
    assert secondary, "some quarter hides a provider with n ≥ 5 by the secondary rule"


@pytest.mark.parametrize("by", [["provider"], ["unit"]])
def test_the_quarters_sizes_read_at_once_are_each_quarters_counts(municipality, by: list[str]) -> None:  # type: ignore[no-untyped-def]
    sized_load(municipality, 4)
    indicator = get_indicator("satisfied")
    bump()
    sizes = period_sizes(indicator, municipality=municipality, date_from=dt.date(2025, 2, 3),
                         date_to=dt.date(2026, 5, 9), grain="quarter", by=by, filters={})  # fmt: skip
    assert sizes is not None
    for label, start, end in periods("quarter", dt.date(2025, 1, 1), dt.date(2026, 6, 30)):
        rows = counts(municipality, start, end, by, {})
        assert list(sizes.get(label, {}).items()) == [((r[by[0]],), r["n"]) for r in rows], label


@pytest.mark.parametrize("code", ["satisfied", "assessment_approved"])
def test_one_providers_counts_read_month_by_month_are_its_row_of_all_providers(
    municipality, code: str
) -> None:  # type: ignore[no-untyped-def]
    """A count filtered on one provider names each month's first day (queries._grouped: the index
    searched month by month, 2026-12-05): the same counts as the provider's row of the count of
    all providers, for whole months, days around them, quarters and years."""
    codes = sized_load(municipality, 5)
    indicator = get_indicator(code)
    spans = [(dt.date(2025, 1, 1), dt.date(2026, 6, 30), None), (dt.date(2025, 2, 3), dt.date(2026, 5, 9), None),
             (dt.date(2024, 1, 2), dt.date(2026, 6, 30), "quarter"), (dt.date(2025, 1, 1), dt.date(2026, 6, 30), "year")]  # fmt: skip
    for start, end, period in spans:
        bump()
        every = aggregate(indicator, municipality=municipality, date_from=start, date_to=end, by=["provider"],
                          period=period)  # fmt: skip
        assert every
        for provider in codes:
            with CaptureQueriesContext(connection) as queries:
                own = aggregate(indicator, municipality=municipality, date_from=start, date_to=end, by=[],
                                filters={"provider": provider}, period=period)  # fmt: skip
            mine = [
                {k: v for k, v in r.items() if k != "provider"} for r in every if r["provider"] == provider
            ]
            if period is None:
                mine = mine or [{"events": 0, "n": 0}]
            assert own == mine, (provider, start, end, period)
            monthly = [
                q["sql"] for q in queries if 'byprovider" WHERE' in q["sql"]
            ]  # not the rollups by year
            assert all('."month" IN (' in sql for sql in monthly), monthly


@pytest.mark.parametrize("seed", [1, 2])
def test_a_providers_cell_within_a_unit_is_its_row_of_the_count_by_provider_within_the_unit(
    municipality, seed: int
) -> None:  # type: ignore[no-untyped-def]
    """The provider page as a unit manager counts the provider within the unit as one cell (by
    nothing, filtered on both; 2026-12-06, prov5): the same n, events and flag as the provider's
    row of the count by provider within the unit, which works out every provider's partition
    along the unit — for a month, a quarter, a half-year, a year and a run of years, a question
    and an assessment indicator, secondary suppression included."""
    codes = sized_load(municipality, seed)
    spans = [(dt.date(2025, 4, 1), dt.date(2025, 4, 30)), (dt.date(2025, 4, 1), dt.date(2025, 6, 30)),
             (dt.date(2026, 1, 1), dt.date(2026, 6, 30)), (dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
             (dt.date(2025, 1, 1), dt.date(2026, 12, 31))]  # fmt: skip
    secondary = shown = 0
    for code in ("satisfied", "assessment_approved"):
        indicator = get_indicator(code)
        for start, end in spans:
            for unit in ("sodermalm", "bromma"):
                bump()
                rows = protected_counts(indicator, municipality=municipality, date_from=start, date_to=end,
                                        by=["provider"], filters={"unit": unit})  # fmt: skip
                for provider in codes:
                    bump()  # nothing cached: the cell counts its partitions itself
                    cell = protected_counts(indicator, municipality=municipality, date_from=start, date_to=end,
                                            by=[], filters={"provider": provider, "unit": unit})  # fmt: skip
                    mine = next((r for r in rows if r["provider"] == provider), None)
                    if mine is None:
                        assert not cell or not cell[0]["n"], (code, start, unit, provider)
                        continue
                    want = {"events": mine["events"], "n": mine["n"], "suppressed": mine["suppressed"]}
                    assert cell == [want], (code, start, unit, provider)
                    secondary += mine["suppressed"] and mine["n"] >= 5
                    shown += not mine["suppressed"]
    assert secondary, "some cell with n ≥ 5 is hidden by the secondary rule"
    assert shown, "some cell is shown"


@pytest.mark.parametrize("code", ["plan_goals_reached", "step_down"])
def test_one_providers_outcomes_by_unit_named_unit_by_unit_are_its_rows_by_provider_and_unit(
    municipality, code: str
) -> None:  # type: ignore[no-untyped-def]
    """An outcome count by unit filtered on one provider (a unit manager's cell's partition along
    the unit) names the months and the municipality's units (queries._grouped, 2026-12-06; a whole
    year, as here, its year and the units in the rollup by year since 2026-12-07): the same rows as
    the provider's rows of the count by provider and unit, and read that way."""
    rng = random.Random(7)
    data = DataSet()
    codes = ["A", "B", "C"]
    for provider in codes:
        data.provider(provider)
    for k in range(90):
        ended = dt.date(2025, 1 + rng.randrange(12), 1 + rng.randrange(28))
        data.intervention(f"I{k}", rng.choice(codes), unit=rng.choice(("sodermalm", "bromma")),
                          service=rng.choice(("ihf", "tfco")), ended_on=ended.isoformat(), end_reason="goals_met",
                          goals_total=2, goals_fully=rng.choice((0, 1, 2)), goals_partly=0)  # fmt: skip
    data.load(municipality)
    indicator = get_indicator(code)
    span = {"date_from": dt.date(2025, 1, 1), "date_to": dt.date(2025, 12, 31)}
    bump()
    every = aggregate(indicator, municipality=municipality, by=["provider", "unit"], **span)
    assert {r["unit"] for r in every} == {"sodermalm", "bromma"}
    for provider in codes:
        with CaptureQueriesContext(connection) as queries:
            own = aggregate(indicator, municipality=municipality, by=["unit"], filters={"provider": provider},
                            **span)  # fmt: skip
        assert own == [
            {k: v for k, v in r.items() if k != "provider"} for r in every if r["provider"] == provider
        ]
        read = [q["sql"] for q in queries if "outcomebyproviderunit" in q["sql"]]
        assert read and all('"unit_id" IN (' in sql for sql in read), read


def unit_load(municipality, seed: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Providers with a seeded random number of answers (0–9) in each quarter of 2024 and 2025 on
    three units, so that the providers' partitions along the unit hide cells by both rules."""
    rng = random.Random(seed)
    data = DataSet()
    codes = ["A", "B", "C", "D", "E", "F", "H10", "H9", "b"]  # codes sort as text
    for provider in codes:
        data.provider(provider)
    k = 0
    for quarter in range(8):
        year, first = 2024 + quarter // 4, 1 + 3 * (quarter % 4)
        for provider in codes:
            for _ in range(rng.choice((0, 0, 1, 2, 3, 5, 6, 8))):
                k += 1
                unit = rng.choice(("sodermalm", "bromma", "bromma", "kista"))
                intervention = data.intervention(f"I{k}", provider, unit=unit)
                day = dt.date(year, first + rng.randrange(3), 2 + rng.randrange(27))  # after the start
                data.followup(intervention, date=day.isoformat(), q3=rng.choice(ANSWERS))
    data.load(municipality)
    return codes


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("code", ["satisfied", "assessment_approved"])
def test_a_unit_managers_counts_along_the_unit_over_a_run_read_its_years_sizes_once(
    municipality, monkeypatch, code: str, seed: int
) -> None:  # type: ignore[no-untyped-def]
    """A count within a unit over a run of years checks the providers' partitions along the unit
    for the run and each of its years (disclosure._protect). They are read in one query of the
    years' sizes, the run's as their sum (2026-12-06, mgr; three reads of the provider × unit
    count before): the same rows and flags as each period counted through ``aggregate`` (the
    sizes' read switched off), and the same hidden cells as the one rule on each period's
    partitions."""
    unit_load(municipality, seed)
    indicator = get_indicator(code)
    run = (dt.date(2024, 1, 1), dt.date(2025, 12, 31))
    spans = [run, (dt.date(2024, 1, 1), dt.date(2024, 12, 31)), (dt.date(2025, 1, 1), dt.date(2025, 12, 31))]
    secondary = 0
    for unit in ("sodermalm", "bromma", "kista"):
        kwargs = {"municipality": municipality, "by": ["provider"], "filters": {"unit": unit}}
        bump()
        with CaptureQueriesContext(connection) as queries:
            fast = {
                span: protected_counts(indicator, date_from=span[0], date_to=span[1], **kwargs)
                for span in spans
            }
        along = [q for q in queries if '"g_unit"' in q["sql"] and "g_provider" in q["sql"]]
        if indicator.kind == "question":  # the years' rows as they lie, a read a year (year_sizes, oe9)
            rows_read = [q for q in queries if "aggregates_questionbyproviderunityear" in q["sql"]
                         and "GROUP BY" not in q["sql"]]  # fmt: skip
            assert not along and len(rows_read) == 2, [q["sql"] for q in queries]
        else:
            assert len(along) == 1, [q["sql"] for q in along]  # the run and its two years together
        with monkeypatch.context() as patched:  # the years' sizes grouped by the database, as before oe9
            patched.setattr("utfall.comparisons.disclosure.year_sizes", lambda *a, **k: None)
            bump()
            grouped = {span: protected_counts(indicator, date_from=span[0], date_to=span[1], **kwargs)
                       for span in spans}  # fmt: skip
        assert fast == grouped, unit
        with monkeypatch.context() as patched:
            patched.setattr("utfall.comparisons.disclosure.year_sizes", lambda *a, **k: None)
            patched.setattr("utfall.comparisons.disclosure.period_size_rows", lambda *a, **k: None)
            bump()
            plain = {span: protected_counts(indicator, date_from=span[0], date_to=span[1], **kwargs)
                     for span in spans}  # fmt: skip
        assert fast == plain, unit
        bump()  # a year alone: its partitions made by _hidden_along itself, not seeded by the run's
        alone = protected_counts(indicator, date_from=spans[2][0], date_to=spans[2][1], **kwargs)
        assert alone == plain[spans[2]], unit
        assert any(r["suppressed"] for rows in fast.values() for r in rows)
        for start, end in spans:  # the rule on each period's partitions of all providers along the unit
            rows = aggregate(indicator, municipality=municipality, date_from=start, date_to=end,
                             by=["provider", "unit"])  # fmt: skip
            parts: dict[str, dict[str, int]] = {}
            for r in rows:
                parts.setdefault(str(r["provider"]), {})[str(r["unit"])] = r["n"]
            gone = hidden_in_partitions(parts.values(), min_n=5)
            names = list(parts)
            hidden = {names[i] for i, cell in gone if cell == unit}
            for r in fast[(start, end)]:
                if r["provider"] in hidden:
                    assert r["suppressed"], (unit, start, r)
                    secondary += r["n"] >= 5
    assert secondary, "some provider's cell with n ≥ 5 is hidden by the secondary rule along the unit"


def test_a_unit_managers_question_partitions_along_the_unit_read_the_counts_without_the_option(
    municipality,
) -> None:  # type: ignore[no-untyped-def]
    """A question's partitions along the unit (and the unit's own counts by provider) of whole
    years read the question's n and events by provider, unit and year, one row per provider, unit
    and question (``QuestionByProviderUnitYear``, 2026-12-06, hidfold), not the table by option:
    the same rows and flags as the raw answers give."""
    unit_load(municipality, 6)
    indicator = get_indicator("satisfied")
    run = {"date_from": dt.date(2024, 1, 1), "date_to": dt.date(2025, 12, 31)}
    bump()
    with CaptureQueriesContext(connection) as queries:
        fast = protected_counts(indicator, municipality=municipality, by=["provider"], filters={"unit": "bromma"},
                                **run)  # fmt: skip
    read = [q["sql"] for q in queries if "provider_id" in q["sql"] and "SUM" in q["sql"]]
    # The partitions along the unit: the years' rows of that table as they lie (year_sizes, oe9).
    along = [q["sql"] for q in queries if "aggregates_questionbyproviderunityear" in q["sql"]
             and "GROUP BY" not in q["sql"]]  # fmt: skip
    assert along and all("aggregates_questionbyproviderunityear" in sql for sql in read), read
    with transaction.atomic():  # the counts as the raw answers give them: no count table
        from utfall.aggregates.models import AnswerCount, QuestionByProviderUnitYear

        QuestionByProviderUnitYear.objects.all().delete()
        AnswerCount.objects.all().delete()
        bump()
        with pytest.MonkeyPatch.context() as patched:
            patched.setattr("utfall.comparisons.queries.months_within", lambda a, b: (None, [(a, b)]))
            raw = protected_counts(indicator, municipality=municipality, by=["provider"],
                                   filters={"unit": "bromma"}, **run)  # fmt: skip
        transaction.set_rollback(True)
    assert fast == raw and any(r["suppressed"] for r in fast)


@pytest.mark.parametrize("code", ["satisfied", "assessment_approved"])
def test_the_years_sizes_read_at_once_are_each_years_counts(municipality, code: str) -> None:  # type: ignore[no-untyped-def]
    unit_load(municipality, 4)
    indicator = get_indicator(code)
    bump()
    sizes = period_sizes(indicator, municipality=municipality, date_from=dt.date(2024, 1, 1),
                         date_to=dt.date(2025, 12, 31), grain="year", by=["provider", "unit"], filters={})  # fmt: skip
    assert sizes is not None and set(sizes) == {"2024", "2025"}
    for label, start, end in periods("year", dt.date(2024, 1, 1), dt.date(2025, 12, 31)):
        rows = aggregate(
            indicator, municipality=municipality, date_from=start, date_to=end, by=["provider", "unit"]
        )
        assert list(sizes[label].items()) == [((r["provider"], r["unit"]), r["n"]) for r in rows], label


@pytest.mark.parametrize("code", ["satisfied", "assessment_approved"])
def test_a_units_counts_by_year_name_the_years_and_are_those_of_the_range(
    municipality, monkeypatch, code: str
) -> None:  # type: ignore[no-untyped-def]
    """The rollups by provider, unit and year are read with their years' first days named
    (queries._period_filter: the index (…, year, unit, provider, …) searched year by year for the
    unit, 2026-12-06, mgr): the same rows as the range between the days, for a run, a year and
    a unit's and every unit's counts."""
    unit_load(municipality, 5)
    indicator = get_indicator(code)
    spans = [(dt.date(2024, 1, 1), dt.date(2025, 12, 31)), (dt.date(2025, 1, 1), dt.date(2025, 12, 31))]
    asked = [(["provider"], {"unit": u}) for u in ("sodermalm", "bromma", "kista")] + [
        (["provider", "unit"], {})
    ]
    for start, end in spans:
        for by, filters in asked:
            bump()
            with CaptureQueriesContext(connection) as queries:
                named = aggregate(indicator, municipality=municipality, date_from=start, date_to=end, by=by,
                                  filters=filters)  # fmt: skip
            read = [q["sql"] for q in queries if "provider_id" in q["sql"] and "SUM" in q["sql"]]
            assert read and all('"year" IN (' in sql for sql in read), read
            with monkeypatch.context() as patched:
                patched.setattr("utfall.comparisons.queries._YEAR_THEN_UNIT", set())
                bump()
                ranged = aggregate(indicator, municipality=municipality, date_from=start, date_to=end, by=by,
                                   filters=filters)  # fmt: skip
            assert named == ranged and named, (start, by, filters)


def trend_unit_load(municipality, seed: int, *, q4: bool = False) -> list[str]:  # type: ignore[no-untyped-def]
    """Providers with a seeded random number of answers in each quarter of 2024 and 2025 on two
    units, many at or just over the minimum, so that a quarter's partition of a unit's providers
    often has one small cell and hides the smallest shown one too. With ``q4`` most follow-ups
    answer q4 as well, so that the providers' partitions along the unit differ by question."""
    rng = random.Random(seed)
    data = DataSet()
    codes = ["A", "B", "C", "D", "E", "F", "G", "H10", "H9", "b"]  # codes sort as text
    for provider in codes:
        data.provider(provider)
    k = 0
    for quarter in range(8):
        year, first = 2024 + quarter // 4, 1 + 3 * (quarter % 4)
        for provider in codes:
            for unit in ("sodermalm", "bromma"):
                for _ in range(rng.choice((0, 0, 1, 3, 5, 5, 5, 6, 6, 7, 9))):
                    k += 1
                    intervention = data.intervention(f"I{k}", provider, unit=unit)
                    day = dt.date(year, first + rng.randrange(3), 2 + rng.randrange(27))
                    more = {}
                    if q4:
                        more = {"q4": rng.choice(("much_better", "unchanged"))} if rng.random() < 0.8 else {}
                    data.followup(intervention, date=day.isoformat(), q3=rng.choice(ANSWERS), **more)
    data.load(municipality)
    return codes


@pytest.mark.parametrize("within_a_unit", [True, False])
@pytest.mark.parametrize("witnesses", [1, 3, 48])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_trend_of_a_provider_hides_what_the_whole_partitions_hide(
    municipality, monkeypatch, seed: int, witnesses: int, within_a_unit: bool
) -> None:  # type: ignore[no-untyped-def]
    """A unit manager's trend of one provider (the provider within the unit, per quarter) proves
    its quarters shown along the unit's providers from a few of their cells
    (disclosure._prefetch_shown, 2026-12-06, mgrprov): the same rows and flags as the trend that
    reads every provider's cells (the proof switched off), whatever number of the other cells is
    read (a few: some quarters undecided, read whole), and each quarter's own check with nothing
    cached; some quarter hides a cell of n ≥ 5 by the secondary rule along the providers. The
    same for an analyst's trend of one provider (the provider page's), its quarters proven shown
    along all the municipality's providers (2026-12-06, lead)."""
    codes = trend_unit_load(municipality, seed)
    indicator = get_indicator("satisfied")
    monkeypatch.setattr("utfall.comparisons.disclosure._WITNESSES", witnesses)
    secondary = 0
    for unit in ("sodermalm", "bromma") if within_a_unit else (None,):
        for provider in codes:
            filters = {"provider": provider, "unit": unit} if unit else {"provider": provider}
            kwargs = {"municipality": municipality, "date_from": dt.date(2024, 1, 1),
                      "date_to": dt.date(2025, 12, 31), "period": "quarter", "filters": filters}  # fmt: skip
            bump()
            fast = protected_by_client(indicator, **kwargs)
            with monkeypatch.context() as patched:
                patched.setattr("utfall.comparisons.disclosure._prefetch_shown", lambda *a, **k: False)
                bump()
                plain = protected_by_client(indicator, **kwargs)
            assert fast == plain, filters
            for row in fast:
                year, part = str(row["period"]).split("-K")
                start = dt.date(int(year), 3 * int(part) - 2, 1)
                end = (start + dt.timedelta(days=95)).replace(day=1) - dt.timedelta(days=1)
                bump()
                cell = protected_counts(indicator, municipality=municipality, date_from=start, date_to=end, by=[],
                                        filters=filters)  # fmt: skip
                assert cell[0]["suppressed"] == row["suppressed"], (filters, row)
                rows = counts(municipality, start, end, ["provider"], {"unit": unit} if unit else {})
                gone = hidden_in_partitions([{str(r["provider"]): r["n"] for r in rows}], min_n=5)
                secondary += (0, provider) in gone and row["n"] >= 5
                if (0, provider) in gone:
                    assert row["suppressed"], (filters, row)
    assert secondary, "some quarter hides a provider's cell with n ≥ 5 along the unit's providers"


@pytest.mark.parametrize("witnesses", [1, 3, 48])
@pytest.mark.parametrize("code", ["satisfied", "assessment_approved"])
def test_a_unit_managers_cell_proven_shown_from_a_few_providers_is_flagged_as_the_whole_partition_flags_it(
    municipality, monkeypatch, code: str, witnesses: int
) -> None:  # type: ignore[no-untyped-def]
    """A provider's cell within a unit, its partition along the unit's providers not in hand but
    the municipality's count by provider in hand (the provider page's), is proven shown from the
    cells of the providers smallest in the municipality (disclosure._shown_by_some, 2026-12-06,
    mgrprov): the same flags as the whole partition's check (the proof switched off), for a
    quarter, a year and a run of years, whatever number of providers is read."""
    codes = trend_unit_load(municipality, 2)
    indicator = get_indicator(code)
    monkeypatch.setattr("utfall.comparisons.disclosure._WITNESSES", witnesses)
    spans = [(dt.date(2025, 4, 1), dt.date(2025, 6, 30)), (dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
             (dt.date(2024, 1, 1), dt.date(2025, 12, 31))]  # fmt: skip
    proven = secondary = 0
    real = disclosure._shown_by_some
    decided: dict[tuple[dt.date, str, str], bool] = {}

    def counted(indicator, municipality, period, dim, filters, min_n):  # type: ignore[no-untyped-def]
        nonlocal proven
        found = real(indicator, municipality, period, dim, filters, min_n)
        decided[(period.start, filters["provider"], filters["unit"])] = found
        proven += found
        return found

    for start, end in spans:
        for unit in ("sodermalm", "bromma"):
            for provider in codes:
                kwargs = {"municipality": municipality, "date_from": start, "date_to": end, "by": []}
                filters = {"provider": provider, "unit": unit}
                bump()
                aggregate(indicator, municipality=municipality, date_from=start, date_to=end, by=["provider"])
                with monkeypatch.context() as patched:
                    patched.setattr("utfall.comparisons.disclosure._shown_by_some", counted)
                    fast = protected_counts(indicator, filters=filters, **kwargs)
                with monkeypatch.context() as patched:
                    patched.setattr("utfall.comparisons.disclosure._shown_by_some", lambda *a, **k: False)
                    bump()
                    plain = protected_counts(indicator, filters=filters, **kwargs)
                assert fast == plain, (filters, start, end)
                rows = aggregate(indicator, municipality=municipality, date_from=start, date_to=end,
                                 by=["provider"], filters={"unit": unit})  # fmt: skip
                gone = hidden_in_partitions([{str(r["provider"]): r["n"] for r in rows}], min_n=5)
                if (0, provider) in gone:
                    assert fast[0]["suppressed"], (filters, start, end)
                    assert not decided.get((start, provider, unit)), "proven shown where the rule hides it"
                    secondary += fast[0]["n"] >= 5
    assert secondary, "some cell of n ≥ 5 is hidden by the secondary rule along the unit's providers"
    assert proven, "some cell is proven shown from a few providers"


@pytest.mark.parametrize("code", ["satisfied", "assessment_approved"])
@pytest.mark.parametrize(
    "span", [(dt.date(2025, 1, 1), dt.date(2025, 12, 31)), (dt.date(2024, 2, 10), dt.date(2025, 3, 20))]
)
def test_a_count_among_some_providers_is_their_rows_of_the_whole_count(
    municipality, code: str, span: tuple[dt.date, dt.date]
) -> None:  # type: ignore[no-untyped-def]
    """aggregate(among=…) (2026-12-06, mgrprov): the rows of those providers in the whole count,
    from the count tables' months and from the raw rows of the days around them."""
    codes = trend_unit_load(municipality, 1)
    indicator = get_indicator(code)
    ids = {
        c: pk for pk, c in Provider.objects.filter(municipality=municipality).values_list("pk", "provider_id")
    }
    picked = ["B", "H10", "b"]
    for filters in ({"unit": "sodermalm"}, {}):
        kwargs = {"municipality": municipality, "date_from": span[0], "date_to": span[1], "by": ["provider"],
                  "filters": filters}  # fmt: skip
        bump()
        whole = aggregate(indicator, **kwargs)
        some = aggregate(indicator, among=[ids[c] for c in picked], **kwargs)
        assert some == [r for r in whole if r["provider"] in picked]
        assert len(some) == 3
    assert set(picked) <= set(codes)


UNIT_SPANS = [(dt.date(2025, 4, 1), dt.date(2025, 6, 30)), (dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
              (dt.date(2024, 1, 1), dt.date(2025, 12, 31))]  # fmt: skip


@pytest.mark.parametrize("code", ["satisfied", "assessment_approved"])
def test_a_unit_managers_cell_taken_from_its_row_by_unit_is_the_cell_counted_alone(
    municipality, code: str
) -> None:  # type: ignore[no-untyped-def]
    """The provider page as a unit manager counts the provider by unit and takes its cell within
    the unit from that count (disclosure.prefetch_cell_within, 2026-12-07, mgrprov8): the same
    count as the cell counted alone, and the same flag as the cell protected with nothing
    prefetched — a quarter, a year and a run of years, a provider with no answers in the unit
    among them; some cell of n ≥ 5 is hidden by the secondary rule, some shown."""
    codes = [*trend_unit_load(municipality, 2, q4=True), "Z"]
    Provider.objects.create(municipality=municipality, provider_id="Z", name="Z")  # nothing counted
    indicator = get_indicator(code)
    secondary = shown = empty = 0
    for start, end in UNIT_SPANS:
        for unit in ("sodermalm", "bromma"):
            for provider in codes:
                kwargs = {"municipality": municipality, "date_from": start, "date_to": end}
                filters = {"provider": provider, "unit": unit}
                bump()
                alone = aggregate(indicator, by=[], filters=filters, **kwargs)
                bump()
                plain = protected_counts(indicator, by=[], filters=filters, **kwargs)
                bump()
                aggregate(indicator, by=["provider"], **kwargs)  # the page counts it first
                with CaptureQueriesContext(connection) as queries:
                    disclosure.prefetch_cell_within(indicator, filters=filters, **kwargs)
                    taken = aggregate(indicator, by=[], filters=filters, **kwargs)
                counts_read = [q["sql"] for q in queries if "SUM(" in q["sql"] or "COUNT(" in q["sql"]]
                assert len(counts_read) == 1 and '"g_unit"' in counts_read[0], (
                    counts_read
                )  # the count by unit
                assert taken == alone, (filters, start, end)
                fast = protected_counts(indicator, by=[], filters=filters, **kwargs)
                assert fast == plain, (filters, start, end)
                empty += not alone[0]["n"]
                secondary += fast[0]["suppressed"] and fast[0]["n"] >= 5
                shown += not fast[0]["suppressed"]
    assert empty and secondary and shown, (empty, secondary, shown)


@pytest.mark.parametrize("witnesses", [1, 3, 48])
@pytest.mark.parametrize("seed", [1, 2])
def test_a_unit_managers_question_cells_proven_shown_at_once_are_flagged_as_the_whole_partitions_flag_them(
    municipality, monkeypatch, seed: int, witnesses: int
) -> None:  # type: ignore[no-untyped-def]
    """The provider page as a unit manager proves its question cells shown along the unit's
    providers from one read of every question's few cells (disclosure.prefetch_shown_within,
    2026-12-07, mgrprov8) instead of reading the unit's every provider: the same flags as the
    cells checked against their whole partitions (no proof at all), whatever number of providers
    is read; a cell the whole partition hides is never proven shown; some cell is proven, and
    some cell of n ≥ 5 is hidden by the secondary rule along the providers."""
    codes = trend_unit_load(municipality, seed, q4=True)
    questions = [get_indicator("satisfied"), get_indicator("situation_improved")]
    monkeypatch.setattr("utfall.comparisons.disclosure._WITNESSES", witnesses)
    proven = secondary = 0
    for start, end in UNIT_SPANS:
        for unit in ("sodermalm", "bromma"):
            for provider in codes:
                kwargs = {"municipality": municipality, "date_from": start, "date_to": end}
                filters = {"provider": provider, "unit": unit}
                with monkeypatch.context() as patched:  # the reference: every partition read whole
                    patched.setattr("utfall.comparisons.disclosure._shown_by_some", lambda *a, **k: False)
                    bump()
                    plain = [protected_counts(q, by=[], filters=filters, **kwargs) for q in questions]
                bump()
                prefetch_questions(questions, by=["provider"], **kwargs)  # as the page: all providers first
                disclosure.prefetch_protected(questions, by=[], filters=filters, along=["unit"], **kwargs)
                disclosure.prefetch_shown_within(questions, filters=filters, **kwargs)
                period = disclosure.fixed_period(start, end)
                marked = [disclosure.holds(disclosure._shown_key(q, municipality, period, "provider", filters, 5))
                          for q in questions]  # fmt: skip
                with monkeypatch.context() as patched:  # only the cells proven at once skip their partition
                    patched.setattr("utfall.comparisons.disclosure._shown_by_some", lambda *a, **k: False)
                    fast = [protected_counts(q, by=[], filters=filters, **kwargs) for q in questions]
                assert fast == plain, (filters, start, end)
                for q, mark, cell in zip(questions, marked, fast, strict=True):
                    rows = aggregate(q, by=["provider"], filters={"unit": unit}, **kwargs)
                    gone = hidden_in_partitions([{str(r["provider"]): r["n"] for r in rows}], min_n=5)
                    if (0, provider) in gone:
                        assert not mark, ("proven shown where the rule hides it", q.code, filters, start)
                        secondary += cell[0]["n"] >= 5
                    proven += mark
    assert proven, "some cell is proven shown from a few providers"
    assert secondary, "some cell of n ≥ 5 is hidden by the secondary rule along the unit's providers"


def outcome_load(municipality, seed: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Interventions of nine providers on three units ending in 2024 and 2025 (seeded, 0–7 per
    provider, unit and year), with plans' goals, and one started in mid-2026: the reference date
    (2026-06-30) is late enough for step down's window to have passed for all of 2025, and not
    the 12-month rereferral's."""
    rng = random.Random(seed)
    data = DataSet()
    codes = ["A", "B", "C", "D", "E", "F", "H10", "H9", "b"]
    for provider in codes:
        data.provider(provider)
    k = 0
    for provider in codes:
        for unit in ("sodermalm", "bromma", "kista"):
            for year in (2024, 2025):
                for _ in range(rng.randrange(8)):
                    ended = dt.date(year, 1 + rng.randrange(12), 1 + rng.randrange(28))
                    data.intervention(f"I{k}", provider, unit=unit, service=rng.choice(("ihf", "tfco")),
                                      ended_on=ended.isoformat(), end_reason="goals_met", goals_total=2,
                                      goals_fully=rng.choice((0, 1, 2)), goals_partly=0)  # fmt: skip
                    k += 1
    data.intervention("LATE", "A", decided_on="2026-06-29", started_on="2026-06-30")
    data.load(municipality)
    return codes


@pytest.mark.parametrize("code", ["plan_goals_reached", "step_down", "rereferral_12m"])
def test_an_outcomes_partitions_along_the_unit_are_read_as_sizes_where_its_years_are_whole(
    municipality, monkeypatch, code: str
) -> None:  # type: ignore[no-untyped-def]
    """An outcome indicator's sizes by provider and unit per year (a unit manager's partitions
    along the unit, 2026-12-07) are read without a row dict where every year is counted whole
    (``queries.period_size_rows``): each year's n as ``aggregate`` counts it, and the unit
    manager's protected counts the same as through ``aggregate``. A year the window cuts at the
    reference date (the 12-month rereferral's 2025) is not read so."""
    outcome_load(municipality, 5)
    indicator = get_indicator(code)
    bump()
    run = {"date_from": dt.date(2024, 1, 1), "date_to": dt.date(2025, 12, 31)}
    sizes = period_sizes(indicator, municipality=municipality, grain="year", by=["provider", "unit"], filters={},
                         **run)  # fmt: skip
    if code == "rereferral_12m":  # 2026-06-30 less 365 days cuts 2025
        assert sizes is None
        assert period_sizes(indicator, municipality=municipality, date_from=dt.date(2024, 1, 1),
                            date_to=dt.date(2024, 12, 31), grain="year", by=["provider", "unit"]) is not None  # fmt: skip
    else:
        assert sizes is not None and set(sizes) == {"2024", "2025"}
        for label, start, end in periods("year", *run.values()):
            rows = aggregate(indicator, municipality=municipality, date_from=start, date_to=end,
                             by=["provider", "unit"])  # fmt: skip
            assert list(sizes[label].items()) == [((r["provider"], r["unit"]), r["n"]) for r in rows], label
    for unit in ("sodermalm", "bromma", "kista"):
        kwargs = {"municipality": municipality, "by": ["provider"], "filters": {"unit": unit}}
        spans = [run, {"date_from": dt.date(2025, 1, 1), "date_to": dt.date(2025, 12, 31)}]
        bump()
        fast = [protected_counts(indicator, **span, **kwargs) for span in spans]
        with monkeypatch.context() as patched:
            patched.setattr("utfall.comparisons.disclosure.period_size_rows", lambda *a, **k: None)
            bump()
            plain = [protected_counts(indicator, **span, **kwargs) for span in spans]
        assert fast == plain, unit
    assert any(r["suppressed"] for r in fast[0] + plain[0])
