"""A scoped viewer's rows (a unit manager's providers) judged against the reference comparison.

Each scoped row's assessment columns are its own counts put in its place in the reference's
table (as the provider page does). They are worked out in one assessment for the whole view,
not one per row over the whole table (which grew with rows × providers).
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import numpy as np
import pytest
from scipy import special

from tests.comparisons.builders import DataSet
from tests.stats.chart_rows import assert_rows_as_before
from utfall.comparisons import services
from utfall.comparisons.cache import bump
from utfall.stats.assessment import ASSESSMENT_ROW_KEYS, assess
from utfall.stats.comparison import compare_proportions
from utfall.stats.funnels import chart_sizes
from utfall.stats.overdispersion import clear_fit_cache


def population(k: int, seed: int) -> tuple[list[str], list[int], list[int], list[int], Any]:
    rng = np.random.default_rng(seed)
    n = rng.integers(5, 200, k)
    p = special.expit(special.logit(0.7) + 0.4 * rng.standard_normal(k))
    p[:2] = 0.2  # two clear outliers, left out of the fit (not shrunk)
    events = rng.binomial(n, p)
    groups = [f"P{i:03d}" for i in range(k)]
    reference = compare_proportions(groups, events.tolist(), n.tolist(), min_n=5)
    used = [i for i, row in enumerate(reference.rows) if not row["suppressed"]]
    return groups, events.tolist(), n.tolist(), used, reference


def scoped_rows(groups: list[str], events: list[int], n: list[int]) -> list[dict[str, Any]]:
    """A unit's share of some providers (fewer answers), one below the minimum count, one outlier,
    and a provider the reference does not have."""
    return [
        {"provider": groups[0], "events": events[0] // 2, "n": n[0] // 2, "suppressed": False},
        {"provider": groups[3], "events": events[3] // 2, "n": n[3] // 2, "suppressed": False},
        {"provider": groups[5], "events": events[5], "n": n[5], "suppressed": False},
        {"provider": groups[8], "events": 1, "n": 3, "suppressed": False},
        {"provider": groups[11], "events": events[11] // 3, "n": n[11] // 3, "suppressed": False},
        {"provider": "P999", "events": 7, "n": 9, "suppressed": False},
    ]


def one_row_at_a_time(rows: list[dict[str, Any]], reference: Any, population_: tuple[Any, ...],
                      goal: float | None) -> list[dict[str, Any]]:  # fmt: skip
    """The definition: each row's counts in its place in the reference's table, one table per row."""
    groups, events, n, used = population_
    place = {g: i for i, g in enumerate(groups)}
    out = []
    for r in rows:
        i = place.get(r["provider"])
        if i is None or r["n"] < 5:
            out.append({})
            continue
        xa, ma = list(events), list(n)
        xa[i], ma[i] = r["events"], r["n"]
        out.append(assess(reference.fit, xa, ma, used=used, goal=goal, only=[i], reliability=False).rows[i])
    return out


def test_it_gives_each_row_the_columns_of_its_own_counts_in_the_reference_table() -> None:
    for seed, goal in ((1, None), (2, 0.8), (3, 0.5)):
        groups, events, n, used, reference = population(120, seed)
        rows = scoped_rows(groups, events, n)
        view = services._proportion_view(rows, "provider", reference, 5, goal, (groups, events, n, used))
        expected = one_row_at_a_time(rows, reference, (groups, events, n, used), goal)
        assert [r["group"] for r in view.rows] == [r["provider"] for r in rows]
        assert any(r[k] is not None for r in view.rows for k in ASSESSMENT_ROW_KEYS)
        for row, want in zip(view.rows, expected, strict=True):
            for key in ASSESSMENT_ROW_KEYS:
                value = want.get(key)
                value = None if row["suppressed"] or value is None else round(float(value), 4)
                assert row[key] == value, (row["group"], key)


def test_it_assesses_the_whole_view_at_once(monkeypatch: Any) -> None:
    groups, events, n, used, reference = population(120, 4)
    rows = scoped_rows(groups, events, n)
    calls: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(len(kwargs.get("only") or []))
        return assess(*args, **kwargs)

    monkeypatch.setattr(services, "assess", counted)
    services._proportion_view(rows, "provider", reference, 5, None, (groups, events, n, used))
    assert calls == [4]  # the four rows in the reference with at least the minimum count


def test_the_cells_covariate_patterns_are_the_texts_of_their_values_joined() -> None:
    """A scoped O/E finds each cell's rate by its covariate pattern as text (``_ratio_view``): the
    texts joined column by column are the row-wise join they replace (2026-12-06, oe7), with
    categorical columns, a column of texts and one covariate alone."""
    import pandas as pd

    cells = pd.DataFrame({
        "sex": pd.Categorical.from_codes([0, 1, 1, 0], categories=["female", "male"]),
        "age_group": pd.Categorical.from_codes([2, 0, 1, 2], categories=["0-12", "13-15", "65+"]),
        "service": np.array(["hvb", "lss", "hvb", "stod"], dtype=object),
        "n": [3, 4, 5, 6],
    })  # fmt: skip
    for covariates in (["sex", "age_group", "service"], ["age_group"], ["service", "sex"]):
        joined = services._pattern_texts(cells, covariates)
        assert joined.tolist() == cells[covariates].astype(str).agg("|".join, axis=1).tolist()
    assert services._pattern_texts(cells, ["sex", "age_group", "service"]).tolist() == [
        "female|65+|hvb", "male|0-12|lss", "male|13-15|hvb", "female|65+|stod",
    ]  # fmt: skip


def _ratio_view_by_cell_texts(reference_cells: Any, cells: Any, by: str, covariates: list[str], reference: Any,
                              min_n: int, hidden: set[str], fitted: Any) -> Any:  # fmt: skip
    """The definition (``_ratio_view`` before 2026-12-06, mgroe2): every cell's pattern as its text."""
    import pandas as pd

    from utfall.stats.adjusted import compare_adjusted
    from utfall.stats.standardisation import expected_from_case_mix

    ref = reference_cells.copy()
    ref["_case_mix"] = services._pattern_texts(ref, covariates)
    rates = expected_from_case_mix(ref, covariates, group="_case_mix", events="events", n="n", fitted=fitted)
    rate = dict(zip(rates["group"], rates["expected"] / rates["n"], strict=True))
    mine = cells.copy()
    mine[by] = mine[by].astype(str)
    mine["_e"] = mine["n"] * services._pattern_texts(mine, covariates).map(rate).fillna(0.0)
    grouped = mine.groupby(by, sort=True).agg(
        n=("n", "sum"), observed=("events", "sum"), expected=("_e", "sum")
    )
    assert isinstance(grouped, pd.DataFrame)
    return compare_adjusted(
        [str(g) for g in grouped.index.tolist()], grouped["observed"].to_numpy(), grouped["expected"].to_numpy(),
        grouped["n"].to_numpy(), min_n=min_n, reference=reference,
        hidden=[str(g) in hidden for g in grouped.index.tolist()], chart=True,
    ).comparison  # fmt: skip


@pytest.mark.parametrize("missing", [False, True, "all"])
def test_a_scoped_oe_finds_the_same_rates_by_pattern_as_by_every_cells_text(missing: bool | str) -> None:
    """The scoped O/E's cells find their pattern's rate through the patterns' codes, each pattern's
    text made once (2026-12-06, mgroe2): the same rows, to the last bit, as the text of every cell —
    with a covariate of texts (a value with "|" in it, two patterns of one text), patterns the
    reference lacks, and (``missing``) missing values, whose patterns have no rate."""
    import pandas as pd

    from utfall.stats.adjusted import compare_adjusted
    from utfall.stats.standardisation import case_mix_expected, expected_from_case_mix

    rng = np.random.default_rng(11)
    k = 4000
    providers = [f"P{i:03d}" for i in range(60)]
    sex = rng.integers(0, 3, k) - (1 if missing else 0)  # -1: missing
    services_ = np.array(["hvb", "lss|a", "lss", "a|stod", "stod"], dtype=object)[rng.integers(0, 5, k)]
    if missing:
        services_[rng.random(k) < 0.05] = None
    n = rng.integers(0, 12, k)

    def frame(rows: Any) -> pd.DataFrame:
        return pd.DataFrame({
            "provider": pd.Categorical.from_codes(rng.integers(0, 60, rows.sum()), categories=providers),
            "sex": pd.Categorical.from_codes(sex[rows], categories=["female", "male", "other"]),
            "age_group": pd.Categorical.from_codes(rng.integers(0, 4, rows.sum()),
                                                   categories=["0-12", "a|0-12", "18-24", "65+"]),
            "service": services_[rows],
            "events": rng.binomial(n[rows], 0.7),
            "n": n[rows],
        })  # fmt: skip

    covariates = ["sex", "service", "age_group"]  # "lss|a" + "0-12" and "lss" + "a|0-12": one text
    reference_cells = frame(np.arange(k) < 3000)
    cells = frame(np.arange(k) >= 2500)  # some patterns only here
    if missing == "all":  # no cell of the scope has a pattern: none has a rate (expected 0)
        cells["service"] = None
    fitted = case_mix_expected(reference_cells, covariates)
    expected = expected_from_case_mix(reference_cells, covariates, group="provider", fitted=fitted)
    expected = expected.sort_values("group")
    groups = [str(g) for g in expected["group"].tolist()]
    reference = compare_adjusted(groups, expected["observed"].to_numpy(), expected["expected"].to_numpy(),
                                 expected["n"].to_numpy(), min_n=5, row_limits=False)  # fmt: skip
    hidden = {"P004", "P017"}
    want = _ratio_view_by_cell_texts(
        reference_cells, cells, "provider", covariates, reference, 5, hidden, fitted
    )
    got = services._ratio_view(reference_cells, cells, "provider", covariates, reference, 5, hidden,
                               chart=True, fitted=fitted)  # fmt: skip
    assert len(got.rows) == 60
    assert any(r["suppressed"] for r in got.rows)
    if missing == "all":  # nothing expected: no ratio (it crashed on an empty list of rates before)
        assert all(r["ratio"] is None for r in got.rows)
    else:
        assert any(r["ratio"] is not None for r in got.rows)
    assert repr(got) == repr(want)


def _units_load(municipality: Any) -> None:
    """30 providers with 10–40 answers each (three far off the others with 50–80) over three units, women and men of three ages
    and two services, each provider's own share of 'yes' (some far off the others')."""
    rng = random.Random(5)
    data = DataSet()
    k = 0
    for i in range(30):
        provider = data.provider(f"P{i:02d}")
        rate = 0.05 if i in (3, 17) else 0.99 if i == 8 else rng.uniform(0.55, 0.8)
        for _ in range(rng.randrange(50, 80) if i in (3, 8, 17) else rng.randrange(10, 41)):
            k += 1
            person = data.person(
                born=dt.date(rng.choice((1960, 1990, 2009)), 6, 1), female=rng.random() < 0.5
            )
            unit = rng.choice(("sodermalm", "bromma", "bromma", "kista"))
            service = rng.choice(("hvb_youth", "outpatient_youth"))
            intervention = data.intervention(f"I{k}", provider, unit=unit, service=service, person_id=person)
            day = dt.date(2025, 1 + rng.randrange(12), 1 + rng.randrange(28))
            data.followup(
                intervention, date=day.isoformat(), q3="yes_mostly" if rng.random() < rate else "no"
            )
    data.load(municipality)


@pytest.mark.django_db
@pytest.mark.parametrize("adjust", [False, True])
def test_a_unit_managers_page_searches_only_its_own_rows_and_shows_what_it_showed(
    municipality: Any, adjust: bool
) -> None:
    """The comparison page as a unit manager (``compare`` with ``chart`` and a unit scope) shows
    the unit's rows and none of the reference's: the reference searches no row limits and the
    fit's 95 % level only the chart's sizes (2026-12-06). The rows are those of the same
    comparison not drawn (the API's) but for the 95 % limits the page does not show: the flags
    and every other value exactly, the 99.8 % limits at the 4 decimals shown; the reliability
    the same."""
    _units_load(municipality)
    kwargs: dict[str, Any] = {"municipality": municipality, "indicator": "satisfied", "by": "provider",
                              "date_from": dt.date(2025, 1, 1), "date_to": dt.date(2025, 12, 31),
                              "scope": {"unit": "bromma"}, "adjust": adjust}  # fmt: skip
    bump()
    clear_fit_cache()
    page = services.compare(**kwargs, chart=True)
    fit = page.funnel.fit if adjust else page.funnel
    rows = page.comparison.rows
    value = "ratio" if adjust else "rate"
    shown = [r["expected" if adjust else "n"] for r in rows if not r["suppressed"] and r[value] is not None]
    grid = page.funnel.chart_sizes([v for v in shown if v]) if adjust else chart_sizes(shown, whole=True)
    assert set(fit._known[0.95]) == set(grid.tolist())  # the chart's sizes, no row's
    bump()
    clear_fit_cache()
    api = services.compare(**kwargs)
    assert len(rows) == len(api.comparison.rows) >= 20
    assert sum(not r["suppressed"] for r in rows) >= 10 and any(r["flag"] for r in rows)
    assert_rows_as_before(rows, api.comparison.rows, rel=1e-10)
    assert page.as_json()["reliability"] == api.as_json()["reliability"]
    assert page.as_json()["target"] == api.as_json()["target"]


@pytest.mark.django_db
@pytest.mark.parametrize("adjust", [False, True])
def test_after_a_unit_managers_page_everyone_elses_rows_keep_their_assessment(
    municipality: Any, adjust: bool
) -> None:
    """The unit manager's page works out the reference's assessment for its reliability only and
    caches it under a key of its own: the analyst's page, the API and a provider's own row asked
    next, with the same data token (nothing bumped), get every row's assessment columns, as they
    do when asked first."""
    _units_load(municipality)
    kwargs: dict[str, Any] = {"municipality": municipality, "indicator": "satisfied", "by": "provider",
                              "date_from": dt.date(2025, 1, 1), "date_to": dt.date(2025, 12, 31), "adjust": adjust}  # fmt: skip
    callers: dict[str, dict[str, Any]] = {
        "analyst's page": {"chart": True},
        "API": {},
        "a provider's own row": {"scope": {"provider": "P04"}, "chart": True},
    }

    def rows_of(extra: dict[str, Any]) -> list[dict[str, Any]]:
        return [r for r in services.compare(**kwargs, **extra).comparison.rows if not r["suppressed"]]

    bump()
    first = {name: rows_of(extra) for name, extra in callers.items()}
    bump()
    services.compare(**kwargs, scope={"unit": "bromma"}, chart=True)  # the unit manager's page
    after = {name: rows_of(extra) for name, extra in callers.items()}
    for name, rows in after.items():
        assert rows and all(r["estimate"] is not None for r in rows), name
        assert [{k: r[k] for k in ASSESSMENT_ROW_KEYS} for r in rows] == [
            {k: r[k] for k in ASSESSMENT_ROW_KEYS} for r in first[name]
        ], name


@pytest.mark.django_db
def test_a_unit_managers_oe_fits_the_case_mix_model_once(municipality: Any, monkeypatch: Any) -> None:
    """The O/E as a unit manager groups the reference cells by provider and, for the unit's rows'
    expected events, by covariate pattern: one fit of the case-mix model serves both (the model has
    no group term; the same rows as two fits, 2026-12-06, mgroe)."""
    import statsmodels.api as sm

    _units_load(municipality)
    kwargs: dict[str, Any] = {"municipality": municipality, "indicator": "satisfied", "by": "provider",
                              "date_from": dt.date(2025, 1, 1), "date_to": dt.date(2025, 12, 31), "adjust": True,
                              "scope": {"unit": "bromma"}, "chart": True}  # fmt: skip
    fits = []
    fit = sm.GLM.fit

    def counted(self: Any, *args: Any, **options: Any) -> Any:
        fits.append(self)
        return fit(self, *args, **options)

    bump()
    clear_fit_cache()
    monkeypatch.setattr(sm.GLM, "fit", counted)
    rows = services.compare(**kwargs).as_json()["rows"]
    assert len(fits) == 1
    assert [r for r in rows if not r["suppressed"]]


@pytest.mark.parametrize("seed", range(4))
def test_the_patterns_numbered_by_first_appearance_name_each_cells_text(seed: int) -> None:
    """``_patterns`` numbers the covariates' combinations by first appearance (pd.factorize, not
    np.unique's sort; 2026-12-07, oe9): each cell's number names its own text (the joined texts
    of ``_pattern_texts``), the texts are unique, and a cell with a missing value gets -1."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    size = 400
    sex = rng.integers(-1, 2, size)  # -1: missing
    cells = pd.DataFrame({
        "sex": pd.Categorical.from_codes(sex, categories=["female", "male"]),
        "age_group": pd.Categorical.from_codes(rng.integers(0, 3, size), categories=["0-12", "13-15", "65+"]),
        "service": np.array(rng.choice(["hvb", "lss", "a|b", "stod"], size), dtype=object),
    })  # fmt: skip
    covariates = ["sex", "age_group", "service"]
    number, texts = services._patterns(cells, covariates)
    expected = services._pattern_texts(cells, covariates)
    assert len(set(texts)) == len(texts)
    for i, text in enumerate(expected.tolist()):
        if sex[i] < 0:
            assert number[i] == -1 and text != text  # NaN: no text
        else:
            assert texts[number[i]] == text
