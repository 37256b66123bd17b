"""The O/E comparison page's funnel (``stats.adjusted``): its lines are drawn at whole n of an
average case mix, at E = n·overall (a binomial funnel has no limits between whole n: asked at
E/overall, the O/E chart had no lines from 2026-12-02 to 2026-12-06), and with ``chart`` the
rows' 95 % limits, which the page shows nowhere, are not searched: 95 % at the chart's sizes
only, 99.8 % at the rows' and the chart's, in one search (as the plain comparison page since
cmp7, tests/stats/test_chart_levels.py). Everything the page shows is what it was when both
levels were searched at every size: the rows' 99.8 % limits and the chart's lines at the 4
decimals shown, the flags and every other value of the rows exactly."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import special

from tests.stats.chart_rows import assert_rows_as_before
from utfall.stats.adjusted import AverageMixFunnel, compare_adjusted
from utfall.stats.comparison import round_column
from utfall.stats.overdispersion import clear_fit_cache

#: (base rate, τ on the logit scale, case-mix spread on the logit scale, sizes from, to, groups, seed)
CASES = [
    (base, tau, mix, lo, hi, k, seed)
    for base, tau, mix in ((0.08, 0.3, 0.4), (0.5, 0.05, 0.2), (0.85, 0.6, 0.5), (0.97, 0.3, 0.3))
    for lo, hi, k in ((5, 80, 40), (20, 2600, 750))
    for seed in (1, 2)
]


def _case(
    base: float, tau: float, mix: float, lo: int, hi: int, k: int, seed: int
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """k providers: n log-uniform in [lo, hi], a case mix that moves each one's expected rate
    by ``mix`` on the logit scale, a true effect of ``tau``; O binomial, E = n·expected rate."""
    rng = np.random.default_rng([int(base * 100), int(tau * 100), int(mix * 100), lo, hi, k, seed])
    n = np.round(np.exp(rng.uniform(np.log(lo), np.log(hi), k)))
    expected_rate = special.expit(special.logit(base) + mix * rng.standard_normal(k))
    o = rng.binomial(
        n.astype(int), special.expit(special.logit(expected_rate) + tau * rng.standard_normal(k))
    )
    return [f"P{i:04d}" for i in range(k)], o.astype(float), n * expected_rate, n


def _drawn(rows: list[dict]) -> list[float]:  # type: ignore[type-arg]
    """The E of the points the page's chart draws, as the output rounds them (2 decimals)."""
    shown = [r["expected"] for r in rows if not r["suppressed"] and r["ratio"] is not None]
    return [v for v in round_column(shown, 2) if v]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_what_the_oe_page_shows_is_what_both_levels_at_every_size_gave(case: tuple[float, ...]) -> None:
    groups, o, e, n = _case(*case)  # type: ignore[arg-type]
    clear_fit_cache()
    page = compare_adjusted(groups, o, e, n, chart=True)
    fit = page.fit
    assert fit is not None and fit.quadrature == "adaptive"
    funnel = page.funnel
    assert funnel is not None
    grid = funnel.chart_sizes(_drawn(page.comparison.rows))
    assert np.array_equal(grid, np.round(grid)) and grid.size >= 10
    assert set(fit._known[0.95]) == set(grid.tolist())  # no row's size but the chart's
    # As before: one search of both levels at the rows' sizes and the chart's, on the same fit.
    both = dataclasses.replace(fit)
    both.prepare(np.concatenate([n, grid]), (0.95, 0.998))
    for level in (0.95, 0.998):
        got, want = (
            funnel.limits_at(grid, level),
            AverageMixFunnel(both, funnel.overall).limits_at(grid, level),
        )
        for a, b in zip(got, want, strict=True):
            assert np.isfinite(a).all()  # a line at every size of the chart
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=0.0)
            assert [round(v, 4) for v in a.tolist()] == [round(v, 4) for v in b.tolist()]
    lo95, hi95 = funnel.limits_at(grid, 0.95)
    lo998, hi998 = funnel.limits_at(grid, 0.998)
    assert (lo998 <= lo95).all() and (lo95 < hi95).all() and (hi95 <= hi998).all()
    # The rows as a comparison that is not drawn gives them, but for the 95 % limits left out.
    clear_fit_cache()
    plain = compare_adjusted(groups, o, e, n)
    assert_rows_as_before(
        page.comparison.rows, plain.comparison.rows, rel=1e-9
    )  # the grid of 1,080 fits: at most 8.9e-11
    assert page.comparison.overdispersion == plain.comparison.overdispersion
    assert page.comparison.target == plain.comparison.target and page.overall == plain.overall


def test_the_average_mix_funnel_is_the_fits_funnel_at_whole_n_over_the_overall_rate() -> None:
    """A provider with the average case mix and n answers has E = n·overall: its O/E limits are
    the standardised-rate funnel's at n divided by the overall rate; there are none between
    whole n (the adaptive binomial limits), which is why the chart is drawn at whole n."""
    groups, o, e, n = _case(0.7, 0.3, 0.3, 20, 900, 120, 3)
    result = compare_adjusted(groups, o, e, n)
    funnel = result.funnel
    assert funnel is not None and result.fit is not None
    whole = np.array([12.0, 40.0, 333.0, 901.0])
    for level in (0.95, 0.998):
        lo, hi = result.fit.limits(whole, level)
        got_lo, got_hi = funnel.limits_at(whole, level)
        assert (
            got_lo.tolist() == (lo / funnel.overall).tolist()
            and got_hi.tolist() == (hi / funnel.overall).tolist()
        )
        assert np.isnan(result.fit.limits(whole + 0.5, level)[0]).all()
    # Without case mix (E = n·overall for everyone) the O/E rows' limits are the chart's at their n.
    flat = compare_adjusted(groups, o, n * (o.sum() / n.sum()), n)
    assert flat.funnel is not None
    at = flat.funnel.limits_at(n, 0.998)
    for row, lo, hi in zip(flat.comparison.rows, *at, strict=True):
        if not row["suppressed"]:
            assert row["lower_998"] == pytest.approx(lo, rel=1e-9) and row["upper_998"] == pytest.approx(
                hi, rel=1e-9
            )
