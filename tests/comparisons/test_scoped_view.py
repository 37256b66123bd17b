"""A scoped viewer's rows (a unit manager's providers) judged against the reference comparison.

Each scoped row's assessment columns are its own counts put in its place in the reference's
table (as the provider page does). They are worked out in one assessment for the whole view,
not one per row over the whole table (which grew with rows × providers).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from utfall.comparisons import services
from utfall.stats.assessment import ASSESSMENT_ROW_KEYS, assess
from utfall.stats.comparison import compare_proportions


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
