"""Random-effects fit for provider comparisons: maximum likelihood, outliers truncated.

**Status (2026-12-01): candidate for issue 10 point 2, not yet wired into the comparison**
(that waits for the overdispersion split on branch ``house``); figures so far in
docs/statistics.md.

Model: a provider's count X is binomial(n, expit(c + τu)) (proportions) or
Poisson(E·exp(c + τu)) (O/E ratios), u ~ N(0, 1). The centre c and the spread τ are
estimated by maximum likelihood of the mixture (adaptive quadrature, :mod:`.mixture`).

Outliers must not widen the funnel that is to find them, and leaving them out must not
narrow it either. The old estimator dropped every group outside the 99 % limits and refitted
with the same moment equation: each drop removed tail mass the spread estimate needs (the
audit: τ̂² fell to 0.6× after one or two drops), so large providers were flagged 5–25 times
too often under the null. Here a group outside the 99 % limits of the current fit is left
out and every group kept contributes its **truncated** likelihood,
log P(X = x) − log P(X inside the 99 % limits at its n): the fit knows that the tails were
cut off, so it does not shrink τ to explain their absence. (``MODE = "censor"``, where a
left-out group contributes log P(X outside the limits), is also consistent under the null
but lets planted outliers pull τ̂ up: recall at OR 0.33 fell to 24–28 %.) The limits are
recomputed from each fit until the set left out is stable.

The spread is uncertain, most of all with few providers, and an under-estimated τ flags
large providers (whose limits are set by τ alone). With ``uncertainty`` the predictive
mixes over a few values of τ weighted by the profile likelihood (flat prior on τ, centre at
its conditional maximum), each widened by the centre's standard error (τ² + se(c)²).

Validated: the likelihood against ``scipy.integrate.quad`` through :mod:`.mixture`; the
estimate recovers τ in seeded simulations (``tests/stats/test_randomeffects.py``); the
calibration of the flags by the seeded grid in ``bench/bench_flags.py --estimator ml``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

from utfall.stats import mixture
from utfall.stats.mixture import Kind

__all__ = ["EXCLUDE_LEVEL", "RandomEffectsFit", "fit_random_effects", "predictive_mean"]

FloatArray = NDArray[np.float64]

#: Groups outside the limits at this level are censored in the fit (and reported as excluded).
EXCLUDE_LEVEL = 0.99
_MAX_ROUNDS = 20
_TAU_MAX = 5.0
_GH_T, _GH_W = np.polynomial.hermite_e.hermegauss(60)
_GH_W = _GH_W / _GH_W.sum()


def predictive_mean(kind: Kind, centre: float, tau: float) -> float:
    """E[expit(c + τU)] (proportions; 60-node Gauss–Hermite, smooth integrand) or exp(c + τ²/2)."""
    if kind == "ratio":
        return float(np.exp(centre + 0.5 * tau * tau))
    return float(np.sum(_GH_W * special.expit(centre + tau * _GH_T)))


def centre_for_mean(kind: Kind, mean: float, tau: float) -> float:
    """The centre c whose predictive mean is ``mean`` at spread τ."""
    if kind == "ratio":
        return float(np.log(mean) - 0.5 * tau * tau)
    base = float(special.logit(mean))
    if tau == 0.0:
        return base
    return float(
        optimize.brentq(lambda c: predictive_mean(kind, c, tau) - mean, base - 20, base + 20, xtol=1e-13)
    )


@dataclass(frozen=True)
class RandomEffectsFit:
    """The fitted model: centre and τ (maximum likelihood), the censored groups, and the
    spread as a small mixture (``spread``: pairs of τ_eff and weight) for the funnel."""

    kind: Kind
    centre: float
    tau: float
    loglik: float
    censored: tuple[int, ...] = ()
    spread: tuple[tuple[float, float, float], ...] = ()
    centre_se: float = 0.0
    fixed_target: bool = False

    @property
    def target(self) -> float:
        """The predictive mean at the fitted centre and τ (the funnel's centre line)."""
        return predictive_mean(self.kind, self.centre, self.tau)

    def components(self) -> tuple[tuple[float, float, float], ...]:
        """(centre, τ_eff, weight) of the predictive; one (c, τ, 1) when no uncertainty is added."""
        return self.spread or ((self.centre, self.tau, 1.0),)

    def lower_tail(self, r: ArrayLike, m: ArrayLike) -> FloatArray:
        """P(X ≤ r) for a new provider of size m under the predictive distribution."""
        parts = [w * mixture.lower_tail(self.kind, r, m, c, t) for c, t, w in self.components()]
        return np.asarray(np.sum(parts, axis=0))

    def upper_tail(self, r: ArrayLike, m: ArrayLike) -> FloatArray:
        """P(X ≥ r) for a new provider of size m under the predictive distribution."""
        parts = [w * mixture.upper_tail(self.kind, r, m, c, t) for c, t, w in self.components()]
        return np.asarray(np.sum(parts, axis=0))


def _log_outside(
    kind: Kind, m: FloatArray, a: FloatArray, b: FloatArray, centre: float, tau: float
) -> FloatArray:
    """log P(X < a or X > b) at size m."""
    below = mixture.lower_tail(kind, a - 1.0, m, centre, tau)
    above = mixture.upper_tail(kind, b + 1.0, m, centre, tau)
    with np.errstate(divide="ignore"):
        return np.asarray(np.log(np.maximum(below + above, 1e-300)))


#: "truncate" (default) or "censor": how groups outside the 99 % limits enter the likelihood.
MODE = "truncate"


def _loglik(
    kind: Kind,
    x: FloatArray,
    m: FloatArray,
    censored: NDArray[np.bool_],
    bounds: tuple[FloatArray, FloatArray],
    centre: float,
    tau: float,
) -> float:
    kept = ~censored
    a, b = bounds
    total = float(np.sum(mixture.log_pmf(kind, x[kept], m[kept], centre, tau)))
    if not np.any(censored):
        return total
    if MODE == "censor":
        return total + float(np.sum(_log_outside(kind, m[censored], a[censored], b[censored], centre, tau)))
    outside = np.exp(_log_outside(kind, m[kept], a[kept], b[kept], centre, tau))
    return total - float(np.sum(np.log1p(-np.minimum(outside, 1 - 1e-12))))


def _acceptance(
    kind: Kind, m: FloatArray, centre: float, tau: float, alpha: float
) -> tuple[FloatArray, FloatArray]:
    """Smallest a with P(X ≤ a) ≥ α and largest b with P(X ≥ b) ≥ α, per size."""
    sizes, where = np.unique(m, return_inverse=True)
    a = mixture.quantile(kind, alpha, sizes, centre, tau, upper=False)
    b = mixture.quantile(kind, alpha, sizes, centre, tau, upper=True)
    return a[where], b[where]


def _maximise(
    kind: Kind,
    x: FloatArray,
    m: FloatArray,
    censored: NDArray[np.bool_],
    bounds: tuple[FloatArray, FloatArray],
    start: tuple[float, float],
    target: float | None,
) -> tuple[float, float, float]:
    """(centre, τ, log-likelihood) maximising the likelihood with the outlier bounds held fixed."""

    def loglik(centre: float, tau: float) -> float:
        return _loglik(kind, x, m, censored, bounds, centre, tau)

    if target is not None:

        def negative_tau(tau: float) -> float:
            return -loglik(centre_for_mean(kind, target, tau), tau)

        res = optimize.minimize_scalar(negative_tau, bounds=(0.0, _TAU_MAX), method="bounded",
                                       options={"xatol": 1e-7})  # fmt: skip
        tau = float(res.x)
        if negative_tau(0.0) <= res.fun:
            tau = 0.0
        centre = centre_for_mean(kind, target, tau)
        return centre, tau, loglik(centre, tau)

    def negative(theta: FloatArray) -> float:
        return -loglik(float(theta[0]), float(theta[1]))

    res = optimize.minimize(
        negative, np.array(start), method="L-BFGS-B", bounds=[(None, None), (0.0, _TAU_MAX)],
        options={"ftol": 1e-12, "gtol": 1e-8},
    )  # fmt: skip
    return float(res.x[0]), float(res.x[1]), float(-res.fun)


def _start(kind: Kind, x: FloatArray, m: FloatArray) -> tuple[float, float]:
    """Moment start: median empirical logit (log), DerSimonian–Laird-like spread."""
    if kind == "proportion":
        y = special.logit((x + 0.5) / (m + 1.0))
        v = 1.0 / (x + 0.5) + 1.0 / (m - x + 0.5)
    else:
        y = np.log((x + 0.5) / m)
        v = 1.0 / (x + 0.5)
    w = 1.0 / v
    mean = float(np.sum(w * y) / np.sum(w))
    q = float(np.sum(w * (y - mean) ** 2))
    tau2 = max(0.0, (q - (y.size - 1)) / (np.sum(w) - np.sum(w**2) / np.sum(w)))
    return float(np.median(y)), float(min(np.sqrt(tau2) + 0.05, _TAU_MAX))


def fit_random_effects(
    kind: Kind,
    x: ArrayLike,
    m: ArrayLike,
    *,
    target: float | None = None,
    exclude_level: float = EXCLUDE_LEVEL,
    uncertainty: bool = True,
) -> RandomEffectsFit:
    """Fit centre and τ by maximum likelihood, censoring groups outside the ``exclude_level``
    limits (iterated to a stable set); ``target`` fixes the predictive mean (a national figure
    or a goal) and leaves only τ to estimate. With ``uncertainty`` the predictive mixes over τ
    (profile likelihood) and adds the centre's standard error to the spread."""
    xa = np.asarray(x, dtype=np.float64)
    ma = np.asarray(m, dtype=np.float64)
    if xa.shape != ma.shape or xa.ndim != 1 or xa.size == 0:
        raise ValueError("x and m must be non-empty 1-d arrays of the same length")
    alpha = (1.0 - exclude_level) / 2.0
    censored = np.zeros(xa.size, dtype=bool)
    bounds = (np.zeros(xa.size), ma.copy())
    centre, tau = _start(kind, xa, ma)
    loglik = float("nan")
    seen: set[bytes] = set()
    for _ in range(_MAX_ROUNDS):
        centre, tau, loglik = _maximise(kind, xa, ma, censored, bounds, (centre, max(tau, 0.05)), target)
        bounds = _acceptance(kind, ma, centre, tau, alpha)
        new = (xa < bounds[0]) | (xa > bounds[1])
        if np.array_equal(new, censored) or new.tobytes() in seen:
            censored = new if np.array_equal(new, censored) else censored
            break
        seen.add(censored.tobytes())
        censored = new
    spread: tuple[tuple[float, float, float], ...] = ()
    centre_se = 0.0
    if uncertainty:
        spread, centre_se = _spread(kind, xa, ma, censored, bounds, centre, tau, loglik, target)
    return RandomEffectsFit(
        kind=kind, centre=centre, tau=tau, loglik=loglik,
        censored=tuple(int(i) for i in np.flatnonzero(censored)),
        spread=spread, centre_se=centre_se, fixed_target=target is not None,
    )  # fmt: skip


#: Points of the τ profile (multiples of the curvature-based standard error around τ̂).
_PROFILE = np.array([-2.5, -1.5, -0.75, 0.0, 0.75, 1.5, 2.5, 3.5])


def _spread(
    kind: Kind,
    x: FloatArray,
    m: FloatArray,
    censored: NDArray[np.bool_],
    bounds: tuple[FloatArray, FloatArray],
    centre: float,
    tau: float,
    loglik: float,
    target: float | None,
) -> tuple[tuple[tuple[float, float, float], ...], float]:
    """τ values and weights from the profile likelihood (flat prior on τ ≥ 0), each widened by
    the centre's standard error at that τ: the predictive for a new provider."""

    def loglik_at(c: float, t: float) -> float:
        return _loglik(kind, x, m, censored, bounds, c, t)

    def profile(t: float) -> tuple[float, float, float]:
        """(centre, log-likelihood, se of centre) at τ = t."""
        if target is not None:
            c = centre_for_mean(kind, target, t)
            return c, loglik_at(c, t), 0.0
        res = optimize.minimize_scalar(lambda c: -loglik_at(c, t), bracket=(centre - 0.1, centre + 0.1))
        c = float(res.x)
        h = 1e-3
        curv = (loglik_at(c + h, t) - 2.0 * loglik_at(c, t) + loglik_at(c - h, t)) / (h * h)
        return c, -float(res.fun), float(1.0 / np.sqrt(max(-curv, 1e-12)))

    # Scale of τ's uncertainty from the profile's curvature at τ̂ (or at a small τ on the boundary).
    t0 = max(tau, 0.02)
    h = max(0.05 * t0, 0.005)
    l0, lp, lm = profile(t0)[1], profile(t0 + h)[1], profile(max(t0 - h, 0.0))[1]
    curv = (lp - 2.0 * l0 + lm) / (h * h)
    se = float(1.0 / np.sqrt(-curv)) if curv < 0 else t0
    grid = np.unique(np.clip(tau + se * _PROFILE, 0.0, _TAU_MAX))
    values = [profile(float(t)) for t in grid]
    logw = np.array([v[1] for v in values])
    # Flat prior on τ: weight ∝ profile likelihood × the spacing (trapezoid on the grid).
    spacing = np.gradient(grid) if grid.size > 1 else np.ones(1)
    w = np.exp(logw - logw.max()) * spacing
    w = w / w.sum()
    centre_se = values[int(np.argmin(np.abs(grid - tau)))][2]
    comps = [
        (v[0], float(np.sqrt(t * t + v[2] ** 2)), float(wi))
        for t, v, wi in zip(grid, values, w, strict=True)
        if wi > 1e-6
    ]
    total = sum(c[2] for c in comps)
    return tuple((c, t, wi / total) for c, t, wi in comps), centre_se
