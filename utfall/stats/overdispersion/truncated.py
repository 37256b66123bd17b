"""The default method, ``"truncated-ml"``: maximum likelihood with outliers truncated (issue 10.2).

Model: a provider's count X is binomial(n, expit(c + τu)) (proportions) or
Poisson(E·exp(c + τu)) (O/E ratios) with u ~ N(0, 1). The centre c and the spread τ are
fitted by maximum likelihood of that mixture. A group outside the 99 % limits of the
current fit is left out (``excluded``) and **every group kept contributes its truncated
likelihood**, log P(X = x) − log P(X inside the 99 % limits at its n), so the fit knows
that the tails were cut off and does not shrink τ to explain their absence (the old
"leave out and refit" moment estimator, ``"robust-re"``, shrank τ̂² to 0.4–0.8× and flagged
1–2.6 % of large providers under the null). The limits are recomputed from each fit until
the set left out is stable. Because the truncation is applied whether or not anything is
left out, the estimating equation has mean zero under the null: the estimate is consistent.

Speed (the pages fit on every request): every integral is a one-dimensional integral over
the provider's linear predictor η with a (c, τ)-free factor and a cheap (c, τ)-dependent one,

* P(X = x) = ∫ f(x | η) N(η; c, τ²) dη,
* P(X ≤ r) = ∫ S(η) N(η; c, τ²) dη when n is small against τ, else ∫ f_T(t) Φ((t − c)/τ) dt
  (T = logit Beta(r + 1, n − r), or log Gamma(r + 1) − log E; the upper tail alike),

so the adaptive Gauss–Hermite nodes (centred on each integrand's mode and scaled by its
curvature, :mod:`utfall.stats.mixture`) are placed once per round at the current (c, τ) and
held fixed while the likelihood is maximised: each evaluation is a few vectorised numpy
operations on a (groups × 16) array, with analytic gradients. A round re-centres the nodes;
the fit stops when the set left out is stable and (c, τ) moved less than 0.02 in the last
round (re-centring moves them by about 0.001 after that: a tenth of a per cent of the limits).

The bounds of the kept region come from the fast 40-node quantile search (the truncation is
exact for whatever region is used); the published limits use adaptive quadrature
(:func:`~utfall.stats.overdispersion.limits.adaptive_limits`).

Validated: the log-likelihood and its gradient against :func:`utfall.stats.mixture.log_pmf`,
:func:`~utfall.stats.mixture.lower_tail` and :func:`~utfall.stats.mixture.upper_tail`
(themselves checked against ``scipy.integrate.quad``) in ``tests/stats/test_truncated.py``;
with no spread its limits are the exact binomial/Poisson limits of the ``"none"`` method
(tested against scipy). The reference vectors in ``tests/stats/reference/`` (PHE's Wilson and
FunnelPlotR's χ² funnels, metafor's DerSimonian–Laird, FunnelPlotR's SHMI φ) test the
textbook methods and the parts shared with them; there is no external vector for a
truncated-likelihood funnel, so its calibration (≤ 0.5 % of providers flagged in every cell
of the grid and among providers with n ≥ 200, recall of planted outliers) is shown by the
seeded grid in ``bench/bench_flags.py`` and ``tests/stats/test_truncated.py`` (figures in
docs/statistics.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special

from utfall.stats import mixture
from utfall.stats.overdispersion.limits import (
    TAU_MAX,
    FloatArray,
    Kind,
    OverdispersionFit,
    _poisson_top,
    _quantile_guess,
    centre_for_target,
    mixture_mean,
    mixture_values,
)
from utfall.stats.overdispersion.robust import fit_robust

__all__ = ["EXCLUDE_LEVEL", "fit_truncated", "truncated_loglik"]

#: Groups outside the limits at this level are left out and the rest truncated there.
EXCLUDE_LEVEL = 0.99
_QN = 10
_T, _W = special.roots_hermite(_QN)  # ∫ e^{−t²} g(t) dt ≈ Σ w g(t)
_LOG_W = np.log(_W) + _T**2
_HALF_LOG_2PI = 0.5 * float(np.log(2.0 * np.pi))
_TAU_MIN = 1e-3
_MAX_ROUNDS = 25

Grad3 = tuple[FloatArray, FloatArray, FloatArray]


Slopes = Callable[[FloatArray], tuple[FloatArray, FloatArray]]


def _newton_mode(slopes: Slopes, start: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Mode of a concave log-integrand (:func:`utfall.stats.mixture.concave_argmax`, the
    safeguarded Newton search) and the GH scale √2/√(−h''), from its two derivatives alone
    (``slopes``: the value's log-gamma and log1p terms are not needed until the nodes)."""
    eta = mixture.concave_argmax(slopes, start, tol=1e-7)
    _, d2 = slopes(eta)
    d2 = np.where(np.isfinite(d2) & (d2 < 0), d2, -1.0)
    return eta, np.sqrt(2.0) / np.sqrt(-d2)


@dataclass
class _Integrals:
    """log ∫ exp(fixed(η)) · k(η; c, τ) dη for a set of rows, with nodes held fixed.

    The kernel k is the normal density N(η; c, τ²) (``sign`` 0) or Φ(sign·(η − c)/τ)
    (``sign`` ±1, per row; one object holds one kind). ``fixed`` already holds the node
    weights and the log-scale. ``rows`` are the groups, ``tail`` marks tail integrals (the
    rest are P(X = x)).
    """

    rows: NDArray[np.intp]
    nodes: FloatArray
    fixed: FloatArray
    sign: FloatArray
    tail: NDArray[np.bool_]

    @staticmethod
    def join(parts: list[_Integrals]) -> _Integrals | None:
        if not parts:
            return None
        return _Integrals(
            *(
                np.concatenate([getattr(q, f) for q in parts])
                for f in ("rows", "nodes", "fixed", "sign", "tail")
            )
        )

    def runs(self) -> tuple[slice | NDArray[np.bool_], slice | NDArray[np.bool_]]:
        """The rows that are not tails and the tails: two slices when the tails are the last
        rows (as ``_build`` joins them), else the masks."""
        split = int(np.count_nonzero(~self.tail))
        if not self.tail[:split].any():
            return slice(0, split), slice(split, None)
        return ~self.tail, self.tail

    def evaluate(self, c: float, tau: float) -> tuple[FloatArray, FloatArray, FloatArray]:
        """log integral per row (k,), its gradient in (c, τ) (k, 2) and Hessian (k, 2, 2).

        Written in place on a few (rows × nodes) buffers: the same operations in the same order
        as the plain form kept in tests/stats/test_same_bits_fit.py (``a + b`` for ``b + a`` and a
        product reused where the plain form computed it twice), so the same bits (2026-12-06,
        prov6: ~8 likelihood evaluations a fit, 13 fits on a provider page)."""
        nodes = self.nodes
        if not np.any(self.sign):
            t2 = tau * tau
            d = np.subtract(nodes, c)
            dd = d * d
            var = np.multiply(d, -0.5)  # −0.5·d·d/t² − log τ − ½ log 2π, left to right
            var *= d
            var /= t2
            var -= np.log(tau)
            var -= _HALF_LOG_2PI
            v_c = d / t2
            v_t = np.divide(dd, t2 * tau, out=dd)  # −1/τ + d·d/(t²τ)
            v_t += -1.0 / tau
            v_tt = np.multiply(d, 3.0)  # 1/t² − 3·d·d/t⁴
            v_tt *= d
            v_tt /= t2 * t2
            np.subtract(1.0 / t2, v_tt, out=v_tt)
            v_ct = np.multiply(d, -2.0, out=d)  # −2·d/(t²τ)
            v_ct /= t2 * tau
            v_cc: FloatArray | float = -1.0 / t2
        else:
            sign = self.sign[:, None]
            z = np.subtract(nodes, c)
            z *= sign
            z /= tau
            var = special.log_ndtr(z)
            mills = np.multiply(z, -0.5)  # exp(−0.5·z·z − ½ log 2π − var)
            mills *= z
            mills -= _HALF_LOG_2PI
            mills -= var
            np.exp(mills, out=mills)
            v_zz = np.add(z, mills)  # −mills·(z + mills)
            v_zz *= -mills
            z_c = -sign / tau
            z_t = np.divide(-z, tau)
            v_c = mills * z_c
            v_t = mills * z_t
            zz_c = v_zz * z_c
            v_cc = zz_c * z_c
            v_ct = np.multiply(zz_c, z_t, out=zz_c)  # v_zz·z_c·z_t + mills·sign/τ²
            v_ct += mills * sign / (tau * tau)
            v_tt = np.multiply(v_zz, z_t, out=v_zz)  # v_zz·z_t·z_t + mills·2·z/τ²
            v_tt *= z_t
            extra = np.multiply(mills, 2.0, out=mills)
            extra *= z
            extra /= tau * tau
            v_tt += extra
        terms = np.add(var, self.fixed, out=var)
        top = mixture.row_max(terms)
        terms -= top
        w = np.exp(terms, out=terms)
        total_w = w.sum(axis=1, keepdims=True)
        post = np.divide(w, total_w, out=w)
        log_i = np.log(total_w[:, 0]) + top[:, 0]
        buf = np.multiply(post, v_c)
        g_c = buf.sum(axis=1)
        g_t = np.multiply(post, v_t, out=buf).sum(axis=1)
        dc = np.subtract(v_c, g_c[:, None], out=v_c)
        dt = np.subtract(v_t, g_t[:, None], out=v_t)
        np.multiply(dc, dc, out=buf)
        buf += v_cc
        buf *= post
        h_cc = buf.sum(axis=1)
        np.multiply(dc, dt, out=buf)
        buf += v_ct
        buf *= post
        h_ct = buf.sum(axis=1)
        np.multiply(dt, dt, out=buf)
        buf += v_tt
        buf *= post
        h_tt = buf.sum(axis=1)
        grad = np.column_stack([g_c, g_t])
        hess = np.empty((log_i.size, 2, 2))
        hess[:, 0, 0], hess[:, 0, 1], hess[:, 1, 0], hess[:, 1, 1] = h_cc, h_ct, h_ct, h_tt
        return log_i, grad, hess


def _log_f(kind: Kind, x: FloatArray, m: FloatArray, eta: FloatArray) -> Grad3:
    """log P(X = x | η) and two η-derivatives (η the linear predictor; λ = E·e^η for ratios)."""
    if kind == "proportion":
        sp_minus, sp_plus, p, q = mixture.logistic_parts(eta)
        const = special.gammaln(m + 1) - special.gammaln(x + 1) - special.gammaln(m - x + 1)
        return const - x * sp_minus - (m - x) * sp_plus, x - m * p, -m * p * q
    lam = m * np.exp(eta)
    return x * (eta + np.log(m)) - lam - special.gammaln(x + 1), x - lam, -lam


def _hump(
    rows: NDArray[np.intp],
    log_g: Callable[[FloatArray], Grad3],
    c: float,
    tau: float,
    slopes_g: Slopes | None = None,
    value_g: Callable[[FloatArray], FloatArray] | None = None,
) -> _Integrals:
    """Nodes for ∫ g(η) N(η; c, τ²) dη placed at the mode of the integrand at (c, τ)
    (``slopes_g``: log g's two derivatives alone, ``value_g`` its value alone, when cheaper
    than ``log_g``: the same bits)."""
    t2 = tau * tau

    def slopes(eta: FloatArray) -> tuple[FloatArray, FloatArray]:
        g1, g2 = log_g(eta)[1:] if slopes_g is None else slopes_g(eta)
        return g1 - (eta - c) / t2, g2 - 1.0 / t2  # plus the normal density's

    mode, scale = _newton_mode(slopes, np.full(rows.shape, c))
    nodes = mode[:, None] + scale[:, None] * _T
    g_val = log_g(nodes)[0] if value_g is None else value_g(nodes)
    fixed = _LOG_W + np.log(scale)[:, None] + g_val
    return _Integrals(rows, nodes, fixed, np.zeros(rows.size), np.zeros(rows.size, dtype=bool))


def _pmf_integrals(
    kind: Kind, x: FloatArray, m: FloatArray, rows: NDArray[np.intp], c: float, tau: float
) -> _Integrals:
    xr, mr = x[rows], m[rows]

    def log_g(eta: FloatArray) -> Grad3:
        xx, mm = (xr[:, None], mr[:, None]) if eta.ndim == 2 else (xr, mr)
        return _log_f(kind, xx, mm, eta)

    def slopes_g(eta: FloatArray) -> tuple[FloatArray, FloatArray]:  # _log_f's derivatives alone
        if kind == "proportion":
            p, q = mixture.logistic_pair(eta)
            return xr - mr * p, -mr * p * q
        lam = mr * np.exp(eta)
        return xr - lam, -lam

    def value_g(eta: FloatArray) -> FloatArray:  # _log_f's value alone (at the nodes)
        if kind != "proportion":
            return log_g(eta)[0]
        xx, mm = xr[:, None], mr[:, None]
        sp_minus, sp_plus = mixture.softplus_pair(eta)
        const = special.gammaln(mm + 1) - special.gammaln(xx + 1) - special.gammaln(mm - xx + 1)
        return np.asarray(const - xx * sp_minus - (mm - xx) * sp_plus)

    return _hump(rows, log_g, c, tau, slopes_g, value_g)


def _tail_integrals(
    kind: Kind, side: str, r: FloatArray, m: FloatArray, rows: NDArray[np.intp], c: float, tau: float
) -> list[_Integrals]:
    """log P(X ≤ r) (``side="lower"``) or log P(X ≥ r) for the given rows, in two forms."""
    rr, mm = r[rows], m[rows]
    a, b = mixture._t_params(kind, side, rr, mm)
    _, curv = mixture._t_slopes(kind, a, b, np.log(a / b))
    in_t = tau * tau * -curv > 1.0
    out: list[_Integrals] = []
    if np.any(~in_t):
        ru, mu = rr[~in_t], mm[~in_t]

        def log_g(eta: FloatArray) -> Grad3:
            r_, m_ = (ru[:, None], mu[:, None]) if eta.ndim == 2 else (ru, mu)
            if kind == "proportion":
                return mixture._log_tail(kind, side, r_, m_, eta)
            return mixture._log_tail(kind, side, r_, np.ones(np.broadcast_shapes(r_.shape, eta.shape)),
                                     eta + np.log(m_))  # fmt: skip

        def value_g(eta: FloatArray) -> FloatArray:  # log_g's value alone (at the nodes)
            r_, m_ = (ru[:, None], mu[:, None]) if eta.ndim == 2 else (ru, mu)
            if kind == "proportion":
                return mixture._log_tail_value(kind, side, r_, m_, eta)
            return mixture._log_tail_value(kind, side, r_, np.ones(np.broadcast_shapes(r_.shape, eta.shape)),
                                           eta + np.log(m_))  # fmt: skip

        part = _hump(rows[~in_t], log_g, c, tau, value_g=value_g)
        part.tail[:] = True
        out.append(part)
    if np.any(in_t):
        at, bt = a[in_t], b[in_t]
        sign = 1.0 if side == "lower" else -1.0

        def log_density(eta: FloatArray) -> FloatArray:
            # T = logit Beta(a, b), or log Gamma(a) − log E (b = E): on the scale of η itself.
            # The value alone (the nodes need no derivatives): _log_t_density's, the same bits.
            a_, b_ = (at[:, None], bt[:, None]) if eta.ndim == 2 else (at, bt)
            if kind == "proportion":
                sp_minus, sp_plus = mixture.softplus_pair(eta)
                return np.asarray(-a_ * sp_minus - b_ * sp_plus - special.betaln(a_, b_))
            return mixture._log_t_density(kind, a_, b_, eta)[0]

        def slopes(eta: FloatArray) -> tuple[FloatArray, FloatArray]:
            # The derivatives of log f_T(η) + log Φ(sign·(η − c)/τ).
            d1, d2 = mixture._t_slopes(kind, at, bt, eta)
            z = sign * (eta - c) / tau
            mills = np.exp(-0.5 * z * z - _HALF_LOG_2PI - special.log_ndtr(z))
            return d1 + sign * mills / tau, d2 - mills * (z + mills) / (tau * tau)

        mode, scale = _newton_mode(slopes, np.log(at / bt))
        nodes = mode[:, None] + scale[:, None] * _T
        lf = log_density(nodes)
        fixed = _LOG_W + np.log(scale)[:, None] + lf
        out.append(_Integrals(rows[in_t], nodes, fixed, np.full(at.size, sign), np.ones(at.size, dtype=bool)))
    return out


@dataclass
class _Likelihood:
    """The truncated log-likelihood of the kept groups with nodes fixed at one (c, τ): the
    normal-kernel integrals (every P(X = x), tails of small groups) in one array, the
    Φ-kernel ones (tails of large groups) in another. A tail integral depends on the group's
    size and kept region alone, so there is one per distinct (n, a, b) (``keys`` of them; the
    tail integrals' ``rows`` are these keys) and ``inverse`` gives each group's key."""

    parts: list[_Integrals]
    size: int
    keys: int
    inverse: NDArray[np.intp]

    def value_grad_hess(self, c: float, tau: float) -> tuple[float, FloatArray, FloatArray]:
        """The log-likelihood, its gradient and Hessian in (c, τ)."""
        value, grad, hess = 0.0, np.zeros(2), np.zeros((2, 2))
        out = np.zeros((6, self.keys))  # P(outside), its gradient (2) and Hessian (3), per key
        for part in self.parts:
            log_i, g, h = part.evaluate(c, tau)
            # The P(X = x) rows come first and the tails after them (``_build`` joins them so):
            # views of the two runs, not copies (the same values in the same layout, so the same
            # sums); any other order through the mask.
            own: slice | NDArray[np.bool_]
            t: slice | NDArray[np.bool_]
            own, t = part.runs()
            value += float(log_i[own].sum())
            grad += g[own].sum(axis=0)
            hess += h[own].sum(axis=0)
            if not part.tail.any():
                continue
            p = np.exp(log_i[t])
            gt, ht = g[t], h[t]
            rows = part.rows[t]
            pieces = (p, p * gt[:, 0], p * gt[:, 1], p * (ht[:, 0, 0] + gt[:, 0] ** 2),
                      p * (ht[:, 0, 1] + gt[:, 0] * gt[:, 1]), p * (ht[:, 1, 1] + gt[:, 1] ** 2))  # fmt: skip
            for j, piece in enumerate(pieces):
                out[j] += np.bincount(rows, weights=piece, minlength=self.keys)
        # Each group's (the same sums, in the same order; np.take keeps the rows contiguous, so
        # the sums over groups below add in the same order as before: out[:, inverse] would not).
        out = np.take(out, self.inverse, axis=1)
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


def _build(
    kind: Kind,
    x: FloatArray,
    m: FloatArray,
    kept: NDArray[np.bool_],
    bounds: tuple[FloatArray, FloatArray],
    c: float,
    tau: float,
) -> _Likelihood:
    rows = np.flatnonzero(kept)
    a, b = bounds
    k = rows.size
    xk, mk, ak, bk = x[rows], m[rows], a[rows], b[rows]
    parts = [_pmf_integrals(kind, xk, mk, np.arange(k), c, tau)]
    # The tails at each distinct (n, a, b) once (groups of a size share their region): the same
    # integrals, fewer of them (at 750 providers about half are of a size seen before).
    mu, au, bu, inverse = _distinct_keys(mk, ak, bk)
    local = np.arange(mu.size)
    has_lower = au >= 1.0
    has_upper = (bu + 1.0 <= mu) if kind == "proportion" else np.ones(mu.size, dtype=bool)
    if has_lower.any():
        parts += _tail_integrals(kind, "lower", au - 1.0, mu, local[has_lower], c, tau)
    if has_upper.any():
        parts += _tail_integrals(kind, "upper", bu + 1.0, mu, local[has_upper], c, tau)
    normal = _Integrals.join([q for q in parts if not q.sign.any()])
    phi = _Integrals.join([q for q in parts if q.sign.any()])
    return _Likelihood([q for q in (normal, phi) if q is not None], k, mu.size, inverse)


def _distinct_keys(
    m: FloatArray, a: FloatArray, b: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, NDArray[np.intp]]:
    """The distinct (n, a, b) in ascending order (by n, then a, then b) and each group's key:
    what ``np.unique(np.column_stack([m, a, b]), axis=0, return_inverse=True)`` gives, from one
    ``lexsort`` of the three columns (``unique`` along an axis sorts the rows as records: ~0.3 ms
    of the fit's two builds, a tenth of it this way)."""
    order = np.lexsort((b, a, m))
    ms, as_, bs = m[order], a[order], b[order]
    new = np.empty(order.size, dtype=bool)
    new[:1] = True
    new[1:] = (ms[1:] != ms[:-1]) | (as_[1:] != as_[:-1]) | (bs[1:] != bs[:-1])
    inverse = np.empty(order.size, dtype=np.intp)
    inverse[order] = np.cumsum(new) - 1
    return ms[new], as_[new], bs[new], inverse


def _acceptance(
    kind: Kind, m: FloatArray, c: float, tau: float, alpha: float
) -> tuple[FloatArray, FloatArray]:
    """(a, b) per group, the kept region a ≤ x ≤ b: about the α and 1 − α quantiles of the
    predictive (each binomial/Poisson of the 40-node mixture replaced by its normal or
    Wilson–Hilferty approximation; usually exact, at most a count or two off). Any fixed
    region gives a consistent fit, since the truncation is computed exactly for the region used.
    (The search starts from the continuous solution, :func:`~utfall.stats.overdispersion.limits.
    _quantile_guess`: two or three probes per size; the previous region, which it used to start
    from, was a worse start once (c, τ) had moved.)"""
    sizes, where = np.unique(m, return_inverse=True)
    values = mixture_values(kind, c, tau * tau)
    d = sizes.size
    top = sizes.copy() if kind == "proportion" else _poisson_top(sizes * values.max())
    p = np.concatenate([np.full(d, alpha), np.full(d, 1.0 - alpha)])
    with np.errstate(all="ignore"):
        q = _quantile_guess(kind, p, np.concatenate([sizes, sizes]), np.concatenate([top, top]), values)
    q = np.clip(np.where(np.isfinite(q), q, 0.0), 0.0, np.concatenate([top, top]))
    return q[:d][where], q[d:][where]


def _start(kind: Kind, x: FloatArray, m: FloatArray) -> tuple[float, float]:
    """A robust start: the centre and spread of ``robust-re`` (Huber-type, outliers left out).
    A non-robust start lets a group of outliers widen the first region so much that they stay
    inside it (masking: six providers planted at odds ratio 0.26 among 63 went unflagged from a
    DerSimonian–Laird or a plain Huber start); from the robust fit they are left out at once,
    and the truncated likelihood then removes that fit's downward bias."""
    robust = fit_robust(kind, x, m, None)
    return robust.centre, float(np.clip(np.sqrt(robust.tau2), 0.05, TAU_MAX))


def _maximise(
    lik: _Likelihood, kind: Kind, start: tuple[float, float], target: float | None
) -> tuple[float, float, FloatArray | None]:
    """Newton's method with the analytic Hessian, halving steps that do not increase the
    likelihood, τ kept in [τ_min, τ_max]; with a fixed target, the centre follows τ. Returns
    (c, τ) and the Hessian at them (None with a fixed target: it is not worked out there)."""
    if target is not None:

        def negative_tau(tau: float) -> float:
            return -lik.value_grad_hess(centre_for_target(kind, target, tau * tau), tau)[0]

        res = optimize.minimize_scalar(negative_tau, bounds=(_TAU_MIN, TAU_MAX), method="bounded",
                                       options={"xatol": 1e-6})  # fmt: skip
        tau = float(res.x)
        return centre_for_target(kind, target, tau * tau), tau, None
    theta = np.array([start[0], float(np.clip(start[1], _TAU_MIN, TAU_MAX))])
    value, grad, hess = lik.value_grad_hess(theta[0], theta[1])
    for _ in range(50):
        try:
            eig = np.linalg.eigvalsh(hess)
            step = -np.linalg.solve(hess, grad) if eig.max() < 0 else grad / max(np.abs(hess).max(), 1.0)
        except np.linalg.LinAlgError:
            step = grad / max(np.abs(hess).max(), 1.0)
        if theta[1] <= _TAU_MIN and step[1] < 0:  # on the boundary: move the centre only
            step = np.array([-grad[0] / hess[0, 0] if hess[0, 0] < 0 else grad[0], 0.0])
        for _ in range(40):
            new = theta + step
            new[1] = float(np.clip(new[1], _TAU_MIN, TAU_MAX))
            new_value, new_grad, new_hess = lik.value_grad_hess(new[0], new[1])
            if new_value >= value - 1e-12:
                break
            step = step / 2.0
        else:
            break
        moved = float(np.max(np.abs(new - theta)))
        theta, value, grad, hess = new, new_value, new_grad, new_hess
        if moved < 1e-6:
            break
    return float(theta[0]), float(theta[1]), hess


def truncated_loglik(
    kind: Kind,
    x: FloatArray,
    m: FloatArray,
    kept: NDArray[np.bool_],
    bounds: tuple[FloatArray, FloatArray],
    c: float,
    tau: float,
) -> tuple[float, float, float]:
    """The truncated log-likelihood of the kept groups and its gradient in (c, τ), with the
    nodes placed at (c, τ) itself (for tests: compare with :mod:`utfall.stats.mixture`)."""
    value, grad, _ = _build(kind, x, m, kept, bounds, c, tau).value_grad_hess(c, tau)
    return value, float(grad[0]), float(grad[1])


def fit_truncated(kind: Kind, x: FloatArray, m: FloatArray, target: float | None) -> OverdispersionFit:
    """Fit (c, τ) as described in the module docstring; ``target`` fixes the predictive mean."""
    alpha = (1.0 - EXCLUDE_LEVEL) / 2.0
    c, tau = _start(kind, x, m)
    if target is not None:
        c = centre_for_target(kind, target, tau * tau)
    seen: set[bytes] = set()
    bounds, bounds_at = _acceptance(kind, m, c, tau, alpha), (c, tau)
    kept = (x >= bounds[0]) & (x <= bounds[1])
    if not kept.any():
        kept[:] = True
    for _ in range(_MAX_ROUNDS):
        lik = _build(kind, x, m, kept, bounds, c, tau)
        new_c, new_tau, hess_at = _maximise(lik, kind, (c, tau), target)
        moved = abs(new_c - c) + abs(new_tau - tau)
        c, tau = new_c, new_tau
        if abs(c - bounds_at[0]) + abs(tau - bounds_at[1]) > 2e-3:
            # The region moves with the fit; tiny moves (node re-centring) keep it.
            bounds, bounds_at = _acceptance(kind, m, c, tau, alpha), (c, tau)
        new_kept = (x >= bounds[0]) & (x <= bounds[1])
        if not new_kept.any():
            new_kept = kept
        if np.array_equal(new_kept, kept) and moved < 0.02:
            break
        key = new_kept.tobytes() + np.round([c, tau], 4).tobytes()
        if key in seen:  # a cycle between two sets: stop at this one
            break
        seen.add(key)
        kept = new_kept
    # The estimate's uncertainty from the observed information (analytic Hessian): a new
    # provider's predictive spread is τ̂² + var(ĉ) + (z² − 2)·var(τ̂) (without it, the data
    # sets where τ̂ falls short flag large providers, whose limits are set by τ alone).
    # (The Hessian at the optimum from the last Newton step when it has it: the same likelihood
    # at the same (c, τ), not evaluated twice.)
    hess = hess_at if hess_at is not None else lik.value_grad_hess(c, tau)[2]
    uncertainty = _uncertainty(hess, target is not None)
    if tau <= 2.0 * _TAU_MIN:
        tau = 0.0
        if target is not None:
            c = centre_for_target(kind, target, 0.0)
    tau2 = tau * tau
    p0 = mixture_mean(kind, c, tau2) if target is None else float(target)
    return OverdispersionFit(
        method="truncated-ml",
        kind=kind,
        target=p0,
        phi=_pearson_phi(kind, x, m, p0),
        tau2=tau2,
        excluded=tuple(int(i) for i in np.flatnonzero(~kept)),
        scale="logit" if kind == "proportion" else "log",
        centre=c,
        quadrature="adaptive",
        uncertainty=uncertainty,
    )


#: Weight of var(τ̂) in the predictive spread. A new provider's η is c + τu with ĉ and τ̂
#: uncertain: var(ĉ) adds to τ² exactly (a normal plus a normal), but an uncertain τ makes the
#: predictive a scale mixture whose tails are heavier than its variance says. Matching the
#: 0.1 % tail of each side (the 99.8 % flag) to second order, E[Φ(−q/τ)] over τ ~ N(τ̂, s²)
#: equals Φ(−q/τ_eff) with τ_eff² ≈ τ̂² + (z² − 2)s², z = Φ⁻¹(0.999) (≈ 7.5 s²). With the
#: variance alone (weight 1) large providers were flagged 0.9 % (100 providers) and 1.8 %
#: (60 providers) of the time under the null at base 0.6, τ 0.2.
TAU_UNCERTAINTY_WEIGHT = float(special.ndtri(0.999) ** 2 - 2.0)


def _uncertainty(hess: FloatArray, fixed_centre: bool) -> float:
    """var(ĉ) + (z² − 2)·var(τ̂) from the inverse of the observed information (0 when it is
    not positive definite: a fit on the boundary)."""
    info = -np.asarray(hess, dtype=np.float64)
    if fixed_centre:
        return TAU_UNCERTAINTY_WEIGHT / info[1, 1] if info[1, 1] > 0 else 0.0
    if info[0, 0] <= 0 or np.linalg.det(info) <= 0:
        return 0.0
    cov = np.linalg.inv(info)
    return float(max(cov[0, 0], 0.0) + TAU_UNCERTAINTY_WEIGHT * max(cov[1, 1], 0.0))


def _pearson_phi(kind: Kind, x: FloatArray, m: FloatArray, p0: float) -> float:
    """Pearson's dispersion ratio at the target, Σ (x − E)²/Var / (k − 1) (1 = noise only)."""
    expected = m * p0
    var = expected * (1.0 - p0) if kind == "proportion" else expected
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = float(np.sum((x - expected) ** 2 / var))
    return chi2 / max(x.size - 1, 1)
