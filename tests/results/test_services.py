"""The domain functions behind the pages: trends, women and men, outcome measures."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.comparisons.builders import DataSet
from tests.results.conftest import People
from utfall.comparisons.indicators import all_indicators
from utfall.comparisons.services import compare
from utfall.results.services.comparison import provider_comparison
from utfall.results.services.gender import women_and_men
from utfall.results.services.outcomes import outcomes
from utfall.results.services.provider import own_comparison_row, provider_results
from utfall.results.services.trends import trend
from utfall.stats.proportions import newcombe_difference, wilson_interval

pytestmark = pytest.mark.django_db
YEAR = {"date_from": dt.date(2025, 1, 1), "date_to": dt.date(2025, 12, 31)}


def test_the_change_from_the_previous_period_is_information_and_the_chart_decides(
    other_municipality, people
) -> None:  # type: ignore[no-untyped-def]
    """Issue 10.5: one period-to-period interval excluding zero no longer makes a "minskning";
    the p′ chart does. K3 ends after the newest data (2025-08-01): incomplete, not judged."""
    data = DataSet()
    data.provider("X")
    plan = {"2025-02-01": (30, 27), "2025-05-01": (30, 10), "2025-08-01": (30, 12)}
    for date, (n, yes) in plan.items():
        for i in range(n):
            iid = data.intervention(f"T{date}{i}", "X")
            data.followup(iid, date=date, q3="yes_mostly" if i < yes else "no")
    data.load(other_municipality)
    page = trend(people.foreign_analyst, indicator="satisfied", grain="quarter", provider="X", **YEAR)
    rows = page.tables["trend"].rows
    assert [r["period"] for r in rows] == ["2025-K1", "2025-K2", "2025-K3", "2025-K4"]
    expected = newcombe_difference(10, 30, 27, 30).iloc[0]
    assert rows[1]["diff"] == round(expected["estimate"], 4)
    assert rows[1]["diff_high"] == round(expected["upper"], 4) < 0  # the old rule's "minskning"
    assert [r["verdict"] for r in rows] == [
        "ingen säker förändring", "ingen säker förändring", "ofullständig – bedöms inte", None,
    ]  # fmt: skip
    assert [r["partial"] for r in rows] == [False, False, True, True]
    assert rows[3]["n"] == 0 and rows[3]["diff"] is None  # no follow-ups in K4: nothing to compare
    assert not any(r["suppressed"] for r in rows)  # an empty period hides nothing else


def _quarter_dates(year: int, quarter: int) -> list[str]:
    month = 3 * quarter - 2
    return [f"{year}-{month + k:02d}-{day:02d}" for k in range(3) for day in (5, 20)]


def test_trends_judge_whole_periods_on_a_control_chart_and_count_repeated_clients_once(
    other_municipality, people
) -> None:  # type: ignore[no-untyped-def]
    data = DataSet()
    # Stable around 60 % (binomial noise), and Z dropping to 15 % in its last quarter.
    yes_counts = {"X": [22, 26, 24, 23, 25, 24, 27, 23], "Z": [24, 25, 23, 24, 26, 23, 25, 6]}
    for pid in ("X", "Z", "R", "Y"):
        data.provider(pid)
    quarters = [(y, q) for y in (2024, 2025) for q in (1, 2, 3, 4)]
    for j, (year, quarter) in enumerate(quarters):
        dates = _quarter_dates(year, quarter)
        for pid in ("X", "Z"):
            yes = yes_counts[pid][j]
            for i in range(40):
                iid = data.intervention(f"{pid}{j}-{i}", pid)
                data.followup(iid, date=dates[i % 6], q3="yes_mostly" if i < yes else "no")
        # R: 10 clients a quarter, each followed up 4 times with the same answer.
        for c in range(10):
            iid = data.intervention(f"R{j}-{c}", "R")
            for k in range(4):
                data.followup(iid, date=dates[k], q3="yes_mostly" if c < 6 else "no")
    data.followup(data.intervention("Y0", "Y"), date="2026-01-10")  # the newest data: 2025-K4 is over
    data.load(other_municipality)
    period = {"date_from": dt.date(2024, 1, 1), "date_to": dt.date(2025, 12, 31)}
    stable = trend(people.foreign_analyst, indicator="satisfied", grain="quarter", provider="X", **period)
    assert [r["verdict"] for r in stable.tables["trend"].rows] == ["ingen säker förändring"] * 8
    assert all(r["spc_lower"] < r["centre"] < r["spc_upper"] for r in stable.tables["trend"].rows)
    shifted = trend(people.foreign_analyst, indicator="satisfied", grain="quarter", provider="Z", **period)
    assert shifted.tables["trend"].rows[-1]["verdict"] == "minskning"
    cut = trend(people.foreign_analyst, indicator="satisfied", grain="quarter", provider="X",
                date_from=dt.date(2024, 2, 15), date_to=dt.date(2025, 12, 31))  # fmt: skip
    first = cut.tables["trend"].rows[0]
    assert first["partial"] and first["verdict"] == "ofullständig – bedöms inte" and first["centre"] is None
    repeated = trend(people.foreign_analyst, indicator="satisfied", grain="quarter", provider="R", **period)
    row = repeated.tables["trend"].rows[0]
    assert row["n"] == 40 and row["n_effective"] == pytest.approx(9.0, abs=0.1)  # 10 clients, not 40 answers
    naive_low, naive_high = wilson_interval(24, 40, 0.95)
    assert row["ci_high"] - row["ci_low"] > 1.8 * (float(naive_high) - float(naive_low))


def test_it_compares_women_and_men_with_newcombes_interval(people: People) -> None:
    page = women_and_men(people.analyst, indicator="satisfied", **YEAR)
    (hvb,) = [r for r in page.tables["per_service"].rows if r["group"] == "hvb_youth"]
    expected = newcombe_difference(hvb["women_events"], hvb["women_n"], hvb["men_events"], hvb["men_n"]).iloc[
        0
    ]
    assert hvb["diff"] == round(expected["estimate"], 4)
    assert (hvb["diff_low"], hvb["diff_high"]) == (round(expected["lower"], 4), round(expected["upper"], 4))
    assert hvb["women_n"] + hvb["men_n"] == 121
    assert {r["group"] for r in page.tables["per_age_group"].rows} == {"16-17"}


def test_it_reports_the_outcome_measures_for_ihf_and_tfco(people: People) -> None:
    page = outcomes(people.analyst, **YEAR)
    rows = {r["group"]: r for r in page.tables["utfallsmatt"].rows}
    assert list(rows)[:3] == ["alla", "ihf", "tfco"]
    assert rows["ihf"]["plan_goals_reached_n"] == 7
    assert rows["tfco"]["plan_goals_reached_n"] == 5
    assert rows["alla"]["step_down_n"] == 12 and rows["alla"]["step_down_rate"] == 1.0
    assert rows["ihf"]["plan_goals_fully_rate"] == round(4 / 7, 4)


def test_the_funnel_spec_draws_every_visible_provider_and_no_hidden_one(people: People) -> None:
    page = provider_comparison(people.analyst, indicator="satisfied", **YEAR)
    spec = page.charts["funnel"]
    points = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "point")["data"]["values"]
    assert {p["id"] for p in points} == {"A", "B", "C", "E", "F"}
    lines = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "line")["data"]["values"]
    assert {line["line"] for line in lines} == {"95 % nedre", "95 % övre", "99,8 % nedre", "99,8 % övre"}
    assert spec["$schema"].endswith("vega-lite/v6.json")


@pytest.mark.parametrize("provider", ["A", "B", "C", "D", "E", "F", "G"])
def test_the_provider_page_row_is_the_providers_row_of_the_full_comparison(
    people: People, provider: str
) -> None:
    """Every figure of the provider page's indicator table is the provider's figure in the
    comparison of all providers (``compare``), for a provider shown everywhere (B), one too
    small (D), one hidden by secondary suppression (G), one with low coverage (F)."""
    page = provider_results(people.analyst, provider, indicator="satisfied", grain="quarter", **YEAR)
    assert len(page.tables["indikatorer"].rows) == len(all_indicators())
    for row in page.tables["indikatorer"].rows:
        full = compare(municipality=people.analyst.municipality, indicator=row["indicator"],
                                by="provider", **YEAR).as_json()  # fmt: skip
        own = next((r for r in full["rows"] if r["group"] == provider), None)
        assert row["target"] == full["target"]
        if own is None:  # the provider has no answers on this indicator
            assert row["n"] == 0 and row["rate"] is None and not row["suppressed"]
            continue
        for key in (
            "n",
            "rate",
            "ci_low",
            "ci_high",
            "lower_998",
            "upper_998",
            "flag",
            "suppressed",
            "estimate",
            "estimate_low",
            "estimate_high",
            "p_below_reference",
            "detectable_low",
        ):
            assert row.get(key) == own.get(key), (row["indicator"], key)  # fmt: skip


def test_the_provider_pages_trend_begins_with_a_whole_period_two_years_before(
    other_municipality, people
) -> None:  # type: ignore[no-untyped-def]
    """The provider page's trend covers the two calendar years before its period: from 1 January,
    not 730 days back (2025-01-01 less 730 days is 2023-01-02, across 29 February 2024), which
    left the first day out of the first quarter and marked the quarter as incomplete."""
    data = DataSet()
    data.provider("X")
    for i in range(24):  # 2023-K1 and K2, half of K1's follow-ups on 1 January
        iid = data.intervention(f"T{i}", "X", decided_on="2022-06-01", started_on="2022-06-02")
        data.followup(iid, date="2023-01-01" if i < 6 else ("2023-02-15" if i < 12 else "2023-05-15"),
                      q3="yes_mostly" if i % 3 else "no")  # fmt: skip
    data.load(other_municipality)
    page = provider_results(people.foreign_analyst, "X", indicator="satisfied", grain="quarter", **YEAR)
    rows = page.tables["trend"].rows
    alone = trend(people.foreign_analyst, indicator="satisfied", grain="quarter", provider="X",
                  date_from=dt.date(2023, 1, 1), date_to=dt.date(2023, 12, 31)).tables["trend"].rows  # fmt: skip
    assert rows[0]["period"] == "2023-K1" and not rows[0]["partial"]
    assert rows[0]["n"] == 12 == alone[0]["n"] and rows[0]["rate"] == alone[0]["rate"]
    assert [r["period"] for r in rows][-1] == "2025-K4" and len(rows) == 12


def test_aggregate_questions_counts_as_aggregate_does(people: People) -> None:
    from utfall.comparisons.queries import aggregate, aggregate_questions

    questions = [i for i in all_indicators().values() if i.kind == "question"]
    for by in (["provider"], ["sex", "age_group"], ["unit", "service"]):
        kwargs = {"municipality": people.analyst.municipality, "by": by, **YEAR}
        many = aggregate_questions(questions, **kwargs)
        assert many == {i.code: aggregate(i, **kwargs) for i in questions}
    assert many["satisfied"]


def test_women_and_men_adjusted_for_service_tell_a_mix_of_services_from_a_real_difference(
    other_municipality, people
) -> None:  # type: ignore[no-untyped-def]
    """Simpson's paradox (seed 002's "motiverade och omotiverade skillnader"): within each service
    women and men do equally well, but women mostly get the service with the lower rate. The
    crude difference is large; adjusted for service (and age) it is zero."""
    data = DataSet()
    data.provider("X")
    plan = {("hvb_youth", True): (60, 24), ("hvb_youth", False): (15, 6),
            ("ihf", True): (20, 18), ("ihf", False): (60, 54)}  # fmt: skip
    for (service, female), (n, yes) in plan.items():
        for i in range(n):
            iid = data.intervention(f"S{service}{female}{i}", "X", service=service,
                                    person_id=data.person(female=female))  # fmt: skip
            data.followup(iid, q3="yes_mostly" if i < yes else "no")
    data.load(other_municipality)
    page = women_and_men(people.foreign_analyst, indicator="satisfied", **YEAR)
    (total,) = page.tables["total"].rows
    assert total["diff"] == round(42 / 80 - 60 / 75, 4) and total["diff_high"] < 0
    assert total["verdict"] == "lägre"
    assert total["adj_diff"] == pytest.approx(0.0, abs=1e-4)
    assert (
        total["adj_diff_low"] < 0 < total["adj_diff_high"] and total["adj_verdict"] == "ingen säker skillnad"
    )
    for row in page.tables["per_service"].rows:  # one age group: adjusted equals crude
        assert row["adj_diff"] == pytest.approx(row["diff"], abs=1e-4) == pytest.approx(0.0, abs=1e-4)
    labels = [c.label for c in page.tables["per_service"].columns]
    assert "Skillnad justerad för ålder" in labels


def test_every_indicator_has_a_trend_counted_per_client(people: People) -> None:
    """Each kind reads its client through its own path (answers, follow-ups, interventions,
    coverage per period); none may fail, and the effective n never exceeds n."""
    from utfall.comparisons.indicators import all_indicators

    allowed = {None, "ökning", "minskning", "ingen säker förändring", "ofullständig – bedöms inte",
               "för få perioder att bedöma"}  # fmt: skip
    for code in all_indicators():
        page = trend(people.analyst, indicator=code, grain="quarter", **YEAR)
        for row in page.tables["trend"].rows:
            assert row["verdict"] in allowed, (code, row)
            if row["n_effective"] is not None:
                assert 0 < row["n_effective"] <= row["n"], (code, row)


def test_a_comparisons_many_providers_are_named_as_by_their_codes_alone(
    municipality, other_municipality, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """``names_of`` picks many codes from the municipality's providers instead of asking for
    them by an IN list: the same names, none of another municipality's, none asked for missing."""
    from utfall.registry.models import Ownership, Provider
    from utfall.results.services import common

    Provider.objects.bulk_create(
        [Provider(municipality=municipality, provider_id=f"P{i:04d}", name=f"Omsorg {i} & <Co>",
                  ownership=Ownership.values[0]) for i in range(150)]
        + [Provider(municipality=other_municipality, provider_id=f"P{i:04d}", name=f"Grannen {i}",
                    ownership=Ownership.values[0]) for i in range(200)]
    )  # fmt: skip
    codes = {f"P{i:04d}" for i in range(0, 200, 2)} | {
        "X1"
    }  # 100 of ours, 1 nobody's, 50 only the neighbour's
    picked = common.names_of(Provider, municipality, "provider_id", codes)
    monkeypatch.setattr(common, "MANY_CODES", 10_000)
    assert picked == common.names_of(Provider, municipality, "provider_id", codes)
    assert len(picked) == 75 and picked["P0148"] == "Omsorg 148 & <Co>"


def test_a_unit_managers_provider_page_counts_the_provider_within_the_unit_as_one_cell(
    people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a unit manager (Bromma), each indicator's own figures are the provider's row of the count
    by provider within the unit, judged against all providers, as before 2026-12-06 (prov5); the
    page no longer works out every provider's partition along the unit to flag that one row."""
    from utfall.comparisons import disclosure
    from utfall.comparisons.cache import bump

    asked: list[tuple[tuple[str, ...], str]] = []
    real = disclosure._hidden_along

    def spy(indicator, municipality, period, rest_by, dim, rest_filters, as_of, min_n):  # type: ignore[no-untyped-def]
        asked.append((tuple(rest_by), dim))
        return real(indicator, municipality, period, rest_by, dim, rest_filters, as_of, min_n)

    monkeypatch.setattr(disclosure, "_hidden_along", spy)
    municipality = people.manager.municipality
    for provider in ("E", "G", "B"):  # in the unit; hidden there by the secondary rule; not in the unit
        bump()
        asked.clear()
        page = provider_results(people.manager, provider, indicator="satisfied", grain="quarter", **YEAR)
        assert (("provider",), "unit") not in asked
        for row in page.tables["indikatorer"].rows:
            definition = all_indicators()[row["indicator"]]
            everyone = disclosure.protected_counts(definition, municipality=municipality, by=["provider"],
                                                   **YEAR)  # fmt: skip
            within = disclosure.protected_counts(definition, municipality=municipality, by=["provider"],
                                                 filters={"unit": "bromma"}, **YEAR)  # fmt: skip
            mine = next((r for r in within if r["provider"] == provider), {"events": 0, "n": 0})
            want = own_comparison_row(everyone, provider, mine)
            assert {k: v for k, v in row.items() if k not in ("indicator", "name")} == want, row["indicator"]
    satisfied = {p: next(r for r in provider_results(people.manager, p, indicator="satisfied", grain="quarter",
                                                      **YEAR).tables["indikatorer"].rows
                         if r["indicator"] == "satisfied") for p in ("E", "G", "B")}  # fmt: skip
    assert satisfied["E"]["n"] == 40 and satisfied["G"]["suppressed"] and satisfied["B"]["n"] == 0
