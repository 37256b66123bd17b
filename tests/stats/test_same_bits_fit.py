"""The truncated fit's faster forms give the same bits as the plain forms they replaced.

The provider page fits the funnel 13 times cold (one fit per indicator over ~750 providers), so
the fit's hot paths were written with fewer new arrays and less bookkeeping (2026-12-06, branch
``prov6``): a likelihood evaluation's (rows × nodes) work in place, the rows' maximum a column at
a time, the distinct tail keys from one ``lexsort``, the P(X = x) rows and the tails as views,
the robust start's two loops in buffers. Each plain form is kept here as it stood on main
(c23d062) and the fast form must give exactly its bits (``tobytes``), as in
``test_same_bits.py`` (decision of 2026-12-06, cmp5).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, special

from utfall.stats import mixture
from utfall.stats.overdispersion import clear_fit_cache, fit_overdispersion, robust, truncated
from utfall.stats.overdispersion.limits import FloatArray

from .test_same_bits import same_bits

_HALF_LOG_2PI = 0.5 * float(np.log(2.0 * np.pi))


def plain_evaluate(
    part: truncated._Integrals, c: float, tau: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """truncated._Integrals.evaluate as it stood on main c23d062."""
    if not np.any(part.sign):
        d = part.nodes - c
        t2 = tau * tau
        var = -0.5 * d * d / t2 - np.log(tau) - _HALF_LOG_2PI
        v_c = d / t2
        v_t = -1.0 / tau + d * d / (t2 * tau)
        v_cc = -1.0 / t2
        v_ct = -2.0 * d / (t2 * tau)
        v_tt = 1.0 / t2 - 3.0 * d * d / (t2 * t2)
    else:
        sign = part.sign[:, None]
        z = sign * (part.nodes - c) / tau
        var = special.log_ndtr(z)
        mills = np.exp(-0.5 * z * z - _HALF_LOG_2PI - var)
        v_zz = -mills * (z + mills)
        z_c = -sign / tau
        z_t = -z / tau
        v_c = mills * z_c
        v_t = mills * z_t
        v_cc = v_zz * z_c * z_c
        v_ct = v_zz * z_c * z_t + mills * sign / (tau * tau)
        v_tt = v_zz * z_t * z_t + mills * 2.0 * z / (tau * tau)
    terms = part.fixed + var
    top = np.max(terms, axis=1, keepdims=True)
    w = np.exp(terms - top)
    total_w = w.sum(axis=1, keepdims=True)
    post = w / total_w
    log_i = np.log(total_w[:, 0]) + top[:, 0]
    g_c = (post * v_c).sum(axis=1)
    g_t = (post * v_t).sum(axis=1)
    dc, dt = v_c - g_c[:, None], v_t - g_t[:, None]
    h_cc = (post * (v_cc + dc * dc)).sum(axis=1)
    h_ct = (post * (v_ct + dc * dt)).sum(axis=1)
    h_tt = (post * (v_tt + dt * dt)).sum(axis=1)
    grad = np.column_stack([g_c, g_t])
    hess = np.empty((log_i.size, 2, 2))
    hess[:, 0, 0], hess[:, 0, 1], hess[:, 1, 0], hess[:, 1, 1] = h_cc, h_ct, h_ct, h_tt
    return log_i, grad, hess


def plain_value_grad_hess(
    lik: truncated._Likelihood, c: float, tau: float
) -> tuple[float, FloatArray, FloatArray]:
    """truncated._Likelihood.value_grad_hess as it stood on main c23d062 (boolean masks, the
    plain evaluation)."""
    value, grad, hess = 0.0, np.zeros(2), np.zeros((2, 2))
    out = np.zeros((6, lik.keys))
    for part in lik.parts:
        log_i, g, h = plain_evaluate(part, c, tau)
        own = ~part.tail
        value += float(log_i[own].sum())
        grad += g[own].sum(axis=0)
        hess += h[own].sum(axis=0)
        t = part.tail
        if not t.any():
            continue
        p = np.exp(log_i[t])
        gt, ht = g[t], h[t]
        rows = part.rows[t]
        pieces = (p, p * gt[:, 0], p * gt[:, 1], p * (ht[:, 0, 0] + gt[:, 0] ** 2),
                  p * (ht[:, 0, 1] + gt[:, 0] * gt[:, 1]), p * (ht[:, 1, 1] + gt[:, 1] ** 2))  # fmt: skip
        for j, piece in enumerate(pieces):
            out[j] += np.bincount(rows, weights=piece, minlength=lik.keys)
    out = np.take(out, lik.inverse, axis=1)
    inside = np.maximum(1.0 - out[0], 1e-12)
    value -= float(np.log(inside).sum())
    og = out[1:3] / inside
    grad += og.sum(axis=1)
    oh = out[3:] / inside
    hess[0, 0] += oh[0].sum() + (og[0] * og[0]).sum()
    hess[0, 1] += oh[1].sum() + (og[0] * og[1]).sum()
    hess[1, 1] += oh[2].sum() + (og[1] * og[1]).sum()
    hess[1, 0] = hess[0, 1]
    return value, grad, hess


def _data(seed: int, k: int, kind: str = "proportion") -> tuple[FloatArray, FloatArray]:
    rng = np.random.default_rng(seed)
    m = np.maximum(1.0, np.round(np.exp(rng.uniform(0.0, np.log(rng.choice([60, 600, 5000])), k))))
    base, tau = rng.uniform(0.05, 0.95), rng.choice([0.05, 0.2, 0.6])
    eta = np.log(base / (1.0 - base)) + tau * rng.normal(size=k)
    if kind == "proportion":
        x = rng.binomial(m.astype(int), special.expit(eta)).astype(np.float64)
    else:
        m = m / 10.0
        x = rng.poisson(m * np.exp(eta - np.log(base / (1.0 - base)))).astype(np.float64)
    return x, m


def _likelihood(seed: int, k: int, kind: str = "proportion") -> tuple[truncated._Likelihood, float, float]:
    x, m = _data(seed, k, kind)
    c, tau = truncated._start(kind, x, m)  # type: ignore[arg-type]
    bounds = truncated._acceptance(kind, m, c, tau, 0.005)  # type: ignore[arg-type]
    kept = (x >= bounds[0]) & (x <= bounds[1])
    if not kept.any():
        kept[:] = True
    return truncated._build(kind, x, m, kept, bounds, c, tau), c, tau  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["proportion", "ratio"])
@pytest.mark.parametrize("seed", range(8))
def test_a_likelihood_evaluation_gives_the_plain_forms_bits(kind: str, seed: int) -> None:
    lik, c, tau = _likelihood(seed, [12, 80, 750, 1500][seed % 4], kind)
    kinds = {bool(part.sign.any()) for part in lik.parts}
    for dc, ratio in [(0.0, 1.0), (0.03, 1.2), (-0.4, 0.6), (1.5, 3.0)]:
        at_c, at_tau = np.float64(c + dc), np.float64(tau * ratio)
        for part in lik.parts:
            fast, plain = part.evaluate(at_c, at_tau), plain_evaluate(part, at_c, at_tau)
            assert all(same_bits(a, b) for a, b in zip(fast, plain, strict=True))
        fast_v, fast_g, fast_h = lik.value_grad_hess(at_c, at_tau)
        plain_v, plain_g, plain_h = plain_value_grad_hess(lik, at_c, at_tau)
        assert same_bits(fast_v, plain_v) and same_bits(fast_g, plain_g) and same_bits(fast_h, plain_h)
    if kind == "proportion" and seed % 4 >= 2:
        assert kinds == {False, True}  # both kernels were compared


def test_the_rows_and_tails_are_views_only_when_the_tails_come_last() -> None:
    lik, c, tau = _likelihood(3, 750)
    normal = next(part for part in lik.parts if not part.sign.any())
    own, tails = normal.runs()
    assert isinstance(own, slice) and isinstance(tails, slice) and normal.tail[tails].all()
    # Another order (a tail first) goes through the masks, with the same sums.
    order = np.r_[normal.tail.size - 1, np.arange(normal.tail.size - 1)]
    shuffled = truncated._Integrals(
        *(getattr(normal, f)[order] for f in ("rows", "nodes", "fixed", "sign", "tail"))
    )
    own, tails = shuffled.runs()
    assert not isinstance(own, slice) and same_bits(own, ~shuffled.tail) and same_bits(tails, shuffled.tail)
    mixed = truncated._Likelihood([shuffled, *lik.parts[1:]], lik.size, lik.keys, lik.inverse)
    fast, plain = mixed.value_grad_hess(c, tau), plain_value_grad_hess(mixed, c, tau)
    assert all(same_bits(a, b) for a, b in zip(fast, plain, strict=True))


def test_a_rows_maximum_is_numpys() -> None:
    rng = np.random.default_rng(7)
    for rows, width in [(1, 1), (1, 10), (5, 3), (750, 10), (1500, 10)]:
        a = rng.normal(size=(rows, width)) * 50.0
        a[rng.random(a.shape) < 0.05] = -np.inf
        if rows > 2:
            a[1] = -np.inf  # a row with nothing in it
            a[2, 0] = np.nan  # NaN wins, as in np.max
        assert same_bits(mixture.row_max(a), np.max(a, axis=1, keepdims=True))


def test_the_distinct_tail_keys_are_uniques_rows() -> None:
    rng = np.random.default_rng(11)
    for k in (1, 2, 40, 750, 3000):
        m = rng.integers(1, 60, k).astype(np.float64)
        a = np.floor(m * rng.uniform(0.0, 0.5, k))
        b = np.ceil(m * rng.uniform(0.5, 1.0, k))
        mu, au, bu, inverse = truncated._distinct_keys(m, a, b)
        keyed, plain_inverse = np.unique(np.column_stack([m, a, b]), axis=0, return_inverse=True)
        assert same_bits(np.column_stack([mu, au, bu]), keyed)
        assert same_bits(inverse, plain_inverse.reshape(-1).astype(np.intp))


def plain_robust_tau2(y: FloatArray, v: FloatArray, centre: float, k: float) -> tuple[float, float]:
    """robust._robust_tau2 as it stood on main c23d062."""
    c = robust._winsorised_second_moment(k)
    d = y - centre

    def excess(t2: float) -> float:
        z = d / np.sqrt(v + t2)
        winsorised = np.minimum(np.abs(z), k) ** 2
        return float(winsorised.sum() / winsorised.size / c - 1.0)

    phi = excess(0.0) + 1.0
    if phi <= 1.0:
        return 0.0, phi
    hi = 1.0
    while excess(hi) > 0:
        hi *= 4.0
    return float(optimize.brentq(excess, 0.0, hi, xtol=1e-10)), phi


def plain_huber_centre(y: FloatArray, v: FloatArray, tau2: float, start: float, k: float) -> float:
    """robust._huber_centre as it stood on main c23d062."""
    centre = start
    s = np.sqrt(v + tau2)
    s2 = s**2
    for _ in range(100):
        z = (y - centre) / s
        w = np.minimum(1.0, k / np.maximum(np.abs(z), 1e-12)) / s2
        new = float((w * y).sum() / w.sum())
        if abs(new - centre) < 1e-12:
            return new
        centre = new
    return centre


@pytest.mark.parametrize("seed", range(10))
def test_the_robust_starts_loops_give_the_plain_forms_bits(seed: int) -> None:
    x, m = _data(seed, [5, 40, 750, 1500, 20][seed % 5])
    y = special.logit((x + 0.5) / (m + 1.0))
    p0 = float(x.sum() / m.sum())
    v = 1.0 / (m * p0 * (1.0 - p0))
    y[0] = float(np.median(y))  # a z of exactly 0 (the 1e-12 floor of the weights)
    for centre in (float(np.median(y)), float(np.mean(y)) + 0.3):
        assert same_bits(robust._robust_tau2(y, v, centre, 1.0), plain_robust_tau2(y, v, centre, 1.0))
        for tau2 in (0.0, 0.04, 1.0):
            assert same_bits(
                robust._huber_centre(y, v, tau2, centre, 1.0), plain_huber_centre(y, v, tau2, centre, 1.0)
            )


def test_a_fit_is_the_same_as_one_from_the_plain_likelihood(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole fit (centre, spread, uncertainty, the left out, the limits) with every plain
    form put back gives the same bits: what the pages publish."""
    cases = [_data(seed, k) for seed, k in [(1, 750), (2, 150), (3, 40), (4, 1000)]]

    def published() -> list[object]:
        clear_fit_cache()
        out: list[object] = []
        for x, m in cases:
            fit = fit_overdispersion(x, m)
            lo, hi = fit.limits(np.array([1.0, 23.0, 278.0, 2602.0]), 0.998)
            out += [
                fit.target,
                fit.tau2,
                fit.centre,
                fit.uncertainty,
                fit.excluded,
                lo.tobytes(),
                hi.tobytes(),
            ]
        return out

    fast = published()
    monkeypatch.setattr(truncated._Likelihood, "value_grad_hess", plain_value_grad_hess)
    monkeypatch.setattr(truncated, "_distinct_keys", lambda m, a, b: _plain_keys(m, a, b))
    monkeypatch.setattr(robust, "_robust_tau2", plain_robust_tau2)
    monkeypatch.setattr(robust, "_huber_centre", plain_huber_centre)
    assert published() == fast


def _plain_keys(
    m: FloatArray, a: FloatArray, b: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    keyed, inverse = np.unique(np.column_stack([m, a, b]), axis=0, return_inverse=True)
    return keyed[:, 0], keyed[:, 1], keyed[:, 2], inverse.reshape(-1)
