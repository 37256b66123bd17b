"""The differencing attacks of issue 10.6 on comparisons (pages, API, CSV and CLI all call ``compare``).

Each test first shows, on the raw counts, that the planted cell (n = 1–4) is what the attack
would recover, then that the published numbers do not give it: the row the attack needs is
hidden, or what it yields is not the cell.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

from utfall.comparisons.indicators import get_indicator
from utfall.comparisons.queries import aggregate
from utfall.comparisons.services import compare
from utfall.stats.overdispersion import fit_overdispersion

pytestmark = pytest.mark.django_db
YEAR = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))


def rows(municipality: Any, by: str = "provider", period: tuple[dt.date, dt.date] = YEAR,
         **filters: str) -> dict[str, dict[str, Any]]:  # fmt: skip
    result = compare(municipality=municipality, indicator="satisfied", date_from=period[0], date_to=period[1],
                     by=by, filters=filters)  # fmt: skip
    return {r["group"]: r for r in result.as_json()["rows"]}


def raw(
    municipality: Any, by: list[str], period: tuple[dt.date, dt.date] = YEAR, **filters: str
) -> list[dict]:
    return aggregate(get_indicator("satisfied"), municipality=municipality, date_from=period[0],
                     date_to=period[1], by=by, filters=filters)  # fmt: skip


def difference(whole: dict[str, Any] | None, part: dict[str, Any] | None) -> tuple[int, int] | None:
    """What subtracting a published part from a published whole gives (None: a number is hidden)."""
    if not whole or not part or whole["suppressed"] or part["suppressed"]:
        return None
    return whole["n"] - part["n"], whole["events"] - part["events"]


def truth(municipality: Any, provider: str, dim: str, value: str) -> tuple[int, int]:
    (cell,) = [
        r for r in raw(municipality, ["provider", dim]) if r["provider"] == provider and r[dim] == value
    ]
    return cell["n"], cell["events"]


@pytest.mark.parametrize(
    ("provider", "dim", "shown", "planted"),
    [("A", "sex", "female", "male"), ("B", "service", "hvb_youth", "outpatient_youth"),
     ("C", "age_group", "16-17", "13-15")],
)  # fmt: skip
def test_the_total_minus_a_filtered_comparison_does_not_give_the_small_group(
    attack_set, provider: str, dim: str, shown: str, planted: str
) -> None:  # type: ignore[no-untyped-def]
    n, _ = truth(attack_set, provider, dim, planted)
    assert 1 <= n <= 4  # the planted cell
    whole = rows(attack_set)[provider]
    part = rows(attack_set, **{dim: shown}).get(provider)
    assert not whole["suppressed"]  # the unfiltered comparison still shows the provider
    assert difference(whole, part) is None  # the filtered row is hidden with its small complement


def test_a_date_range_one_day_shorter_gives_nothing(attack_set) -> None:  # type: ignore[no-untyped-def]
    (last,) = [r for r in raw(attack_set, ["provider"], (dt.date(2025, 12, 31),) * 2) if r["provider"] == "D"]
    assert last["n"] == 1  # one answer on 31 December
    shorter = compare(municipality=attack_set, indicator="satisfied", date_from=YEAR[0],
                      date_to=dt.date(2025, 12, 30), by="provider")  # fmt: skip
    assert "2025" in shorter.period_note and "kalenderår" in shorter.period_note
    assert shorter.as_json()["rows"] == compare(municipality=attack_set, indicator="satisfied",
                                                 date_from=YEAR[0], date_to=YEAR[1], by="provider").as_json()["rows"]  # fmt: skip
    assert difference(rows(attack_set)["D"], {r["group"]: r for r in shorter.as_json()["rows"]}["D"]) == (
        0,
        0,
    )


def test_no_target_is_published_from_a_comparison_whose_rows_are_all_hidden(attack_set) -> None:  # type: ignore[no-untyped-def]
    result = compare(municipality=attack_set, indicator="satisfied", date_from=YEAR[0], date_to=YEAR[1],
                     by="provider", filters={"service": "outpatient_youth"})  # fmt: skip
    data = result.as_json()
    assert {r["group"]: r["suppressed"] for r in data["rows"]} == {"B": True, "E": True}
    # E's rate (n 6) would be the target of a fit on E alone: nothing is fitted on hidden rows.
    assert data["target"] is None
    assert data["overdispersion"]["phi"] is None and data["overdispersion"]["tau2"] is None


def test_replaying_the_fit_on_the_shown_rows_gives_exactly_the_published_target(attack_set) -> None:  # type: ignore[no-untyped-def]
    data = compare(municipality=attack_set, indicator="satisfied", date_from=YEAR[0], date_to=YEAR[1],
                   by="provider").as_json()  # fmt: skip
    table = {r["group"]: r for r in data["rows"]}
    assert table["F"]["suppressed"] and table["E"]["suppressed"]  # F n 3; E (n 6) hides it
    shown = [r for r in data["rows"] if not r["suppressed"]]
    fit = fit_overdispersion(np.array([r["events"] for r in shown], dtype=float),
                             np.array([r["n"] for r in shown], dtype=float), kind="proportion")  # fmt: skip
    # The published reference is a function of the shown rows alone: replaying the open-source
    # code with any values for E and F cannot match it better than with none.
    assert data["target"] == pytest.approx(fit.target, abs=5e-5)
    assert data["overdispersion"]["phi"] == pytest.approx(fit.as_dict()["phi"], abs=5e-4)


def test_the_year_minus_its_shown_quarters_does_not_give_a_small_quarter(attack_set) -> None:  # type: ignore[no-untyped-def]
    quarters = [(dt.date(2025, m, 1), dt.date(2025 + (m == 10), (m + 2) % 12 + 1, 1) - dt.timedelta(days=1))
                for m in (1, 4, 7, 10)]  # fmt: skip
    (q4,) = [r for r in raw(attack_set, ["provider"], quarters[3]) if r["provider"] == "A"]
    assert q4["n"] == 2
    year = rows(attack_set)["A"]
    shown = [rows(attack_set, period=q).get("A") for q in quarters]
    assert shown[3] is None or shown[3]["suppressed"]
    visible = [r for r in shown if r and not r["suppressed"]]
    # What the year minus the shown quarters leaves is at least two quarters, never the small one alone.
    assert len(visible) <= 2
    assert year["n"] - sum(r["n"] for r in visible) >= 5
    half = rows(attack_set, period=(dt.date(2025, 7, 1), YEAR[1]))["A"]
    assert half["suppressed"] is False and all(r["suppressed"] for r in shown[2:] if r)


def test_the_women_and_men_table_does_not_fill_a_cell_that_the_age_table_hid(attack_set) -> None:  # type: ignore[no-untyped-def]
    by_age = rows(attack_set, by="age_group", provider="C")
    assert by_age["13-15"]["suppressed"]
    # The same cell asked for the other way round: C's 16–17-year-olds by sex, and by age for women.
    by_sex = rows(attack_set, by="sex", provider="C", age_group="16-17")
    women = rows(attack_set, by="age_group", provider="C", sex="female")
    assert difference(rows(attack_set)["C"], by_sex.get("female")) is None
    assert difference(rows(attack_set)["C"], women.get("16-17")) is None
    assert by_age["16-17"]["suppressed"]  # the other age group goes with the small one
