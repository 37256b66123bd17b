"""The statistics' faster forms give the same bits as the plain forms they replaced.

Several hot loops of a cold comparison (the safeguarded Newton search, the posterior grid, the
profile likelihood's Newton steps, the quadratures' nodes) are written to skip work a case does
not need and to write their arrays in place (2026-12-06, branch ``cmp5``). Each plain form is
kept here, as it stood on main before, and the fast form must give exactly its bits
(``tobytes``: every float, −0.0 and NaN included), not merely numbers within a tolerance: the
published figures, the chart's limits and the cached fits are then the same as before.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy import special

from utfall.stats import empirical_bayes, mixture
from utfall.stats.assessment import ProfileLikelihood
from utfall.stats.comparison import _column, compare_proportions
from utfall.stats.suppression import suppress

FloatArray = np.ndarray


def same_bits(a: object, b: object) -> bool:
    return np.asarray(a).dtype == np.asarray(b).dtype and np.asarray(a).tobytes() == np.asarray(b).tobytes()


def plain_concave_argmax(
    derivs: Callable[[FloatArray], tuple[FloatArray, FloatArray]],
    start: FloatArray,
    lo: FloatArray | None = None,
    hi: FloatArray | None = None,
    *,
    tol: float = 1e-10,
    max_step: float = 4.0,
) -> FloatArray:
    """mixture.concave_argmax as it stood on main 71ce169."""
    z = np.array(start, dtype=np.float64)
    lo = np.full(z.shape, -np.inf) if lo is None else np.array(lo, dtype=np.float64)
    hi = np.full(z.shape, np.inf) if hi is None else np.array(hi, dtype=np.float64)
    z = np.minimum(np.maximum(z, lo), hi)
    for _ in range(200):
        grad, curv = derivs(z)
        lo = np.where(grad > 0, np.maximum(lo, z), lo)
        hi = np.where(grad < 0, np.minimum(hi, z), hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(curv < 0, -grad / curv, np.sign(grad) * max_step)
        closed = np.isfinite(lo) & np.isfinite(hi)
        step = np.where(closed, step, np.clip(step, -max_step, max_step))
        step = np.where(np.isfinite(step), step, 0.0)
        new = z + step
        outside = ~((new > lo) & (new < hi)) & (np.abs(step) >= tol)
        end = np.where(np.isfinite(lo), lo, np.where(np.isfinite(hi), hi, z))
        with np.errstate(invalid="ignore"):
            middle = np.where(closed, 0.5 * (lo + hi), 0.5 * (z + end))
        new = np.where(outside, middle, new)
        done = np.abs(new - z) < tol
        z = new
        if np.all(done):
            break
    return z


def _posterior_problem(
    seed: int, k: int
) -> tuple[Callable[[FloatArray], tuple[FloatArray, FloatArray]], FloatArray, FloatArray]:
    rng = np.random.default_rng(seed)
    m = np.maximum(1.0, np.round(np.exp(rng.uniform(0.0, 7.0, k))))
    x = rng.binomial(m.astype(int), rng.uniform(0.02, 0.98, k)).astype(np.float64)
    tau, c = float(rng.uniform(0.05, 3.0)), float(rng.normal(0.0, 2.0))

    def derivs(u: FloatArray) -> tuple[FloatArray, FloatArray]:
        p = special.expit(c + tau * u)
        return tau * (x - m * p) - u, tau * tau * (-m * p * (1.0 - p)) - 1.0

    return derivs, tau * (x - m) - 1e-12, tau * x + 1e-12


@pytest.mark.parametrize("seed", range(12))
def test_the_newton_search_gives_the_plain_forms_bits_in_a_closed_bracket(seed: int) -> None:
    derivs, lo, hi = _posterior_problem(seed, 400)
    start = np.zeros(lo.shape)
    assert same_bits(
        mixture.concave_argmax(derivs, start, lo, hi), plain_concave_argmax(derivs, start, lo, hi)
    )


@pytest.mark.parametrize("seed", range(12))
def test_the_newton_search_gives_the_plain_forms_bits_in_open_brackets_and_flat_parts(seed: int) -> None:
    """Open brackets (steps clipped, the middle towards a finite end), curvatures ≥ 0 (a step of
    max_step by the gradient's sign) and steps that leave the bracket (bisection)."""
    rng = np.random.default_rng(100 + seed)
    k = 300
    centre = rng.normal(0.0, 20.0, k)
    width = rng.uniform(0.2, 5.0, k)

    def derivs(z: FloatArray) -> tuple[FloatArray, FloatArray]:
        # A concave hump with flat (zero-curvature) shoulders: −log cosh, scaled.
        d = (z - centre) / width
        return -np.tanh(d) / width, np.where(np.abs(d) > 3.0, 0.0, -(1.0 - np.tanh(d) ** 2) / width**2)

    start = rng.normal(0.0, 5.0, k)
    assert same_bits(mixture.concave_argmax(derivs, start), plain_concave_argmax(derivs, start))
    lo = np.where(rng.random(k) < 0.5, centre - 30.0, -np.inf)
    assert same_bits(mixture.concave_argmax(derivs, start, lo), plain_concave_argmax(derivs, start, lo))


def test_the_value_alone_of_a_tail_and_of_softplus_are_the_full_forms_first() -> None:
    rng = np.random.default_rng(7)
    m = np.round(np.exp(rng.uniform(0.0, 7.0, (200, 1))))
    r = np.floor(m * rng.uniform(0.0, 1.0, (200, 1)))
    eta = rng.normal(0.0, 3.0, (200, 20))
    for side in ("lower", "upper"):
        rr = r + (1.0 if side == "upper" else 0.0)
        assert same_bits(mixture._log_tail_value("proportion", side, rr, m, eta),
                         mixture._log_tail("proportion", side, rr, m, eta)[0])  # fmt: skip
        ones = np.ones(np.broadcast_shapes(rr.shape, eta.shape))
        assert same_bits(mixture._log_tail_value("ratio", side, rr, ones, eta + np.log(m)),
                         mixture._log_tail("ratio", side, rr, ones, eta + np.log(m))[0])  # fmt: skip
    pair = mixture.softplus_pair(eta)
    parts = mixture.logistic_parts(eta)
    assert same_bits(pair[0], parts[0]) and same_bits(pair[1], parts[1])
    a, b = r + 1.0, m - r
    assert same_bits(mixture._t_slopes("proportion", a, b, eta)[1],
                     mixture._log_t_density("proportion", a, b, eta)[2])  # fmt: skip


def plain_posterior_grid(
    kind: str, x: FloatArray, m: FloatArray, centre: float, tau: float
) -> tuple[FloatArray, ...]:
    """empirical_bayes._posterior_grid as it stood on main 71ce169 (fields of _Posterior)."""
    grid = empirical_bayes._GRID
    off = np.full(x.shape, centre) if kind == "proportion" else centre + np.log(m)
    mm = m if kind == "proportion" else np.ones(m.shape)
    u, curvature = mixture.posterior_mode(kind, x, mm, off, tau)  # type: ignore[arg-type]
    sd = 1.0 / np.sqrt(-curvature)
    points = u[:, None] + sd[:, None] * grid
    eta = off[:, None] + tau * points
    if kind == "proportion":
        softplus, value = mixture.softplus_expit(eta)
        log_f = x[:, None] * eta - m[:, None] * softplus
        d1 = x[:, None] - m[:, None] * value
    else:
        lam = np.exp(eta)
        log_f = x[:, None] * eta - lam
        d1 = x[:, None] - lam
        value = np.exp(centre + tau * points)
    log_dens = log_f - 0.5 * points**2
    dens = np.exp(log_dens - log_dens.max(axis=1, keepdims=True))
    slope = dens * (tau * d1 - points)
    h = sd * (grid[1] - grid[0])
    hh = h[:, None]
    cells = 0.5 * hh * (dens[:, 1:] + dens[:, :-1]) + hh * hh / 12.0 * (slope[:, :-1] - slope[:, 1:])
    cum = np.concatenate([np.zeros((x.size, 1)), np.cumsum(cells, axis=1)], axis=1)
    total = cum[:, -1:]
    return points, dens / total, slope / total, cum / total, h, value


@pytest.mark.parametrize("kind", ["proportion", "ratio"])
@pytest.mark.parametrize("tau", [0.05, 0.4, 2.5])
def test_the_posterior_grid_gives_the_plain_forms_bits(kind: str, tau: float) -> None:
    rng = np.random.default_rng(int(tau * 100))
    m = np.maximum(1.0, np.round(np.exp(rng.uniform(0.0, 7.0, 300))))
    x = (rng.binomial(m.astype(int), 0.7) if kind == "proportion" else rng.poisson(m)).astype(np.float64)
    fast = empirical_bayes._posterior_grid(kind, x, m, 0.8 if kind == "proportion" else 0.0, tau)  # type: ignore[arg-type]
    plain = plain_posterior_grid(kind, x, m, 0.8 if kind == "proportion" else 0.0, tau)
    for name, want in zip(("points", "dens", "slope", "cdf", "h", "value"), plain, strict=True):
        assert same_bits(getattr(fast, name), want), name


class PlainProfile(ProfileLikelihood):
    """ProfileLikelihood's nodes and Newton steps as they stood on main 71ce169."""

    def _nodes(self, c: float, tau: float) -> tuple[FloatArray, FloatArray]:
        x, m = self.x, self.m
        start = None if self._eta is None else (self._eta - c) / tau
        u, curvature = mixture.posterior_mode("proportion", x, m, np.full(x.shape, c), tau, start=start)
        self._eta = c + tau * u
        scale = np.sqrt(2.0) / np.sqrt(-curvature)
        points = u[:, None] + scale[:, None] * mixture._T
        eta = c + tau * points
        softplus = mixture.softplus(eta)
        terms = mixture._LOG_W + (x[:, None] * eta - m[:, None] * softplus) - 0.5 * points**2
        return eta, terms + np.log(scale)[:, None]

    def value_and_slope(self, tau: float) -> tuple[float, float]:
        x = self.x
        if tau <= 0.0:
            return super().value_and_slope(tau)
        if self._seen:
            nearest = sorted(self._seen, key=lambda seen: abs(seen[0] - tau))
            _, self.c, self._eta = nearest[0]
            if len(nearest) > 1 and nearest[1][0] != nearest[0][0]:
                (t0, c0, _), (t1, c1, _) = nearest[0], nearest[1]
                self.c = c0 + (c1 - c0) * (tau - t0) / (t1 - t0)
        c = self.c
        t2 = tau * tau
        for _ in range(8):
            eta, terms = self._nodes(c, tau)
            c_new = c
            placed = (eta - c) ** 2
            for _ in range(30):
                d = eta - c_new
                shifted = terms + 0.5 * (placed - d * d) / t2
                top = shifted.max(axis=1, keepdims=True)
                w = np.exp(shifted - top)
                total = w.sum(axis=1, keepdims=True)
                w /= total
                wd = w * d
                mean_a = np.sum(wd, axis=1) / t2
                grad = float(mean_a.sum())
                wdd = wd * d
                curv = float(np.sum(np.sum(wdd, axis=1) / (t2 * t2) - mean_a**2)) - x.size / t2
                step = float(np.clip(-grad / curv if curv < 0 else grad, -2.0, 2.0))
                if abs(step) < 1e-10:
                    break
                c_new += step
            if abs(c_new - c) < 1e-3:
                break
            c = c_new
        self.c = c_new
        if self._eta is not None:
            self._seen.append((tau, c_new, self._eta))
        value = self.const + float(np.sum(np.log(total[:, 0]) + top[:, 0])) - 0.5 * mixture._LOG_2PI * x.size
        slope = float(np.sum(np.sum(wdd, axis=1) / (t2 * tau) - 1.0 / tau))
        return value, slope


@pytest.mark.parametrize("seed", range(4))
def test_the_profile_likelihood_gives_the_plain_forms_bits(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = np.maximum(1.0, np.round(np.exp(rng.normal(5.0, 0.9, 500))))
    x = rng.binomial(m.astype(int), special.expit(1.0 + 0.4 * rng.normal(size=500))).astype(np.float64)
    fast, plain = ProfileLikelihood(x, m, 1.0), PlainProfile(x, m, 1.0)
    for tau in (0.4, 0.0, 0.8, 0.2, 0.35, 1.6, 0.41):  # as the root search visits them: warm starts too
        assert fast.value_and_slope(tau) == plain.value_and_slope(tau)
        assert fast.c == plain.c


def test_a_column_and_the_rows_hidden_are_as_the_plain_forms() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=50)
    values[[3, 9]] = np.nan
    shown = rng.random(50) < 0.8
    plain = [
        v if s and not math.isnan(v) else None for v, s in zip(values.tolist(), shown.tolist(), strict=True)
    ]
    assert _column(values, shown) == plain
    assert _column(values[:3], np.ones(3, dtype=bool)) == values[:3].tolist()
    # The rows hidden before the fit: suppress() of the sizes and the flags, as before.
    n = rng.integers(0, 40, 60)
    hidden = (rng.random(60) < 0.1).tolist()
    groups = [f"G{i}" for i in range(60)]
    blank = [{"group": g, "n": int(v), "suppressed": h} for g, v, h in zip(groups, n, hidden, strict=True)]
    expected = [r["suppressed"] for r in suppress(blank, min_n=5)]
    rows = compare_proportions(groups, np.minimum(n, 3), n, min_n=5, hidden=hidden).rows
    assert [r["suppressed"] for r in rows] == expected


def test_a_comparisons_rows_have_the_row_keys_in_their_order() -> None:
    from utfall.stats.comparison import PROPORTION_ROW_KEYS, _proportion_rows, _rows

    columns = {key: [f"{key}{i}" for i in range(3)] for key in PROPORTION_ROW_KEYS if key != "suppressed"}
    assert _proportion_rows(columns) == _rows(PROPORTION_ROW_KEYS, columns, 3)
    assert [list(row) for row in _proportion_rows(columns)] == [list(PROPORTION_ROW_KEYS)] * 3


def test_the_posteriors_quantile_is_the_newton_steps_on_cdf_in_cell_and_dens_in_cell() -> None:
    rng = np.random.default_rng(11)
    m = np.maximum(1.0, np.round(np.exp(rng.uniform(0.0, 7.0, 300))))
    x = rng.binomial(m.astype(int), 0.7).astype(np.float64)
    post = empirical_bayes._posterior_grid("proportion", x, m, 0.8, 0.4)
    for q in (0.025, 0.5, 0.975):
        k, g = post.points.shape
        rows = np.arange(k)
        j = np.clip(np.sum(post.cdf <= q, axis=1) - 1, 0, g - 2)
        c0, c1 = post.cdf[rows, j], post.cdf[rows, j + 1]
        t = np.clip((q - c0) / np.where(c1 > c0, c1 - c0, 1.0), 0.0, 1.0)
        for _ in range(empirical_bayes._NEWTON_QUANTILE):  # as it stood on main 71ce169
            gap = post.cdf_in_cell(rows, j, t) - q
            d = post.dens_in_cell(rows, j, t) * post.h
            t = np.clip(t - gap / np.maximum(d, 1e-300), 0.0, 1.0)
        assert same_bits(post.quantile(q), post.points[rows, j] + t * post.h)


def test_a_rounded_column_is_pythons_round_of_each_value() -> None:
    from utfall.stats.comparison import round_column

    rng = np.random.default_rng(5)
    values: list[float | None] = [*rng.random(3000).tolist(), *rng.normal(0.0, 3.0, 3000).tolist()]
    values += [k / 32 for k in range(-64, 64)]  # exact ties at the fourth decimal (half to even)
    values += [(k + 0.5) / 1e4 for k in range(-500, 500)]  # near ties, as the product sees them
    values += [float(np.nextafter(v, side)) for v in values[-1000:] for side in (-1.0, 1.0)]  # type: ignore[arg-type]
    values += [0.0, -0.0, -1e-7, 1e-300, None, math.nan, math.inf, -math.inf, 1e15, 123456.78905, None]
    got = round_column(values)
    want = [None if v is None else round(float(v), 4) for v in values]
    assert [repr(v) for v in got] == [repr(v) for v in want]
    assert round_column(values[:100]) == [round(float(v), 4) for v in values[:100]]  # type: ignore[arg-type]
    assert round_column([]) == [] and round_column([None]) == [None]
    assert [repr(v) for v in round_column([0.123456789], 2)] == [repr(round(0.123456789, 2))]


def test_review_points_a_scalar_bracket_many_decimals_and_a_short_flag_column() -> None:
    """The second reader's points (2026-12-06): a scalar bracket is spread over the rows (the
    in-place narrowing refused it), ``round_column`` beyond 22 decimals is ``round`` itself
    (10^23 is not an exact double), and a column with fewer shown flags than values is refused."""
    from utfall.stats.comparison import _column, round_column

    def derivs(z: FloatArray) -> tuple[FloatArray, FloatArray]:
        return 1.0 - z, -np.ones_like(z)

    got = mixture.concave_argmax(derivs, np.zeros(3), -5.0, 5.0)  # type: ignore[arg-type]
    assert got.tolist() == [1.0, 1.0, 1.0]
    bound = np.array([-5.0])
    mixture.concave_argmax(derivs, np.zeros(3), bound, np.array([0.5]))
    assert bound.tolist() == [-5.0]  # the caller's bound is not narrowed in place
    assert [repr(v) for v in round_column([2.23e-22, None], 23)] == [repr(round(2.23e-22, 23)), "None"]
    with pytest.raises(ValueError, match="same length"):
        _column(np.array([0.1, 0.2, 0.3]), np.array([True]))


def test_a_comparisons_json_rows_are_rounded_as_value_by_value() -> None:
    """``to_json_dict``'s rows (a column at a time since 2026-12-06, cmp6) are the dicts the plain
    form made, key order and each value's class and bits: plain floats with ties at the fourth
    decimal and their neighbours, None, NaN (None), ±inf, −0.0, a numpy float (kept as its class),
    integers, a key missing from some rows, and the two decimals of ``expected``."""
    from utfall.stats.comparison import _DECIMALS, _round, _rounded_rows

    rng = np.random.default_rng(7)
    ties = [k / 10_000 + 0.00005 for k in range(-300, 300)]
    near = [math.nextafter(t, math.inf) for t in ties] + [math.nextafter(t, -math.inf) for t in ties]
    floats = [*ties, *near, *rng.uniform(-2, 2, 2_000).tolist(), *rng.uniform(0, 1, 2_000).tolist()]
    odd = [None, math.nan, math.inf, -math.inf, -0.0, 0.0, 1, 0, np.float64(0.12345), 10.0**30]

    def plain(rows: list[dict[str, object]]) -> list[dict[str, object]]:
        return [{k: _round(v, _DECIMALS[k]) if k in _DECIMALS else v for k, v in row.items()} for row in rows]

    def rows_of(column: list[object], with_odd: bool) -> list[dict[str, object]]:
        rows = []
        for i, value in enumerate(column):
            row: dict[str, object] = {"group": f"P{i}", "n": i, "rate": value, "ci_low": column[i - 1],
                                      "upper_998": None if i % 5 else value, "expected": value, "flag": None}  # fmt: skip
            if i % 7 == 0:
                del row["ci_low"]
            if with_odd:
                row["ratio"] = odd[i % len(odd)]
            rows.append(row)
        return rows

    for rows in (rows_of(floats, False), rows_of(floats, True), rows_of([*floats[:50], math.nan], False)):
        got, want = _rounded_rows(rows), plain(rows)
        assert [list(r) for r in got] == [list(r) for r in want]
        for g, w in zip(got, want, strict=True):
            for key in w:
                assert g[key].__class__ is w[key].__class__, key
                if isinstance(w[key], float):
                    assert same_bits(g[key], w[key]) or (math.isnan(g[key]) and math.isnan(w[key])), key  # type: ignore[arg-type]
                else:
                    assert g[key] == w[key]
    assert _rounded_rows([]) == []
