"""The faster statistics of one comparison give the figures of the path they replaced.

``data/page_statistics_baseline.json`` holds everything a comparison page publishes from
``utfall/stats`` — target, φ, τ², the 95 % and 99.8 % limits, flags, the groups left out,
the assessment columns (shrunken estimate and interval, P(below), detectable differences)
and the reliability with its interval — as computed by main d8664cf (2026-12-02, before
branch ``stats``: one limit search per level, …) over a grid of base rates, spreads, sizes
and numbers of groups, for proportions and O/E ratios. It is a regression baseline, not an
external reference (those are tested elsewhere in tests/stats). Rewrite it only when a
change of method is intended: ``python tests/stats/test_faster_paths.py --write``.

Flags, suppression and the groups left out must agree exactly; every number to 1e-8
relative (the searches stop at 1e-10 in the modes; the pages show 4 decimals; the file keeps
11 significant digits), the reliability interval's ends to 1e-5 (their root search stops at
1e-6 in τ).
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import special

from utfall.stats.assessment import assess
from utfall.stats.comparison import compare_proportions, compare_ratios
from utfall.stats.funnels import chart_sizes
from utfall.stats.overdispersion import clear_fit_cache
from utfall.stats.overdispersion import limits as od

BASELINE = Path(__file__).with_name("data") / "page_statistics_baseline.json"
REL = 1e-8
ABS = 1e-12
#: The reliability interval's ends are found to 1e-6 in τ (empirical_bayes.rankability); a
#: faster root search may land elsewhere within that tolerance.
LOOSER = {"rankability_low": 1e-5, "rankability_high": 1e-5}

#: (base rate, spread τ on the logit scale, n from, n to, groups)
PROPORTION_GRID = [
    (base, tau, lo, hi, 60)
    for base in (0.15, 0.5, 0.85)
    for tau in (0.0, 0.3, 0.8)
    for lo, hi in ((5, 60), (5, 300), (100, 2000))
] + [(0.75, 0.4, 5, 300, 750), (0.9, 0.6, 5, 120, 200)]
#: (spread τ on the log scale, E per answer from, to, groups)
RATIO_GRID = [(0.0, 0.1, 0.4, 60), (0.3, 0.1, 0.4, 300), (0.6, 0.02, 0.1, 120)]


def proportion_case(
    base: float, tau: float, lo: int, hi: int, k: int
) -> tuple[list[str], list[int], list[int]]:
    rng = np.random.default_rng(int(1000 * base) + int(100 * tau) + lo + hi + k)
    n = rng.integers(lo, hi + 1, k)
    p = special.expit(special.logit(base) + tau * rng.standard_normal(k))
    p[: max(1, k // 40)] = special.expit(special.logit(base) - 1.5)  # planted low
    x = rng.binomial(n, p)
    n[k // 2] = 3  # below the minimum count
    x[k // 2] = 1
    return [f"P{i:03d}" for i in range(k)], x.tolist(), n.tolist()


def ratio_case(
    tau: float, lo: float, hi: float, k: int
) -> tuple[list[str], list[int], list[float], list[int]]:
    rng = np.random.default_rng(int(100 * tau) + int(100 * hi) + k)
    n = rng.integers(5, 301, k)
    e = n * rng.uniform(lo, hi, k)
    rr = np.exp(tau * rng.standard_normal(k))
    rr[: max(1, k // 50)] = 2.5  # planted high
    return [f"G{i:03d}" for i in range(k)], rng.poisson(e * rr).tolist(), e.tolist(), n.tolist()


def proportion_page(case: tuple[Any, ...]) -> dict[str, Any]:
    """What the comparison page computes (comparisons.services.compare): the comparison of every
    provider and the assessment of every shown row, from a cold fit cache."""
    clear_fit_cache()
    groups, x, n = proportion_case(*case)
    comparison = compare_proportions(groups, x, n, min_n=5)
    used = [i for i, row in enumerate(comparison.rows) if not row["suppressed"]]
    assessment = assess(comparison.fit, x, n, used=used, goal=0.8)
    return {
        "target": comparison.target,
        "overdispersion": comparison.overdispersion,
        "rows": comparison.rows,
        "assessment": assessment.rows,
        "reliability": None if assessment.reliability is None else assessment.reliability.as_dict(),
    }


def ratio_page(case: tuple[Any, ...]) -> dict[str, Any]:
    clear_fit_cache()
    comparison = compare_ratios(*ratio_case(*case), min_n=5)
    return {"target": comparison.target, "overdispersion": comparison.overdispersion, "rows": comparison.rows}


def _compact(page: dict[str, Any]) -> Any:
    """Rows as lists in a fixed key order and floats to 11 significant digits (the comparison
    is to 1e-8): a baseline file of a reasonable size."""

    def short(value: Any) -> Any:
        if isinstance(value, float) and math.isfinite(value):
            return float(f"{value:.11g}")
        if isinstance(value, dict):
            return {k: short(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [short(v) for v in value]
        return value

    out = dict(page)
    for key in ("rows", "assessment"):
        if key in page:
            rows = page[key]
            keys = list(rows[0]) if rows else []
            out[key] = {"keys": keys, "values": [[row[k] for k in keys] for row in rows]}
    return short(out)


def _rows(table: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(zip(table["keys"], values, strict=True)) for values in table["values"]]


def compute() -> dict[str, Any]:
    return {
        "proportions": {json.dumps(case): _compact(proportion_page(case)) for case in PROPORTION_GRID},
        "ratios": {json.dumps(case): _compact(ratio_page(case)) for case in RATIO_GRID},
    }


def _same(got: Any, want: Any, where: str) -> None:
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), where
        for key in want:
            _same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list | tuple) and len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _same(g, w, f"{where}[{i}]")
    elif isinstance(want, float) and not isinstance(got, str):
        assert got is not None, where
        if math.isnan(want):
            assert math.isnan(got), where
        else:
            rel = LOOSER.get(where.rsplit(".", 1)[-1], REL)
            assert math.isclose(got, want, rel_tol=rel, abs_tol=ABS), (where, got, want)
    else:
        assert got == want, (where, got, want)


def _baseline() -> dict[str, Any]:
    return json.loads(BASELINE.read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize("case", PROPORTION_GRID, ids=str)
def test_a_proportion_page_has_the_figures_of_the_previous_path(case: tuple[Any, ...]) -> None:
    want = _baseline()["proportions"][json.dumps(list(case))]
    want = {**want, "rows": _rows(want["rows"]), "assessment": _rows(want["assessment"])}
    got = json.loads(json.dumps(proportion_page(case)))
    _same(got, want, str(case))


@pytest.mark.parametrize("case", RATIO_GRID, ids=str)
def test_a_ratio_comparison_has_the_figures_of_the_previous_path(case: tuple[Any, ...]) -> None:
    want = _baseline()["ratios"][json.dumps(list(case))]
    want = {**want, "rows": _rows(want["rows"])}
    got = json.loads(json.dumps(ratio_page(case)))
    _same(got, want, str(case))


def test_the_baseline_flags_and_leaves_out_providers() -> None:
    """The grid is not all quiet: some groups are flagged, left out and suppressed."""
    pages = [{**p, "rows": _rows(p["rows"])} for p in _baseline()["proportions"].values()]
    assert sum(r["flag"] is not None for p in pages for r in p["rows"]) >= 20
    assert sum(len(p["overdispersion"]["excluded"]) for p in pages) >= 30
    assert all(any(r["suppressed"] for r in p["rows"]) for p in pages)


@pytest.mark.parametrize("kind", ["proportion", "ratio"])
@pytest.mark.parametrize("tau2", [0.0, 0.04, 0.5])
def test_limits_at_several_levels_are_those_of_each_level_alone(kind: Any, tau2: float) -> None:
    sizes = np.array([1.0, 2.0, 5.0, 17.0, 40.0, 300.0, 301.0, 2000.0, 5000.0, np.nan, 0.0])
    if kind == "ratio":
        sizes = sizes * 0.37
    centre = 0.9 if kind == "proportion" else -0.2
    levels = (0.95, 0.998, 0.8)
    together = od.adaptive_limits_at_levels(kind, centre, tau2, sizes, levels)
    for level, (lower, upper) in zip(levels, together, strict=True):
        alone_lower, alone_upper = od.adaptive_limits(kind, centre, tau2, sizes, level)
        np.testing.assert_allclose(lower, alone_lower, rtol=1e-12, equal_nan=True)
        np.testing.assert_allclose(upper, alone_upper, rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("case", [PROPORTION_GRID[4], PROPORTION_GRID[-2], PROPORTION_GRID[-1]], ids=str)
def test_a_comparison_works_out_its_charts_limits_as_a_search_of_their_own_would(
    case: tuple[Any, ...],
) -> None:
    """Asked for a chart, the comparison of proportions searches its rows' sizes and the funnel
    chart's (``funnels.chart_sizes`` of the drawn rows) at once (branch cmp3; not asked, its
    rows' only): every limit, the rows' and the chart's, is what a fresh fit's search of those
    sizes alone gives, to the last bit or two (a matrix-vector product's rounding depends on a
    row's place in the batch; on main too a size's limits are those of whichever search first
    asked for it: the comparison's, the chart's or the provider page's, which share the fit) and
    the same at the 4 decimals shown."""
    clear_fit_cache()
    groups, x, n = proportion_case(*case)
    assert not set(compare_proportions(groups, x, n, min_n=5).fit._known[0.95]) - set(map(float, n))  # type: ignore[union-attr]
    clear_fit_cache()
    comparison = compare_proportions(groups, x, n, min_n=5, chart=True)
    fit = comparison.fit
    assert fit is not None and fit.quadrature == "adaptive"
    drawn = [row["n"] for row in comparison.rows if not row["suppressed"] and row["n"]]
    grid = chart_sizes(drawn, whole=True)
    # The chart's grid, as results.charts.funnel drew it before chart_sizes.
    old = np.unique(np.round(np.geomspace(max(min(drawn) * 0.9, 1.0), max(drawn) * 1.05, 80)))
    np.testing.assert_array_equal(grid, old)
    assert set(grid.tolist()) <= set(fit._known[0.95]) and set(grid.tolist()) <= set(fit._known[0.998])
    assert not set(grid.tolist()) <= set(
        np.asarray(n, dtype=float).tolist()
    )  # the chart has sizes of its own
    # The rows' 95 % limits, which the comparison page shows nowhere, are not searched: 95 % at
    # the chart's sizes alone (2026-12-06, cmp7; tests/stats/test_chart_levels.py).
    assert set(fit._known[0.95]) == set(grid.tolist())
    assert set(fit._known[0.998]) == set(grid.tolist()) | {float(v) for v in n if v > 0}  # every row's
    assert all(row["lower_95"] is None and row["upper_95"] is None for row in comparison.rows)
    fresh = dataclasses.replace(fit)  # the same funnel, nothing worked out yet
    assert not fresh._known
    for level in (0.95, 0.998):
        for sizes in (np.asarray(n, dtype=np.float64), grid):
            for got, want in zip(fit.limits(sizes, level), fresh.limits(sizes, level), strict=True):
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=0.0)
                np.testing.assert_array_equal(np.round(got, 4), np.round(want, 4))


if __name__ == "__main__" and "--write" in sys.argv:
    BASELINE.write_text(json.dumps(compute(), indent=None, separators=(",", ":")))
    print(f"wrote {BASELINE}")


@pytest.mark.parametrize("p", [1e-4, 0.01, 0.3, 0.5, 0.77, 0.999])
def test_a_binomial_median_lies_between_floor_and_ceiling_of_np(p: float) -> None:
    """What the median screen of ``tail_flags`` rests on (Kaas & Buhrman 1980)."""
    from scipy import stats

    n = np.arange(1, 3001, dtype=np.float64)
    assert (stats.binom.cdf(np.ceil(n * p), n, p) >= 0.5).all()
    assert (stats.binom.sf(np.floor(n * p) - 1.0, n, p) >= 0.5).all()


def test_a_poisson_median_lies_within_ln2_below_and_a_third_above_the_mean() -> None:
    """What the median screen of ``tail_flags`` rests on for O/E (Choi 1994)."""
    from scipy import stats

    lam = np.concatenate([np.linspace(1e-3, 5.0, 2001), np.linspace(5.0, 3000.0, 3001)])
    assert (stats.poisson.cdf(np.ceil(lam + 1.0 / 3.0), lam) >= 0.5).all()
    low = np.floor(lam - np.log(2.0))
    ok = low >= 0
    assert (stats.poisson.sf(low[ok] - 1.0, lam[ok]) >= 0.5).all()


@pytest.mark.parametrize("kind", ["proportion", "ratio"])
@pytest.mark.parametrize("tau2", [0.0, 0.02, 0.3, 2.0])
@pytest.mark.parametrize("alpha", [0.005, 0.0005, 0.05, 0.3])
def test_tail_flags_with_the_median_screen_equal_the_full_sums(kind: Any, tau2: float, alpha: float) -> None:
    rng = np.random.default_rng(int(tau2 * 100) + int(alpha * 1e4))
    m = rng.integers(1, 2000, 4000).astype(float)
    centre = -1.3 if kind == "proportion" else 0.2
    values = od.mixture_values(kind, centre, tau2)
    if kind == "proportion":
        # Counts around every node's median and beyond (the screen's edges).
        rate = values[rng.integers(0, values.size, m.size)]
        x = np.clip(np.round(m * rate) + rng.integers(-3, 4, m.size), 0, m)
        x[::7] = rng.binomial(m[::7].astype(int), rng.uniform(0.0, 1.0, x[::7].size))
    else:
        m = m * 0.05
        lam = m * values[rng.integers(0, values.size, m.size)]
        x = np.maximum(np.round(lam) + rng.integers(-3, 4, m.size), 0)
        x[::7] = rng.poisson(lam[::7] * rng.uniform(0.0, 3.0, x[::7].size))
    below = od.cdf(kind, x, m, values)
    above = 1.0 - od.cdf(kind, x - 1.0, m, values)
    want = (below < alpha) | (above < alpha)
    got = od.tail_flags(kind, centre, tau2, x, m, alpha)
    assert 0 < want.sum() < want.size
    np.testing.assert_array_equal(got, want)


def test_the_median_screen_clears_most_groups_of_a_comparison() -> None:
    _, x, n = proportion_case(0.75, 0.4, 5, 300, 750)
    values = od.mixture_values("proportion", 1.1, 0.16)
    cleared = od._clear_by_medians("proportion", values, np.asarray(x, float), np.asarray(n, float), 0.005)
    assert cleared.mean() > 0.8


def _plain_bisection(p: np.ndarray, m: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The acceptance regions' search before 2026-12-03: every row bisected on [−1, n]."""
    w = od._WEIGHTS[od._GUESS_NODES]
    w = w / w.sum()
    v = values[od._GUESS_NODES][None, :]
    mean = m[:, None] * v
    sd = np.sqrt(np.maximum(mean * (1.0 - v), 1e-12))
    lo, hi = np.full(m.shape, -1.0), m.copy()
    while np.any(hi - lo > 1):
        mid = np.floor((lo + hi) / 2.0)
        ok = special.ndtr((mid[:, None] + 0.5 - mean) / sd) @ w >= p
        hi, lo = np.where(ok, mid, hi), np.where(ok, lo, mid)
    return np.clip(hi, 0.0, m)


@pytest.mark.parametrize("tau", [0.0, 0.05, 0.3, 1.5])
@pytest.mark.parametrize("centre", [-4.0, 0.4, 1.6, 5.0])
def test_the_quantile_search_gives_the_plain_bisections_answer(centre: float, tau: float) -> None:
    """The acceptance regions define which providers the fit keeps: the probes around the
    continuous solution and the bisection over unresolved rows only must not move them (sizes
    1–59 and 400 random ones to 5,000, the 0.5 % and 99.5 % tails and random probabilities)."""
    rng = np.random.default_rng(int(10 * (centre + 5) + 100 * tau))
    m = np.unique(np.concatenate([np.arange(1.0, 60.0), rng.integers(1, 5000, 400).astype(float)]))
    p = np.concatenate([np.full(m.size, 0.005), np.full(m.size, 0.995), rng.uniform(0, 1, m.size)])
    mm = np.concatenate([m, m, m])
    values = od.mixture_values("proportion", centre, tau * tau)
    got = od._quantile_guess("proportion", p, mm, mm.copy(), values)
    np.testing.assert_array_equal(np.clip(got, 0.0, mm), _plain_bisection(p, mm, values))


def test_the_logistic_pieces_agree_with_numpy_and_scipy_and_with_each_other() -> None:
    """``mixture.logistic_parts`` (one exp, one log1p) replaces np.logaddexp and special.expit in
    every binomial log-density; its variants must give the same bits as it."""
    from utfall.stats import mixture

    eta = np.concatenate([np.linspace(-800.0, 800.0, 20001), [0.0, -0.0, 1e-300, -1e-300, 36.7, -36.7]])
    sp_minus, sp_plus, p, q = mixture.logistic_parts(eta)
    np.testing.assert_allclose(sp_plus, np.logaddexp(0.0, eta), rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(sp_minus, np.logaddexp(0.0, -eta), rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(p, special.expit(eta), rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(q, special.expit(-eta), rtol=1e-15, atol=1e-300)
    np.testing.assert_array_equal(mixture.softplus(eta), sp_plus)
    for got, want in zip(mixture.logistic_pair(eta), (p, q), strict=True):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(mixture.softplus_expit(eta), (sp_plus, p), strict=True):
        np.testing.assert_array_equal(got, want)


def test_the_row_log_sum_exp_is_scipys() -> None:
    from utfall.stats import mixture

    rng = np.random.default_rng(7)
    terms = rng.normal(0.0, 300.0, (400, 20))
    terms[3] = -np.inf
    terms[5, :7] = -np.inf
    terms[9] = 800.0
    got = mixture.logsumexp_rows(terms)
    np.testing.assert_allclose(got, special.logsumexp(terms, axis=-1), rtol=1e-15)
    assert got[3] == -np.inf


@pytest.mark.parametrize("tau", [0.0, 0.1, 0.6, 2.0])
@pytest.mark.parametrize("centre", [-3.0, 0.4, 2.2])
def test_the_quantile_search_from_interpolated_continuous_solutions_gives_the_plain_bisections_answer(
    centre: float, tau: float
) -> None:
    """The acceptance regions and the limits' first guesses start from the continuous solution,
    worked out at ≤ 24 sizes per probability and interpolated between them (the comparison asks
    for two or four probabilities at hundreds of sizes): the counts must be plain bisection's,
    every size from 1 to 5,000 (dense and sparse runs of sizes, one size alone, the tails at 0 and n)."""
    rng = np.random.default_rng(int(10 * (centre + 5) + 100 * tau))
    m = np.unique(np.concatenate([np.arange(1.0, 120.0), rng.integers(1, 5000, 600).astype(float), [4999.0]]))
    probs = (0.0005, 0.001, 0.025, 0.5, 0.975, 0.999, 0.9995)
    p = np.repeat(np.asarray(probs), m.size)
    mm = np.tile(m, len(probs))
    values = od.mixture_values("proportion", centre, tau * tau)
    got = od._quantile_guess("proportion", p, mm, mm.copy(), values)
    np.testing.assert_array_equal(np.clip(got, 0.0, mm), _plain_bisection(p, mm, values))
    one = od._quantile_guess("proportion", np.array([0.001]), np.array([700.0]), np.array([700.0]), values)
    np.testing.assert_array_equal(one, _plain_bisection(np.array([0.001]), np.array([700.0]), values))
