"""The comparison page's funnel limits: 95 % at the chart's sizes only, 99.8 % at its rows' and
the chart's, in one search (``OverdispersionFit.prepare_levels``, 2026-12-06, cmp7). The page
shows no row's 95 % limits (its table, chart and downloads show the 99.8 % limits and flags), so
they are left None and not searched; everything it shows is what it was when both levels were
searched at every size: the chart's lines and the rows' 99.8 % limits at the 4 decimals shown
(a limit's last bit or two depend on its place in the search: decision of 2026-12-05, fit4), the
flags and every other value of the rows exactly."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import special

from tests.stats.chart_rows import assert_rows_as_before
from utfall.stats.comparison import compare_proportions
from utfall.stats.funnels import chart_sizes
from utfall.stats.overdispersion import clear_fit_cache, fit_overdispersion
from utfall.stats.overdispersion import limits as od

#: (base rate, τ on the logit scale, sizes from, to, groups, seed)
CASES = [
    (base, tau, lo, hi, k, seed)
    for base, tau in ((0.08, 0.3), (0.5, 0.05), (0.85, 0.6), (0.97, 0.3))
    for lo, hi, k in ((5, 80, 40), (20, 2600, 750))
    for seed in (1, 2)
]


def _case(
    base: float, tau: float, lo: int, hi: int, k: int, seed: int
) -> tuple[list[str], np.ndarray, np.ndarray]:
    rng = np.random.default_rng([int(base * 100), int(tau * 100), lo, hi, k, seed])
    n = np.round(np.exp(rng.uniform(np.log(lo), np.log(hi), k)))
    x = rng.binomial(n.astype(int), special.expit(special.logit(base) + tau * rng.standard_normal(k)))
    return [f"P{i:04d}" for i in range(k)], x.astype(float), n


@pytest.mark.parametrize("case", CASES, ids=str)
def test_what_the_page_shows_is_what_both_levels_at_every_size_gave(case: tuple[float, ...]) -> None:
    groups, x, n = _case(*case)  # type: ignore[arg-type]
    clear_fit_cache()
    page = compare_proportions(groups, x, n, min_n=5, chart=True)
    fit = page.fit
    assert fit is not None and fit.quadrature == "adaptive"
    drawn = [r["n"] for r in page.rows if not r["suppressed"] and r["n"]]
    grid = chart_sizes(drawn, whole=True)
    assert set(fit._known[0.95]) == set(grid.tolist())  # no row's size but the chart's
    # As before: one search of both levels at the rows' sizes and the chart's, on the same fit.
    both = dataclasses.replace(fit)
    both.prepare(np.concatenate([n, grid]), (0.95, 0.998))
    for level in (0.95, 0.998):
        for sizes in (grid, n):
            if level == 0.95 and sizes is n:
                continue
            for got, want in zip(fit.limits(sizes, level), both.limits(sizes, level), strict=True):
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=0.0)
                assert [round(v, 4) for v in got.tolist()] == [round(v, 4) for v in want.tolist()]
    # The rows as a comparison that is not drawn gives them, but for the 95 % limits left out.
    clear_fit_cache()
    plain = compare_proportions(groups, x, n, min_n=5)
    assert_rows_as_before(page.rows, plain.rows, rel=1e-12)
    assert page.overdispersion == plain.overdispersion and page.target == plain.target


@pytest.mark.parametrize("same", [True, False])
def test_levels_with_sizes_of_their_own_are_searched_together(same: bool) -> None:
    """``adaptive_limits_by_level`` with the same sizes at every level is
    ``adaptive_limits_at_levels`` bit for bit; with sizes of each level's own, each level's
    limits are those of a search of that level alone (to the last bit or two)."""
    centre, tau2 = 1.2, 0.3
    rows = np.array([3.0, 17.0, 40.0, 301.0, 2000.0, np.nan, 0.0, 2.5])
    grid = np.array([2.0, 9.0, 40.0, 700.0])
    if same:
        together = od.adaptive_limits_at_levels("proportion", centre, tau2, rows, (0.95, 0.998))
        each = od.adaptive_limits_by_level("proportion", centre, tau2, [(0.95, rows), (0.998, rows)])
        for (a, b), (c, d) in zip(together, each, strict=True):
            assert a.tobytes() == c.tobytes() and b.tobytes() == d.tobytes()
        return
    each = od.adaptive_limits_by_level("proportion", centre, tau2, [(0.95, grid), (0.998, rows)])
    for (level, sizes), (lower, upper) in zip(((0.95, grid), (0.998, rows)), each, strict=True):
        alone_lower, alone_upper = od.adaptive_limits("proportion", centre, tau2, sizes, level)
        np.testing.assert_allclose(lower, alone_lower, rtol=1e-12, equal_nan=True)
        np.testing.assert_allclose(upper, alone_upper, rtol=1e-12, equal_nan=True)
        assert np.isnan(lower[np.isnan(alone_lower)]).all()


def test_a_fit_without_the_adaptive_rule_prepares_each_levels_sizes_too() -> None:
    rng = np.random.default_rng(7)
    n = np.round(np.exp(rng.uniform(np.log(20), np.log(900), 60)))
    x = rng.binomial(n.astype(int), 0.7).astype(float)
    fit = fit_overdispersion(x, n, kind="proportion", method="robust-re")
    fresh = dataclasses.replace(fit)
    fresh.prepare_levels({0.95: n[:5], 0.998: n})
    assert set(fresh._known[0.95]) == set(n[:5].tolist()) and set(fresh._known[0.998]) == set(n.tolist())
    for level, sizes in ((0.95, n[:5]), (0.998, n)):
        np.testing.assert_allclose(
            fresh.limits(sizes, level), dataclasses.replace(fit).limits(sizes, level), rtol=1e-12
        )
