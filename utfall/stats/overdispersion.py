"""Funnel limits that allow for real between-provider spread (overdispersion).

Providers differ more than binomial (or Poisson) noise: case mix, staff, chance. Limits
that ignore this flag far too many providers; limits widened by a non-robust estimate let
a few extreme providers hide the rest. The default here, ``"robust-re"``, is calibrated
and robust (decision and simulation figures in docs/statistics.md):

1. Random-effects model on the logit scale (proportions) or log scale (O/E ratios):
   the true value of a provider is centre + τ·u with u ~ N(0, 1).
2. τ² and the centre are estimated by a Huber-type estimator: z-scores
   ``(y − centre)/sqrt(v + τ²)`` are winsorised at ±1 and τ² solves
   mean(winsorised z²) = E[winsorised Z²] (a consistency correction, so the estimate
   is unbiased when nothing is wrong, unlike the textbook 10 % winsorisation), with
   y the empirical logit, v the binomial variance at the target.
3. Groups outside the 99 % limits are left out and the fit is repeated until the set
   left out is stable; those groups are reported as ``excluded``.
4. Limits are the exact quantiles of the fitted predictive distribution (binomial or
   Poisson mixed over the logit-/log-normal spread, by Gauss–Hermite quadrature), with
   Spiegelhalter's interpolation between counts, so a group is flagged exactly when its
   tail probability is below 0.1 % (99.8 % limits). The target is the predictive mean.

The textbook variants are kept for comparison and for the reference vectors:
``"spiegelhalter-additive"`` (NHS/CQC: 10 % winsorised z on the rate scale, additive τ²,
normal limits), ``"spiegelhalter-multiplicative"`` (φ), ``"dersimonian-laird"`` (additive,
no winsorisation) and ``"none"`` (exact binomial/Poisson limits around the target).
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special, stats

from utfall.stats.proportions import z_for_level

__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "DerSimonianLaird",
    "OverdispersionFit",
    "dersimonian_laird",
    "fit_overdispersion",
    "shmi_phi",
    "spiegelhalter_tau2",
    "winsorised_phi",
]

Kind = Literal["proportion", "ratio"]
FloatArray = NDArray[np.float64]

DEFAULT_METHOD = "robust-re"
METHODS = ("robust-re", "spiegelhalter-additive", "spiegelhalter-multiplicative", "dersimonian-laird", "none")

#: Huber cut-off for the winsorised z-scores of the robust estimator.
HUBER_K = 1.0
#: Groups outside limits at this level are left out of the robust estimate.
EXCLUDE_LEVEL = 0.99
_MAX_ITER = 30

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(40)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


# --------------------------------------------------------------------------------------
# Classic estimators (validated against reference vectors)


@dataclass(frozen=True)
class DerSimonianLaird:
    """Result of :func:`dersimonian_laird`."""

    tau2: float
    q: float
    i2: float
    fixed_mean: float
    random_mean: float
    random_se: float


def dersimonian_laird(y: ArrayLike, v: ArrayLike) -> DerSimonianLaird:
    """DerSimonian–Laird τ² (the additive random-effects step) with Q, I² and the means.

    τ² = max(0, (Q − (k − 1)) / (Σw − Σw²/Σw)), w = 1/v, Q = Σw(y − ȳ_w)². This is
    Spiegelhalter's additive τ² without winsorisation, with the inverse-variance target.

    Validated against ``reference/dersimonian_laird_metafor.json`` (R metafor::rma on
    Kacker 2004: τ², Q, I², FE and RE mean and se; rel 1e-9).
    """
    ya = np.asarray(y, dtype=np.float64)
    w = 1.0 / np.asarray(v, dtype=np.float64)
    fixed = float(np.sum(w * ya) / np.sum(w))
    q = float(np.sum(w * (ya - fixed) ** 2))
    k = ya.size
    tau2 = max(0.0, (q - (k - 1)) / (np.sum(w) - np.sum(w**2) / np.sum(w)))
    i2 = max(0.0, (q - (k - 1)) / q) * 100.0 if q > 0 else 0.0
    w_re = 1.0 / (1.0 / w + tau2)
    random = float(np.sum(w_re * ya) / np.sum(w_re))
    return DerSimonianLaird(
        tau2=float(tau2),
        q=q,
        i2=float(i2),
        fixed_mean=fixed,
        random_mean=random,
        random_se=float(np.sqrt(1.0 / np.sum(w_re))),
    )


def winsorised_phi(z: ArrayLike, fraction: float = 0.1) -> float:
    """Spiegelhalter's φ = mean of z² after winsorising ``fraction`` of z at each tail.

    Validated indirectly: with ``fraction=0`` it equals Q/k of :func:`dersimonian_laird`
    (``reference/dersimonian_laird_metafor.json``, rel 1e-12).
    """
    za = np.asarray(z, dtype=np.float64)
    if fraction > 0:
        lo, hi = np.quantile(za, [fraction, 1.0 - fraction])
        za = np.clip(za, lo, hi)
    return float(np.mean(za**2))


def spiegelhalter_tau2(phi: float, w: ArrayLike) -> float:
    """Additive τ² from φ: max(0, (kφ − (k − 1)) / (Σw − Σw²/Σw)), w = 1/s².

    Validated against ``reference/dersimonian_laird_metafor.json`` (with unwinsorised φ it
    is the DL τ²; rel 1e-9) and the derived τ² of ``funnelplotr_overdispersion.json``.
    """
    wa = np.asarray(w, dtype=np.float64)
    k = wa.size
    return float(max(0.0, (k * phi - (k - 1)) / (np.sum(wa) - np.sum(wa**2) / np.sum(wa))))


def shmi_phi(observed: ArrayLike, expected: ArrayLike, trim: float = 0.1) -> float:
    """FunnelPlotR's SHMI φ: z = √E·ln(O/E), rank-truncate ``trim`` at each end, φ = mean z².

    Validated against ``overdispersion_phi_SR_SHMI`` in
    ``reference/funnelplotr_overdispersion.json`` (φ = 2.948033 to 6 dp).
    """
    o = np.asarray(observed, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    with np.errstate(divide="ignore"):
        z = np.sqrt(e) * np.log(o / e)
    k = round(1.0 / trim)
    rank = stats.rankdata(z, method="ordinal")
    sp = np.floor(rank * k / (z.size + 1))
    keep = (sp > 0) & (sp < k - 1)
    return float(np.mean(z[keep] ** 2))


# --------------------------------------------------------------------------------------
# The fitted comparison model


@dataclass(frozen=True)
class OverdispersionFit:
    """A fitted funnel: target, spread and the groups left out of the estimate.

    ``limits(size, level)`` gives the funnel at any n (or E for ratios) and
    ``flags(events, size)`` says ``"low"``/``"high"``/``None`` against the 99.8 % limits.
    ``phi`` is the dispersion ratio before adjustment (1 = binomial/Poisson noise only),
    ``tau2`` the between-group variance on ``scale``; ``excluded`` are positions of the
    groups that were left out of the estimate.
    """

    method: str
    kind: Kind
    target: float
    phi: float
    tau2: float
    excluded: tuple[int, ...] = ()
    scale: str = "logit"
    centre: float = float("nan")
    _normal: bool = field(default=False, repr=False)

    # -- limits ------------------------------------------------------------------------
    def limits(self, size: ArrayLike, level: float = 0.998) -> tuple[FloatArray, FloatArray]:
        """Lower and upper limit at each size (n, or E for ratios) on the rate/ratio scale."""
        m = np.asarray(size, dtype=np.float64)
        if self._normal:
            return self._normal_limits(m, level)
        return _mixture_limits(self.kind, self.centre, self.tau2, m, level)

    def flags(self, events: ArrayLike, size: ArrayLike, level: float = 0.998) -> list[str | None]:
        """``"low"``/``"high"`` where the observed value lies outside the limits, else None."""
        x = np.asarray(events, dtype=np.float64)
        m = np.asarray(size, dtype=np.float64)
        lo, hi = self.limits(m, level)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = x / m
        out: list[str | None] = []
        for v, a, b in zip(np.atleast_1d(value), np.atleast_1d(lo), np.atleast_1d(hi), strict=True):
            out.append("low" if v < a else "high" if v > b else None)
        return out

    def as_dict(self) -> dict[str, object]:
        """What the comparison output reports: method, phi, tau2, excluded (positions)."""
        return {"method": self.method, "phi": self.phi, "tau2": self.tau2, "excluded": list(self.excluded)}

    def _normal_limits(self, m: FloatArray, level: float) -> tuple[FloatArray, FloatArray]:
        z = z_for_level(level)
        p0 = self.target
        with np.errstate(divide="ignore", invalid="ignore"):
            s2 = p0 * (1.0 - p0) / m if self.kind == "proportion" else p0 / m
            if self.method == "spiegelhalter-multiplicative":
                half = z * np.sqrt(max(self.phi, 1.0) * s2)
            else:
                half = z * np.sqrt(s2 + self.tau2)
        lower = np.clip(p0 - half, 0.0, None)
        upper = p0 + half
        if self.kind == "proportion":
            upper = np.clip(upper, None, 1.0)
        return lower, upper


def _mixture_values(kind: Kind, centre: float, tau2: float) -> FloatArray:
    eta = centre + np.sqrt(tau2) * _NODES
    return special.expit(eta) if kind == "proportion" else np.exp(eta)


def _mixture_mean(kind: Kind, centre: float, tau2: float) -> float:
    return float(np.sum(_WEIGHTS * _mixture_values(kind, centre, tau2)))


def _centre_for_target(kind: Kind, target: float, tau2: float) -> float:
    base = float(special.logit(target) if kind == "proportion" else np.log(target))
    if tau2 == 0.0:
        return base
    return float(
        optimize.brentq(lambda c: _mixture_mean(kind, c, tau2) - target, base - 10.0, base + 10.0, xtol=1e-12)
    )


def _cdf(kind: Kind, r: FloatArray, m: FloatArray, values: FloatArray) -> FloatArray:
    """P(X ≤ r) under the mixture, for arrays r and m of equal shape."""
    return np.asarray(_cdf_at_nodes(kind, r, m, values) @ _WEIGHTS)


def _cdf_at_nodes(kind: Kind, r: FloatArray, m: FloatArray, values: FloatArray) -> FloatArray:
    """P(X ≤ r) at each node value (no mixing): shape (len(r), len(values))."""
    if kind == "proportion":
        return np.asarray(stats.binom.cdf(r[:, None], m[:, None], values[None, :]))
    return np.asarray(stats.poisson.cdf(r[:, None], m[:, None] * values[None, :]))


#: Nodes that matter for a starting guess (the rest carry weight below 1e-6).
_GUESS_NODES = _WEIGHTS > 1e-6


def _quantile_guess(
    kind: Kind, p: FloatArray, m: FloatArray, top: FloatArray, values: FloatArray
) -> FloatArray:
    """A cheap starting point for :func:`_quantiles`, usually exact or one off.

    Each binomial is replaced by a normal with continuity correction (bisection on the
    count), each Poisson by the Wilson–Hilferty approximation (Newton's method from the
    normal approximation of the mixture). Only the speed of the exact search depends on
    the guess, never its answer.
    """
    w = _WEIGHTS[_GUESS_NODES]
    w = w / w.sum()
    v = values[_GUESS_NODES][None, :]
    mean = m[:, None] * v
    if kind == "proportion":
        sd = np.sqrt(np.maximum(mean * (1.0 - v), 1e-12))
        lo = np.full(m.shape, -1.0)
        hi = top.copy()
        while np.any(hi - lo > 1):
            mid = np.floor((lo + hi) / 2.0)
            ok = special.ndtr((mid[:, None] + 0.5 - mean) / sd) @ w >= p
            hi = np.where(ok, mid, hi)
            lo = np.where(ok, lo, mid)
        return hi
    # P(X ≤ y) ≈ Φ(3√(y + 1)·(1 − 1/(9(y + 1)) − (λ/(y + 1))^⅓)) (Wilson–Hilferty).
    m1 = mean @ w
    sd_mix = np.sqrt(np.maximum((mean + mean**2) @ w - m1**2, 1e-12))
    # Start from a log-normal approximation to the Poisson–log-normal mixture.
    log_v = np.log(v[0])
    mu_log = log_v @ w
    var_log = (log_v - mu_log) ** 2 @ w
    y = m * np.exp(mu_log + special.ndtri(p) * np.sqrt(var_log + 1.0 / (m * np.exp(mu_log)))) - 0.5
    cbrt_mean = np.cbrt(mean)
    rows = np.arange(m.size)
    for _ in range(12):
        k1 = np.maximum(y[rows, None] + 1.0, 1e-3)
        root = np.sqrt(k1)
        c = cbrt_mean[rows] / np.cbrt(k1)
        a = 1.0 - 1.0 / (9.0 * k1) - c
        h = 3.0 * root * a
        dh = 1.5 / root * a + 3.0 * root * (1.0 / (9.0 * k1**2) + c / (3.0 * k1))
        cdf = special.ndtr(h) @ w
        pdf = (np.exp(-0.5 * h * h) * dh) @ w / np.sqrt(2.0 * np.pi)
        bound = 2.0 * sd_mix[rows]
        step = np.clip((cdf - p[rows]) / np.maximum(pdf, 1e-300), -bound, bound)
        y[rows] -= step
        rows = rows[np.abs(step) > 1e-3]
        if not rows.size:
            break
    return np.clip(np.ceil(y - 1e-9), 0.0, top)


def _poisson_top(lam: FloatArray) -> FloatArray:
    """A count with P(X > count) < 10⁻¹² for X ~ Poisson(λ) (Bernstein's inequality,
    P(X − λ ≥ t) ≤ exp(−t²/(2(λ + t/3)))): the top of the quantile search."""
    big_l = 12.0 * np.log(10.0)
    return np.floor(lam + big_l / 3.0 + np.sqrt(big_l**2 / 9.0 + 2.0 * big_l * lam)) + 1.0


def _quantiles(
    kind: Kind, p: FloatArray, m: FloatArray, values: FloatArray, top: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Smallest integer r with P(X ≤ r) ≥ p (row-wise p and m), with F(r) and F(r − 1).

    The answer is the same as plain bisection on [0, ``top``] (n, or a Poisson count
    beyond the 1 − 10⁻¹² quantile at the largest rate); only the probes differ. The search starts at a normal
    approximation, probes it and its neighbour, gallops away from it when it missed and
    then narrows the bracket by thirds. Each round evaluates the exact mixture CDF for all
    unresolved rows at once. F(−1) = 0; every other F is :func:`_cdf` at that point.
    """
    lo = np.full(m.shape, -1.0)
    hi = top.copy()
    f_lo = np.zeros(m.shape)
    f_hi = np.full(m.shape, np.nan)
    lo_seen = np.zeros(m.shape, dtype=bool)  # lo set by a probe (else −1)
    hi_seen = np.zeros(m.shape, dtype=bool)  # hi set by a probe (else the top, maybe unevaluated)
    step = np.full(m.shape, 2.0)
    with np.errstate(all="ignore"):  # a wild guess only costs time; never warn about it
        guess = _quantile_guess(kind, p, m, top, values)
    guess = np.clip(np.where(np.isfinite(guess), guess, 0.0), 0.0, top)
    probes = np.stack([np.maximum(guess - 1.0, 0.0), guess], axis=1)
    active = np.arange(m.size)
    # Counts beyond 2⁵³ cannot be told apart in floating point; stop rather than spin.
    for _ in range(200):
        if not active.size:
            break
        c = probes
        f = _cdf(kind, c.ravel(), np.repeat(m[active], 2), values).reshape(c.shape)
        a_lo, a_hi, a_flo, a_fhi = lo[active], hi[active], f_lo[active], f_hi[active]
        a_lo_seen, a_hi_seen = lo_seen[active], hi_seen[active]
        pa = p[active]
        for j in range(2):
            cj, fj = c[:, j], f[:, j]
            ge = fj >= pa
            at_top = cj == a_hi  # only the unevaluated top is ever probed again
            new_hi = (ge & (cj < a_hi)) | at_top
            a_hi = np.where(new_hi, cj, a_hi)
            a_fhi = np.where(new_hi, fj, a_fhi)
            a_hi_seen |= new_hi
            new_lo = ~ge & (cj > a_lo) & (cj < a_hi)
            a_lo = np.where(new_lo, cj, a_lo)
            a_flo = np.where(new_lo, fj, a_flo)
            a_lo_seen |= new_lo
        lo[active], hi[active], f_lo[active], f_hi[active] = a_lo, a_hi, a_flo, a_fhi
        lo_seen[active], hi_seen[active] = a_lo_seen, a_hi_seen
        done = (a_hi - a_lo <= 1) & ~np.isnan(a_fhi)
        keep = ~done
        active = active[keep]
        if not active.size:
            break
        a_lo, a_hi, a_lo_seen, a_hi_seen = a_lo[keep], a_hi[keep], a_lo_seen[keep], a_hi_seen[keep]
        width = a_hi - a_lo
        s = step[active]
        third = np.maximum(np.floor(width / 3.0), 1.0)
        c1 = a_lo + third
        c2 = np.maximum(a_lo + np.floor(2.0 * width / 3.0), c1)
        up = a_lo_seen & ~a_hi_seen  # the guess was too low: gallop upwards
        down = a_hi_seen & ~a_lo_seen  # too high: gallop downwards
        c1 = np.where(up, a_lo + 1.0, np.where(down, a_hi - 1.0, c1))
        c2 = np.where(up, a_lo + s, np.where(down, a_hi - s, c2))
        c2 = np.clip(c2, a_lo + 1.0, a_hi - 1.0)
        c1 = np.clip(c1, a_lo + 1.0, a_hi - 1.0)
        last = width <= 1  # only F at the (unevaluated) top is missing
        c1 = np.where(last, a_hi, c1)
        c2 = np.where(last, a_hi, c2)
        step[active] = np.minimum(s * 4.0, 2.0**52)
        probes = np.stack([c1, c2], axis=1)
    return hi, f_hi, f_lo


def _mixture_limits(
    kind: Kind, centre: float, tau2: float, size: FloatArray, level: float
) -> tuple[FloatArray, FloatArray]:
    alpha = (1.0 - level) / 2.0
    values = _mixture_values(kind, centre, tau2)
    m_all = np.atleast_1d(size).astype(np.float64)
    lower = np.full(m_all.shape, np.nan)
    upper = np.full(m_all.shape, np.nan)
    valid = np.isfinite(m_all) & (m_all > 0)
    if kind == "proportion":
        valid &= m_all == np.round(m_all)
    # The limits depend on the size only: work out each distinct size once.
    m, where = np.unique(m_all[valid], return_inverse=True)
    if m.size:
        # Both quantiles in one search: rows 0..d-1 the lower, d..2d-1 the upper.
        d = m.size
        p = np.concatenate([np.full(d, alpha), np.full(d, 1.0 - alpha)])
        if kind == "proportion":  # noqa: SIM108 - the two bounds deserve their own lines
            top = m.copy()
        else:
            top = _poisson_top(m * values.max())
        q, f_q, f_q1 = _quantiles(kind, p, np.concatenate([m, m]), values, np.concatenate([top, top]))
        # Lower: r smallest with F(r) ≥ α; interpolate (Spiegelhalter 2005, appendix).
        r, f_r, f_r1 = q[:d], f_q[:d], f_q1[:d]
        frac = np.where(f_r > f_r1, (f_r - alpha) / np.where(f_r > f_r1, f_r - f_r1, 1.0), 0.0)
        lo_m = np.clip(r - frac, 0.0, None) / m
        # Upper: s largest with P(X ≥ s) ≥ α, i.e. F(s − 1) ≤ 1 − α.
        s, f_s, f_s1 = q[d:], f_q[d:], f_q1[d:]
        surv_s = 1.0 - f_s1  # P(X ≥ s)
        surv_next = 1.0 - f_s  # P(X ≥ s + 1)
        # s from the quantile satisfies F(s) ≥ 1 − α > F(s − 1): P(X ≥ s + 1) ≤ α < P(X ≥ s).
        gap = surv_s - surv_next
        frac_u = np.where(gap > 0, (surv_s - alpha) / np.where(gap > 0, gap, 1.0), 0.0)
        hi_m = (s + np.clip(frac_u, 0.0, 1.0 - 1e-12)) / m
        if kind == "proportion":
            hi_m = np.clip(hi_m, 0.0, 1.0)
        lower[valid] = lo_m[where]
        upper[valid] = hi_m[where]
    if np.ndim(size) == 0:
        return lower[:1].reshape(()), upper[:1].reshape(())
    return lower, upper


#: Screening nodes for :func:`_tail_flags`: F at a node bounds F at every node on one side
#: (the binomial/Poisson CDF falls as the rate rises), so a few nodes give a lower bound
#: on the mixture's tail probabilities.
_SCREEN_LOW = np.array([20, 22, 24, 26])  # nodes above the middle: bound P(X ≤ x)
_SCREEN_HIGH = np.array([19, 17, 15, 13])  # nodes below the middle: bound P(X ≥ x)
_CUM_WEIGHTS = np.cumsum(_WEIGHTS)
_SCREEN_LOW_W = np.diff(np.concatenate([[0.0], _CUM_WEIGHTS[_SCREEN_LOW]]))
_SCREEN_HIGH_W = np.diff(np.concatenate([[0.0], 1.0 - _CUM_WEIGHTS[_SCREEN_HIGH - 1]]))


def _tail_flags(
    kind: Kind, centre: float, tau2: float, x: FloatArray, m: FloatArray, alpha: float
) -> NDArray[np.bool_]:
    """True where P(X ≤ x) < α or P(X ≥ x) < α under the mixture.

    Most groups are nowhere near a tail. A lower bound on both tail probabilities from
    four nodes each (F(x) at node j is at least F(x) at any higher node) clears them with
    a wide margin; only the rest get the full 40-node sums, computed exactly as before.
    """
    values = _mixture_values(kind, centre, tau2)
    low_bound = _cdf_at_nodes(kind, x, m, values[_SCREEN_LOW]) @ _SCREEN_LOW_W
    high_bound = (1.0 - _cdf_at_nodes(kind, x - 1.0, m, values[_SCREEN_HIGH])) @ _SCREEN_HIGH_W
    margin = alpha * (1.0 + 1e-9) + 1e-12
    unsure = np.flatnonzero((low_bound < margin) | (high_bound < margin))
    flagged = np.zeros(x.shape, dtype=bool)
    if unsure.size:
        below = _cdf(kind, x[unsure], m[unsure], values)
        above = 1.0 - _cdf(kind, x[unsure] - 1.0, m[unsure], values)
        flagged[unsure] = (below < alpha) | (above < alpha)
    return flagged


# --------------------------------------------------------------------------------------
# Robust random-effects estimator


@functools.lru_cache(maxsize=8)
def _winsorised_second_moment(k: float) -> float:
    """E[min(|Z|, k)²] for standard normal Z: the consistency constant."""
    inner = (2.0 * stats.norm.cdf(k) - 1.0) - 2.0 * k * stats.norm.pdf(k)
    return float(inner + 2.0 * k * k * stats.norm.sf(k))


def _robust_tau2(y: FloatArray, v: FloatArray, centre: float, k: float) -> tuple[float, float]:
    """τ² solving mean(min(|z|, k)²)/E[min(|Z|, k)²] = 1, and φ (the same at τ² = 0)."""
    c = _winsorised_second_moment(k)

    def excess(t2: float) -> float:
        z = (y - centre) / np.sqrt(v + t2)
        return float(np.mean(np.minimum(np.abs(z), k) ** 2) / c - 1.0)

    phi = excess(0.0) + 1.0
    if phi <= 1.0:
        return 0.0, phi
    hi = 1.0
    while excess(hi) > 0:
        hi *= 4.0
    return float(optimize.brentq(excess, 0.0, hi, xtol=1e-10)), phi


def _huber_centre(y: FloatArray, v: FloatArray, tau2: float, start: float, k: float) -> float:
    centre = start
    for _ in range(100):
        s = np.sqrt(v + tau2)
        z = (y - centre) / s
        w = np.minimum(1.0, k / np.maximum(np.abs(z), 1e-12)) / s**2
        new = float(np.sum(w * y) / np.sum(w))
        if abs(new - centre) < 1e-12:
            return new
        centre = new
    return centre


def _fit_robust(kind: Kind, x: FloatArray, m: FloatArray, target: float | None) -> OverdispersionFit:
    k = HUBER_K
    # Empirical logit / log: finite at 0 and at n.
    y = special.logit((x + 0.5) / (m + 1.0)) if kind == "proportion" else np.log((x + 0.5) / m)
    keep = np.ones(x.size, dtype=bool)
    p0 = float(target) if target is not None else float(x.sum() / m.sum())
    centre = float(np.median(y))
    tau2, phi = 0.0, 1.0
    alpha_exclude = (1.0 - EXCLUDE_LEVEL) / 2.0
    for _ in range(_MAX_ITER):
        v = 1.0 / (m * p0 * (1.0 - p0)) if kind == "proportion" else 1.0 / (m * p0)
        for _ in range(_MAX_ITER):
            if target is not None:
                centre = _centre_for_target(kind, p0, tau2)
            new_tau2, phi = _robust_tau2(y[keep], v[keep], centre, k)
            if target is None:
                centre = _huber_centre(y[keep], v[keep], new_tau2, centre, k)
            done = abs(new_tau2 - tau2) < 1e-10
            tau2 = new_tau2
            if done:
                break
        if target is None:
            p0 = _mixture_mean(kind, centre, tau2)
        else:
            centre = _centre_for_target(kind, p0, tau2)
        new_keep = ~_tail_flags(kind, centre, tau2, x, m, alpha_exclude)
        if np.array_equal(new_keep, keep):
            break
        keep = new_keep
    return OverdispersionFit(
        method="robust-re",
        kind=kind,
        target=p0,
        phi=phi,
        tau2=tau2,
        excluded=tuple(int(i) for i in np.flatnonzero(~keep)),
        scale="logit" if kind == "proportion" else "log",
        centre=centre,
    )


# --------------------------------------------------------------------------------------
# Entry point


def fit_overdispersion(
    events: ArrayLike,
    size: ArrayLike,
    *,
    kind: Kind = "proportion",
    method: str = DEFAULT_METHOD,
    target: float | None = None,
) -> OverdispersionFit:
    """Fit the funnel for events out of n (``kind="proportion"``) or observed O with expected E
    (``kind="ratio"``, target defaulting to 1 for the textbook methods).

    ``method`` is one of :data:`METHODS`; ``target`` fixes the centre (default: estimated —
    the robust predictive mean for ``"robust-re"``, the pooled Σx/Σn (ΣO/ΣE) otherwise).
    Groups with size 0 or NaN must be removed by the caller.

    Validated: the DL step against ``reference/dersimonian_laird_metafor.json`` (rel 1e-9);
    SHMI φ against ``reference/funnelplotr_overdispersion.json`` (6 dp); ``"none"`` limits
    reduce to exact binomial/Poisson quantiles (tested against scipy). The robust method
    has no external vector; it is validated by seeded simulation (tests marked slow,
    figures in docs/statistics.md): ≤ 0.5 % false flags under pure overdispersion, ≥ 80 %
    of planted outliers found.
    """
    if method not in METHODS:
        raise ValueError(f"unknown overdispersion method {method!r}; use one of {METHODS}")
    x = np.asarray(events, dtype=np.float64)
    m = np.asarray(size, dtype=np.float64)
    if x.shape != m.shape or x.ndim != 1:
        raise ValueError("events and size must be 1-d arrays of the same length")
    # A fit depends on nothing but its arguments (and is immutable), so the same counts asked
    # again (the same indicator on another page, a download of the page) reuse it.
    key = (x.tobytes(), m.tobytes(), kind, method, target)
    with _FITS_LOCK:
        found = _FITS.get(key)
        if found is not None:
            _FITS.move_to_end(key)
            return found
    fit = _fit(x, m, kind, method, target)
    with _FITS_LOCK:
        _FITS[key] = fit
        if len(_FITS) > _FITS_KEPT:
            _FITS.popitem(last=False)
    return fit


_FITS: OrderedDict[tuple[object, ...], OverdispersionFit] = OrderedDict()
_FITS_KEPT = 512
_FITS_LOCK = threading.Lock()


def clear_fit_cache() -> None:
    """Forget every fit (benchmarks measure a first request with this)."""
    with _FITS_LOCK:
        _FITS.clear()


def _fit(x: FloatArray, m: FloatArray, kind: Kind, method: str, target: float | None) -> OverdispersionFit:
    if x.size == 0 or np.any(~np.isfinite(m)) or np.any(m <= 0) or np.any(~np.isfinite(x)):
        raise ValueError("every group needs a finite count and a positive size")
    if kind == "proportion" and np.any(x > m):
        raise ValueError("events cannot exceed n")
    pooled = float(x.sum() / m.sum())
    degenerate = pooled <= 0.0 or (kind == "proportion" and pooled >= 1.0)
    if method == "robust-re" and x.size >= 3 and not degenerate:
        return _fit_robust(kind, x, m, target)
    if target is None:
        target = pooled
    scale = "proportion" if kind == "proportion" else "ratio"
    edge = target <= 0.0 or (kind == "proportion" and target >= 1.0)
    if method in ("none", "robust-re") or edge or degenerate:
        # Too few groups or no variation to estimate a spread from: exact limits only.
        with np.errstate(divide="ignore"):
            centre = float(special.logit(target) if kind == "proportion" else np.log(target))
        return OverdispersionFit(
            method="none", kind=kind, target=target, phi=1.0, tau2=0.0, scale=scale, centre=centre
        )
    value = x / m
    s2 = target * (1.0 - target) / m if kind == "proportion" else target / m
    z = (value - target) / np.sqrt(s2)
    fraction = 0.0 if method == "dersimonian-laird" else 0.1
    phi = winsorised_phi(z, fraction)
    tau2 = spiegelhalter_tau2(phi, 1.0 / s2) if method != "spiegelhalter-multiplicative" else 0.0
    return OverdispersionFit(
        method=method, kind=kind, target=target, phi=phi, tau2=tau2, scale=scale, _normal=True
    )
